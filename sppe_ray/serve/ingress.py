"""The HTTP front door (FastAPI under Ray Serve): versioned `/v1` routes, the token, limits, errors, the gateway.

Stateless by design: every request carries what it needs, nothing private is stored or logged (request bodies
never reach a log line; errors name the input, not its content), and the editor URL comes from server
configuration only. The gateway (`POST /v1/edit`) sends the cloud editor nothing but the chosen surrogate, and
proves it from the exact bytes that leave (`private_pixels_sent`).

No `from __future__ import annotations` here: Serve rebuilds the class's routes outside this module, and
FastAPI must see real types, not strings it can no longer resolve (OpenAPI then fails).
"""


import asyncio
import functools
import hmac
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from importlib import resources
from typing import Annotated, Any

import numpy as np
from fastapi import Depends, FastAPI, File, Form, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from ray import serve

from sppe_ray import __version__
from sppe_ray.config import ServeConfig
from sppe_ray.editors.base import EditorError, EditorTimeoutError
from sppe_ray.errors import (
    BackendUnavailableError,
    ImageError,
    ImageTooLargeError,
    NotAnImageError,
    SPPEError,
    UnknownCategoryError,
    UnknownInstructionError,
)
from sppe_ray.serve import codec
from sppe_ray.serve.gateway import Scored, choose

RETRY_AFTER_S = 1
EDITOR_THREADS = 16  # editor calls wait on the network: their own pool, so a slow editor starves no other route
log = logging.getLogger("sppe_ray.serve")
app = FastAPI(title="sppe-ray", version=__version__, docs_url="/docs", openapi_url="/openapi.json",
              description="Surrogate-based privacy-preserving image editing: protect, score, recover, and the "
                          "privacy gateway round trip. Every /v1 route needs `Authorization: Bearer <token>`.")


class Problem(Exception):
    """An answer other than 200, with a JSON body ``{"detail": ..., **extra}``."""

    def __init__(self, status: int, detail: str, headers: dict | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.status, self.detail, self.headers, self.extra = status, detail, headers or {}, extra


def _unwrap(exc: BaseException) -> BaseException:
    """An error raised inside another deployment arrives wrapped by Ray; its cause is what happened."""
    seen = 0
    while getattr(exc, "cause", None) is not None and seen < 5:
        exc, seen = exc.cause, seen + 1
    return exc


def problem_of(exc: BaseException) -> Problem:
    """The status code a user should see for an error (see the README's Serve section)."""
    from ray.exceptions import RayActorError
    from ray.serve.exceptions import BackPressureError, DeploymentUnavailableError

    exc = _unwrap(exc)
    if isinstance(exc, Problem):
        return exc
    if isinstance(exc, BackPressureError):
        return Problem(503, "the service is at capacity; retry shortly", {"Retry-After": str(RETRY_AFTER_S)})
    if isinstance(exc, (RayActorError, DeploymentUnavailableError)):
        return Problem(503, "a model replica is restarting; retry shortly", {"Retry-After": "5"})
    if isinstance(exc, ImageTooLargeError):
        return Problem(413, str(exc))
    if isinstance(exc, NotAnImageError):
        return Problem(415, str(exc))
    if isinstance(exc, (ImageError, UnknownInstructionError, UnknownCategoryError)):
        return Problem(422, str(exc))
    if isinstance(exc, EditorError):  # the editor's address and answer stay in the server log
        log.warning("editor call failed: %s", exc)
        if isinstance(exc, EditorTimeoutError):
            return Problem(504, "the editor did not answer in time")
        return Problem(502, f"the editor failed ({_editor_reason(str(exc))})")
    if isinstance(exc, BackendUnavailableError):
        return Problem(503, str(exc), {"Retry-After": "30"})
    if isinstance(exc, SPPEError):
        return Problem(422, str(exc))
    log.error("internal error %s", type(exc).__name__)  # the type only: a message may quote input values
    return Problem(500, f"internal error ({type(exc).__name__}); nothing was sent to the editor")


def _editor_reason(message: str) -> str:
    """A client-safe summary of an editor failure: what kind of failure, not where or what it said."""
    for needle, reason in (("unreadable answer", "it answered something that is not an image"),
                           ("returned", "it returned an image of another size"),
                           ("refused the request", "it refused the request"),
                           ("ConnectError", "it cannot be reached"), ("HTTP 5", "it answered with a server error")):
        if needle in message:
            return reason
    return "see the server log"


@app.exception_handler(Problem)
async def _problem(_: Request, exc: Problem) -> JSONResponse:
    return JSONResponse({"detail": exc.detail, **exc.extra}, status_code=exc.status, headers=exc.headers)


@app.exception_handler(Exception)
async def _internal(_: Request, exc: Exception) -> JSONResponse:
    problem = problem_of(exc)
    return JSONResponse({"detail": problem.detail}, status_code=problem.status, headers=problem.headers)


@app.exception_handler(RequestValidationError)
async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
    first = exc.errors()[0] if exc.errors() else {}
    where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
    return JSONResponse({"detail": f"bad request field {where}: {first.get('msg', 'invalid')}"}, status_code=422)


class BodyLimit:
    """413 (or 411 without a length) before a POST body is read: FastAPI/Starlette have no body limit.
    A plain ASGI middleware: Starlette's decorator-style middleware costs about a millisecond a request."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            limit = scope["app"].state.max_body
            length = dict(scope["headers"]).get(b"content-length")
            problem = None
            if length is None:
                problem = JSONResponse({"detail": "a Content-Length header is required"}, status_code=411)
            elif not length.isdigit() or int(length) > limit:
                problem = JSONResponse({"detail": f"request body of {length.decode(errors='replace')} bytes is "
                                                  f"above the limit of {limit} bytes"}, status_code=413)
            if problem is not None:
                await problem(scope, receive, send)
                return
        await self.app(scope, receive, send)


app.add_middleware(BodyLimit)


async def require_token(request: Request) -> None:
    """Bearer token, compared in constant time; 401 with WWW-Authenticate otherwise."""
    expected = request.app.state.token
    given = request.headers.get("authorization", "")
    scheme, _, token = given.partition(" ")
    if not expected or scheme.lower() != "bearer" or not hmac.compare_digest(token.encode(), expected.encode()):
        raise Problem(401, "missing or wrong bearer token", {"WWW-Authenticate": "Bearer"})


Auth = Depends(require_token)


async def _read(upload: UploadFile | None, what: str, cfg: ServeConfig) -> np.ndarray | None:
    if upload is None:
        return None
    data = await upload.read()
    return await asyncio.to_thread(codec.image_from_upload, data, what, max_bytes=cfg.max_upload_bytes,
                                   max_pixels=cfg.max_pixels)


async def _read_mask(upload: UploadFile | None, shape_hw: tuple[int, int], cfg: ServeConfig) -> np.ndarray | None:
    data = None if upload is None else await upload.read()
    return await asyncio.to_thread(codec.mask_from_upload, data, shape_hw, max_pixels=cfg.max_pixels)


def _code(instruction: str) -> str:
    from sppe_ray.taxonomy import resolve_instruction

    return resolve_instruction(instruction)


def _list(text: str | None) -> list[str] | None:
    items = [t.strip() for t in (text or "").split(",") if t.strip()]
    return items or None


def _strategies(text: str | None, cfg: ServeConfig) -> list[str]:
    from sppe_ray.privacy.surrogates import STRATEGIES

    chosen = _list(text) or list(cfg.strategies)
    unknown = [s for s in chosen if s != "default" and s not in STRATEGIES]
    if unknown:
        raise Problem(422, f"unknown strategies {unknown}; choose from default, {', '.join(STRATEGIES)}")
    return chosen


def _encode_all(arrays: list[np.ndarray]) -> list[str]:
    """base64 PNGs of images (uint8 RGB) and masks (bool), in a worker thread: encoding is CPU work."""
    return [codec.mask_b64(a) if a.dtype == bool else codec.png_b64(a) for a in arrays]


def _recovered(out: dict) -> dict:
    """A recovery answer, or the per-request error the batch recorded for it."""
    if "error" in out:
        if out.get("unavailable"):
            raise Problem(503, out["error"], {"Retry-After": "30"})
        raise Problem(422, out["error"])
    return out


@functools.lru_cache(maxsize=1)
def _page() -> str:
    from html import escape

    from sppe_ray.taxonomy import INSTRUCTIONS

    options = "".join(f'<option value="{escape(i.code)} {escape(i.text)}">' for i in INSTRUCTIONS.values())
    html = resources.files("sppe_ray.serve").joinpath("page.html").read_text(encoding="utf-8")
    return html.replace("<!--INSTRUCTIONS-->", options)


@serve.deployment(name="Ingress")
@serve.ingress(app)
class Ingress:
    """Routes requests to the model deployments; runs the gateway round trip."""

    def __init__(self, protector, editability, recovery, settings: dict, token: str | None) -> None:
        self.protector, self.editability, self.recovery = protector, editability, recovery
        self.cfg = ServeConfig(**settings)
        app.state.token = token
        app.state.max_body = self.cfg.max_upload_bytes * 4 + 65536  # up to four images plus form fields
        self._editor = None
        self._editor_pool = ThreadPoolExecutor(EDITOR_THREADS, thread_name_prefix="sppe-editor")

    def editor(self):
        """The configured cloud editor (http protocol); created once, never taken from a request."""
        if self._editor is None:
            if not self.cfg.editor_url:
                raise Problem(503, "no editor is configured (serve.editor_url)", {"Retry-After": "30"})
            from sppe_ray.editors.http_client import HTTPEditor

            self._editor = HTTPEditor(self.cfg.editor_url, timeout_s=self.cfg.editor_timeout_s,
                                      retries=self.cfg.editor_retries, backoff_s=0.2)
        return self._editor

    async def _call(self, coro):
        try:
            return await coro
        except Exception as exc:  # noqa: BLE001 - every failure becomes a JSON answer with its status
            raise problem_of(exc) from None

    # -- open routes --------------------------------------------------------------------------------
    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def page(self) -> str:
        """A page to try the gateway by hand (the token is typed in, never embedded)."""
        return _page()

    @app.get("/healthz")
    async def healthz(self) -> dict:
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz(self) -> JSONResponse:
        try:
            models = await self._models()
        except Exception as exc:  # noqa: BLE001
            return JSONResponse({"status": "not ready", "detail": problem_of(exc).detail}, status_code=503)
        return JSONResponse({"status": "ready", "models": models})

    # -- /v1 ----------------------------------------------------------------------------------------
    async def _models(self) -> dict[str, str | None]:
        infos = await asyncio.gather(self.editability.info.remote(), self.recovery.info.remote())
        return {i["name"]: i["version"] for i in infos}

    @app.get("/v1/models", dependencies=[Auth])
    async def models(self) -> dict:
        """Which model versions answer now (resolved from the registry alias at deploy)."""
        return {"models": await self._call(self._models()), "recovery_method": self.cfg.recovery_method}

    @app.post("/v1/protect", dependencies=[Auth])
    async def protect(self, image: Annotated[UploadFile, File()],
                      mask: Annotated[UploadFile | None, File()] = None,
                      categories: Annotated[str | None, Form(description="comma-separated category ids")] = None,
                      strategy: Annotated[str, Form()] = "default", seed: Annotated[int, Form()] = 0) -> dict:
        """Regions, mask and one checked surrogate of the image."""
        cfg = self.cfg
        img = await self._call(_read(image, "image", cfg))
        m = await self._call(_read_mask(mask, img.shape[:2], cfg))
        strategies = _strategies(strategy, cfg)[:1]
        found = await self._call(self.protector.candidates.remote(img, m, _list(categories), strategies, seed))
        if not found["regions"]:
            raise Problem(422, "no private region found; send a mask (white = private) to mark one")
        cand = found["candidates"][0]
        mask_b64, sur_b64 = await asyncio.to_thread(_encode_all, [found["mask"], cand["image"]])
        return {"regions": found["regions"], "mask_png_base64": mask_b64, "surrogate_png_base64": sur_b64,
                "strategy": cand["strategy"], "strategies": cand["strategies"], "checks": cand["checks"],
                "passed_checks": cand["ok"]}

    @app.post("/v1/editability", dependencies=[Auth])
    async def editability_route(self, source: Annotated[UploadFile, File()],
                                surrogate: Annotated[UploadFile, File()], instruction: Annotated[str, Form()],
                                mask: Annotated[UploadFile | None, File()] = None) -> dict:
        """ERMA's score in [0, 1]: will the surrogate be edited as the source would have been?"""
        cfg = self.cfg
        src = await self._call(_read(source, "source", cfg))
        sur = await self._call(_read(surrogate, "surrogate", cfg))
        if sur.shape != src.shape:
            raise Problem(422, f"surrogate is {sur.shape[1]}x{sur.shape[0]}, source {src.shape[1]}x{src.shape[0]}")
        m = await self._call(_read_mask(mask, src.shape[:2], cfg))
        code = await self._call(asyncio.to_thread(_code, instruction))
        out = await self._call(self.editability.score.remote((src, sur, code, m)))
        return {"editability": out["editability"], "instruction_code": code, "model_version": out["version"],
                "replica": out["replica"], "node": out["node"]}

    @app.post("/v1/recover", dependencies=[Auth])
    async def recover_route(self, source: Annotated[UploadFile, File()],
                            surrogate: Annotated[UploadFile, File()], edited: Annotated[UploadFile, File()],
                            mask: Annotated[UploadFile, File()], instruction: Annotated[str, Form()],
                            method: Annotated[str | None, Form()] = None) -> dict:
        """The edit of the surrogate transferred onto the private source."""
        cfg = self.cfg
        src = await self._call(_read(source, "source", cfg))
        sur = await self._call(_read(surrogate, "surrogate", cfg))
        ed = await self._call(_read(edited, "edited", cfg))
        for name, img in (("surrogate", sur), ("edited", ed)):
            if img.shape != src.shape:
                raise Problem(422, f"{name} is {img.shape[1]}x{img.shape[0]}, source {src.shape[1]}x{src.shape[0]}")
        m = await self._call(_read_mask(mask, src.shape[:2], cfg))
        code = await self._call(asyncio.to_thread(_code, instruction))
        out = _recovered(await self._call(self.recovery.recover.remote(
            (src, sur, ed, m, code, method or cfg.recovery_method))))
        return {"image_png_base64": await asyncio.to_thread(codec.png_b64, out["image"]), "method": out["method"],
                "model_version": out["version"]}

    @app.post("/v1/edit", dependencies=[Auth])
    async def edit(self, image: Annotated[UploadFile, File()], instruction: Annotated[str, Form()],
                   mask: Annotated[UploadFile | None, File()] = None,
                   categories: Annotated[str | None, Form()] = None,
                   min_editability: Annotated[float | None, Form(ge=0, le=1)] = None,
                   strategies: Annotated[str | None, Form(description="comma-separated allowed strategies")] = None,
                   seed: Annotated[int, Form()] = 0) -> JSONResponse:
        """The gateway: protect, score each candidate, send only the chosen surrogate, recover the edit."""
        cfg = self.cfg
        timings: dict[str, float] = {}
        t = time.perf_counter()
        src = await self._call(_read(image, "image", cfg))
        m = await self._call(_read_mask(mask, src.shape[:2], cfg))
        code = await self._call(asyncio.to_thread(_code, instruction))
        allowed = _strategies(strategies, cfg)
        floor = cfg.min_editability if min_editability is None else float(min_editability)
        timings["decode_ms"], t = (time.perf_counter() - t) * 1e3, time.perf_counter()
        found = await self._call(self.protector.candidates.remote(src, m, _list(categories), allowed, seed))
        if not found["regions"]:
            raise Problem(422, "no private region found, so nothing would be protected; send a mask (white = "
                               "private) to mark what must not leave", decision={"refused": True})
        private = found["mask"]
        timings["protect_ms"], t = (time.perf_counter() - t) * 1e3, time.perf_counter()
        cands = found["candidates"]
        scored = [Scored(c["strategy"], c["strategies"], c["ok"], c["reason"]) for c in cands]
        passing = [i for i, c in enumerate(cands) if c["ok"]]
        results = await self._call(self.editability.score_many.remote(
            [(src, cands[i]["image"], code, private) for i in passing])) if passing else []
        versions = {"sppe-erma": results[0]["version"]} if results else {}
        for i, r in zip(passing, results, strict=True):
            scored[i].editability = r["editability"]
        decision = choose(scored, floor)
        timings["score_ms"], t = (time.perf_counter() - t) * 1e3, time.perf_counter()
        record: dict[str, Any] = {**decision.record(), "regions": found["regions"], "instruction_code": code}
        if decision.refused:
            raise Problem(422, f"refused: {decision.reason}; no editor was called",
                          decision={**record, "sent_bytes": 0, "private_pixels_sent": 0}, models=versions)
        surrogate = cands[decision.chosen]["image"]
        sent = await asyncio.to_thread(codec.encode_png, surrogate)
        leaked = await asyncio.to_thread(codec.private_pixels_sent, sent, src, private)
        if leaked:  # cannot happen with a checked surrogate; if it ever does, nothing leaves
            raise Problem(500, f"refused: {leaked} private source pixels would have been sent; no editor was called")
        timings["verify_ms"], t = (time.perf_counter() - t) * 1e3, time.perf_counter()
        editor = self.editor()
        edited = await self._call(asyncio.get_running_loop().run_in_executor(
            self._editor_pool, editor.edit_png, sent, code, int(seed) & 0xFFFFFFFF, surrogate))
        timings["editor_ms"], t = (time.perf_counter() - t) * 1e3, time.perf_counter()
        rec = _recovered(await self._call(self.recovery.recover.remote((src, surrogate, edited, private, code,
                                                                        cfg.recovery_method))))
        if rec["version"] != "baseline":
            versions["sppe-c2e-s2ser"] = rec["version"]
        timings["recover_ms"], t = (time.perf_counter() - t) * 1e3, time.perf_counter()
        images = await asyncio.to_thread(_encode_all, [rec["image"], surrogate, edited, private])
        body = {"image_png_base64": images[0], "surrogate_png_base64": images[1],
                "edited_surrogate_png_base64": images[2], "mask_png_base64": images[3],
                "decision": {**record, "sent_bytes": len(sent), "sent_sha256": codec.sha256(sent),
                             "private_pixels_sent": leaked, "editor_latency_ms": round(timings["editor_ms"], 1),
                             "recovery_method": rec["method"]},
                "models": versions}
        timings["encode_ms"] = (time.perf_counter() - t) * 1e3
        body["timings_ms"] = {k: round(v, 1) for k, v in timings.items()}
        return JSONResponse(body)
