"""What the multi-node tests share: a real cluster from `cluster/local.sh` (a head and a worker node, each its
own raylet) in a short temp folder, and the commands a user types against it."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
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
def local_cluster() -> Iterator[dict]:
    """`cluster/local.sh up` ... `down`; asserts that `down` left none of its processes behind."""
    # a short folder: Ray's socket paths under it must stay within AF_UNIX's 107 bytes
    folder = Path(tempfile.mkdtemp(prefix="sppe-cl-", dir="/tmp"))
    env = {**os.environ, "SPPE_CLUSTER_DIR": str(folder), "SPPE_CLUSTER_PORT": str(free_port()),
           "SPPE_CLUSTER_DASHBOARD_PORT": str(free_port()), "SPPE_CLUSTER_CLIENT_PORT": str(free_port())}
    env.pop("RAY_ADDRESS", None)
    local_sh(env, "up")
    try:
        yield {"env": env, "dashboard": (folder / "dashboard").read_text().strip(), "dir": folder}
    finally:
        local_sh(env, "down")
        left = subprocess.run(["pgrep", "-f", str(folder)], capture_output=True, text=True).stdout.split()
        assert left == [], f"cluster/local.sh down left processes {left}"
        shutil.rmtree(folder, ignore_errors=True)
