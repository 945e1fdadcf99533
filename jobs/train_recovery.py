"""Fit C2E-S2SER (compact network) and register `sppe-c2e-s2ser`: `python jobs/train_recovery.py` or
`ray job submit --working-dir . -- python jobs/train_recovery.py --benchmark PATH [--set recovery.steps=600]`.

Thin on purpose: parse, load the layered config, start or join Ray, call `sppe_ray.train.recovery`.
Prints the result as one JSON line last; expected errors print one line and exit with code 2.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # run from a fresh checkout

from sppe_ray.config import load_config  # noqa: E402
from sppe_ray.errors import SPPEError  # noqa: E402
from sppe_ray.job_args import training_benchmark, training_parser  # noqa: E402


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = training_parser(__doc__.splitlines()[0])
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    args = parse(argv)
    try:
        from sppe_ray.runtime import init_ray
        from sppe_ray.train.recovery import fit_recovery

        cfg = load_config(args.config, args.overrides)
        benchmark = training_benchmark(args, cfg)  # a missing benchmark fails in one line, before Ray starts
        init_ray(cfg.ray.num_cpus)
        result = fit_recovery(benchmark, cfg.recovery, register=not args.no_register, resume_from=args.resume_from)
    except SPPEError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(result, default=str, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
