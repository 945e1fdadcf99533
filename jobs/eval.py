"""Evaluation job: `python jobs/eval.py` or `ray job submit --working-dir . -- python jobs/eval.py [...]`.

With no arguments on a fresh machine it builds `sppe-mini` if missing, fits any learned method that has no
registered champion (when its trainer exists), then evaluates every available method. Prints the summary's
timings as the last line (JSON). Expected errors print one line and exit with code 2.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # run from a fresh checkout

from sppe_ray.config import SPPEConfig, load_config  # noqa: E402
from sppe_ray.errors import SPPEError  # noqa: E402
from sppe_ray.job_args import job_parser  # noqa: E402

log = logging.getLogger("jobs.eval")
CHAMPIONS = (("erma", "sppe-erma", "sppe_ray.train.erma", "fit_erma"),
             ("c2e_s2ser", "sppe-c2e-s2ser", "sppe_ray.train.recovery", "fit_recovery"))


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = job_parser(__doc__.splitlines()[0], benchmark_help="benchmark folder (default: build/use sppe-mini)")
    p.add_argument("--summary-json", type=Path, help="also write summary.json here")
    p.add_argument("--fit", choices=("auto", "never"), default="auto",
                   help="auto: fit missing champions when no --benchmark is given; never: evaluate only")
    return p.parse_args(argv)


def fit_missing_champions(cfg: SPPEConfig, benchmark: Path) -> tuple[dict[str, str], dict[str, float]]:
    """Fit each learned method whose registry has no champion; returns (what happened, seconds per fit)."""
    import importlib

    from sppe_ray import tracking

    outcome: dict[str, str] = {}
    timings: dict[str, float] = {}
    for method, registered, module, fn_name in CHAMPIONS:
        if tracking.download_model(registered) is not None:
            outcome[method] = "champion already registered"
            continue
        try:
            fit = getattr(importlib.import_module(module), fn_name)
        except (ImportError, AttributeError) as exc:
            outcome[method] = f"not fitted: {module}.{fn_name} unavailable ({type(exc).__name__})"
            continue
        section = cfg.erma if method == "erma" else cfg.recovery
        start = time.perf_counter()
        try:
            result: Any = fit(benchmark, section)
            outcome[method] = f"fitted ({json.dumps(result, default=str)[:200]})"
        except SPPEError as exc:
            outcome[method] = f"fit failed: {exc}"
        timings[f"fit_{method}"] = round(time.perf_counter() - start, 3)
    return outcome, timings


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    args = parse(argv)
    try:
        from sppe_ray.pipelines.evaluate import run_evaluation
        from sppe_ray.runtime import init_ray

        cfg = load_config(args.config, args.overrides)
        setup: dict[str, Any] = {"timings_s": {}}
        benchmark = args.benchmark
        if benchmark is None and cfg.eval.benchmark is None:
            from sppe_ray.pipelines.build import ensure_benchmark

            init_ray(cfg.ray.num_cpus)
            start = time.perf_counter()
            benchmark = ensure_benchmark(cfg)
            setup["timings_s"]["build"] = round(time.perf_counter() - start, 3)
            if args.fit == "auto":
                setup["fits"], fit_times = fit_missing_champions(cfg, benchmark)
                setup["timings_s"].update(fit_times)
        summary = run_evaluation(cfg, benchmark=benchmark, summary_json=args.summary_json, setup=setup)
    except SPPEError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"report: {summary['output']}/report.html", file=sys.stderr)
    print(json.dumps({"output": summary["output"], "timings_s": summary["timings_s"]}, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
