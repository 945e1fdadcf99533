"""Correlation metrics against scipy, orientation, NaN safety, bootstrap intervals, grouped tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sppe_ray.metrics.editability import (
    bootstrap_ci,
    correlation_summary,
    correlation_table,
    grouped_summary,
    krcc,
    logistic4,
    plcc,
    plcc_logistic,
    srcc,
)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(7)
    label = rng.random(200)
    pred = np.tanh(3 * (label - 0.5)) + rng.normal(0, 0.3, 200)  # monotone but non-linear, noisy
    return pred, label


def test_against_scipy(data):
    x, y = data
    assert srcc(x, y) == pytest.approx(stats.spearmanr(x, y).statistic)
    assert plcc(x, y) == pytest.approx(stats.pearsonr(x, y).statistic)
    assert krcc(x, y) == pytest.approx(stats.kendalltau(x, y).statistic)


def test_perfect_monotone():
    x = np.linspace(-3, 3, 50)
    y = np.exp(x)
    assert srcc(x, y) == pytest.approx(1.0)
    assert krcc(x, y) == pytest.approx(1.0)
    assert plcc(x, y) < 0.95  # not linear
    assert plcc_logistic(x, 1 / (1 + np.exp(-2 * x))) == pytest.approx(1.0, abs=1e-4)  # logistic recovers it


def test_logistic_improves_plcc_and_falls_back(data):
    x, y = data
    y_sig = 1 / (1 + np.exp(-4 * (x - 0.2)))
    assert plcc_logistic(x, y_sig) >= plcc(x, y_sig)
    mapped = logistic4(x, y_sig)
    assert mapped.shape == x.shape and stats.spearmanr(mapped, x).statistic > 0.99
    const = np.ones(10)
    np.testing.assert_array_equal(logistic4(const, np.arange(10.0)), const)  # degenerate: raw returned


def test_lower_better_flips_sign(data):
    x, y = data
    up = correlation_summary(x, y, n_boot=100)
    down = correlation_summary(-x, y, lower_better=True, n_boot=100)
    assert up["srcc"] > 0.5
    assert down["srcc"] == pytest.approx(up["srcc"]) and down["plcc"] == pytest.approx(up["plcc"])
    assert correlation_summary(x, y, lower_better=True, n_boot=10)["srcc"] == pytest.approx(-up["srcc"])


def test_ci_contains_point_and_is_vectorised_equivalent(data):
    x, y = data
    s = correlation_summary(x, y, n_boot=500, seed=1)
    for key in ("srcc", "plcc"):
        lo, hi = s[f"{key}_ci"]
        assert lo < s[key] < hi and hi - lo < 0.3
    fast = bootstrap_ci("srcc", x, y, n_boot=200, seed=3)
    slow = bootstrap_ci(lambda a, b: stats.spearmanr(a, b).statistic, x, y, n_boot=200, seed=3)
    assert fast == pytest.approx(slow, abs=1e-9)
    lo, hi = bootstrap_ci("krcc", x, y, n_boot=50)
    assert lo < krcc(x, y) < hi
    assert bootstrap_ci("srcc", x, y, n_boot=200, seed=3) == fast  # seeded


def test_nan_safety_and_constants(data):
    x, y = data
    xn = x.copy()
    xn[:5] = np.nan
    xn[5] = np.inf
    s = correlation_summary(xn, y, n_boot=50)
    assert s["n"] == 194 and s["n_dropped"] == 6
    assert s["srcc"] == pytest.approx(srcc(x[6:], y[6:]))
    with np.errstate(all="raise"):
        c = correlation_summary(np.full(20, 0.3), np.arange(20.0), n_boot=20)
    assert all(np.isnan(c[k]) for k in ("srcc", "plcc", "plcc_logistic", "krcc"))
    assert all(np.isnan(v) for v in c["srcc_ci"])
    assert np.isnan(srcc([1.0, 2.0], [1.0, 2.0]))  # too few pairs
    with pytest.raises(ValueError):
        srcc([1, 2, 3], [1, 2])


def test_grouped_and_table(data):
    x, y = data
    df = pd.DataFrame({"score": x, "noise": np.random.default_rng(0).random(200), "editability": y,
                       "category": np.repeat(["a105_face_all", "a30_credit_card"], 100)})
    g = grouped_summary(df, "category", n_boot=50)
    assert list(g["category"]) == ["__all__", "a105_face_all", "a30_credit_card"]
    assert list(g["n"]) == [200, 100, 100]
    assert g.loc[1, "srcc"] == pytest.approx(srcc(x[:100], y[:100]))
    t = correlation_table(df, ["noise", "score"], n_boot=20)
    assert list(t["method"]) == ["score", "noise"]
    with pytest.raises(KeyError):
        grouped_summary(df, "missing")


def test_logistic_plcc_needs_four_pairs():
    from sppe_ray.metrics.editability import plcc_logistic

    assert np.isnan(plcc_logistic([0.1, 0.5, 0.9], [0.2, 0.4, 0.8]))
    assert np.isfinite(plcc_logistic([0.1, 0.5, 0.9, 0.7], [0.2, 0.4, 0.8, 0.5]))
