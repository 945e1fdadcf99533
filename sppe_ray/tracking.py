"""MLflow at the edge: experiments, runs with provenance, model registry with a guarded `champion` alias.

Why these helpers: every job must log the same provenance (config, benchmark manifest hash, git commit) and
every trained model must follow one promotion rule (the alias moves only when validation improves), so the
rule lives in one place instead of in each training loop.
Models are plain folders (weights + JSON) logged as run artifacts and registered as model versions whose
source is that artifact folder; the validation score is kept as a version tag so promotion can compare.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sppe_ray.config import SPPEConfig, sppe_home
from sppe_ray.errors import TrackingError

log = logging.getLogger(__name__)

CHAMPION = "champion"
SCORE_TAG = "validation_score"


def tracking_uri(home: Path | None = None) -> str:
    """`MLFLOW_TRACKING_URI` when set, else a SQLite store under SPPE_HOME (no server needed)."""
    env = os.environ.get("MLFLOW_TRACKING_URI")
    if env:
        return env
    root = (home or sppe_home()) / "mlflow"
    root.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{root / 'mlflow.db'}"


def configure(home: Path | None = None) -> str:
    """Point mlflow at our store; idempotent. Returns the URI."""
    import mlflow

    os.environ.setdefault("MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING", "false")
    uri = tracking_uri(home)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    return uri


def artifact_root(home: Path | None = None) -> Path:
    return (home or sppe_home()) / "mlflow" / "artifacts"


def ensure_experiment(name: str, home: Path | None = None) -> str:
    """Experiment id for `name`, created with an explicit artifact location (else ./mlruns of the cwd)."""
    import mlflow

    configure(home)
    exp = mlflow.get_experiment_by_name(name)
    if exp is not None:
        return exp.experiment_id
    location = artifact_root(home) / name
    location.mkdir(parents=True, exist_ok=True)
    try:
        return mlflow.create_experiment(name, artifact_location=location.as_uri())
    except Exception:  # another process created it between our check and create
        exp = mlflow.get_experiment_by_name(name)
        if exp is None:
            raise
        return exp.experiment_id


def git_commit() -> str:
    """The commit of the checkout we run from, or 'unknown' outside git (e.g. a job's working dir)."""
    root = Path(__file__).resolve().parent.parent
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=5)
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def flatten(tree: dict, prefix: str = "") -> dict[str, Any]:
    """Nested dict -> dotted keys, for MLflow params."""
    out: dict[str, Any] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, name + "."))
        else:
            out[name] = value
    return out


@contextlib.contextmanager
def start_run(experiment: str, run_name: str | None = None, *, config: SPPEConfig | dict | None = None,
              manifest_hash: str | None = None, params: dict | None = None, tags: dict | None = None,
              home: Path | None = None) -> Iterator[Any]:
    """A run carrying the standard provenance; yields the active mlflow run."""
    import mlflow

    exp_id = ensure_experiment(experiment, home)
    all_tags = {"git_commit": git_commit(), **(tags or {})}
    if manifest_hash:
        all_tags["benchmark_manifest_hash"] = manifest_hash
    with mlflow.start_run(experiment_id=exp_id, run_name=run_name, tags=all_tags) as run:
        merged: dict[str, Any] = {}
        if config is not None:
            tree = config.model_dump() if isinstance(config, SPPEConfig) else dict(config)
            merged.update(flatten(tree, "config."))
        merged.update(params or {})
        if manifest_hash:
            merged["benchmark_manifest_hash"] = manifest_hash
        merged["git_commit"] = all_tags["git_commit"]
        log_params(merged)
        yield run


def log_params(params: dict[str, Any]) -> None:
    import mlflow

    clean = {k: (json.dumps(v) if isinstance(v, (list, dict)) else v) for k, v in params.items()}
    items = list(clean.items())
    for i in range(0, len(items), 100):  # MLflow caps a batch at 100 params
        mlflow.log_params(dict(items[i:i + 100]))


def log_metrics(metrics: dict[str, Any], prefix: str = "", step: int | None = None) -> int:
    """Log the finite numeric leaves of a (nested) dict; returns how many were logged."""
    import mlflow

    flat = {
        _metric_key(prefix + k): float(v) for k, v in flatten(metrics).items()
        if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(float(v))
    }
    if flat:
        mlflow.log_metrics(flat, step=step)
    return len(flat)


def _metric_key(key: str) -> str:
    """MLflow keys allow [A-Za-z0-9_\\-. /]; method names like 'pyiqa:ssim' carry a colon."""
    return "".join(c if (c.isalnum() or c in "_-. /") else "_" for c in key)


class StepLogger:
    """Per-step metrics from a Ray Train worker into the driver's MLflow run, by run id (a worker has no active
    run). Tracking must never kill a training run: a failed call is a warning, non-finite values are dropped."""

    def __init__(self, tracking_uri: str, run_id: str, prefix: str = "") -> None:
        from mlflow import MlflowClient

        self.client, self.run_id, self.prefix = MlflowClient(tracking_uri=tracking_uri), run_id, prefix

    def log(self, metrics: dict[str, Any], step: int) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        items = [Metric(self.prefix + k, float(v), now, step) for k, v in metrics.items()
                 if k != "step" and isinstance(v, (int, float)) and math.isfinite(float(v))]
        try:
            self.client.log_batch(self.run_id, metrics=items)
        except Exception as exc:  # noqa: BLE001 - see the class docstring
            log.warning("mlflow logging failed at step %d: %s", step, exc)


def register_model(model_dir: Path, name: str, score: float | None, *, higher_is_better: bool = True,
                   alias: str = CHAMPION, artifact_path: str = "model", scored_on: dict[str, str] | None = None
                   ) -> tuple[str, bool]:
    """Log `model_dir` under the active run, register it as a new version of `name`, and move `alias`
    to it only when its validation `score` beats the current holder's. Returns (version, promoted).

    `scored_on` ({"benchmark_manifest_hash", "split"}, and a model's format tag) says what the score was
    measured on: a holder scored on another benchmark or split, or saved in another format, is not
    comparable, so the new model takes the alias and the version records which champion it replaced and
    why. A model without a validation score (`score=None`, e.g. a benchmark
    without a val split) is registered but never promoted."""
    import mlflow
    from mlflow import MlflowClient

    run = mlflow.active_run()
    if run is None:
        raise RuntimeError("register_model needs an active MLflow run")
    mlflow.log_artifacts(str(model_dir), artifact_path=artifact_path)
    client = MlflowClient()
    with contextlib.suppress(Exception):
        client.create_registered_model(name)
    source = f"{run.info.artifact_uri.rstrip('/')}/{artifact_path}"
    scored_on = dict(scored_on or {})
    holder = champion_record(name, alias)  # raises TrackingError when the registry cannot answer
    comparable = holder is None or all(holder["tags"].get(k) == v for k, v in scored_on.items())
    if score is None:
        promoted, why = False, "no validation score: never promoted"
    elif not comparable:
        held = ", ".join(f"{k}={holder['tags'].get(k)}" for k in scored_on)
        promoted = math.isfinite(score)
        why = f"replaced v{holder['version']}, scored on another benchmark or split, or another model format ({held})"
    else:
        promoted = should_promote(None if holder is None else holder["score"], score, higher_is_better)
        why = "first version" if holder is None else f"compared with v{holder['version']}"
    tags = {**scored_on, "promotion": why}
    if score is not None:
        tags[SCORE_TAG] = repr(float(score))
    mv = client.create_model_version(name, source=source, run_id=run.info.run_id, tags=tags)
    if promoted:
        client.set_registered_model_alias(name, alias, mv.version)
    mlflow.set_tags({f"registered.{name}": mv.version, f"promoted.{name}": str(promoted)})
    log.info("registered %s v%s (score %s); %s (%s)", name, mv.version, score,
             f"alias '{alias}' moved" if promoted else f"alias '{alias}' kept", why)
    return str(mv.version), promoted


def should_promote(current: float | None, candidate: float, higher_is_better: bool = True) -> bool:
    """The promotion rule: a first model always wins; after that only a strict improvement does."""
    if not math.isfinite(candidate):
        return False
    if current is None or not math.isfinite(current):
        return True
    return candidate > current if higher_is_better else candidate < current


def champion_record(name: str, alias: str = CHAMPION) -> dict[str, Any] | None:
    """{"version", "score", "tags"} of the version holding `alias`; None when there is none.

    A registry that cannot answer raises TrackingError: that is never "no champion"."""
    from mlflow import MlflowClient

    version = resolve_alias(name, alias)
    if version is None:
        return None
    try:
        mv = MlflowClient().get_model_version(name, version)
    except Exception as exc:
        raise TrackingError(f"MLflow registry at {tracking_uri()} failed reading {name} v{version}: {exc}") from exc
    raw = (mv.tags or {}).get(SCORE_TAG)
    return {"version": str(version), "score": float(raw) if raw is not None else None, "tags": dict(mv.tags or {})}


def current_champion_score(name: str, alias: str = CHAMPION) -> float | None:
    record = champion_record(name, alias)
    return None if record is None else record["score"]


def resolve_alias(name: str, alias: str = CHAMPION) -> str | None:
    """The version of ``name`` that holds ``alias`` now; None when the model or the alias does not exist.

    Any other failure (registry unreachable, broken store) is a TrackingError: it must never read as
    "no champion", which would trigger a refit or serve nothing silently."""
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    configure()
    try:
        return str(MlflowClient().get_model_version_by_alias(name, alias).version)
    except MlflowException as exc:
        code = getattr(exc, "error_code", "")
        if code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE", "NOT_FOUND"):
            return None
        raise TrackingError(f"MLflow registry at {tracking_uri()} cannot resolve {name}@{alias}: {exc}") from exc
    except Exception as exc:  # a store that cannot even be opened (bad URI, locked or corrupt database)
        raise TrackingError(f"MLflow registry at {tracking_uri()} is unusable ({type(exc).__name__}: {exc})") from exc


def download_version(name: str, version: str, dst: Path | None = None) -> Path:
    """Fetch the folder of one registered version (cached under SPPE_HOME/models/<name>/v<version>)."""
    import mlflow
    from mlflow import MlflowClient

    configure()
    mv = MlflowClient().get_model_version(name, str(version))
    target = dst or (sppe_home() / "models" / name / f"v{mv.version}")
    if not (target / ".complete").exists():
        # Download beside the target and rename: replicas starting together never load a half-written folder.
        import shutil
        import tempfile

        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
        mlflow.artifacts.download_artifacts(artifact_uri=mv.source, dst_path=str(tmp))
        (tmp / ".complete").write_text(str(mv.version))
        if target.exists() and not (target / ".complete").exists():
            shutil.rmtree(target, ignore_errors=True)  # a download an older version left unfinished
        try:
            os.replace(tmp, target)
        except OSError:  # another process finished first (target exists and is not empty): use theirs
            shutil.rmtree(tmp, ignore_errors=True)
    folder = target / Path(mv.source.rstrip("/")).name
    return folder if folder.is_dir() else target


def download_model(name: str, alias: str = CHAMPION, dst: Path | None = None) -> tuple[Path, str] | None:
    """Fetch the folder of the version holding `alias`; None when there is no such model or alias.

    A registry error is a TrackingError, never None (None would trigger a refit)."""
    version = resolve_alias(name, alias)
    if version is None:
        return None
    return download_version(name, version, dst), version


def compare_runs(run_a: str, run_b: str) -> dict[str, tuple[float | None, float | None]]:
    """metric -> (value in A, value in B) over the union of both runs' metrics."""
    from mlflow import MlflowClient

    from sppe_ray.errors import SPPEError

    configure()
    client = MlflowClient()
    try:
        a, b = client.get_run(run_a).data.metrics, client.get_run(run_b).data.metrics
    except Exception as exc:
        raise SPPEError(f"cannot read MLflow runs {run_a} / {run_b}: {exc}") from exc
    return {k: (a.get(k), b.get(k)) for k in sorted(set(a) | set(b))}
