"""Paired comparisons: the learned method against the best baseline on the same samples."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sppe_ray.metrics.recovery import RECOVERY_KEYS
from sppe_ray.pipelines.aggregate import summarize
from sppe_ray.pipelines.paired import paired_correlation, paired_mean

KEYS = {"split": "test", "instruction_code": "032", "task_tag": "STYLE", "category": "a105_face_all",
        "strategy": "blur"}


def _results(n: int = 200, seed: int = 0, c2e_gain: float = 0.5) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    label = rng.uniform(0, 1, n)
    erma = label + rng.normal(0, 0.1, n)  # close to the label
    base = label + rng.normal(0, 0.6, n)  # a noisy baseline
    rows = []
    for i in range(n):
        k = {"sample_id": f"s{i:03d}", **KEYS}
        rows.append({**k, "task": "editability", "method": "erma", "score": erma[i],
                     "metrics": json.dumps({"lower_better": False}), "error": None})
        rows.append({**k, "task": "editability", "method": "pyiqa:dist", "score": -base[i],
                     "metrics": json.dumps({"lower_better": True}), "error": None})
        quality = rng.normal(30, 3)  # per-sample difficulty shared by both methods: wide marginal CIs
        for method, shift in (("local_transfer", 0.0), ("c2e_s2ser", c2e_gain)):
            m = {key: quality + shift for key in RECOVERY_KEYS}
            rows.append({**k, "task": "recovery", "method": method, "score": None, "metrics": json.dumps(m),
                         "error": None})
    labels = pd.DataFrame({"sample_id": [f"s{i:03d}" for i in range(n)], "editability": label})
    return pd.DataFrame(rows), labels


def test_editability_comparison_names_the_best_baseline_and_a_paired_interval():
    results, labels = _results()
    summary, _ = summarize(results, labels, n_boot=300)
    comp = summary["comparisons"]["editability"]
    assert comp["baseline"] == "pyiqa:dist"
    ed = summary["editability"]
    assert comp["srcc"]["diff"] == pytest.approx(ed["erma"]["srcc"] - ed["pyiqa:dist"]["srcc"])
    assert comp["srcc"]["ratio"] == pytest.approx(ed["erma"]["srcc"] / ed["pyiqa:dist"]["srcc"])
    lo, hi = comp["srcc"]["ci"]
    assert 0 < lo <= comp["srcc"]["diff"] <= hi  # clearly ahead


def test_recovery_gain_is_shown_by_the_paired_interval_though_marginal_intervals_overlap():
    results, labels = _results(c2e_gain=0.5)
    summary, _ = summarize(results, labels, n_boot=300)
    rec = summary["recovery"]
    lo_c, _ = rec["c2e_s2ser"]["ci"]["gt_psnr"]
    _, hi_b = rec["local_transfer"]["ci"]["gt_psnr"]
    assert lo_c < hi_b  # marginal CIs overlap...
    gt = summary["comparisons"]["recovery"]["gt_psnr"]
    assert gt["baseline"] == "local_transfer" and gt["diff"] == pytest.approx(0.5)
    assert gt["ci"][0] == pytest.approx(0.5) and gt["ci"][1] == pytest.approx(0.5)  # ...the paired one does not


def test_no_gain_gives_an_interval_around_zero():
    rng = np.random.default_rng(3)
    a, b = rng.normal(0, 1, 300), rng.normal(0, 1, 300)
    res = paired_mean(a, b, n_boot=500)
    assert res["ci"][0] < 0 < res["ci"][1]
    labels = rng.uniform(0, 1, 300)
    same = paired_correlation(labels + rng.normal(0, 0.3, 300), labels + rng.normal(0, 0.3, 300), labels)
    assert same["ci"][0] < 0 < same["ci"][1]
    x = labels + rng.normal(0, 0.2, 300)
    assert paired_correlation(x, x, labels)["diff"] == pytest.approx(0.0)
    y = rng.normal(0, 1, 300)
    res = paired_correlation(x, y, labels, "plcc")
    assert res["diff"] == pytest.approx(stats.pearsonr(x, labels).statistic - stats.pearsonr(y, labels).statistic)
    assert paired_correlation(x[:2], y[:2], labels[:2])["diff"] is None
