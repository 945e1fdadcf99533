"""Shared fixtures: one local Ray per session (starting Ray costs ~5 s), isolated SPPE_HOME and MLflow."""

from __future__ import annotations

import os

import pytest

# Tests never touch the network for models: fail fast instead of hanging on a hub call.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("RAY_AUTH_MODE", "disabled")
os.environ.setdefault("RAY_ENABLE_UV_RUN_RUNTIME_ENV", "0")
os.environ.setdefault("TQDM_DISABLE", "1")


@pytest.fixture(scope="session")
def ray_local(tmp_path_factory):
    """A real local Ray cluster (2 CPUs, no dashboard) shared by every test that needs Ray."""
    import ray

    from sppe_ray.runtime import init_ray

    os.environ.pop("RAY_ADDRESS", None)
    init_ray(num_cpus=2)
    yield ray
    ray.shutdown()


@pytest.fixture()
def sppe_home(tmp_path, monkeypatch):
    """A private SPPE_HOME with its own SQLite MLflow store."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("SPPE_HOME", str(home))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{home / 'mlflow.db'}")
    return home


def pytest_addoption(parser):
    group = parser.getgroup("sppe", "sppe-ray data and model suites")
    group.addoption("--benchmark", default=None,
                    help="tests/data: check this built benchmark instead of a small one built for the run")
    group.addoption("--champion-home", default=None,
                    help="tests/model: test the champions registered under this SPPE_HOME (its MLflow store) "
                         "instead of small ones fitted for the run")


#: The small benchmark the data and model suites build when no --benchmark is given (about a minute here).
SMALL_BUILD = ["build.n_scenes=24", "build.size=96", "build.instructions_per_scene=2", "build.shard_size=8",
               "build.splits={train: 0.6, val: 0.2, test: 0.2}", "ray.actors=2"]


@pytest.fixture(scope="session")
def small_benchmark(ray_local, tmp_path_factory):
    """A real sppe-mini-like benchmark, built by the project's own build (Ray Data, procedural editor)."""
    from sppe_ray.config import load_config
    from sppe_ray.pipelines.build import build_benchmark

    out = tmp_path_factory.mktemp("suite-bench") / "small"
    cfg = load_config(overrides=SMALL_BUILD, environ={})
    build_benchmark(cfg, out, progress=False)
    return out, cfg
