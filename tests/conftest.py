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
