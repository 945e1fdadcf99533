"""A remote editor over HTTP: the realistic untrusted cloud, with timeouts, retries and an audit trail.

Wire format (JSON, so no multipart dependency on either side): POST ``{url}/edit`` with
``{"image_png_b64", "instruction_code", "seed"}``; the answer is ``{"image_png_b64", "editor", "version"}`` or a
4xx/5xx with ``{"detail": message}``. Every attempt is appended to a JSONL audit log with the sha256 of the PNG
that left the premises, so an auditor can prove what the cloud received (and, optionally, keep those bytes).
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from sppe_ray.editors.base import EditorError, EditorTimeoutError, check_output, check_request
from sppe_ray.errors import ImageError
from sppe_ray.imageio import decode_image, encode_png


class AuditLog:
    """Append-only JSONL record of requests; one line per attempt, written and flushed under a lock."""

    def __init__(self, path: str | Path, save_dir: str | Path | None = None) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.save_dir = Path(save_dir) if save_dir else None
        if self.save_dir:
            self.save_dir.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    def record(self, entry: dict[str, Any], payload: bytes | None = None) -> None:
        if self.save_dir is not None and payload is not None:
            target = self.save_dir / f"{entry['sha256']}.png"
            if not target.exists():
                target.write_bytes(payload)
        line = json.dumps(entry, sort_keys=True)
        with self._lock, self.path.open("a", encoding="utf-8") as fh:
            fh.write(line + "\n")


def _server_message(resp: httpx.Response) -> str:
    try:
        detail = resp.json().get("detail")
    except (ValueError, AttributeError):
        detail = None
    return str(detail) if detail else resp.text[:300] or resp.reason_phrase


class HTTPEditor:
    """Editor protocol over a remote ``/edit`` endpoint (see ``http_server`` for the reference server)."""

    name = "http"

    def __init__(self, url: str | None = None, timeout_s: float = 60.0, retries: int = 3, audit_log: str | None = None,
                 audit_dir: str | None = None, backoff_s: float = 0.5, transport: httpx.BaseTransport | None = None,
                 version: str = "remote") -> None:
        if not url:
            raise ValueError("the http editor needs a server address; set editor.url (e.g. http://127.0.0.1:8900)")
        if retries < 0 or timeout_s <= 0:
            raise ValueError("editor.retries must be >= 0 and editor.timeout_s > 0")
        self.url = url.rstrip("/")
        self.retries, self.backoff_s = int(retries), float(backoff_s)
        self.version = version
        self.audit = AuditLog(audit_log, audit_dir) if audit_log else None
        self._client = httpx.Client(timeout=httpx.Timeout(timeout_s), transport=transport)

    def close(self) -> None:
        self._client.close()

    def health(self) -> dict[str, Any]:
        resp = self._client.get(f"{self.url}/health")
        resp.raise_for_status()
        return resp.json()

    def _log(self, png: bytes, body: bytes, code: str, status: int | str, attempt: int) -> None:
        if self.audit is None:
            return
        entry = {
            "timestamp": datetime.now(timezone.utc).isoformat(), "url": f"{self.url}/edit",
            "sha256": hashlib.sha256(png).hexdigest(), "bytes": len(png),
            "body_sha256": hashlib.sha256(body).hexdigest(), "body_bytes": len(body),
            "instruction": code, "status": status, "attempt": attempt,
        }
        self.audit.record(entry, png)

    def edit(self, image: np.ndarray, instruction_code: str, seed: int) -> np.ndarray:
        img, code, seed32 = check_request(image, instruction_code, seed)
        return self.edit_png(encode_png(img), code, seed32, img)

    def edit_png(self, png: bytes, code: str, seed32: int, like: np.ndarray) -> np.ndarray:
        """Send these exact PNG bytes (the gateway checked and hashed them) and return the edit, which must
        have the shape of ``like`` (the decoded image those bytes hold)."""
        img = like
        body = json.dumps({"image_png_b64": base64.b64encode(png).decode("ascii"), "instruction_code": code,
                           "seed": seed32}).encode()
        last, timed_out = "no attempt made", False
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(self.backoff_s * 2 ** (attempt - 1))
            try:
                resp = self._client.post(f"{self.url}/edit", content=body,
                                         headers={"content-type": "application/json"})
            except httpx.TransportError as exc:  # connection refused, timeout, reset: worth another try
                self._log(png, body, code, type(exc).__name__, attempt)
                last, timed_out = f"{type(exc).__name__}: {exc}", isinstance(exc, httpx.TimeoutException)
                continue
            self._log(png, body, code, resp.status_code, attempt)
            if resp.status_code >= 500:
                last, timed_out = f"HTTP {resp.status_code}: {_server_message(resp)}", resp.status_code == 504
                continue
            if resp.status_code >= 400:
                raise EditorError(f"editor at {self.url} refused the request (HTTP {resp.status_code}): "
                                  f"{_server_message(resp)}")
            return self._decode(resp, img)
        error = EditorTimeoutError if timed_out else EditorError
        raise error(f"editor at {self.url} failed after {self.retries + 1} attempts; last: {last}")

    def _decode(self, resp: httpx.Response, like: np.ndarray) -> np.ndarray:
        try:
            data = base64.b64decode(resp.json()["image_png_b64"], validate=True)
            out = decode_image(data)
        except (ValueError, KeyError, TypeError, ImageError) as exc:
            raise EditorError(f"editor at {self.url} sent an unreadable answer ({exc})") from None
        return check_output(out, like, self.name)

    def __enter__(self) -> HTTPEditor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
