"""The Serve application builder: `serve run cluster/serve.yaml`, `serve deploy`, and `sppe serve` all call it.

``build_app(args)`` reads the sppe configuration (``args["config"]`` YAML, ``args["set"]`` overrides, and the
``SPPE__SERVE__*`` environment), resolves each model's registry alias to a version *now* (deploy time), and
binds the four deployments. A missing champion stops the deploy with one line saying how to fit one: an
untrained model is never served. Replica counts, CPUs and queues below are defaults; a Serve config file's
``deployments:`` entries replace them (Ray's precedence: config file > ``.options()`` > decorator).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from sppe_ray.config import ServeConfig, load_config
from sppe_ray.errors import BackendUnavailableError
from sppe_ray.serve.deployments import C2E_METHOD, C2E_MODEL, ERMA_MODEL, Editability, Protector, Recovery
from sppe_ray.serve.ingress import Ingress

#: fractional CPUs that fit two cores with one replica each (and leave room for the proxy and controller).
CPUS = {"Ingress": 0.1, "Protector": 0.4, "Editability": 0.25, "Recovery": 0.25}
#: deployments that take a GPU share when the cluster has GPUs.
GPU_SHARE = {"Editability": 0.25, "Recovery": 0.5}


def autoscaling(overrides: dict | None = None) -> dict[str, Any]:
    """Per-replica target below its max (or it never scales up); short upscale, patient downscale."""
    base = {"min_replicas": 1, "max_replicas": 2, "target_ongoing_requests": 4, "upscale_delay_s": 5,
            "downscale_delay_s": 60, "metrics_interval_s": 2, "look_back_period_s": 10}
    return {**base, **(overrides or {})}


def no_champion_message(name: str, alias: str) -> str:
    from sppe_ray import tracking

    what = "erma" if name == ERMA_MODEL else "recovery"
    return (f"no '{alias}' version of {name} in the MLflow registry at {tracking.tracking_uri()}: fit one with "
            f"`sppe train {what}` (or `python jobs/eval.py`, which builds sppe-mini and fits both), or serve a "
            f"baseline recovery with --set serve.recovery_method=local_transfer")


def resolve_versions(cfg: ServeConfig) -> dict[str, str | None]:
    """Alias -> version for every served model, read from the registry once, at deploy time."""
    from sppe_ray import tracking

    versions: dict[str, str | None] = {}
    wanted = [(ERMA_MODEL, cfg.erma_alias)]
    if cfg.recovery_method == C2E_METHOD:
        wanted.append((C2E_MODEL, cfg.recovery_alias))
    for name, alias in wanted:
        version = tracking.resolve_alias(name, alias)
        if version is None:
            raise BackendUnavailableError(no_champion_message(name, alias))
        versions[name] = version
    versions.setdefault(C2E_MODEL, None)
    return versions


def _gpus() -> float:
    try:
        import ray

        return float(ray.cluster_resources().get("GPU", 0)) if ray.is_initialized() else 0.0
    except Exception:  # noqa: BLE001 - no cluster reachable: CPU shares only
        return 0.0


@functools.lru_cache(maxsize=1)
def _source_digest() -> str:
    """A digest of the package's source: a code change must restart replicas, a model change must not."""
    h = hashlib.sha1()
    for path in sorted(Path(__file__).resolve().parents[1].rglob("*.py")):
        h.update(path.read_bytes())
    return h.hexdigest()


def code_version(name: str, *init_args: Any) -> str:
    """The deployment's code version: source + its constructor arguments. `serve.run` otherwise draws a random
    version on every deploy and replaces every replica; with a stable one, a redeploy that only moves a model
    version changes `user_config` alone, which the running replicas apply in `reconfigure`."""
    blob = json.dumps([name, _source_digest(), init_args], sort_keys=True, default=str)
    return hashlib.sha1(blob.encode()).hexdigest()[:16]


def _options(name: str, cfg: ServeConfig, scaling: dict, gpus: float) -> dict[str, Any]:
    actor = {"num_cpus": CPUS[name]}
    if gpus and name in GPU_SHARE:
        actor["num_gpus"] = GPU_SHARE[name]
    return {"ray_actor_options": actor, "autoscaling_config": scaling,
            "max_ongoing_requests": 64 if name == "Ingress" else 16,
            # The model deployments bound the queue; the ingress does not, so a full queue is answered by the
            # ingress as JSON with Retry-After (the proxy's own 503 is plain text without it).
            "max_queued_requests": -1 if name == "Ingress" else cfg.max_queued_requests, "health_check_period_s": 10,
            "health_check_timeout_s": 30, "graceful_shutdown_wait_loop_s": 2, "graceful_shutdown_timeout_s": 20}


def build_app(args: dict[str, Any] | None = None):
    """The bound application. ``args``: ``config`` (YAML path), ``set`` (list of ``section.key=value``),
    ``token`` (else SPPE_SERVE_TOKEN / serve.token), ``autoscaling`` (dict merged over the defaults)."""
    from sppe_ray import tracking
    from sppe_ray.config import sppe_home

    args = dict(args or {})
    cfg = load_config(args.get("config"), list(args.get("set") or []))
    serve_cfg = cfg.serve
    versions = resolve_versions(serve_cfg)
    token = args.get("token") or os.environ.get("SPPE_SERVE_TOKEN") or serve_cfg.token
    if not token:
        raise BackendUnavailableError("no bearer token: set SPPE_SERVE_TOKEN or serve.token (`sppe serve` makes one)")
    store = {"SPPE_HOME": str(sppe_home()), "MLFLOW_TRACKING_URI": tracking.tracking_uri()}
    scaling, gpus = autoscaling(args.get("autoscaling")), _gpus()
    batching = {"batch_size": serve_cfg.batch_size, "batch_wait_s": serve_cfg.batch_wait_s}
    protector = _versioned(Protector.options(**_options("Protector", serve_cfg, scaling, gpus)),
                           store, serve_cfg.work_side, serve_cfg.detector).bind(store, serve_cfg.work_side,
                                                                                serve_cfg.detector)
    editability = _versioned(Editability.options(
        **_options("Editability", serve_cfg, scaling, gpus),
        user_config={"name": ERMA_MODEL, "version": versions[ERMA_MODEL], **batching}), store).bind(store)
    recovery = _versioned(Recovery.options(
        **_options("Recovery", serve_cfg, scaling, gpus),
        user_config={"name": C2E_MODEL, "version": versions[C2E_MODEL], **batching}), store).bind(store)
    settings = serve_cfg.model_dump()
    return _versioned(Ingress.options(**_options("Ingress", serve_cfg, scaling, gpus)), settings, token).bind(
        protector, editability, recovery, settings, token)


def _versioned(deployment, *init_args: Any):
    """Pin the deployment's code version (see `code_version`). Ray removed `version` from `.options()` but
    still reads `Deployment._version` when `serve.run` deploys (ray/serve/_private/client.py); the model-swap
    e2e test fails if a Ray upgrade stops honouring it. `serve deploy` of a config file versions by itself."""
    deployment._version = code_version(deployment.name, *init_args)
    return deployment
