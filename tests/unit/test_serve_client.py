"""The Python client's retries, against a real HTTP server on loopback that fails a set number of times."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from sppe_ray.serve.client import Client, ServeError


class _Flaky(BaseHTTPRequestHandler):
    """Answers 503 (Retry-After: 0) to the first `fail` calls, then 200; counts every call."""

    fail, calls = 0, 0

    def _answer(self) -> None:
        type(self).calls += 1
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        failing = type(self).calls <= type(self).fail
        body = json.dumps({"detail": "a model replica is restarting"} if failing else
                          {"editability": 0.5, "models": {}}).encode()
        self.send_response(503 if failing else 200)
        if failing:
            self.send_header("Retry-After", "0")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, *args) -> None:  # quiet
        pass


@pytest.fixture()
def flaky():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Flaky)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _pair():
    img = np.zeros((8, 8, 3), np.uint8)
    return img, img.copy()


def test_idempotent_calls_are_retried_until_they_succeed(flaky):
    handler = flaky[0].RequestHandlerClass
    handler.fail, handler.calls = 2, 0
    with Client(flaky[1], "t", retries=3, backoff_s=0.01) as client:
        assert client.editability(*_pair(), "001")["editability"] == 0.5
        assert client.retried == 2 and handler.calls == 3


def test_without_retries_a_503_is_raised_with_its_retry_after(flaky):
    handler = flaky[0].RequestHandlerClass
    handler.fail, handler.calls = 1, 0
    with Client(flaky[1], "t") as client, pytest.raises(ServeError) as err:
        client.models()
    assert err.value.status == 503 and err.value.retry_after == 0.0 and handler.calls == 1


def test_retries_give_up_after_their_count(flaky):
    handler = flaky[0].RequestHandlerClass
    handler.fail, handler.calls = 10, 0
    with Client(flaky[1], "t", retries=2, backoff_s=0.01) as client, pytest.raises(ServeError):
        client.editability(*_pair(), "001")
    assert handler.calls == 3


def test_edit_is_never_retried(flaky):
    """/v1/edit calls the cloud editor: sending it again is the user's decision."""
    handler = flaky[0].RequestHandlerClass
    handler.fail, handler.calls = 1, 0
    with Client(flaky[1], "t", retries=5, backoff_s=0.01) as client, pytest.raises(ServeError):
        client.edit(_pair()[0], "001")
    assert handler.calls == 1


def test_a_refused_connection_is_retried_then_raised():
    import httpx

    from sppe_ray.serve.run import free_port

    with Client(f"http://127.0.0.1:{free_port()}", "t", retries=2, backoff_s=0.01) as client:
        with pytest.raises(httpx.TransportError):
            client.health()
        assert client.retried == 2
