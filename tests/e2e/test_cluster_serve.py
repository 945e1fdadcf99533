"""The Serve application of `cluster/serve.yaml`, deployed with `serve deploy` onto a real two-node cluster
(`cluster/local.sh`): Editability replicas on both nodes answer requests (by the node id in each answer, checked
against Ray's own record of where the replicas run), and a replica killed with SIGKILL during a bounded load is
replaced by Serve, with zero failed requests for a client that retries its idempotent calls."""

from __future__ import annotations

import json
import os
import signal
import threading
from pathlib import Path

import httpx
import numpy as np
import pytest
import yaml

from sppe_ray.serve.client import Client, ServeError
from sppe_ray.serve.run import free_port
from tests.e2e.cluster_fixtures import (
    ROOT,
    for_this_machine,
    local_cluster,
    ready,
    replicas,
    serve_deploy,
    serve_status,
    wait_for,
)
from tests.e2e.serve_fixtures import champion_home

pytestmark = pytest.mark.slow
TOKEN = "cluster-token-0123456789"


def _serve_config(home: Path, port: int) -> dict:
    """cluster/serve.yaml as shipped, with what one machine and this test need changed (each change says why)."""
    cfg = for_this_machine(yaml.safe_load((ROOT / "cluster" / "serve.yaml").read_text()), home, port, TOKEN)
    for deployment in cfg["applications"][0]["deployments"]:
        if deployment["name"] == "Editability":  # one replica on each node, fixed, so the drill knows its count
            deployment["autoscaling_config"] = {"min_replicas": 2, "max_replicas": 2}
            deployment["max_replicas_per_node"] = 1
        if deployment["name"] == "Protector":
            deployment["ray_actor_options"] = {"num_cpus": 0.3}  # 1 + 1 CPUs: everything fits on the two nodes
    return cfg


def _replicas(cluster) -> list:
    return replicas(cluster, "Editability")


@pytest.fixture(scope="module")
def served(ray_local, tmp_path_factory):
    with champion_home(tmp_path_factory, "cluster-serve") as (home, versions), local_cluster() as cluster:
        port = free_port()
        serve_deploy(cluster, _serve_config(home, port), home)
        url = f"http://127.0.0.1:{port}"
        # replicas import torch, pyiqa and dlib on two busy cores: minutes on a cold machine
        wait_for("the application became ready", lambda: ready(url) and len(_replicas(cluster)) == 2, 600,
                 lambda: serve_status(cluster))
        yield {"cluster": cluster, "url": url, "versions": versions}


def _pair(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A source photo crop, a surrogate that differs inside a box, and that box as the mask."""
    import cv2
    from skimage import data

    rng = np.random.default_rng(seed)
    y, x = (int(v) for v in rng.integers(0, 256, size=2))
    source = np.ascontiguousarray(cv2.resize(data.astronaut(), (384, 384))[y:y + 128, x:x + 128])
    mask = np.zeros(source.shape[:2], bool)
    mask[24:88, 32:96] = True
    surrogate = source.copy()
    surrogate[mask] = cv2.GaussianBlur(source, (0, 0), 6)[mask]
    return source, surrogate, mask


def test_replicas_on_both_nodes_answer_with_the_same_model(served):
    source, surrogate, mask = _pair(0)
    nodes_running = {a.node_id for a in _replicas(served["cluster"])}
    assert len(nodes_running) == 2, "Serve placed both Editability replicas on one node"
    answers: list[dict] = []

    def ask() -> None:
        with Client(served["url"], TOKEN) as client:
            for _ in range(15):
                answers.append(client.editability(source, surrogate, "001", mask))

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(answers) == 60
    assert {a["node"] for a in answers} == nodes_running  # every answer names a node that runs a replica; both did
    assert {a["model_version"] for a in answers} == {served["versions"]["sppe-erma"]}
    scores = np.array([a["editability"] for a in answers])
    assert np.ptp(scores) < 1e-6, "the two nodes' replicas scored the same pair differently"


def _load_with_kill(served, *, retries: int, requests: int = 120, clients: int = 4) -> dict:
    """`clients` threads send `requests` /v1/editability calls in all; once a tenth are answered, one Editability
    replica's process is SIGKILLed. Returns the counts and the statuses of the failed calls."""
    cluster = served["cluster"]
    victim = _replicas(cluster)[0]
    pairs = [_pair(i) for i in range(8)]
    answered, failed, retried, lock = [], [], [], threading.Lock()

    def send(worker: int) -> None:
        with Client(served["url"], TOKEN, retries=retries, backoff_s=0.5) as client:
            for i in range(worker, requests, clients):
                try:
                    out = client.editability(*pairs[i % len(pairs)][:2], "001", pairs[i % len(pairs)][2])
                    with lock:
                        answered.append(out)
                except (ServeError, httpx.HTTPError) as exc:
                    with lock:
                        failed.append(getattr(exc, "status", type(exc).__name__))
            retried.append(client.retried)

    threads = [threading.Thread(target=send, args=(w,)) for w in range(clients)]
    for t in threads:
        t.start()
    wait_for("a tenth of the load was answered", lambda: len(answered) + len(failed) >= requests // 10, 120)
    os.kill(victim.pid, signal.SIGKILL)  # the cluster's nodes are this machine's processes
    for t in threads:
        t.join()
    wait_for("Serve replaced the killed replica", lambda: (
        len(alive := _replicas(cluster)) == 2 and victim.actor_id not in {a.actor_id for a in alive}))
    return {"requests": requests, "answered": len(answered), "failed": len(failed), "failed_status": failed,
            "retried": sum(retried), "scores_ok": all(0.0 <= a["editability"] <= 1.0 for a in answered)}


def test_a_killed_replica_is_replaced_and_retrying_clients_lose_nothing(served):
    raw = _load_with_kill(served, retries=0)
    with_retries = _load_with_kill(served, retries=5)
    print(json.dumps({"without_retries": raw, "with_retries": with_retries}))
    # without retries, a call caught on the dying replica is a 503 to retry, never a 500 or a hang
    assert raw["answered"] + raw["failed"] == raw["requests"] and raw["scores_ok"]
    assert set(raw["failed_status"]) <= {503}, raw["failed_status"]
    assert with_retries["failed"] == 0 and with_retries["answered"] == with_retries["requests"], with_retries
    assert with_retries["scores_ok"]
