"""Build a benchmark as one Ray job.

    ray job submit --working-dir . -- python jobs/build_benchmark.py [--out DIR] [--images DIR] [--set k=v ...]

With no arguments it builds `sppe-mini` under <SPPE_HOME>/benchmarks. Resumable: re-run after a kill.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a clone without installing

from sppe_ray.config import load_config  # noqa: E402
from sppe_ray.errors import SPPEError  # noqa: E402
from sppe_ray.job_args import job_parser  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = job_parser(__doc__)
    ap.add_argument("--out", help="output folder (default <home>/benchmarks/<build.name>)")
    ap.add_argument("--images", help="build from a folder of your own images")
    args = ap.parse_args(argv)
    try:
        from sppe_ray.pipelines.build import build_benchmark, default_benchmark_dir
        from sppe_ray.runtime import init_ray

        cfg = load_config(args.config, args.overrides)
        if args.images:
            cfg.build.images = args.images
        out = Path(args.out) if args.out else default_benchmark_dir(cfg)
        init_ray(cfg.ray.num_cpus)
        print(json.dumps(build_benchmark(cfg, out), sort_keys=True))
        return 0
    except SPPEError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
