"""The black box out of process: Ray actors, a Ray Serve deployment, or any HTTP endpoint.

All three are ``answer`` callables for ``query.CountedBlackBox`` with a ``map`` method, so the queries of one
optimiser step (the two sides of an SPSA perturbation, a CMA-ES population) go out together. The wire format
is one ``.npy`` body (float32, n x 3 x H x W) in and JSON ``{"probabilities": [[...], ...]}`` out, like an
API's top log-probabilities; the trainer only ever sees those numbers.

No ``from __future__ import annotations`` here: FastAPI reads the endpoint's ``Request`` annotation at runtime.
"""

import asyncio
import io
import json
import time
import urllib.request
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from sppe_ray.blackbox.query import FrozenModel

MAX_BODY = 64 * 1024 * 1024


def encode(images: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(images, dtype=np.float32), allow_pickle=False)
    return buf.getvalue()


def decode(body: bytes) -> np.ndarray:
    """A request body to an (n, 3, H, W) float32 batch; anything else is a ValueError (HTTP 400)."""
    if len(body) > MAX_BODY:
        raise ValueError(f"body of {len(body)} bytes is over {MAX_BODY}")
    try:
        arr = np.load(io.BytesIO(body), allow_pickle=False)
    except Exception as exc:  # noqa: BLE001 - any parse failure is the client's
        raise ValueError(f"body is not a .npy array: {exc}") from exc
    if arr.ndim != 4 or arr.shape[1] != 3 or not np.issubdtype(arr.dtype, np.floating):
        raise ValueError(f"expected a float (n, 3, H, W) batch, got {arr.dtype} {arr.shape}")
    return arr.astype(np.float32)


def _map_threads(fn: Any, batches: Sequence[np.ndarray], workers: int) -> list[Any]:
    """fn over the batches at once; an exception is returned in its slot (the caller retries and counts it)."""
    def safe(b: np.ndarray) -> Any:
        try:
            return fn(b)
        except Exception as exc:  # noqa: BLE001 - returned, not raised
            return exc

    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(batches)))) as pool:
        return list(pool.map(safe, batches))


class RayActors:
    """The frozen model in ``n`` Ray actors; ``map`` spreads the queries over them round-robin. An actor that
    died is replaced at once (its query still fails, and is retried and counted by ``CountedBlackBox``)."""

    def __init__(self, model: Any, n: int = 2, latency_s: float = 0.0, num_cpus: float = 1.0) -> None:
        import ray

        self._remote = ray.remote(num_cpus=num_cpus)(FrozenModel)
        self._args = (ray.put(model), latency_s)
        self.actors = [self._remote.remote(*self._args) for _ in range(max(1, n))]
        self._ray, self._next = ray, 0

    def _submit(self, images: np.ndarray) -> tuple[int, Any]:
        slot = self._next % len(self.actors)
        self._next += 1
        return slot, self.actors[slot].__call__.remote(images)

    def _get(self, slot: int, ref: Any) -> np.ndarray:
        try:
            return self._ray.get(ref)
        except self._ray.exceptions.RayActorError:
            self.actors[slot] = self._remote.remote(*self._args)
            raise

    def __call__(self, images: np.ndarray) -> np.ndarray:
        return self._get(*self._submit(images))

    def map(self, batches: Sequence[np.ndarray]) -> list[Any]:
        refs = [self._submit(b) for b in batches]
        out: list[Any] = []
        for slot, ref in refs:
            try:
                out.append(self._get(slot, ref))
            except Exception as exc:  # noqa: BLE001 - a failed call is returned, then retried and counted
                out.append(exc)
        return out

    def close(self) -> None:
        for a in self.actors:
            self._ray.kill(a)


class HTTPAnswer:
    """A black box behind HTTP (our local server, a Serve route, or a remote API speaking the same format)."""

    def __init__(self, url: str, timeout_s: float = 30.0, workers: int = 4) -> None:
        self.url, self.timeout_s, self.workers = url, timeout_s, workers

    def __call__(self, images: np.ndarray) -> np.ndarray:
        req = urllib.request.Request(self.url, data=encode(images), method="POST",
                                     headers={"Content-Type": "application/octet-stream"})
        with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:  # noqa: S310 - configured URL
            return np.asarray(json.loads(resp.read())["probabilities"], dtype=float)

    def map(self, batches: Sequence[np.ndarray]) -> list[Any]:
        return _map_threads(self, batches, self.workers)


def create_app(model: Any, latency_s: float = 0.0) -> Any:
    """A FastAPI app answering POST /answer: the stand-in cloud model for HTTP black-box fits and tests."""
    from fastapi import FastAPI, HTTPException, Request

    frozen = FrozenModel(model, latency_s)
    app = FastAPI(title="sppe black-box utility model")

    @app.post("/answer")
    async def answer(request: Request) -> dict:
        try:
            images = decode(await request.body())
        except ValueError as exc:
            raise HTTPException(400, str(exc)) from exc
        probs = await asyncio.to_thread(frozen, images)  # off the event loop: concurrent queries overlap
        return {"probabilities": probs.tolist()}

    return app


class BlackBoxDeployment:
    """The frozen model as a Ray Serve deployment: ``answer`` for handles, POST (npy body) over HTTP."""

    def __init__(self, model: Any, latency_s: float = 0.0) -> None:
        self.frozen = FrozenModel(model, latency_s)

    def answer(self, images: np.ndarray) -> list[list[float]]:
        return self.frozen(images).tolist()

    async def __call__(self, request: Any) -> Any:
        from starlette.responses import JSONResponse

        try:
            images = decode(await request.body())
        except ValueError as exc:
            return JSONResponse({"detail": str(exc)}, status_code=400)
        return JSONResponse({"probabilities": await asyncio.to_thread(self.answer, images)})


class ServeAnswer:
    """A deployed ``BlackBoxDeployment`` reached through its handle; ``map`` sends the queries at once."""

    def __init__(self, handle: Any, timeout_s: float = 60.0) -> None:
        self.handle, self.timeout_s = handle, timeout_s

    def __call__(self, images: np.ndarray) -> np.ndarray:
        return np.asarray(self.handle.answer.remote(images).result(timeout_s=self.timeout_s), dtype=float)

    def map(self, batches: Sequence[np.ndarray]) -> list[Any]:
        responses = [self.handle.answer.remote(b) for b in batches]
        out: list[Any] = []
        for r in responses:
            try:
                out.append(np.asarray(r.result(timeout_s=self.timeout_s), dtype=float))
            except Exception as exc:  # noqa: BLE001 - counted and retried by CountedBlackBox
                out.append(exc)
        return out


def deploy_serve(model: Any, replicas: int = 2, latency_s: float = 0.0, name: str = "sppe-blackbox",
                 route_prefix: str = "/blackbox", num_cpus: float = 1.0, port: int | None = None) -> ServeAnswer:
    """Deploy the frozen model on the running Ray and return its answer. When Serve is not running yet it is
    started: with ``port``, its HTTP proxy answers POST <route_prefix> on 127.0.0.1:port; without, no proxy
    (handles only). A Serve already running keeps its own proxy settings."""
    from ray import serve

    if port is not None:
        serve.start(proxy_location="HeadOnly", http_options={"host": "127.0.0.1", "port": port})
    else:
        serve.start(proxy_location="Disabled")

    dep = serve.deployment(BlackBoxDeployment, name="BlackBox", num_replicas=replicas,
                           ray_actor_options={"num_cpus": num_cpus})
    handle = serve.run(dep.bind(model, latency_s), name=name, route_prefix=route_prefix, blocking=False)
    deadline = time.monotonic() + 120
    while (status := serve.status().applications[name].status) != "RUNNING":
        if status == "DEPLOY_FAILED" or time.monotonic() > deadline:
            serve.delete(name)
            raise RuntimeError(f"Serve application {name} did not start ({status})")
        time.sleep(0.2)
    return ServeAnswer(handle)
