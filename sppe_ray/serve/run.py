"""`sppe serve`: the embedded default. Local Ray, the reference editor on loopback unless an editor URL is
given, the Serve application deployed, the URL printed, running until interrupted."""

from __future__ import annotations

import os
import secrets
import socket
import threading
import time
from pathlib import Path

from sppe_ray.config import SPPEConfig, sppe_home


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class EditorServer:
    """The project's reference editor server (any Editor over HTTP) in a thread of this process."""

    def __init__(self, editor=None, host: str = "127.0.0.1", port: int | None = None, app=None) -> None:
        import uvicorn

        from sppe_ray.editors import create_editor
        from sppe_ray.editors.http_server import create_app

        self.host, self.port = host, port or free_port(host)
        app = app or create_app(editor or create_editor("procedural"))
        config = uvicorn.Config(app, host=self.host, port=self.port,
                                log_level="warning", access_log=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True, name="sppe-editor")

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout_s: float = 30.0) -> EditorServer:
        self.thread.start()
        deadline = time.monotonic() + timeout_s
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError(f"reference editor did not start on {self.url}")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def serve_token(cfg: SPPEConfig) -> tuple[str, Path | None]:
    """SPPE_SERVE_TOKEN, else serve.token, else a new random one written to <home>/serve/token (mode 600)."""
    token = os.environ.get("SPPE_SERVE_TOKEN") or cfg.serve.token
    if token:
        return token, None
    path = sppe_home() / "serve" / "token"
    path.parent.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(24)
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # never readable by others, not even briefly
    with os.fdopen(fd, "w") as fh:
        fh.write(token)
    return token, path


def deploy(cfg_path: str | None, overrides: list[str], token: str, *, host: str, port: int,
           autoscaling: dict | None = None, blocking: bool = True) -> str:
    """Deploy the application on the running Ray and return its URL (Ray must be initialised)."""
    from ray import serve

    from sppe_ray.serve.app import build_app

    serve.start(http_options={"host": host, "port": port})
    app = build_app({"config": cfg_path, "set": overrides, "token": token, "autoscaling": autoscaling})
    serve.run(app, name="sppe", route_prefix="/", blocking=False)
    return f"http://{host}:{port}"


def wait_forever() -> None:
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
