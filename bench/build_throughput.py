"""Benchmark build throughput: samples/s with 1 and 2 CPUs, and driver memory as N grows.

    python bench/build_throughput.py [--scenes 24] [--sizes 12,24,48]

Each run builds into a fresh temporary folder with a fresh local Ray limited to the given CPUs.
Prints one JSON object as its last line.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _one(cpus: int, scenes: int) -> dict:
    """Run one build in a child process so each gets its own Ray with `cpus` CPUs."""
    code = f"""
import json, time, resource, tempfile, os
os.environ.setdefault('RAY_AUTH_MODE', 'disabled')
from sppe_ray.config import load_config
from sppe_ray.runtime import init_ray
from sppe_ray.pipelines.build import build_benchmark
cfg = load_config(overrides=['build.n_scenes={scenes}', 'ray.actors={cpus}', 'ray.num_cpus={cpus}'])
init_ray({cpus})
out = tempfile.mkdtemp()
t = time.perf_counter()
s = build_benchmark(cfg, out, progress=False)
dt = time.perf_counter() - t
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({{'samples': s['counts']['total'], 'seconds': dt, 'driver_max_rss_mb': rss}}))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         env={**os.environ, "TQDM_DISABLE": "1"}, timeout=3600)
    if out.returncode != 0:
        raise SystemExit(out.stderr[-3000:])
    res = json.loads(out.stdout.strip().splitlines()[-1])
    res["samples_per_s"] = res["samples"] / res["seconds"]
    return res


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scenes", type=int, default=48)
    ap.add_argument("--sizes", default="24,48,96", help="scene counts for the driver-memory curve (2 CPUs)")
    args = ap.parse_args()
    one = _one(1, args.scenes)
    two = _one(2, args.scenes)
    memory = {int(n): _one(2, int(n))["driver_max_rss_mb"] for n in args.sizes.split(",")}
    result = {
        "machine_cpus": os.cpu_count(), "scenes": args.scenes,
        "cpu1": one, "cpu2": two, "ratio_2_over_1": two["samples_per_s"] / one["samples_per_s"],
        "driver_max_rss_mb_by_scenes": memory,
        "bench_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    print(json.dumps(result, sort_keys=True))


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as home:
        os.environ.setdefault("SPPE_HOME", home)
        main()
