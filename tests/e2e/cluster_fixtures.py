"""What the multi-node tests share: a real cluster from `cluster/local.sh` (a head and a worker node, each its
own raylet) in a short temp folder, and the commands a user types against it."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from sppe_ray.serve.run import free_port

ROOT = Path(__file__).resolve().parents[2]
RAY = str(ROOT / ".venv" / "bin" / "ray")


def local_sh(env: dict[str, str], *args: str, timeout: float = 240) -> str:
    done = subprocess.run(["bash", str(ROOT / "cluster" / "local.sh"), *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return done.stdout


@contextlib.contextmanager
def local_cluster(**settings: str) -> Iterator[dict]:
    """`cluster/local.sh up` ... `down`; asserts that `down` left none of its processes behind. `settings`:
    more SPPE_CLUSTER_* variables (e.g. SPPE_CLUSTER_WORKER_GPUS="1")."""
    # a short folder: Ray's socket paths under it must stay within AF_UNIX's 107 bytes
    folder = Path(tempfile.mkdtemp(prefix="sppe-cl-", dir="/tmp"))
    env = {**os.environ, "SPPE_CLUSTER_DIR": str(folder), "SPPE_CLUSTER_PORT": str(free_port()),
           "SPPE_CLUSTER_DASHBOARD_PORT": str(free_port()), "SPPE_CLUSTER_CLIENT_PORT": str(free_port()),
           **settings}
    env.pop("RAY_ADDRESS", None)
    try:
        local_sh(env, "up")  # inside the try: a failed `up` is still taken down
        yield {"env": env, "dashboard": (folder / "dashboard").read_text().strip(), "dir": folder,
               "address": (folder / "address").read_text().strip()}
    finally:
        local_sh(env, "down")
        left = subprocess.run(["pgrep", "-f", str(folder)], capture_output=True, text=True).stdout.split()
        assert left == [], f"cluster/local.sh down left processes {left}"
        shutil.rmtree(folder, ignore_errors=True)


def submit_job(cluster: dict, home: Path, args: list[str], sets: list[str], *, wait: bool = True) -> str:
    """`ray job submit --working-dir . -- python <args> --set ...` as a user types it; returns the job id."""
    import json
    import re

    runtime_env = json.dumps({"env_vars": {"SPPE_HOME": str(home), "MLFLOW_TRACKING_URI": f"sqlite:///{home}/m.db",
                                           "TQDM_DISABLE": "1"}})
    cmd = [RAY, "job", "submit", "--address", cluster["dashboard"], "--working-dir", ".", "--runtime-env-json",
           runtime_env, *([] if wait else ["--no-wait"]), "--", "python", *args]
    for item in sets:
        cmd += ["--set", item]
    done = subprocess.run(cmd, cwd=ROOT, env=cluster["env"], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return re.search(r"raysubmit_[A-Za-z0-9]+", done.stdout + done.stderr).group(0)


def serve_deploy(cluster: dict, config: dict, folder: Path) -> None:
    """`serve deploy CONFIG --address <dashboard>` of a Serve config (a dict, written to `folder`)."""
    import yaml

    path = folder / "serve-deploy.yaml"
    path.write_text(yaml.safe_dump(config))
    done = subprocess.run([str(ROOT / ".venv" / "bin" / "serve"), "deploy", str(path), "--address",
                           cluster["dashboard"]], cwd=ROOT, env=cluster["env"], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]


def for_this_machine(config: dict, home: Path, port: int, token: str) -> dict:
    """A Serve config made runnable on the local cluster: one proxy (two nodes on one machine cannot both bind
    the HTTP port), loopback and a free port, and the test's SPPE_HOME, registry and token."""
    config["proxy_location"] = "HeadOnly"
    config["http_options"] = {**config.get("http_options", {}), "host": "127.0.0.1", "port": port}
    for app in config["applications"]:
        app["runtime_env"] = {"env_vars": {"SPPE_HOME": str(home), "MLFLOW_TRACKING_URI": f"sqlite:///{home}/m.db",
                                           "SPPE_SERVE_TOKEN": token, "TQDM_DISABLE": "1"}}
    return config


def replicas(cluster: dict, deployment: str) -> list:
    """The live replicas of a deployment of the `sppe` application, from Ray's state API (node id, pid)."""
    from ray.util.state import list_actors

    return list_actors(address=cluster["dashboard"], filters=[
        ("class_name", "=", f"ServeReplica:sppe:{deployment}"), ("state", "=", "ALIVE")])


def gpu_nodes(cluster: dict) -> set[str]:
    """Ids of the live nodes that have a GPU resource."""
    from ray.util.state import list_nodes

    return {n.node_id for n in list_nodes(address=cluster["dashboard"], detail=True)
            if n.state == "ALIVE" and n.resources_total.get("GPU", 0) > 0}


def wait_for(what: str, ok, timeout: float = 240, explain=None) -> None:
    """Poll `ok()` each second; on timeout fail with `what` and, when given, `explain()` (e.g. Serve's status)."""
    deadline = time.monotonic() + timeout
    while not ok():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} within {timeout:.0f} s" + (f"\n{explain()}" if explain else ""))
        time.sleep(1)


def serve_status(cluster: dict) -> str:
    """`serve status` of the cluster: which deployment is not healthy, and why."""
    done = subprocess.run([str(ROOT / ".venv" / "bin" / "serve"), "status", "--address", cluster["dashboard"]],
                          cwd=ROOT, env=cluster["env"], capture_output=True, text=True, timeout=60)
    return (done.stdout + done.stderr)[-4000:]


def ready(url: str) -> bool:
    import httpx

    try:
        return httpx.get(f"{url}/readyz", timeout=5).status_code == 200
    except httpx.HTTPError:
        return False
