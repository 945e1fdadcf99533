"""Every name a configuration carries, checked against the registry that must know it.

Why at load: a misspelled strategy or editor used to fail inside a Ray actor with a page of traceback, and a
misspelled metric or recovery method was skipped while the evaluation ran on. `load_config` calls
`check_names`, so a wrong name is one ConfigError (one line, exit code 2 from the CLI and the jobs) before any
Ray work starts. The registries import lazily and cheaply (no torch, no pyiqa).
"""

from __future__ import annotations

from typing import Any

from sppe_ray.errors import ConfigError, UnknownCategoryError

#: Result-method name of the fitted C2E-S2SER network (the registry's `c2e_net` backend).
C2E_METHOD = "c2e_s2ser"
#: Registered model names in MLflow (one place: jobs, evaluation, Serve and trainers all read these).
ERMA_MODEL = "sppe-erma"
C2E_MODEL = "sppe-c2e-s2ser"
DIFFUSION_MODEL = "sppe-c2e-s2ser-diffusion"
ANONYMIZER_MODEL = "sppe-anonymizer"
EDITOR_ANONYMIZER_MODEL = "sppe-anonymizer-editor"
#: Recovery baselines the gateway can use instead of the fitted network.
SERVE_BASELINES = ("local_transfer", "paste_back", "edited_surrogate")


def registries() -> dict[str, Any]:
    """Every registry a config names, by the short name `sppe list` uses."""
    from sppe_ray.anonymize.rewrite import ANONYMIZERS
    from sppe_ray.blackbox.objectives import OBJECTIVES
    from sppe_ray.blackbox.optimizers import OPTIMIZERS
    from sppe_ray.editors import EDITORS
    from sppe_ray.embed import IMAGE_EMBEDDERS, TEXT_EMBEDDERS
    from sppe_ray.metrics.iqa import METRICS
    from sppe_ray.models.recovery import RECOVERERS
    from sppe_ray.privacy.detectors import DETECTORS
    from sppe_ray.privacy.surrogates import STRATEGIES

    return {"editors": EDITORS, "image-embedders": IMAGE_EMBEDDERS, "text-embedders": TEXT_EMBEDDERS,
            "detectors": DETECTORS, "strategies": STRATEGIES, "recovery": RECOVERERS, "iqa": METRICS,
            "anonymizers": ANONYMIZERS, "optimizers": OPTIMIZERS, "objectives": OBJECTIVES}


def check_names(cfg: Any) -> None:
    """Raise ConfigError naming the key and the known names for the first unknown name in `cfg`."""
    from sppe_ray.editors import EDITORS
    from sppe_ray.embed import IMAGE_EMBEDDERS, TEXT_EMBEDDERS
    from sppe_ray.metrics.iqa import METRICS
    from sppe_ray.models.recovery import RECOVERERS
    from sppe_ray.privacy.detectors import DETECTORS
    from sppe_ray.privacy.surrogates import STRATEGIES
    from sppe_ray.taxonomy import get_category

    EDITORS.check(cfg.editor.name, "editor.name")
    IMAGE_EMBEDDERS.check(cfg.embed.image, "embed.image")
    IMAGE_EMBEDDERS.check(cfg.erma.image_encoder, "erma.image_encoder")
    TEXT_EMBEDDERS.check(cfg.erma.text_encoder, "erma.text_encoder")
    STRATEGIES.check(cfg.build.strategies, "build.strategies", also=("default",))
    STRATEGIES.check(cfg.serve.strategies, "serve.strategies", also=("default",))
    DETECTORS.check(cfg.build.detector, "build.detector")
    DETECTORS.check(cfg.serve.detector, "serve.detector")
    METRICS.check(cfg.eval.iqa_metrics, "eval.iqa_metrics")
    from sppe_ray.anonymize.rewrite import ANONYMIZERS

    ANONYMIZERS.check(cfg.anonymize.method, "anonymize.method")
    ANONYMIZERS.check(cfg.anonymize.methods, "anonymize.methods")
    DETECTORS.check(cfg.anonymize.detector, "anonymize.detector")
    from sppe_ray.blackbox.objectives import OBJECTIVES
    from sppe_ray.blackbox.optimizers import OPTIMIZERS

    OPTIMIZERS.check(cfg.blackbox.optimizer, "blackbox.optimizer")
    OBJECTIVES.check(cfg.blackbox.objective, "blackbox.objective")
    for key in ("endpoint", "study_endpoint"):
        value = getattr(cfg.blackbox, key)
        if value not in ("inprocess", "ray", "serve") and not value.startswith(("http://", "https://")):
            raise ConfigError(f"blackbox.{key}={value!r}: inprocess, ray, serve or an http(s) URL")
    METRICS.check(cfg.eval.slow_iqa_metrics, "eval.slow_iqa_metrics")
    # The fitted network is evaluated and served under its method name; c2e_net is its backend's name.
    evaluated = (C2E_METHOD, *(n for n in RECOVERERS if n != "c2e_net"))
    _one_of(cfg.eval.recovery_methods, evaluated, "eval.recovery_methods", "recovery method")
    _one_of([cfg.serve.recovery_method], (C2E_METHOD, *SERVE_BASELINES), "serve.recovery_method",
            "recovery method")
    try:
        get_category(cfg.build.default_category)
    except UnknownCategoryError as exc:
        raise ConfigError(f"build.default_category: {exc}") from None


def _one_of(values: list[str], known: tuple[str, ...], setting: str, kind: str) -> None:
    for value in values:
        if value not in known:
            raise ConfigError(f"{setting}: unknown {kind} {value!r}; known: {', '.join(known)}")
