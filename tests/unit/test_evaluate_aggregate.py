"""Aggregation of per-sample result rows into summary sections and group tables (pure pandas, no Ray)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sppe_ray.metrics.recovery import RECOVERY_KEYS
from sppe_ray.pipelines.aggregate import expand_metrics, summarize
from sppe_ray.pipelines.eval_checks import identity_recovered, mask_box, text_recovered
from sppe_ray.pipelines.eval_stages import run_per_sample
from sppe_ray.pipelines.eval_tracking import flat_metrics

KEYS = {"split": "test", "instruction_code": "032", "task_tag": "STYLE"}


def _frame(n: int = 40, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    label = rng.uniform(0, 1, n)
    good = label + rng.normal(0, 0.1, n)
    rows = []
    for i in range(n):
        base = {"sample_id": f"s{i:03d}", "category": ["a105_face_all", "a111_name_all"][i % 2],
                "strategy": ["blur", "fill"][i % 2], **KEYS}
        rows.append({**base, "task": "editability", "method": "good", "score": good[i],
                     "metrics": json.dumps({"lower_better": False}), "error": None})
        # a distance: lower = more editable, so its raw SRCC is negative and must be flipped
        rows.append({**base, "task": "editability", "method": "dist", "score": -good[i] * 3,
                     "metrics": json.dumps({"lower_better": True}), "error": None})
        m = {k: float(i) for k in RECOVERY_KEYS}
        m["identity_recovered"] = float(i % 4 == 0) if i % 2 == 0 else None
        rows.append({**base, "task": "recovery", "method": "paste_back", "score": None,
                     "metrics": json.dumps(m), "error": "ImageError: bad" if i == 0 else None})
        rows.append({**base, "task": "privacy", "method": "surrogate", "score": None,
                     "metrics": json.dumps({"pixel_leak": 0.5 if i < 10 else 0.0,
                                            "identity_distance": 0.3 if i % 2 == 0 else None}), "error": None})
    labels = pd.DataFrame({"sample_id": [f"s{i:03d}" for i in range(n)], "editability": label})
    return pd.DataFrame(rows), labels, good


def test_editability_matches_scipy_and_handles_orientation():
    results, labels, good = _frame()
    summary, _ = summarize(results, labels, n_boot=200)
    label = labels["editability"].to_numpy()
    ed = summary["editability"]
    assert ed["good"]["srcc"] == pytest.approx(stats.spearmanr(good, label).statistic)
    assert ed["good"]["plcc"] == pytest.approx(stats.pearsonr(good, label).statistic)
    assert ed["good"]["krcc"] == pytest.approx(stats.kendalltau(good, label).statistic)
    assert ed["dist"]["srcc"] == pytest.approx(ed["good"]["srcc"])  # negated distance ranks the same
    lo, hi = ed["good"]["srcc_ci"]
    assert lo <= ed["good"]["srcc"] <= hi and ed["good"]["n"] == 40


def test_recovery_means_skip_failed_samples_and_count_them():
    results, labels, _ = _frame()
    summary, tables = summarize(results, labels, n_boot=100)
    pb = summary["recovery"]["paste_back"]
    assert pb["n"] == 39 and pb["n_failed"] == 1
    assert pb["ssim"] == pytest.approx(np.mean(np.arange(1, 40)))  # sample 0 failed and is excluded
    assert pb["identity_recovered"] == pytest.approx(np.mean([float(i % 4 == 0) for i in range(2, 40, 2)]))
    assert pb["identity_recovered_n"] == 19
    assert set(pb["ci"]) >= set(RECOVERY_KEYS)
    assert summary["errors"]["paste_back"]["count"] == 1
    by_cat = tables["recovery_by_category"]
    assert set(by_cat["category"]) == {"a105_face_all", "a111_name_all"}
    assert by_cat["n"].sum() == 39


def test_privacy_rates():
    results, labels, _ = _frame()
    summary, _ = summarize(results, labels, n_boot=100)
    priv = summary["privacy"]
    assert priv["pixel_leak"] == pytest.approx(0.5 * 10 / 40)
    assert priv["pixel_leak_any"] == pytest.approx(10 / 40)
    assert priv["identity_leak_rate"] == 1.0 and priv["identity_n"] == 20
    assert set(priv["by_strategy"]) == {"blur", "fill"}


def test_summary_is_strict_json():
    results, labels, _ = _frame(n=4)  # too few pairs for some CIs: NaN must become null, never NaN
    summary, _ = summarize(results, labels, n_boot=50)
    text = json.dumps(summary, allow_nan=False)
    assert "editability" in text


def test_expand_metrics_and_flat_keys():
    results, labels, _ = _frame(n=6)
    wide = expand_metrics(results)
    assert "pixel_leak" in wide.columns and "gt_psnr" in wide.columns
    summary, _ = summarize(results, labels, n_boot=20)
    flat = flat_metrics({**summary, "timings_s": {"compute": 1.5}})
    assert flat["editability/good/srcc"] == summary["editability"]["good"]["srcc"]
    assert flat["recovery/paste_back/gt_ssim"] == summary["recovery"]["paste_back"]["gt_ssim"]
    assert flat["timings_s/compute"] == 1.5


def test_run_per_sample_isolates_failures(caplog):
    def fn(idx):
        if 2 in idx:
            raise ValueError("sample two is broken")
        return [i * 10 for i in idx]

    with caplog.at_level("WARNING", logger="sppe_ray.pipelines.eval_stages"):
        values, errors = run_per_sample(fn, ["s0", "s1", "s2", "s3"], "pyiqa:psnr")
    assert values == [0, 10, None, 30]
    assert errors[2].startswith("ValueError: sample two") and errors[0] is None
    # the batch failure and the failing sample are logged by id, never silently retried
    logged = [r.getMessage() for r in caplog.records]
    assert any("pyiqa:psnr" in m and "s0, s1, s2, s3" in m for m in logged)
    assert any("sample s2 failed: ValueError" in m for m in logged)
    # a model known to be broken is never called, and every sample carries its error
    values, errors = run_per_sample(lambda idx: pytest.fail("called"), ["a", "b"], "erma", broken="E: no model")
    assert values == [None, None] and errors == ["E: no model"] * 2


def test_thresholds_and_mask_box():
    assert identity_recovered(0.3) == 1.0 and identity_recovered(0.7) == 0.0
    assert np.isnan(identity_recovered(float("nan")))
    assert text_recovered(0.5) == 1.0 and text_recovered(0.49) == 0.0
    m = np.zeros((10, 12), bool)
    m[2:5, 3:9] = True
    assert mask_box(m) == (3, 2, 9, 5)
    assert mask_box(np.zeros((4, 4), bool)) is None
