"""Cost growth: build and evaluation time per sample, and the driver's peak memory, at N = 250 ... 2000 samples.

    python bench/scale.py [--sizes 250,500,1000,2000] [--set eval.iqa_metrics=[psnr,ssim]] [--work DIR]

Build: one benchmark of N/10 scenes (10 samples a scene) per N, every sample in the test split, each in a fresh
process with its own local Ray. Evaluation: N samples of ONE benchmark (the largest build), taken as whole
scenes drawn at random (seeded), so every N has the same mix of categories and the same sharing of a scene's
pair between its instructions; each N in a fresh process. Models are the registry's champions under SPPE_HOME
when there are any (the `plan` key says which methods ran). Per run: wall seconds, seconds per sample, the
time to the first finished shard (start-up) and the driver's peak RSS. Prints one JSON object last, with a
line fit of wall time against N (fixed start-up seconds + marginal seconds per sample), the marginal cost
between consecutive N, and the spread of those marginal costs.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("RAY_AUTH_MODE", "disabled")
os.environ.setdefault("TQDM_DISABLE", "1")

SAMPLES_PER_SCENE = 10  # build.instructions_per_scene (5) x 2 strategies
ALL_TEST = "build.splits={train: 0.0, val: 0.0, test: 1.0}"


def _peak_rss_mb() -> float:
    import resource

    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def child_build(n: int, out: Path, overrides: list[str]) -> dict[str, Any]:
    from sppe_ray.config import load_config
    from sppe_ray.pipelines.build import build_benchmark
    from sppe_ray.runtime import init_ray

    cfg = load_config(None, [f"build.n_scenes={max(1, n // SAMPLES_PER_SCENE)}", ALL_TEST, *overrides])
    init_ray(cfg.ray.num_cpus)
    start = time.perf_counter()
    summary = build_benchmark(cfg, out, progress=False)
    wall = time.perf_counter() - start
    samples = summary["counts"]["total"]
    return {"samples": samples, "wall_s": round(wall, 2), "s_per_sample": round(wall / samples, 4),
            "driver_peak_rss_mb": _peak_rss_mb()}


def child_eval(bench: Path, work: Path, overrides: list[str]) -> dict[str, Any]:
    from sppe_ray.config import load_config
    from sppe_ray.pipelines.eval_compute import compute_results
    from sppe_ray.pipelines.eval_plan import make_plan
    from sppe_ray.runtime import init_ray

    cfg = load_config(None, overrides)
    init_ray(cfg.ray.num_cpus)
    plan = make_plan(cfg, use_registry=True)
    marks: list[float] = []
    start = time.perf_counter()
    stats = compute_results(bench, work / "results", plan, cfg, on_shard=lambda *_: marks.append(time.perf_counter()))
    wall = time.perf_counter() - start
    n = stats["samples_computed"]
    return {"samples": n, "wall_s": round(wall, 2), "s_per_sample": round(wall / n, 4),
            "first_shard_s": round(marks[0] - start, 2) if marks else None,
            "driver_peak_rss_mb": _peak_rss_mb(), "plan": plan.describe()}


def subset_by_scene(bench: Path, n: int, dst: Path, seed: int = 0) -> Path:
    """About `n` test samples of `bench` as a benchmark of their own: whole scenes (rows sharing a source image)
    drawn at random, kept in the benchmark's order, 70 rows a shard."""
    import numpy as np

    from sppe_ray.shards import ShardWriter, read_benchmark

    table = read_benchmark(bench, split="test", checksums=False)
    scene = [hashlib.sha1(b).hexdigest() for b in table.column("source").to_pylist()]
    order = list(dict.fromkeys(scene))
    np.random.default_rng(seed).shuffle(order)
    chosen, count, sizes = set(), 0, {s: scene.count(s) for s in order}
    for s in order:
        if count >= n:
            break
        chosen.add(s)
        count += sizes[s]
    keep = [i for i, s in enumerate(scene) if s in chosen]
    writer = ShardWriter(dst)
    for k, start in enumerate(range(0, len(keep), 70)):
        writer.write(table.take(keep[start:start + 70]), writer.shard_name(k))
    writer.finish(config={"subset_of": str(bench), "scenes": len(chosen), "seed": seed})
    return dst


def _child(kind: str, *args: str) -> dict[str, Any]:
    """Run `child_<kind>` in a fresh process (its own Ray, its own peak RSS); its last stdout line is JSON."""
    done = subprocess.run([sys.executable, os.path.abspath(__file__), f"--child={kind}", *args],
                          stdout=subprocess.PIPE, text=True, cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit(f"{kind} run failed ({done.returncode})")
    return json.loads(done.stdout.strip().splitlines()[-1])


def spread(values: list[float]) -> float | None:
    """(max - min) / min: how far apart per-sample figures are (0.15 = 15%); None below two."""
    return round((max(values) - min(values)) / min(values), 4) if len(values) > 1 else None


def segments(runs: dict[int, dict[str, Any]]) -> dict[str, float]:
    """Seconds per added sample between consecutive N: the cost that grows, free of the fixed start-up."""
    pairs = sorted(runs.values(), key=lambda r: r["samples"])
    return {f"{a['samples']}->{b['samples']}": round((b["wall_s"] - a["wall_s"]) / (b["samples"] - a["samples"]), 4)
            for a, b in zip(pairs, pairs[1:], strict=False)}


def line_fit(runs: dict[int, dict[str, Any]]) -> dict[str, float] | None:
    """wall_s = fixed_s + marginal_s_per_sample x samples, least squares over the runs: start-up (Ray, actors
    importing torch) is the fixed part; the marginal cost is what grows with N."""
    import numpy as np

    if len(runs) < 2:
        return None
    x = np.array([r["samples"] for r in runs.values()], float)
    y = np.array([r["wall_s"] for r in runs.values()], float)
    slope, intercept = np.polyfit(x, y, 1)
    worst = float(np.max(np.abs(y - (intercept + slope * x)) / y))
    return {"fixed_s": round(float(intercept), 2), "marginal_s_per_sample": round(float(slope), 4),
            "worst_relative_residual": round(worst, 4)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="250,500,1000,2000", help="sample counts N, comma-separated")
    p.add_argument("--set", action="append", default=[], dest="overrides",
                   help="sppe config override for the builds and evaluations (repeatable)")
    p.add_argument("--work", type=Path, help="folder for the builds and results (default: a temp folder)")
    p.add_argument("--skip-build", action="store_true", help="build only the largest N (the evaluation's source)")
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--n", type=int, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child == "build":
        print(json.dumps(child_build(args.n, args.out, args.overrides)))
        return
    if args.child == "eval":
        print(json.dumps(child_eval(args.out / "bench", args.out, args.overrides)))
        return
    sizes = sorted(int(s) for s in args.sizes.split(","))
    work = args.work or Path(tempfile.mkdtemp(prefix="sppe-scale-"))
    sets = [f"--set={o}" for o in args.overrides]
    builds = {}
    for n in sizes if not args.skip_build else sizes[-1:]:
        builds[n] = _child("build", f"--n={n}", f"--out={work / f'build-{n}'}", *sets)
        print(f"build N={n}: {builds[n]}", file=sys.stderr)
    evals = {}
    for n in sizes:
        folder = work / f"eval-{n}"
        subset_by_scene(work / f"build-{sizes[-1]}", n, folder / "bench")
        evals[n] = _child("eval", f"--out={folder}", *sets)
        print(f"evaluate N={n}: { {k: v for k, v in evals[n].items() if k != 'plan'} }", file=sys.stderr)
    plan = evals[sizes[-1]].pop("plan")
    for e in evals.values():
        e.pop("plan", None)
    result = {
        "machine_cpus": os.cpu_count(), "load_avg_1m_at_end": round(os.getloadavg()[0], 2),
        "overrides": args.overrides, "plan": plan,
        "build": builds, "evaluate": evals,
        "build_line": line_fit(builds), "eval_line": line_fit(evals),
        "build_marginal": segments(builds), "eval_marginal": segments(evals),
        "build_marginal_spread": spread(list(segments(builds).values())),
        "eval_marginal_spread": spread(list(segments(evals).values())),
        "driver_peak_rss_mb": {"build": {n: b["driver_peak_rss_mb"] for n, b in builds.items()},
                               "evaluate": {n: e["driver_peak_rss_mb"] for n, e in evals.items()}},
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
