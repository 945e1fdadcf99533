"""A small Python client of the Serve API (used by `sppe edit` and the tests; usable from notebooks).

    from sppe_ray.serve.client import Client
    result = Client("http://127.0.0.1:8000", token).edit("photo.jpg", "035")
    result.save("edited.png"); print(result.decision)

With ``retries=N`` the idempotent calls (protect, editability, recover, models, health) are sent again, up to N
times, when the answer is 503 (a replica restarting, a full queue) or the connection failed: the wait doubles
from ``backoff_s`` and never exceeds the server's Retry-After. ``edit`` is never retried: it calls the cloud
editor, and a second call is the user's decision.
"""

from __future__ import annotations

import base64
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from sppe_ray.errors import SPPEError
from sppe_ray.imageio import decode_image, encode_mask, encode_png


class ServeError(SPPEError):
    """A non-200 answer; ``status`` and ``body`` (the JSON error, e.g. a refusal's decision) are kept."""

    def __init__(self, status: int, body: dict, retry_after: float | None = None) -> None:
        super().__init__(f"HTTP {status}: {body.get('detail', body)}")
        self.status, self.body, self.retry_after = status, body, retry_after


@dataclass
class EditResult:
    image: np.ndarray
    decision: dict[str, Any]
    models: dict[str, Any]
    raw: dict[str, Any]

    def save(self, path: str | os.PathLike) -> Path:
        from sppe_ray.imageio import save_image

        save_image(path, self.image)
        return Path(path)


def _file(value: Any, name: str) -> tuple[str, bytes, str]:
    """An upload from a path, raw bytes, or an RGB array (sent as PNG)."""
    if isinstance(value, np.ndarray):
        return (f"{name}.png", encode_png(value), "image/png")
    if isinstance(value, (bytes, bytearray)):
        return (name, bytes(value), "application/octet-stream")
    path = Path(value)
    return (path.name, path.read_bytes(), "application/octet-stream")


def _retryable(exc: Exception) -> bool:
    """A connection that failed, or a 503 (replica restarting, queue full): the same call may succeed later."""
    return isinstance(exc, httpx.TransportError) or (isinstance(exc, ServeError) and exc.status == 503)


def b64_image(text: str) -> np.ndarray:
    return decode_image(base64.b64decode(text))


class Client:
    """One method per endpoint; raises ServeError on any non-200 answer (after ``retries`` for idempotent calls)."""

    def __init__(self, url: str, token: str | None = None, timeout_s: float = 300.0, *, retries: int = 0,
                 backoff_s: float = 0.5) -> None:
        self.url = url.rstrip("/")
        self.token = token or os.environ.get("SPPE_SERVE_TOKEN")
        self.retries, self.backoff_s = int(retries), float(backoff_s)
        self.retried = 0  # how many times a call was sent again (the fault drills count them)
        self._http = httpx.Client(timeout=timeout_s)

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def _post(self, route: str, files: dict, data: dict, *, idempotent: bool = True) -> dict:
        form = {k: str(v) for k, v in data.items() if v is not None}
        return self._send(lambda: self._http.post(f"{self.url}{route}", files=files, data=form,
                                                  headers=self._headers()), idempotent)

    def _send(self, request, idempotent: bool) -> dict:
        attempt = 0
        while True:
            try:
                return self._json(request())
            except (ServeError, httpx.TransportError) as exc:
                if not (idempotent and attempt < self.retries and _retryable(exc)):
                    raise
                wait = self.backoff_s * 2 ** attempt
                if isinstance(exc, ServeError) and exc.retry_after is not None:
                    wait = min(wait, exc.retry_after)
                time.sleep(wait)
                attempt, self.retried = attempt + 1, self.retried + 1

    @staticmethod
    def _json(resp: httpx.Response) -> dict:
        try:
            body = resp.json()
        except ValueError:
            body = {"detail": resp.text[:300]}
        if resp.status_code != 200:
            after = resp.headers.get("Retry-After")
            raise ServeError(resp.status_code, body, float(after) if after and after.isdigit() else None)
        return body

    def health(self) -> dict:
        return self._send(lambda: self._http.get(f"{self.url}/healthz"), True)

    def models(self) -> dict:
        return self._send(lambda: self._http.get(f"{self.url}/v1/models", headers=self._headers()), True)

    def edit(self, image: Any, instruction: str, *, mask: np.ndarray | None = None,
             min_editability: float | None = None, strategies: list[str] | None = None,
             categories: list[str] | None = None) -> EditResult:
        files = {"image": _file(image, "image")}
        if mask is not None:
            files["mask"] = ("mask.png", encode_mask(mask), "image/png")
        body = self._post("/v1/edit", files, {"instruction": instruction, "min_editability": min_editability,
                                              "strategies": ",".join(strategies) if strategies else None,
                                              "categories": ",".join(categories) if categories else None},
                          idempotent=False)
        return EditResult(b64_image(body["image_png_base64"]), body["decision"], body["models"], body)

    def protect(self, image: Any, *, mask: np.ndarray | None = None, strategy: str = "default") -> dict:
        files = {"image": _file(image, "image")}
        if mask is not None:
            files["mask"] = ("mask.png", encode_mask(mask), "image/png")
        return self._post("/v1/protect", files, {"strategy": strategy})

    def editability(self, source: Any, surrogate: Any, instruction: str, mask: np.ndarray | None = None) -> dict:
        files = {"source": _file(source, "source"), "surrogate": _file(surrogate, "surrogate")}
        if mask is not None:
            files["mask"] = ("mask.png", encode_mask(mask), "image/png")
        return self._post("/v1/editability", files, {"instruction": instruction})

    def recover(self, source: Any, surrogate: Any, edited: Any, mask: np.ndarray, instruction: str,
                method: str | None = None) -> dict:
        files = {"source": _file(source, "source"), "surrogate": _file(surrogate, "surrogate"),
                 "edited": _file(edited, "edited"), "mask": ("mask.png", encode_mask(mask), "image/png")}
        return self._post("/v1/recover", files, {"instruction": instruction, "method": method})

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
