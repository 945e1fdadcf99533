"""Fit the learned methods that have no registered champion yet: what `sppe eval` / `jobs/eval.py` do on a
fresh machine before evaluating.

Why a registry error stops here: "cannot ask the registry" must never read as "no champion", or a flaky
tracking server would trigger a refit and a new champion on every run (`tracking.resolve_alias` raises
TrackingError, which this lets through).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from sppe_ray.config import SPPEConfig
from sppe_ray.config_names import C2E_MODEL, DIFFUSION_MODEL, ERMA_MODEL
from sppe_ray.errors import SPPEError


def fit_missing_champions(cfg: SPPEConfig, benchmark: Path) -> tuple[dict[str, str], dict[str, float]]:
    """Fit ERMA and the configured recovery backend when the registry has no champion for them.

    Returns (what happened per method, seconds per fit). A failed fit is recorded and the evaluation goes on
    with the other methods; a registry that cannot answer raises."""
    from sppe_ray import tracking
    from sppe_ray.train.erma import champion_tags, fit_erma
    from sppe_ray.train.recovery import fit_recovery

    recovery_name = DIFFUSION_MODEL if cfg.recovery.backend == "c2e_diffusion" else C2E_MODEL
    plans = (("erma", ERMA_MODEL, champion_tags(), lambda: fit_erma(benchmark, cfg.erma)),
             (cfg.recovery.backend, recovery_name, {}, lambda: fit_recovery(benchmark, cfg.recovery)))
    outcome: dict[str, str] = {}
    timings: dict[str, float] = {}
    for method, registered, wanted, fit in plans:
        holder = tracking.champion_record(registered)
        if holder is not None and all(holder["tags"].get(k) == v for k, v in wanted.items()):
            outcome[method] = "champion already registered"
            continue
        start = time.perf_counter()
        try:
            result: Any = fit()
            outcome[method] = f"fitted ({json.dumps(result, default=str)[:200]})"
        except SPPEError as exc:
            outcome[method] = f"fit failed: {exc}"
        timings[f"fit_{method}"] = round(time.perf_counter() - start, 3)
    return outcome, timings
