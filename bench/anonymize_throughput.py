"""Benchmark dataset anonymization: images/s at 1 and 2 CPUs, and the cost of each metric per image.

    python bench/anonymize_throughput.py [--images 32] [--method surrogate] [--metric-images 16]

Each pipeline run anonymizes a fresh anon-mini into a fresh folder with a fresh local Ray limited to the given
CPUs (a child process each); ``cpu1`` limits Ray's logical CPUs only (the driver, raylet and GCS still use the
second core), ``cpu1_pinned_to_one_core`` confines the whole run to one core with taskset. ``images_per_s``
counts the whole call (Ray start, actor model loading); ``steady_images_per_s`` counts from the moment every
actor has finished its first image to the last one (records' write times), which is what a large data set
sees. Prints one JSON object as its last line.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _pipeline(cpus: int, data: str, method: str, pin: bool = False) -> dict:
    """One run in a child process with a fresh Ray of ``cpus`` logical CPUs; ``pin`` also confines every
    process of the run (driver, raylet, workers) to the first ``cpus`` cores with taskset."""
    code = f"""
import json, os, tempfile, time
os.environ.setdefault('RAY_AUTH_MODE', 'disabled')
from pathlib import Path
from sppe_ray.config import load_config
from sppe_ray.runtime import init_ray
from sppe_ray.pipelines.anonymize import anonymize_folder
cfg = load_config(overrides=['ray.actors={cpus}', 'ray.num_cpus={cpus}'])
init_ray({cpus})
out = Path(tempfile.mkdtemp()) / 'out'
t = time.perf_counter()
s = anonymize_folder(cfg, {data!r}, out, method={method!r}, progress=False)
dt = time.perf_counter() - t
stamps = sorted(p.stat().st_mtime for p in (out / '.records').rglob('*.json'))
print(json.dumps({{'images': s['done'], 'seconds': dt, 'stamps': stamps}}))
"""
    prefix = ["taskset", "-c", ",".join(str(i) for i in range(cpus))] if pin else []
    out = subprocess.run([*prefix, sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         env={**os.environ, "TQDM_DISABLE": "1"}, timeout=3600)
    if out.returncode != 0:
        raise SystemExit(out.stderr[-3000:])
    res = json.loads(out.stdout.strip().splitlines()[-1])
    stamps = res.pop("stamps")
    res["images_per_s"] = res["images"] / res["seconds"]
    warm = stamps[cpus - 1:]
    res["steady_images_per_s"] = (len(warm) - 1) / (warm[-1] - warm[0]) if len(warm) > 1 else None
    return res


def _metric_costs(data: Path, n: int) -> dict:
    """Seconds per image of each metric (one process, one thread), on anon-mini against a fill of the regions."""
    import numpy as np

    from sppe_ray.anonymize import manifest
    from sppe_ray.anonymize.rewrite import SurrogateRewrite
    from sppe_ray.imageio import decode_mask, load_image
    from sppe_ray.metrics.anonymization import analysis, cheating, privacy, quality
    from sppe_ray.models.erma.predictor import make_image_embedder
    from sppe_ray.privacy.region import Region

    rels = [r for r in manifest.list_inputs(data) if (data / ".truth" / r.replace(".png", ".mask.png")).is_file()][:n]
    pairs = []
    for rel in rels:
        img = load_image(data / rel)
        mask = decode_mask((data / ".truth" / rel.replace(".png", ".mask.png")).read_bytes())
        anon = SurrogateRewrite("fill", "fill", 1).rewrite(img, [Region("a111_name_all", mask)], "", 0).image
        pairs.append((img, anon, mask))
    embedder = make_image_embedder("classic")
    seen = [analysis.look(o, m) for o, _, m in pairs]
    steps = {
        "ssim": lambda o, a, m, s: quality.ssim(o, a),
        "gmsd": lambda o, a, m, s: quality.gmsd(o, a),
        "phash_region": lambda o, a, m, s: cheating.region_phash_distance(o, a, m),
        "outside_change": lambda o, a, m, s: cheating.outside_change(o, a, m),
        "faces_and_descriptors": lambda o, a, m, s: analysis.look(a, m, faces=True, text=False),
        "ocr_in_regions": lambda o, a, m, s: analysis.look(a, m, faces=False, text=True),
        "text_sim": lambda o, a, m, s: privacy.text_similarity(s.text, s.text[::-1]),
        "embedding_classic": lambda o, a, m, s: embedder.embed([a]),
        "pair_metrics_total": lambda o, a, m, s: analysis.pair_metrics(o, a, s, m),
    }
    out = {}
    for name, fn in steps.items():
        t = time.perf_counter()
        for (o, a, m), s in zip(pairs, seen, strict=True):
            fn(o, a, m, s)
        out[name] = (time.perf_counter() - t) / len(pairs)
    out["images"] = len(pairs)
    out["mean_faces_per_image"] = float(np.mean([len(s.boxes) for s in seen]))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=32, help="anon-mini images per pipeline run")
    ap.add_argument("--method", default="surrogate", help="stage 2 method (stage 1 always runs)")
    ap.add_argument("--metric-images", type=int, default=16)
    args = ap.parse_args()
    from sppe_ray.datasets.anon_mini import build_anon_mini

    data = build_anon_mini(Path(tempfile.mkdtemp()) / "anon-mini", n=args.images)
    one = _pipeline(1, str(data), args.method)
    one_pinned = _pipeline(1, str(data), args.method, pin=True)
    two = _pipeline(2, str(data), args.method)
    costs = _metric_costs(data, args.metric_images)
    result = {"machine_cpus": os.cpu_count(), "load_avg_1m": os.getloadavg()[0], "images": args.images,
              "method": args.method, "cpu1": one, "cpu1_pinned_to_one_core": one_pinned, "cpu2": two,
              "ratio_2_over_1": two["images_per_s"] / one["images_per_s"],
              "ratio_2_over_1_pinned": two["images_per_s"] / one_pinned["images_per_s"],
              "steady_ratio_2_over_1": (two["steady_images_per_s"] / one["steady_images_per_s"]
                                        if one["steady_images_per_s"] and two["steady_images_per_s"] else None),
              "metric_seconds_per_image": costs}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
