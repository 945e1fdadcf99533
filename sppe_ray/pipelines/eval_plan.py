"""Which methods an evaluation runs, decided once on the driver before any data moves.

Why a plan: workers must not each discover that a weight file is missing (N identical errors, N different
timings), and the report must list what was skipped and why. The plan is a small picklable value handed to
every actor, so all actors run exactly the same method list and results are comparable across shards.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from sppe_ray.config import SPPEConfig

log = logging.getLogger(__name__)

ERMA_MODEL = "sppe-erma"
C2E_MODEL = "sppe-c2e-s2ser"
#: Result-method name of the learned recoverer (the registry holds it as the `c2e_net` backend).
C2E_METHOD = "c2e_s2ser"
PRIVACY_METHOD = "surrogate"
#: Category kinds whose recovered output is checked for identity (face descriptor) or text (OCR).
FACE_KINDS = frozenset({"face"})
TEXT_KINDS = frozenset({"text", "document"})


@dataclass(frozen=True)
class IQAMethod:
    """One pyiqa baseline: result-method name, metric name, orientation, full- or no-reference."""

    method: str
    metric: str
    lower_better: bool
    kind: str


@dataclass(frozen=True)
class EvalPlan:
    """Everything an evaluator actor needs to know; nothing in it is a live model."""

    iqa: tuple[IQAMethod, ...] = ()
    embedders: tuple[str, ...] = ()
    erma_dir: str | None = None
    recovery: tuple[tuple[str, str, dict], ...] = ()  # (method, recoverer name, kwargs)
    recovery_embedder: str = "classic"
    privacy_checks: bool = True
    skipped: dict[str, str] = field(default_factory=dict)
    ocr_detail: str = "fast"

    @property
    def editability_methods(self) -> list[str]:
        return [m.method for m in self.iqa] + [f"embed:{e}" for e in self.embedders] + (
            ["erma"] if self.erma_dir else [])

    @property
    def recovery_methods(self) -> list[str]:
        return [r[0] for r in self.recovery]

    @property
    def rows_per_sample(self) -> int:
        """Result rows each benchmark sample yields (one per method, plus one privacy row)."""
        return len(self.editability_methods) + len(self.recovery) + (1 if self.privacy_checks else 0)

    def describe(self) -> dict[str, Any]:
        return {"editability": self.editability_methods, "recovery": self.recovery_methods,
                "skipped": dict(self.skipped)}


def _iqa_methods(names: list[str], skipped: dict[str, str]) -> list[IQAMethod]:
    try:
        from sppe_ray.metrics import iqa
    except Exception as exc:  # the IQA module or pyiqa itself cannot load: every baseline is skipped
        for name in names:
            skipped[f"pyiqa:{name}"] = f"pyiqa metrics unavailable ({type(exc).__name__}: {exc})"
        return []
    # Only the requested metrics and the learned ones (reported as skipped when their weights are absent):
    # building every pyiqa metric just to list it costs tens of seconds.
    learned = [n for n, spec in iqa.SPECS.items() if spec.backend == "pyiqa_learned"]
    available = iqa.available_metrics([n for n in dict.fromkeys([*names, *learned]) if n in iqa.SPECS])
    out = []
    for name in dict.fromkeys(names):
        method = f"pyiqa:{name}"
        reason = available.get(name, f"unknown metric {name!r}")
        if reason is not None:
            skipped[method] = reason
            continue
        try:
            metric = iqa.create_metric(name)
        except Exception as exc:
            skipped[method] = f"{type(exc).__name__}: {exc}"
            continue
        out.append(IQAMethod(method, name, bool(metric.lower_better), str(metric.kind)))
    # Learned metrics of the literature that this configuration did not ask for are still reported as skipped.
    for name, reason in available.items():
        if reason is not None and f"pyiqa:{name}" not in skipped and name not in names:
            skipped[f"pyiqa:{name}"] = reason
    return out


def _registry_folder(name: str) -> tuple[str | None, str | None]:
    """(folder, None) for a registered champion, else (None, reason)."""
    try:
        from sppe_ray import tracking

        found = tracking.download_model(name)
    except Exception as exc:  # an unreachable registry must not stop the baselines
        return None, f"registry unavailable ({type(exc).__name__}: {exc})"
    if found is None:
        return None, "no champion registered"
    return str(found[0]), None


def make_plan(cfg: SPPEConfig, *, use_registry: bool = True) -> EvalPlan:
    """Resolve the configured methods against what this machine and the MLflow registry can provide."""
    skipped: dict[str, str] = {}
    names = list(cfg.eval.iqa_metrics) + (list(cfg.eval.slow_iqa_metrics) if cfg.eval.include_slow else [])
    for slow in cfg.eval.slow_iqa_metrics:
        if not cfg.eval.include_slow:
            skipped[f"pyiqa:{slow}"] = "slow metric; set eval.include_slow=true to run it"
    iqa = _iqa_methods(names, skipped)
    embedders = tuple(e for e in dict.fromkeys(["classic", cfg.embed.image]) if _embedder_ok(e, cfg, skipped))
    # ERMA comes only from the registry: `erma.model` names the CLIP encoder location, not a fitted head.
    erma_dir, reason = _registry_folder(ERMA_MODEL) if use_registry else (None, "registry not consulted")
    if reason:
        skipped["erma"] = reason
    recovery: list[tuple[str, str, dict]] = []
    for name in cfg.eval.recovery_methods:
        if name in ("c2e_net", C2E_METHOD):
            continue  # the learned recoverer is added below from the registry / recovery.model
        recovery.append((name, name, {}))
    c2e_dir = cfg.recovery.model
    if c2e_dir is None:
        c2e_dir, reason = _registry_folder(C2E_MODEL) if use_registry else (None, "registry not consulted")
        if reason:
            skipped[C2E_METHOD] = reason
    if c2e_dir:
        recovery.append((C2E_METHOD, "c2e_net", {"model": c2e_dir, "device": "cpu"}))
    return EvalPlan(tuple(iqa), embedders, erma_dir, tuple(recovery), cfg.embed.image, True, skipped,
                    cfg.eval.ocr_detail)


def _embedder_ok(name: str, cfg: SPPEConfig, skipped: dict[str, str]) -> bool:
    try:
        from sppe_ray.embed import create_image_embedder

        create_image_embedder(name, **({"model": cfg.embed.model} if name == "clip" and cfg.embed.model else {}))
        return True
    except Exception as exc:
        skipped[f"embed:{name}"] = f"{type(exc).__name__}: {exc}"
        return False
