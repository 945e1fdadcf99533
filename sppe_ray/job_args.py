"""The arguments every job script shares (`--config`, `--set`, `--benchmark`), defined once.

Why here and not in each script: `ray job submit -- python jobs/X.py` users expect the same flags on every
job; one definition keeps their spelling and help text identical.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def job_parser(description: str, *, benchmark_help: str | None = None) -> argparse.ArgumentParser:
    """A parser with the common flags; overrides land in `args.overrides`."""
    p = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", "-c", help="YAML config file")
    p.add_argument("--set", "-s", action="append", default=[], dest="overrides",
                   help="override section.key=value (repeat)")
    if benchmark_help is not None:
        p.add_argument("--benchmark", type=Path, help=benchmark_help)
    return p
