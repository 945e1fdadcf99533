"""The anonymizer fit as users run it (Ray actors answer the queries, MLflow logs curves and scores, the registry
holds `sppe-anonymizer` under a guarded `champion`), a re-run that resumes, and the study's tables."""

from __future__ import annotations

import json

import numpy as np
import torch

from sppe_ray.config import BlackBoxConfig

TINY = {"n_train": 64, "n_test": 32, "classifier_steps": 30, "batch": 8}


def test_the_fit_job_logs_registers_and_resumes(ray_local, sppe_home):
    from mlflow import MlflowClient

    from sppe_ray import tracking
    from sppe_ray.train.anonymizer import fit_anonymizer, load_model

    cfg = BlackBoxConfig(**TINY, steps=4, eval_every=2, endpoint="ray", actors=2)
    first = fit_anonymizer(cfg, progress=False)
    assert first["version"] == "1" and first["promoted"] and tracking.resolve_alias("sppe-anonymizer") == "1"
    assert first["calls_per_sample"] > 0 and first["failures"] == {}
    client = MlflowClient()
    assert [m.step for m in client.get_metric_history(first["run_id"], "val/top1")] == [2, 4]
    assert len(client.get_metric_history(first["run_id"], "train/loss_blackbox")) == 4
    net = load_model(first["model_dir"])
    x = torch.rand(2, 3, 48, 48)
    assert net(x).shape == x.shape
    assert (sppe_home / "models" / "anonymizer" / first["run_id"] / "grid.png").is_file()

    again = fit_anonymizer(cfg, progress=False)  # same settings: the checkpoint is complete, nothing is refitted
    assert again["checkpoint"] == first["checkpoint"]
    assert (again["val_top1"], again["val_cmap"]) == (first["val_top1"], first["val_cmap"])
    assert again["version"] == "2" and not again["promoted"]  # an equal score never moves the champion
    assert tracking.resolve_alias("sppe-anonymizer") == "1"


def test_the_study_fills_every_table_at_an_equal_call_budget(sppe_home, tmp_path):
    from sppe_ray.train.anonymizer import run_study

    cfg = BlackBoxConfig(**TINY, steps=8, eval_every=4, study_steps=8, study_seeds=1)
    result = run_study(cfg, tmp_path / "study", progress=False)
    rows = {(r["table"], r["name"]): r for r in result["rows"]}
    assert {name for table, name in rows if table == "table1"} >= {
        "raw data", "downsample", "blackening", "strong_blur", "weak_blur", "ours (critical-history SPSA, AT)"}
    assert {name for table, name in rows if table == "table5"} == {"weighted_sum", "tchebycheff",
                                                                   "augmented_tchebycheff"}
    table6 = {name: r for (table, name), r in rows.items() if table == "table6"}
    assert set(table6) == {"SPSA", "SPSA-GC", "CMA-ES", "policy search (REINFORCE)", "critical-history SPSA (ours)"}
    budgets = {name: r["calls_per_sample"][0] for name, r in table6.items()}
    # calls over the 64 training scenes: 8 steps x 2 queries x 8 scenes, CMA-ES 2 steps x 8 candidates x 8 scenes
    assert budgets["CMA-ES"] == budgets["SPSA"] == budgets["critical-history SPSA (ours)"] == 2.0
    assert budgets["policy search (REINFORCE)"] == 1.5  # 8 // 3 steps x 6 samples: the nearest lower budget
    assert len([1 for table, _ in rows if table == "table7"]) == 5
    for r in result["rows"]:
        assert 0 <= r["top1"][0] <= 1 and 0 <= r["cmap"][0] <= 1
    md = (tmp_path / "study" / "study.md").read_text()
    assert "Table 6 analogue" in md and "| SPSA-GC | 1 |" in md
    assert (tmp_path / "study" / "calls.png").stat().st_size > 5000
    saved = json.loads((tmp_path / "study" / "study.json").read_text())
    assert np.isclose(saved["raw"]["test"]["top1"], result["raw"]["test"]["top1"])


def test_setting_2_fits_against_the_editor_and_builds_with_the_learned_strategy(ray_local, small_benchmark,
                                                                              sppe_home, tmp_path):
    from sppe_ray import tracking
    from sppe_ray.config import load_config
    from sppe_ray.train.anonymizer import run_editor_study
    from tests.conftest import SMALL_BUILD

    bench, _ = small_benchmark
    cfg = load_config(overrides=[*SMALL_BUILD, "blackbox.editor_samples=6", "blackbox.editor_val_samples=3",
                                 "blackbox.editor_steps=4", "blackbox.editor_batch=3", "blackbox.editor_size=48",
                                 "blackbox.editor_eval_scenes=4"], environ={})
    result = run_editor_study(cfg, bench, tmp_path / "study", progress=False)
    fit = result["fit"]
    assert fit["promoted"] and tracking.resolve_alias("sppe-anonymizer-editor") == fit["version"]
    assert fit["start"]["editability"] == 1.0 and 0 <= fit["val_editability"] <= 1
    strategies = result["strategies"]
    assert "learned" in strategies and "classical" in strategies and "blur" in strategies
    learned = strategies["learned"]
    assert learned["pass_rate"] is not None and 0 <= learned["pass_rate"] <= 1
    if learned["samples"]:
        assert 0 <= learned["editability"] <= 1
    built = tmp_path / "study" / f"editor-comparison-{fit['run_id'][:12]}"  # one build folder per fitted model
    assert (built / "manifest.json").is_file()
