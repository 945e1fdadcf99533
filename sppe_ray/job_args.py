"""The arguments every job script shares (`--config`, `--set`, `--benchmark`; the fitting jobs' `--resume-from`
and `--no-register`), defined once, and where a job finds its benchmark.

Why here and not in each script: `ray job submit -- python jobs/X.py` users expect the same flags on every
job; one definition keeps their spelling and help text identical.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def job_parser(description: str, *, benchmark_help: str | None = None) -> argparse.ArgumentParser:
    """A parser with the common flags; overrides land in `args.overrides`."""
    p = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", "-c", help="YAML config file")
    p.add_argument("--set", "-s", action="append", default=[], dest="overrides",
                   help="override section.key=value (repeat)")
    if benchmark_help is not None:
        p.add_argument("--benchmark", type=Path, help=benchmark_help)
    return p


def training_parser(description: str) -> argparse.ArgumentParser:
    """`job_parser` plus the flags of every fitting job (`jobs/train_*.py`)."""
    p = job_parser(description, benchmark_help="benchmark folder (default: SPPE_HOME/benchmarks/<build.name>)")
    p.add_argument("--resume-from", type=Path, help="checkpoint folder of an earlier fit to continue")
    p.add_argument("--no-register", action="store_true", help="log the model but do not register it")
    return p


def training_benchmark(args: argparse.Namespace, cfg: Any) -> Path:
    """The benchmark a fitting job reads: `--benchmark`, else `eval.benchmark`, else the built one under
    SPPE_HOME. Its manifest is read here, so a missing or broken benchmark fails in one line before Ray starts
    (BenchmarkError)."""
    from sppe_ray.config import sppe_home
    from sppe_ray.shards import read_manifest

    benchmark = args.benchmark or Path(cfg.eval.benchmark or sppe_home() / "benchmarks" / cfg.build.name)
    read_manifest(benchmark)
    return benchmark
