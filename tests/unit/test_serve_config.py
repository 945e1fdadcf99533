"""cluster/serve.yaml against Ray's own Serve schema, and the parts of it Ray's schema does not check."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
import yaml

from sppe_ray.config import load_config

SERVE_YAML = Path(__file__).resolve().parents[2] / "cluster" / "serve.yaml"


@pytest.fixture(scope="module")
def spec() -> dict:
    return yaml.safe_load(SERVE_YAML.read_text())


def test_serve_yaml_parses_with_rays_schema(spec):
    from ray.serve.schema import ServeDeploySchema

    parsed = ServeDeploySchema.model_validate(spec) if hasattr(ServeDeploySchema, "model_validate") \
        else ServeDeploySchema.parse_obj(spec)
    assert [a.name for a in parsed.applications] == ["sppe"]
    for dep in parsed.applications[0].deployments:
        auto = dep.autoscaling_config
        assert auto["target_ongoing_requests"] < dep.max_ongoing_requests, f"{dep.name} could never scale up"


def test_serve_yaml_names_what_the_builder_binds(spec):
    """Ray's schema accepts any deployment name; a misspelt one would silently configure nothing."""
    from sppe_ray.serve.app import CPUS

    app = spec["applications"][0]
    module, _, attr = app["import_path"].partition(":")
    assert callable(getattr(importlib.import_module(module), attr))
    assert {d["name"] for d in app["deployments"]} == set(CPUS)
    cfg = load_config(app["args"].get("config"), app["args"]["set"])  # every override is a real, valid key
    assert cfg.serve.editor_url == "http://127.0.0.1:8900"
    assert sum(d["ray_actor_options"]["num_cpus"] for d in app["deployments"]) <= 2, "one replica each fits 2 cores"


def test_build_app_refuses_to_serve_without_a_champion(sppe_home):
    from sppe_ray.errors import BackendUnavailableError
    from sppe_ray.serve.app import build_app

    with pytest.raises(BackendUnavailableError, match="sppe train erma"):
        build_app({"token": "x"})


def test_actor_gpu_share_follows_the_plan_and_the_cluster(monkeypatch):
    """Pool actors ask for GPUs only when their work can use them and the cluster has some; a setting wins."""
    from sppe_ray import runtime
    from sppe_ray.pipelines.eval_plan import EvalPlan

    monkeypatch.setattr(runtime, "gpus_available", lambda: 1)
    assert runtime.actor_gpus(True, 2) == 0.5 and runtime.actor_gpus(True, 1) == 1.0
    assert runtime.actor_gpus(False, 2) == 0.0  # a CPU-only plan never occupies a GPU node
    assert runtime.actor_gpus(False, 2, requested=0.25) == 0.25
    monkeypatch.setattr(runtime, "gpus_available", lambda: 4)
    assert runtime.actor_gpus(True, 2) == 1.0  # at most one GPU an actor
    monkeypatch.setattr(runtime, "gpus_available", lambda: 0)
    assert runtime.actor_gpus(True, 2) == 0.0
    assert EvalPlan(recovery=(("c2e_s2ser", "c2e_net", {}),)).uses_gpu
    assert not EvalPlan(recovery=(("paste_back", "paste_back", {}),)).uses_gpu
