"""The black box out of process: Ray actors, a Ray Serve deployment (handle and real HTTP), and our own HTTP
server standing in for a cloud API; a fit over HTTP matches the in-process fit, and losing the server stops the
fit with its checkpoint kept, from which it resumes exactly."""

from __future__ import annotations

import time

import httpx
import numpy as np
import pytest

from sppe_ray.blackbox.query import BlackBoxLost, CountedBlackBox, FrozenModel
from sppe_ray.blackbox.remote import HTTPAnswer, RayActors, create_app, deploy_serve, encode
from sppe_ray.blackbox.train import FitSettings, fit, prepare_setting1
from sppe_ray.serve.run import EditorServer, free_port


@pytest.fixture(scope="module")
def setting():
    return prepare_setting1(n_train=64, n_test=32, steps=30)


@pytest.fixture(scope="module")
def batch(setting):
    return setting.test.images[:5]


def test_ray_actors_answer_like_the_model_and_a_dead_actor_is_retried(ray_local, setting, batch):
    expected = FrozenModel(setting.utility)(batch)
    actors = RayActors(setting.utility, n=2, num_cpus=0.5)
    try:
        bb = CountedBlackBox(actors, retries=2)
        out = bb.many([batch, batch, batch], [f"s{i}" for i in range(5)])
        assert all(np.allclose(o, expected, atol=1e-5) for o in out)
        ray_local.kill(actors.actors[0])
        for _ in range(4):  # the dead actor is replaced: later steps do not fail again
            out = bb.many([batch, batch], [f"s{i}" for i in range(5)])
            assert all(np.allclose(o, expected, atol=1e-5) for o in out)
        assert sum(bb.failures.values()) == 1 and set(bb.failures) <= {"ActorDiedError", "RayActorError"}
        assert bb.calls["s0"] == 3 + 8 + 1
    finally:
        actors.close()


def test_serve_deployment_answers_by_handle_and_over_http(ray_local, setting, batch):
    from ray import serve

    expected = FrozenModel(setting.utility)(batch)
    port = free_port()
    try:
        answer = deploy_serve(setting.utility, replicas=1, num_cpus=0.5, port=port)
        out = CountedBlackBox(answer).many([batch, batch], [f"s{i}" for i in range(5)])
        assert all(np.allclose(o, expected, atol=1e-5) for o in out)
        url = f"http://127.0.0.1:{port}/blackbox"
        deadline = time.monotonic() + 60
        while httpx.post(url, content=encode(batch), timeout=30).status_code == 404:  # the proxy learns the route
            assert time.monotonic() < deadline, "the Serve proxy never routed /blackbox"
            time.sleep(0.5)
        assert np.allclose(HTTPAnswer(url)(batch), expected, atol=1e-5)
        bad = httpx.post(url, content=b"not an array", timeout=30)
        assert bad.status_code == 400 and "npy" in bad.json()["detail"]
        wrong = httpx.post(url, content=encode(np.zeros((2, 48, 48), np.float32)), timeout=30)
        assert wrong.status_code == 400 and "(n, 3, H, W)" in wrong.json()["detail"]
    finally:
        serve.shutdown()


def test_a_fit_over_http_matches_in_process_and_resumes_after_losing_its_black_box(setting, tmp_path):
    s = FitSettings(steps=6, batch=8, eval_every=2)
    whole = fit(setting, s)
    server = EditorServer(app=create_app(setting.utility)).start()
    try:
        bad = httpx.post(f"{server.url}/answer", content=b"\x93NUMPY garbage", timeout=10)
        assert bad.status_code == 400
        first = fit(setting, FitSettings(**{**s.__dict__, "steps": 4}), checkpoint=tmp_path,
                    answer=HTTPAnswer(f"{server.url}/answer", timeout_s=10))
        assert first["history"] == whole["history"][:2]
    finally:
        server.stop()
    with pytest.raises(BlackBoxLost, match="failed 2 attempts"):  # the server is gone: connection refused
        fit(setting, s, checkpoint=tmp_path, answer=HTTPAnswer(f"{server.url}/answer", timeout_s=5), retries=1)
    import json

    assert json.loads((tmp_path / "checkpoint.json").read_text())["step"] == 4  # the last checkpoint is kept
    again = EditorServer(app=create_app(setting.utility)).start()
    try:
        resumed = fit(setting, s, checkpoint=tmp_path, answer=HTTPAnswer(f"{again.url}/answer", timeout_s=10))
    finally:
        again.stop()
    assert np.array_equal(resumed["theta"], whole["theta"]) and resumed["history"] == whole["history"]
