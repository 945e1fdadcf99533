"""The three model deployments of the Serve application: protection, editability (ERMA), recovery.

Each is a plain class under ``@serve.deployment`` (importable without Ray running); the application builder
(``serve.app``) sets replicas, CPUs/GPUs and queues. Learned models come from the MLflow registry: the builder
resolves an alias to a version at deploy time and hands it over as ``user_config``, so moving the alias and
redeploying calls ``reconfigure`` on the running replicas, which load the new version beside the old one and
swap in one assignment (no request fails, no restart).
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any

import numpy as np
from ray import serve

from sppe_ray.config_names import C2E_METHOD, C2E_MODEL, ERMA_MODEL, SERVE_BASELINES
from sppe_ray.errors import BackendUnavailableError, ConfigError

log = logging.getLogger("sppe_ray.serve")

BASELINES = SERVE_BASELINES
DEFAULT_BATCH = 16
DEFAULT_WAIT_S = 0.0


def _use_store(store: dict | None) -> None:
    """Point this replica at the driver's SPPE_HOME and MLflow store (replicas may start on other nodes)."""
    for key in ("SPPE_HOME", "MLFLOW_TRACKING_URI"):
        if store and store.get(key):
            os.environ[key] = str(store[key])
    _limit_threads()


def _limit_threads() -> None:
    """Replicas share the node's cores with each other: one thread per library each."""
    import cv2
    import torch

    cv2.setNumThreads(1)
    torch.set_num_threads(1)


def _replica_id() -> str:
    """Which replica answered (the model-swap test shows one replica serving both versions: no restart)."""
    try:
        return serve.get_replica_context().replica_id.unique_id
    except Exception:  # noqa: BLE001 - outside a replica (direct calls in tests)
        return "local"


def _node_id() -> str:
    """Which Ray node answered (the multi-node test shows both nodes' replicas answering)."""
    import ray

    return ray.get_runtime_context().get_node_id() if ray.is_initialized() else "local"


def region_record(region: Any) -> dict[str, Any]:
    box = region.known_box() or region.bbox
    return {"category": region.category, "box": [int(v) for v in box], "score": round(float(region.score), 4),
            "detector": region.detector, "area": region.area}


@serve.deployment(name="Protector")
class Protector:
    """Detection + surrogate generation + the surrogate privacy checks (``sppe_ray.privacy``)."""

    def __init__(self, store: dict | None = None, work_side: int = 1024, detector: str = "composite") -> None:
        _use_store(store)
        from sppe_ray.privacy.detectors import create_detector

        self.detector = create_detector(detector)
        self.work_side = int(work_side)

    def candidates(self, image: np.ndarray, mask: np.ndarray | None, categories: list[str] | None,
                   strategies: list[str], seed: int = 0) -> dict[str, Any]:
        """Regions (given mask, else detected and filtered by ``categories``), the union mask, and one checked
        surrogate per strategy."""
        from sppe_ray.privacy.protect import find_regions, keep_categories, protect, region_from_mask

        if mask is not None:
            regions = [region_from_mask(mask, image.shape[:2], categories[0] if categories else None)]
        else:
            regions = keep_categories(find_regions(image, self.detector, work_side=self.work_side), categories)
        union = np.zeros(image.shape[:2], dtype=bool)
        for r in regions:
            union |= r.mask
        out = []
        for strategy in strategies if regions else []:
            done = protect(image, regions, strategy, seed)
            out.append({"strategy": strategy, "strategies": done.strategies, "image": done.image, "ok": done.ok,
                        "reason": done.reason,
                        "checks": [{"identity_distance": c.identity_distance, "text_similarity": c.text_similarity,
                                    "pixel_leak": c.pixel_leak, "ok": c.ok, "reason": c.reason}
                                   for c in done.checks]})
        return {"regions": [region_record(r) for r in regions], "mask": union, "candidates": out}

    def check_health(self) -> None:
        if self.detector is None:
            raise RuntimeError("detector not loaded")


class _Registered:
    """A model loaded from the registry by version, swapped in by ``reconfigure``."""

    current: tuple[str, Any] | None = None

    def _swap(self, user_config: dict, load) -> None:
        version = str(user_config.get("version") or "")
        if not version:
            raise BackendUnavailableError(f"{type(self).__name__}: user_config has no model version")
        if self.current is not None and self.current[0] == version:
            return
        loaded = load(version)  # the old model keeps answering while the new one loads
        self.current = (version, loaded)
        log.info("%s now serves version %s", type(self).__name__, version)

    def _set_batching(self, method, user_config: dict) -> None:
        method.set_max_batch_size(int(user_config.get("batch_size", DEFAULT_BATCH)))
        method.set_batch_wait_timeout_s(float(user_config.get("batch_wait_s", DEFAULT_WAIT_S)))

    def check_health(self) -> None:
        if self.current is None:
            raise RuntimeError("no model loaded")


@serve.deployment(name="Editability")
class Editability(_Registered):
    """ERMA: score in [0, 1] that the surrogate will be edited as the source would have been."""

    def __init__(self, store: dict | None = None) -> None:
        _use_store(store)
        self.current = None

    def reconfigure(self, user_config: dict) -> None:
        from sppe_ray import tracking
        from sppe_ray.models.erma import ERMAPredictor

        name = user_config.get("name", ERMA_MODEL)
        self._swap(user_config, lambda v: ERMAPredictor.load(tracking.download_version(name, v), workers=1))
        self._set_batching(self.score, user_config)

    def info(self) -> dict[str, str | None]:
        return {"name": ERMA_MODEL, "version": None if self.current is None else self.current[0]}

    @serve.batch(max_batch_size=DEFAULT_BATCH, batch_wait_timeout_s=DEFAULT_WAIT_S)
    async def score(self, items: list[tuple]) -> list[dict[str, Any]]:
        """items: (source, surrogate, instruction code, mask or None) -> {"editability", "version"}.
        Concurrent requests (one pair each, as /v1/editability sends) are batched here; the model runs in a
        thread so health checks and `info` still answer meanwhile."""
        return await asyncio.to_thread(self.score_many, items)

    def score_many(self, items: list[tuple]) -> list[dict[str, Any]]:
        """The gateway's candidates of one request, scored in one call (one queue slot, one forward pass)."""
        version, predictor = self.current
        sources, surrogates, codes, masks = (list(col) for col in zip(*items, strict=True))
        scores = predictor.predict(sources, surrogates, codes, masks, batch_size=max(1, len(items)))
        replica, node = _replica_id(), _node_id()
        return [{"editability": float(s), "version": version, "replica": replica, "node": node} for s in scores]


@serve.deployment(name="Recovery")
class Recovery(_Registered):
    """Recovery by method name: C2E-S2SER from the registry, or a classical baseline."""

    def __init__(self, store: dict | None = None) -> None:
        _use_store(store)
        self.current = None
        self.baselines: dict[str, Any] = {}

    def reconfigure(self, user_config: dict) -> None:
        from sppe_ray import tracking
        from sppe_ray.models.recovery import create_recoverer

        name = user_config.get("name", C2E_MODEL)
        if user_config.get("version"):
            self._swap(user_config, lambda v: create_recoverer("c2e_net", model=tracking.download_version(name, v)))
        else:  # a gateway configured with a baseline serves no learned model (and reports none)
            self.current = None
        self._set_batching(self.recover, user_config)

    def check_health(self) -> None:
        """Healthy with baselines only; a deployed learned model must have loaded (reconfigure raises if not)."""

    def info(self) -> dict[str, str | None]:
        return {"name": C2E_MODEL, "version": None if self.current is None else self.current[0]}

    def _recoverer(self, method: str) -> tuple[str, Any]:
        if method == C2E_METHOD:
            if self.current is None:
                raise BackendUnavailableError(f"no {C2E_METHOD} model is deployed; use a baseline: {BASELINES}")
            return self.current
        if method not in BASELINES:
            raise ConfigError(f"unknown recovery method {method!r}; choose {C2E_METHOD} or {', '.join(BASELINES)}")
        if method not in self.baselines:
            from sppe_ray.models.recovery import create_recoverer

            self.baselines[method] = create_recoverer(method)
        return "baseline", self.baselines[method]

    @serve.batch(max_batch_size=DEFAULT_BATCH, batch_wait_timeout_s=DEFAULT_WAIT_S)
    async def recover(self, items: list[tuple]) -> list[dict[str, Any]]:
        """items: (source, surrogate, edited surrogate, mask, code, method) -> {"image", "version", "method"}, or
        {"error"} for the items of a method that cannot run: one request's bad method never fails its batch."""
        return await asyncio.to_thread(self._recover_all, items)

    def _recover_all(self, items: list[tuple]) -> list[dict[str, Any]]:
        out: list[dict[str, Any] | None] = [None] * len(items)
        for method in dict.fromkeys(item[5] for item in items):
            idx = [i for i, item in enumerate(items) if item[5] == method]
            try:
                version, model = self._recoverer(method)
            except (ConfigError, BackendUnavailableError) as exc:
                for i in idx:
                    out[i] = {"error": str(exc), "unavailable": isinstance(exc, BackendUnavailableError)}
                continue
            cols = [[items[i][k] for i in idx] for k in range(5)]
            for i, img in zip(idx, model.recover_batch(*cols), strict=True):
                out[i] = {"image": img, "version": version, "method": method}
        return out
