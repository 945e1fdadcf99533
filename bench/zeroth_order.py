"""Benchmark the black-box queries of the anonymizer fit: calls per second at 1 and 2 CPUs, and the share of a
step's wall time spent waiting on the black box.

    python bench/zeroth_order.py [--steps 60] [--latency 0.05]

Each configuration runs critical-history SPSA steps of the main fit (batch 32, setting 1's scenes) in a child
process with a fresh local Ray of ``cpus`` logical CPUs, the driver's torch limited to as many threads, and the
black box answered in-process (one query after another) or by ``cpus`` Ray actors (the two sides of each
perturbation at once). ``latency`` adds that many seconds to every answer on the black box's side, as a remote
API's round trip does. A call is one sample in one query (the paper's unit). ``query_share`` is the wall time
inside black-box queries over the wall time of the steps. Prints one JSON object as its last line.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CHILD = """
import json, os, tempfile, time
os.environ.setdefault('RAY_AUTH_MODE', 'disabled')
import numpy as np, torch
torch.set_num_threads({cpus})
from pathlib import Path
from sppe_ray.config import BlackBoxConfig
from sppe_ray.train.anonymizer import load_setting, open_blackbox, fit_settings
from sppe_ray.blackbox.networks import TinyUNet
from sppe_ray.blackbox.problem import AnonymizerProblem
from sppe_ray.blackbox.query import CountedBlackBox
from sppe_ray.blackbox.train import make_optimizer
if {endpoint!r} != 'inprocess':
    from sppe_ray.runtime import init_ray
    init_ray({cpus})
cfg = BlackBoxConfig(endpoint={endpoint!r}, actors={cpus}, latency_s={latency})
setting = load_setting(cfg, Path({home!r}))
answer, close = open_blackbox(cfg, setting.utility)
waited = [0.0]
class Timed:
    def __init__(self, inner): self.inner = inner
    def __call__(self, x):
        t = time.perf_counter(); out = self.inner(x); waited[0] += time.perf_counter() - t; return out
    def map(self, batches):
        t = time.perf_counter()
        out = self.inner.map(batches) if hasattr(self.inner, 'map') else [self.inner(b) for b in batches]
        waited[0] += time.perf_counter() - t; return out
bb = CountedBlackBox(Timed(answer))
s = fit_settings(cfg)
opt = make_optimizer(s)
net = TinyUNet()
rng = np.random.default_rng(0)
theta = AnonymizerProblem(net, bb, setting.reviewer, setting.train.images[:1], setting.train.labels[:1], ['x']).theta()
def step(k, theta):
    idx = rng.choice(len(setting.train), s.batch, replace=False)
    p = AnonymizerProblem(net, bb, setting.reviewer, setting.train.images[idx], setting.train.labels[idx],
                          [f't{{i}}' for i in idx], setting.train.attributes[idx], s.privacy)
    return opt.step(p, theta, k)[0]
for k in range(3):
    theta = step(k, theta)  # warm-up: actors started, first batches moved
waited[0] = 0.0
calls0 = sum(bb.calls.values())
t = time.perf_counter()
for k in range(3, 3 + {steps}):
    theta = step(k, theta)
dt = time.perf_counter() - t
close()
print(json.dumps({{'seconds': dt, 'calls': sum(bb.calls.values()) - calls0, 'waited': waited[0]}}))
"""


def run(endpoint: str, cpus: int, latency: float, steps: int, home: str) -> dict:
    code = CHILD.format(endpoint=endpoint, cpus=cpus, latency=latency, steps=steps, home=home)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=1800,
                         env={**os.environ, "TQDM_DISABLE": "1", "OMP_NUM_THREADS": str(cpus)})
    if out.returncode != 0:
        raise SystemExit(out.stderr[-3000:])
    res = json.loads(out.stdout.strip().splitlines()[-1])
    return {"calls_per_s": round(res["calls"] / res["seconds"], 1), "steps_per_s": round(steps / res["seconds"], 2),
            "query_share": round(res["waited"] / res["seconds"], 3)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=60, help="timed optimiser steps per configuration")
    ap.add_argument("--latency", type=float, default=0.05, help="seconds added to each answer in the latency runs")
    ap.add_argument("--home", default=str(ROOT / ".sppe"), help="SPPE_HOME holding (or receiving) setting 1's "
                                                                "cached classifiers")
    args = ap.parse_args()
    load = os.getloadavg()[0]
    result: dict = {"machine_cpus": os.cpu_count(), "load_avg_1m_before": load, "steps": args.steps,
                    "latency_s": args.latency}
    for latency in (0.0, args.latency):
        tag = "no_latency" if latency == 0 else f"latency_{int(latency * 1000)}ms"
        rows = {f"{endpoint}_cpu{cpus}": run(endpoint, cpus, latency, args.steps, args.home)
                for endpoint in ("inprocess", "ray") for cpus in (1, 2)}
        rows["ray_ratio_2_to_1_cpu"] = round(rows["ray_cpu2"]["calls_per_s"] / rows["ray_cpu1"]["calls_per_s"], 2)
        result[tag] = rows
        print(tag, json.dumps(rows), flush=True)
    result["load_avg_1m_after"] = os.getloadavg()[0]
    print(json.dumps(result))


if __name__ == "__main__":
    main()
