"""Ray entry: start Ray in-process when no cluster is named, join one otherwise.

Why a helper: jobs run three ways (laptop, `ray job submit`, `RAY_ADDRESS=...`) and must behave the same.
On a 2-core machine Ray Data actors that each take a whole CPU starve the read tasks and the pipeline
hangs (measured here), so the fractional CPU defaults live here too.
"""

from __future__ import annotations

import logging
import os

log = logging.getLogger(__name__)

#: CPU share of one actor in an actor pool on a small machine; two actors plus read tasks fit in 2 cores.
DEFAULT_ACTOR_CPUS = 0.5


def cluster_address() -> str | None:
    """The cluster to join: `RAY_ADDRESS`, or the one `ray job submit` runs us under; None = start locally."""
    return os.environ.get("RAY_ADDRESS") or None


def init_ray(num_cpus: int | None = None, *, quiet: bool = True) -> dict:
    """Start or join Ray once per process and return the cluster's resources.

    Locally we skip the dashboard (about 1 GB less memory) and disable token auth on loopback only when the
    user has not configured it; under a cluster address every setting comes from the cluster.
    """
    import ray

    if ray.is_initialized():
        return ray.cluster_resources()
    address = cluster_address()
    kwargs: dict = {"ignore_reinit_error": True, "log_to_driver": not quiet}
    if address:
        kwargs["address"] = address
    else:
        # "local" always starts a fresh in-process cluster; a bare ray.init() would silently join any
        # cluster already running on the machine (another user's, another test's).
        os.environ.setdefault("RAY_AUTH_MODE", "disabled")
        kwargs.update(address="local", include_dashboard=False, num_cpus=num_cpus)
    # Workers must import the project from where the driver runs (fresh clones run uninstalled too).
    if not address:
        kwargs["runtime_env"] = {"env_vars": {"PYTHONPATH": _project_pythonpath()}}
    ray.init(**kwargs)
    resources = ray.cluster_resources()
    log.info("ray %s: %s", "joined " + address if address else "started locally", resources)
    return resources


def _project_pythonpath() -> str:
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    current = os.environ.get("PYTHONPATH", "")
    return root if not current else f"{root}{os.pathsep}{current}"


def actor_cpus(requested: float | None = None) -> float:
    """CPU share for pool actors: the configured value, else a fraction that cannot starve small machines."""
    if requested is not None and requested > 0:
        return float(requested)
    return DEFAULT_ACTOR_CPUS


def actor_gpus(wanted: bool, actors: int, requested: float | None = None) -> float:
    """GPU share per pool actor. `requested` (ray.actor_gpus) wins; otherwise the cluster's GPUs split among
    the actors (at most one each) when the work has a part that uses CUDA when present (`wanted`), else none:
    a CPU-only plan must not wait for, or occupy, a GPU node."""
    if requested is not None:
        return float(requested)
    gpus = gpus_available() if wanted else 0
    return min(1.0, gpus / max(actors, 1)) if gpus else 0.0


def gpus_available() -> int:
    """GPUs in the cluster (0 without Ray or without GPUs): GPU stages ask for them only when present."""
    try:
        import ray

        if not ray.is_initialized():
            return 0
        return int(ray.cluster_resources().get("GPU", 0))
    except Exception:  # pragma: no cover - defensive: a cluster query must never break a job
        return 0
