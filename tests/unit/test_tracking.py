"""MLflow on a real SQLite store: provenance, metrics, registry versions and the champion rule."""

import math

import mlflow
import pytest
from mlflow import MlflowClient

from sppe_ray import tracking
from sppe_ray.config import load_config


def test_promotion_rule():
    assert tracking.should_promote(None, 0.1)
    assert tracking.should_promote(0.5, 0.6)
    assert not tracking.should_promote(0.5, 0.5)
    assert not tracking.should_promote(0.5, 0.4)
    assert tracking.should_promote(0.5, 0.4, higher_is_better=False)
    assert not tracking.should_promote(None, math.nan)


def test_default_uri_is_sqlite_under_home(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv("SPPE_HOME", str(tmp_path))
    assert tracking.tracking_uri() == f"sqlite:///{tmp_path.resolve() / 'mlflow' / 'mlflow.db'}"


@pytest.mark.slow
def test_run_registry_and_alias(sppe_home, tmp_path):
    tracking.configure()
    cfg = load_config(environ={})
    model = tmp_path / "model"
    model.mkdir()
    (model / "weights.txt").write_text("v1")
    with tracking.start_run("sppe-test", "first", config=cfg, manifest_hash="abc123") as run:
        n = tracking.log_metrics({"editability": {"pyiqa:ssim": {"srcc": 0.4, "ci": [0.1, 0.2]}}, "bad": math.nan})
        v1, promoted1 = tracking.register_model(model, "sppe-toy", 0.40)
    assert n == 1 and promoted1
    data = MlflowClient().get_run(run.info.run_id).data
    assert data.params["benchmark_manifest_hash"] == "abc123"
    assert data.params["config.build.name"] == "sppe-mini"
    assert "git_commit" in data.tags
    assert data.metrics["editability.pyiqa_ssim.srcc"] == pytest.approx(0.4)
    # the artifact location is under SPPE_HOME, not ./mlruns of the cwd
    assert str(sppe_home) in mlflow.get_experiment_by_name("sppe-test").artifact_location

    (model / "weights.txt").write_text("v2")
    with tracking.start_run("sppe-test", "worse"):
        v2, promoted2 = tracking.register_model(model, "sppe-toy", 0.30)
    assert not promoted2
    assert str(MlflowClient().get_model_version_by_alias("sppe-toy", "champion").version) == v1
    with tracking.start_run("sppe-test", "better"):
        v3, promoted3 = tracking.register_model(model, "sppe-toy", 0.55)
    assert promoted3 and int(v3) == int(v1) + 2
    folder, version = tracking.download_model("sppe-toy")
    assert version == v3
    assert (folder / "weights.txt").read_text() == "v2"
    assert tracking.download_model("sppe-missing") is None


def test_register_needs_active_run(sppe_home, tmp_path):
    tracking.configure()
    with pytest.raises(RuntimeError, match="active MLflow run"):
        tracking.register_model(tmp_path, "x", 1.0)


def test_an_erma_champion_of_another_format_is_skipped_and_replaced(sppe_home, tmp_path):
    """A champion saved before the model format changed cannot be loaded: the evaluation plan skips ERMA with
    that reason (instead of every actor failing), and a new fit replaces it whatever the scores."""
    import json

    from sppe_ray.models.erma.predictor import CONFIG_FILE
    from sppe_ray.pipelines.eval_plan import make_plan
    from sppe_ray.train.erma import champion_tags

    tracking.configure()
    old = tmp_path / "old"
    old.mkdir()
    (old / CONFIG_FILE).write_text(json.dumps({"format_version": 1}))
    scored = {"benchmark_manifest_hash": "abc", "split": "val"}
    with tracking.start_run("sppe-test", "old"):
        tracking.register_model(old, "sppe-erma", 0.9, scored_on=scored)  # format 1 carried no format tag
    plan = make_plan(load_config(None, ["eval.iqa_metrics=[psnr]"], environ={}))
    assert plan.erma_dir is None and "format 1" in plan.skipped["erma"] and "sppe-erma" not in plan.models
    with tracking.start_run("sppe-test", "new"):
        version, promoted = tracking.register_model(old, "sppe-erma", 0.5, scored_on={**scored, **champion_tags()})
    assert promoted and tracking.resolve_alias("sppe-erma") == version
