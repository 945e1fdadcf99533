"""Offline checks of the cluster specs: the KubeRay manifests (Serve schema, pod templates against Kubernetes'
own schema, the fields KubeRay's controller requires), the container image and the cluster launcher config.

Not covered offline (no API server, no KubeRay CRD schema on PyPI, no container daemon): that the operator
accepts the RayCluster/RayService/RayJob fields outside the pod templates, that the image builds, and that
the launcher can reach AWS."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest
import ray
import yaml

ROOT = Path(__file__).resolve().parents[2]
KUBERAY = ROOT / "cluster" / "kuberay"
K8S_VERSION = "1.30.0"
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def _doc(name: str) -> dict:
    return yaml.safe_load((KUBERAY / name).read_text())


def _render_module():
    spec = importlib.util.spec_from_file_location("kuberay_render", KUBERAY / "render.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _cluster_specs() -> dict[str, dict]:
    return {"raycluster.yaml": _doc("raycluster.yaml")["spec"],
            "rayservice.yaml": _doc("rayservice.yaml")["spec"]["rayClusterConfig"],
            "rayjob.yaml": _doc("rayjob.yaml")["spec"]["rayClusterSpec"]}


def _templates(spec: dict) -> list[tuple[str, dict]]:
    return [("head", spec["headGroupSpec"]["template"])] + [
        (g["groupName"], g["template"]) for g in spec["workerGroupSpecs"]]


def test_generated_manifests_are_up_to_date():
    for name, text in _render_module().render().items():
        assert (KUBERAY / name).read_text() == text, f"{name} is stale: run python cluster/kuberay/render.py"


def test_serve_config_v2_parses_with_rays_schema_and_is_the_serve_yaml_app():
    from ray.serve.schema import ServeDeploySchema

    inside = yaml.safe_load(_doc("rayservice.yaml")["spec"]["serveConfigV2"])
    parsed = ServeDeploySchema.model_validate(inside) if hasattr(ServeDeploySchema, "model_validate") \
        else ServeDeploySchema.parse_obj(inside)
    assert [a.name for a in parsed.applications] == ["sppe"]
    local = yaml.safe_load((ROOT / "cluster" / "serve.yaml").read_text())
    # the same deployments, plus the model deployments' GPU shares: the RayService's cluster has a GPU group, and
    # a config file's ray_actor_options replaces the builder's whole (GPU share included)
    from sppe_ray.serve.app import GPU_SHARE

    deployments = inside["applications"][0]["deployments"]
    shares = {d["name"]: d["ray_actor_options"].pop("num_gpus", None) for d in deployments}
    assert shares == {d["name"]: GPU_SHARE.get(d["name"]) for d in deployments}
    assert [a["deployments"] for a in inside["applications"]] == [a["deployments"] for a in local["applications"]]
    assert [a["import_path"] for a in inside["applications"]] == [a["import_path"] for a in local["applications"]]
    assert inside["http_options"]["host"] == "0.0.0.0"  # reachable through the RayService's serve service


@pytest.mark.parametrize("name", ["raycluster.yaml", "rayservice.yaml", "rayjob.yaml"])
def test_fields_kuberay_requires(name):
    doc = _doc(name)
    assert doc["apiVersion"] == "ray.io/v1" and len(doc["metadata"]["name"]) <= 47
    assert DNS_LABEL.match(doc["metadata"]["name"])
    spec = _cluster_specs()[name]
    assert spec["rayVersion"] == ray.__version__
    assert spec["headGroupSpec"]["rayStartParams"]["num-cpus"] == "0"  # no work on the head
    groups = spec["workerGroupSpecs"]
    assert len({g["groupName"] for g in groups}) == len(groups) and all(DNS_LABEL.match(g["groupName"]) for g in groups)
    for g in groups:
        assert 0 <= g["minReplicas"] <= g.get("replicas", g["minReplicas"]) <= g["maxReplicas"], g["groupName"]
    gpu = [g for g in groups if "nvidia.com/gpu" in g["template"]["spec"]["containers"][0]["resources"]["limits"]]
    assert len(gpu) == 1 and len(groups) == 2  # one CPU group, one GPU group
    for group, template in _templates(spec):
        image = template["spec"]["containers"][0]["image"]
        repo, tag = image.rsplit(":", 1)
        want = f"{ray.__version__}-gpu" if group == gpu[0]["groupName"] else ray.__version__
        assert repo == "sppe-ray" and tag == want, (group, image)


@pytest.mark.parametrize("name", ["raycluster.yaml", "rayservice.yaml", "rayjob.yaml"])
def test_pod_templates_pass_kubernetes_validate(name):
    import kubernetes_validate

    for group, template in _templates(_cluster_specs()[name]):
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"sppe-{group}"}, "spec": template["spec"]}
        kubernetes_validate.validate(pod, K8S_VERSION, strict=True)


def test_kubernetes_validate_catches_a_broken_template():
    """The check above can fail: a misspelt field is rejected."""
    import kubernetes_validate

    template = _templates(_cluster_specs()["raycluster.yaml"])[0][1]
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x"},
           "spec": {**template["spec"], "containerz": []}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(pod, K8S_VERSION, strict=True)


def test_rayjob_runs_the_eval_job():
    entry = _doc("rayjob.yaml")["spec"]["entrypoint"].split()
    assert entry[:2] == ["python", "jobs/eval.py"] and (ROOT / entry[1]).is_file()


def test_dockerfile_extends_rays_image_of_our_version_and_runs_the_ci_install():
    text = (ROOT / "cluster" / "Dockerfile").read_text()
    assert f"ARG RAY_VERSION={ray.__version__}" in text
    assert re.search(r"^FROM rayproject/ray:\$\{RAY_VERSION\}", text, re.M)
    assert "RUN bash cluster/install.sh" in text and "WORKDIR /home/ray/sppe-ray" in text
    lock = (ROOT / "requirements.lock").read_text()
    assert f"ray=={ray.__version__}" in lock.splitlines()


def test_ray_cluster_yaml_passes_rays_launcher_schema():
    from ray.autoscaler._private import util

    cfg = yaml.safe_load((ROOT / "ray_cluster.yaml").read_text())
    util.validate_config(util.fillout_defaults(cfg))
    assert any("cluster/install.sh" in c for c in cfg["setup_commands"])  # nodes get the pinned lock (our Ray)
    broken = {**cfg, "max_workers": "four"}
    with pytest.raises(Exception, match="four"):
        util.validate_config(util.fillout_defaults(broken))
