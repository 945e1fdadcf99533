"""Which methods an evaluation runs, decided once on the driver before any data moves.

Why a plan: workers must not each discover that a weight file is missing (N identical errors, N different
timings), and the report must list what was skipped and why. The plan is a small picklable value handed to
every actor, so all actors run exactly the same method list and results are comparable across shards.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sppe_ray.config import SPPEConfig
from sppe_ray.config_names import C2E_METHOD, C2E_MODEL, DIFFUSION_MODEL, ERMA_MODEL

log = logging.getLogger(__name__)

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
    embed_model: str | None = None  # clip weights of embed.image (the actors build the same embedder)
    models: dict[str, str] = field(default_factory=dict)  # registered name -> version (or folder) evaluated

    def embedder_kwargs(self, name: str) -> dict[str, Any]:
        """The settings the actors build embedder `name` with (the same the plan checked)."""
        return {"model": self.embed_model} if name in ("clip", "mobilenet") and self.embed_model else {}

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

    @property
    def uses_gpu(self) -> bool:
        """Whether a planned recoverer uses CUDA when present (its registry entry says so): the evaluator actors
        then ask for a GPU share on a cluster that has GPUs."""
        from sppe_ray.models.recovery import RECOVERERS

        return any(RECOVERERS.entry(name).gpu != "no" for _method, name, _kw in self.recovery)

    def describe(self) -> dict[str, Any]:
        return {"editability": self.editability_methods, "recovery": self.recovery_methods,
                "skipped": dict(self.skipped), "models": dict(self.models), "ocr_detail": self.ocr_detail,
                "recovery_embedder": self.recovery_embedder}


def _iqa_methods(names: list[str], skipped: dict[str, str]) -> list[IQAMethod]:
    try:
        from sppe_ray.metrics import iqa
    except Exception as exc:  # the IQA module or pyiqa itself cannot load: every baseline is skipped
        for name in names:
            skipped[f"pyiqa:{name}"] = f"pyiqa metrics unavailable ({type(exc).__name__}: {exc})"
        return []
    # Only the requested metrics and the learned ones (reported as skipped when their weights are absent):
    # building every pyiqa metric just to list it costs tens of seconds.
    learned = [n for n in iqa.METRICS.names() if iqa.METRICS.entry(n).needs_weights]
    available = iqa.available_metrics(list(dict.fromkeys([*names, *learned])))
    out = []
    for name in dict.fromkeys(names):
        method = f"pyiqa:{name}"
        reason = available[name]  # names were checked against the registry when the config loaded
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


def _registry_folder(name: str, models: dict[str, str]) -> tuple[str | None, str | None]:
    """(folder, None) for a registered champion (its version noted in `models`), else (None, reason).

    A registry that cannot answer raises TrackingError: the evaluation stops in one line instead of reporting
    the learned methods as skipped, which would read as "no model"."""
    from sppe_ray import tracking

    found = tracking.download_model(name)
    if found is None:
        return None, "no champion registered"
    models[name] = found[1]
    return str(found[0]), None


def _learned_folder(cfg: SPPEConfig, backend: str, registered: str, models: dict[str, str],
                    use_registry: bool) -> tuple[str | None, str | None]:
    """recovery.model when it is a folder of this backend, else the registry champion."""
    if cfg.recovery.model and cfg.recovery.backend == backend:
        models[registered] = f"folder:{cfg.recovery.model}"
        return cfg.recovery.model, None
    if not use_registry:
        return None, "registry not consulted"
    return _registry_folder(registered, models)


def _readable_erma(folder: str, models: dict[str, str]) -> tuple[str | None, str | None]:
    """The champion's folder when this code reads its format, else (None, why): one line in `skipped`
    instead of every evaluator actor failing to load it."""
    from sppe_ray.errors import BackendUnavailableError
    from sppe_ray.models.erma.predictor import read_meta

    try:
        read_meta(Path(folder))
    except BackendUnavailableError as exc:
        models.pop(ERMA_MODEL, None)
        return None, f"champion not usable: {exc}"
    return folder, None


def make_plan(cfg: SPPEConfig, *, use_registry: bool = True) -> EvalPlan:
    """Resolve the configured methods against what this machine and the MLflow registry can provide."""
    skipped: dict[str, str] = {}
    models: dict[str, str] = {}
    names = list(cfg.eval.iqa_metrics) + (list(cfg.eval.slow_iqa_metrics) if cfg.eval.include_slow else [])
    for slow in cfg.eval.slow_iqa_metrics:
        if not cfg.eval.include_slow:
            skipped[f"pyiqa:{slow}"] = "slow metric; set eval.include_slow=true to run it"
    iqa = _iqa_methods(names, skipped)
    embedders = tuple(e for e in dict.fromkeys(["classic", cfg.embed.image]) if _embedder_ok(e, cfg, skipped))
    # ERMA comes only from the registry: `erma.model` names the CLIP encoder location, not a fitted head.
    erma_dir, reason = _registry_folder(ERMA_MODEL, models) if use_registry else (None, "registry not consulted")
    if erma_dir is not None:
        erma_dir, reason = _readable_erma(erma_dir, models)
    if reason:
        skipped["erma"] = reason
    recovery: list[tuple[str, str, dict]] = []
    for name in dict.fromkeys(cfg.eval.recovery_methods):
        if name == C2E_METHOD:
            folder, reason = _learned_folder(cfg, "c2e_net", C2E_MODEL, models, use_registry)
            kwargs = {"model": folder, "device": "cpu"}
            backend = "c2e_net"
        elif name == "c2e_diffusion":
            folder, reason = _learned_folder(cfg, "c2e_diffusion", DIFFUSION_MODEL, models, use_registry)
            if folder and not cfg.recovery.pipeline:
                folder, reason = None, "c2e_diffusion needs recovery.pipeline (the inpainting pipeline)"
            kwargs = {"model": cfg.recovery.pipeline, "lora": folder}  # device: CUDA when present
            backend = "c2e_diffusion"
        else:
            recovery.append((name, name, {}))
            continue
        if reason:
            skipped[name] = reason
        else:
            recovery.append((name, backend, kwargs))
    # The recovery metrics' embedder is embed.image; when it cannot load here they use classic, said in the plan.
    rec_embedder = cfg.embed.image if cfg.embed.image in embedders else "classic"
    return EvalPlan(tuple(iqa), embedders, erma_dir, tuple(recovery), rec_embedder, True, skipped,
                    cfg.eval.ocr_detail, cfg.embed.model, models)


def _embedder_ok(name: str, cfg: SPPEConfig, skipped: dict[str, str]) -> bool:
    try:
        from sppe_ray.embed import create_image_embedder

        create_image_embedder(name, **({"model": cfg.embed.model} if name == "clip" and cfg.embed.model else {}))
        return True
    except Exception as exc:
        skipped[f"embed:{name}"] = f"{type(exc).__name__}: {exc}"
        return False
