"""Evaluation throughput: samples/s of the Ray Data evaluation at 1 and 2 CPUs on the same benchmark subset,
their ratio, and the time of each metric per image (so the slow ones are visible).

    python bench/eval_throughput.py [--benchmark DIR] [--shards 4] [--set eval.iqa_metrics=[psnr,ssim]]

Without --benchmark it uses (building if missing) sppe-mini. Prints one JSON object as the last line.
`steady_samples_per_s` excludes actor start-up (time to the first finished shard), which on a 2-core machine
is dominated by importing torch/pyiqa/dlib once per actor.

Each CPU count runs in its own process pinned (sched_setaffinity) to that many cores, and Ray's processes
inherit the pinning: "1 CPU" then means the driver, Ray's own services and the evaluator share one core, as
they would on a 1-core machine, instead of the evaluator having a core to itself and the overhead another.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("RAY_AUTH_MODE", "disabled")

from sppe_ray.config import SPPEConfig, load_config  # noqa: E402
from sppe_ray.shards import ShardWriter, read_manifest  # noqa: E402


def subset(benchmark: Path, shards: int, dst: Path) -> Path:
    """The first `shards` shards of a benchmark as a valid benchmark of their own."""
    dst.mkdir(parents=True, exist_ok=True)
    for entry in read_manifest(benchmark)["shards"][:shards]:
        shutil.copy2(benchmark / entry["name"], dst / entry["name"])
    writer = ShardWriter(dst)
    writer.existing_shards()
    writer.finish(config={"subset_of": str(benchmark), "shards": shards})
    return dst


def run_at(cpus: int, bench: Path, cfg: SPPEConfig, work: Path) -> dict[str, Any]:
    """Evaluate `bench` on a fresh local Ray instance of `cpus` CPUs, in this process (already pinned)."""
    import ray

    from sppe_ray.pipelines.eval_compute import compute_results
    from sppe_ray.pipelines.eval_plan import make_plan
    from sppe_ray.runtime import init_ray

    ray.shutdown()
    cfg = cfg.model_copy(deep=True)
    cfg.ray.num_cpus = cpus
    cfg.ray.actors = max(1, cpus)
    init_ray(cpus)
    plan = make_plan(cfg, use_registry=False)
    marks: list[tuple[float, int]] = []
    start = time.perf_counter()
    stats = compute_results(bench, work / f"results-{cpus}", plan, cfg,
                            on_shard=lambda _name, n: marks.append((time.perf_counter(), n)))
    total = time.perf_counter() - start
    ray.shutdown()
    samples = stats["samples_computed"]
    steady = None
    if len(marks) > 1 and marks[-1][0] - marks[0][0] > 1.0:  # shards finishing in one burst say nothing
        steady = (samples - marks[0][1]) / (marks[-1][0] - marks[0][0])
    return {"cpus": cpus, "samples": samples, "wall_s": round(total, 2),
            "samples_per_s": round(samples / total, 4) if total else None,
            "steady_samples_per_s": round(steady, 4) if steady else None}


def run_pinned(cpus: int, bench: Path, work: Path, overrides: list[str]) -> dict[str, Any]:
    """`run_at` in a child process restricted to the first `cpus` cores (its last stdout line is JSON)."""
    import subprocess

    cmd = [sys.executable, os.path.abspath(__file__), "--run-at", str(cpus), "--benchmark", str(bench),
           "--work", str(work), *[f"--set={o}" for o in overrides]]
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def per_metric_ms(bench: Path, cfg: SPPEConfig, n: int = 8) -> dict[str, float]:
    """Milliseconds per image for every planned method, measured in this process on `n` samples."""
    from sppe_ray.imageio import decode_image, decode_mask
    from sppe_ray.metrics.recovery import recovery_metrics_batch
    from sppe_ray.pipelines.eval_checks import RegionChecks
    from sppe_ray.pipelines.eval_plan import FACE_KINDS, TEXT_KINDS, make_plan
    from sppe_ray.pipelines.eval_stages import SampleEvaluator
    from sppe_ray.shards import read_benchmark
    from sppe_ray.taxonomy import CATEGORIES

    rows = read_benchmark(bench, split=cfg.eval.split, checksums=False).to_pandas()
    df = rows.head(n)
    ev = SampleEvaluator(make_plan(cfg, use_registry=False), cfg.eval.split)
    src = [decode_image(b) for b in df["source"]]
    sur = [decode_image(b) for b in df["surrogate"]]
    src_e = [decode_image(b) for b in df["source_edit"]]
    sur_e = [decode_image(b) for b in df["surrogate_edit"]]
    masks = [decode_mask(b) for b in df["mask"]]
    codes = [str(c) for c in df["instruction_code"]]
    out: dict[str, float] = {}

    def timed(name: str, fn: Any, count: int = len(src)) -> Any:
        fn()  # warm-up: first calls load models
        t = time.perf_counter()
        res = fn()
        out[name] = round(1000 * (time.perf_counter() - t) / count, 2)
        return res

    for method, metric in ev.metrics.items():
        timed(method, lambda m=metric: m.batch(None if m.kind == "nr" else src, sur))
    for method, emb in ev.embedders.items():
        timed(method, lambda e=emb: e.embed(src + sur))
    for method, rec in ev.recoverers.items():
        outs = timed(f"recover:{method}", lambda r=rec: r.recover_batch(src, sur, sur_e, masks, codes))
        timed(f"recovery_metrics:{method}",
              lambda o=outs: recovery_metrics_batch(src, src_e, sur, sur_e, o, ev.rec_embedder))
    # The checks only apply to face / text regions: time them on distinct sources of that kind, with a fresh
    # RegionChecks per call (its memo would otherwise make the timed call free).
    kinds = rows["category"].map(lambda c: CATEGORIES[c].kind if c in CATEGORIES else "")
    for name, wanted, check in (("check:identity_distance (face samples)", FACE_KINDS, "identity_distance"),
                                ("check:ocr_similarity (text samples, 2 OCR reads)", TEXT_KINDS, "text_similarity")):
        part = rows[kinds.isin(wanted)].drop_duplicates("source").head(n)
        if part.empty:
            continue
        a = [decode_image(b) for b in part["source"]]
        b = [decode_image(x) for x in part["surrogate"]]
        m = [decode_mask(x) for x in part["mask"]]
        pairs = list(zip(a, b, m, strict=True))
        timed(name, lambda pairs=pairs, check=check: [getattr(RegionChecks(), check)(*t) for t in pairs], len(pairs))
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--benchmark", type=Path)
    p.add_argument("--shards", type=int, default=16, help="benchmark shards to evaluate at each CPU count")
    p.add_argument("--set", action="append", default=[], dest="overrides")
    p.add_argument("--run-at", type=int, help=argparse.SUPPRESS)  # child mode: one pinned measurement
    p.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args()
    cfg = load_config(None, args.overrides)
    if args.run_at:
        cores = sorted(os.sched_getaffinity(0))[: args.run_at]
        os.sched_setaffinity(0, cores)
        print(json.dumps(run_at(args.run_at, args.benchmark, cfg, args.work)))
        return
    bench = args.benchmark
    if bench is None:
        from sppe_ray.pipelines.build import ensure_benchmark
        from sppe_ray.runtime import init_ray

        init_ray(cfg.ray.num_cpus)
        bench = ensure_benchmark(cfg)
    with tempfile.TemporaryDirectory(prefix="sppe-eval-bench-") as tmp:
        work = Path(tmp)
        sub = subset(bench, args.shards, work / "bench")
        runs = [run_pinned(c, sub, work, args.overrides) for c in (1, 2)]
        ms = per_metric_ms(sub, cfg)
    r1, r2 = runs[0]["samples_per_s"], runs[1]["samples_per_s"]
    s1, s2 = runs[0]["steady_samples_per_s"], runs[1]["steady_samples_per_s"]
    result = {"benchmark": str(bench), "runs": runs, "ratio_2_vs_1": round(r2 / r1, 3) if r1 and r2 else None,
              "steady_ratio_2_vs_1": round(s2 / s1, 3) if s1 and s2 else None, "ms_per_image": ms,
              "cpu_count": os.cpu_count()}
    print(json.dumps(result, sort_keys=True))


if __name__ == "__main__":
    main()
