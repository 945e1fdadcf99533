"""GPU stages go to GPU nodes: a two-node cluster whose worker node has a GPU resource (`SPPE_CLUSTER_WORKER_GPUS=1`,
a resource Ray schedules by; there is no device behind it, so CUDA-capable parts run on the CPU there).

- `jobs/eval.py` with learned recoverers planned (they use CUDA when present): the evaluator actors ask for a
  GPU share on their own (`ray.actor_gpus` automatic) and all evaluation ran on the GPU node, by the job's own
  record (`summary["placement"]`).
- The RayService's Serve application (`cluster/kuberay/rayservice.yaml`, its `serveConfigV2` as KubeRay
  deploys it): the Editability and Recovery replicas run on the GPU node, and answer from there.
"""

from __future__ import annotations

import json

import pytest
import yaml

from sppe_ray.serve.client import Client
from sppe_ray.serve.run import free_port
from tests.e2e.cluster_fixtures import (
    ROOT,
    for_this_machine,
    gpu_nodes,
    local_cluster,
    ready,
    replicas,
    serve_deploy,
    serve_status,
    submit_job,
    wait_for,
)
from tests.e2e.serve_fixtures import champion_home

pytestmark = pytest.mark.slow
TOKEN = "gpu-token-0123456789"


@pytest.fixture(scope="module")
def gpu_cluster(ray_local, tmp_path_factory):
    with champion_home(tmp_path_factory, "cluster-gpu") as (home, versions), \
            local_cluster(SPPE_CLUSTER_WORKER_GPUS="1") as cluster:
        gpus = gpu_nodes(cluster)
        assert len(gpus) == 1
        yield {"cluster": cluster, "home": home, "gpu_node": gpus.pop(), "versions": versions}


def test_evaluation_actors_ask_for_the_gpu_node_on_their_own(gpu_cluster, small_benchmark, tmp_path):
    summary = tmp_path / "summary.json"
    args = ["jobs/eval.py", "--benchmark", str(small_benchmark[0]), "--fit", "never", "--summary-json", str(summary)]
    submit_job(gpu_cluster["cluster"], gpu_cluster["home"], args,
               ["eval.iqa_metrics=[psnr]", "eval.batch_size=4", "eval.bootstrap=50", "ray.actors=2"])
    got = json.loads(summary.read_text())
    assert "sppe-c2e-s2ser" in got["models"]  # C2E-S2SER (c2e_net uses CUDA when present) was evaluated
    assert set(got["placement"]["evaluate"]) == {gpu_cluster["gpu_node"]}, got["placement"]
    assert len(got["placement"]["read"]) >= 1  # the shard reads ask for no GPU and may run anywhere


def test_the_rayservice_model_replicas_run_on_the_gpu_node(gpu_cluster):
    cluster = gpu_cluster["cluster"]
    rendered = yaml.safe_load((ROOT / "cluster" / "kuberay" / "rayservice.yaml").read_text())
    port = free_port()
    config = for_this_machine(yaml.safe_load(rendered["spec"]["serveConfigV2"]), gpu_cluster["home"], port, TOKEN)
    for deployment in config["applications"][0]["deployments"]:
        deployment.pop("autoscaling_config", None)  # one replica each: two CPUs hold the whole application
        deployment["num_replicas"] = 1
    serve_deploy(cluster, config, gpu_cluster["home"])
    url = f"http://127.0.0.1:{port}"
    wait_for("the RayService application became ready", lambda: ready(url), 600, lambda: serve_status(cluster))
    for name in ("Editability", "Recovery"):
        nodes = {r.node_id for r in replicas(cluster, name)}
        assert nodes == {gpu_cluster["gpu_node"]}, (name, nodes)
    import numpy as np

    rng = np.random.default_rng(0)
    source = rng.integers(0, 255, (96, 96, 3), dtype=np.uint8)
    surrogate, mask = source.copy(), np.zeros((96, 96), bool)
    mask[20:60, 30:70] = True
    surrogate[mask] = 128
    with Client(url, TOKEN) as client:
        out = client.editability(source, surrogate, "001", mask)
    assert out["node"] == gpu_cluster["gpu_node"] and out["model_version"] == gpu_cluster["versions"]["sppe-erma"]
