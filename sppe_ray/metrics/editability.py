"""Agreement between predicted editability scores and labels: SRCC, PLCC (raw and after the VQEG logistic),
KRCC, bootstrap confidence intervals, per-group tables.

All statistics are NaN-safe: non-finite pairs are dropped (and counted), and a degenerate input (fewer than
three pairs, a constant vector) gives NaN instead of an exception or a scipy warning.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, stats

Stat = Callable[[np.ndarray, np.ndarray], float]
MIN_PAIRS = 3
#: The 4-parameter logistic needs at least as many pairs as parameters (scipy refuses fewer).
LOGISTIC_MIN_PAIRS = 4


def _clean(x: Sequence[float], y: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(x, dtype=np.float64).ravel()
    y = np.asarray(y, dtype=np.float64).ravel()
    if x.shape != y.shape:
        raise ValueError(f"predictions and labels differ in length: {x.size} vs {y.size}")
    ok = np.isfinite(x) & np.isfinite(y)
    return x[ok], y[ok]


def _degenerate(x: np.ndarray, y: np.ndarray) -> bool:
    return x.size < MIN_PAIRS or np.ptp(x) == 0 or np.ptp(y) == 0


def srcc(x: Sequence[float], y: Sequence[float]) -> float:
    """Spearman rank correlation (scipy), NaN when undefined."""
    x, y = _clean(x, y)
    if _degenerate(x, y):
        return float("nan")
    return float(stats.spearmanr(x, y).statistic)


def plcc(x: Sequence[float], y: Sequence[float]) -> float:
    """Pearson linear correlation (scipy), NaN when undefined."""
    x, y = _clean(x, y)
    if _degenerate(x, y):
        return float("nan")
    return float(stats.pearsonr(x, y).statistic)


def krcc(x: Sequence[float], y: Sequence[float]) -> float:
    """Kendall tau-b (scipy), NaN when undefined."""
    x, y = _clean(x, y)
    if _degenerate(x, y):
        return float("nan")
    return float(stats.kendalltau(x, y).statistic)


def _logistic(x: np.ndarray, b1: float, b2: float, b3: float, b4: float) -> np.ndarray:
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):  # exp overflow -> plateau, as intended
        return (b1 - b2) / (1.0 + np.exp(-(x - b3) / np.abs(b4))) + b2


def logistic4(x: Sequence[float], y: Sequence[float]) -> np.ndarray:
    """Map predictions through the 4-parameter VQEG logistic fitted to the labels.

    PLCC assumes a linear relation; predictors are only expected to be monotone in the label, so the standard
    practice is to fit this monotone curve first. Init: plateaus at the label extremes, centre at the median
    prediction, slope at the prediction spread. If the fit fails the raw predictions are returned.
    """
    x, y = _clean(x, y)
    if _degenerate(x, y):
        return x
    r = float(np.corrcoef(x, y)[0, 1])
    hi, lo = (y.max(), y.min()) if r >= 0 else (y.min(), y.max())
    p0 = [hi, lo, float(np.median(x)), float(np.std(x)) or 1.0]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            params, _ = optimize.curve_fit(_logistic, x, y, p0=p0, maxfev=20000)
        fitted = _logistic(x, *params)
    except (RuntimeError, ValueError, optimize.OptimizeWarning):
        return x
    return fitted if np.all(np.isfinite(fitted)) else x


def plcc_logistic(x: Sequence[float], y: Sequence[float]) -> float:
    """PLCC after the VQEG 4-parameter logistic mapping (raw PLCC when the fit fails)."""
    xc, yc = _clean(x, y)
    if _degenerate(xc, yc) or xc.size < LOGISTIC_MIN_PAIRS:
        return float("nan")
    mapped = logistic4(xc, yc)
    if np.ptp(mapped) == 0:
        return float("nan")
    return float(stats.pearsonr(mapped, yc).statistic)


def _rowwise_pearson(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    den = np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, (a * b).sum(axis=1) / den, np.nan)


ROWWISE: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "plcc": _rowwise_pearson,
    "srcc": lambda a, b: _rowwise_pearson(stats.rankdata(a, axis=1), stats.rankdata(b, axis=1)),
}
_NAMED: dict[str, Stat] = {"srcc": srcc, "plcc": plcc, "krcc": krcc, "plcc_logistic": plcc_logistic}


def bootstrap_ci(
    stat: str | Stat,
    x: Sequence[float],
    y: Sequence[float],
    n_boot: int = 1000,
    seed: int = 0,
    alpha: float = 0.05,
) -> tuple[float, float]:
    """Percentile bootstrap (1 - alpha) interval of a paired statistic, resampling pairs with replacement.

    ``stat`` is a name (``srcc``/``plcc`` run vectorised over all resamples at once; ``krcc``,
    ``plcc_logistic`` loop) or any callable f(x, y) -> float. Degenerate resamples are ignored.
    """
    x, y = _clean(x, y)
    if _degenerate(x, y) or n_boot < 1:
        return (float("nan"), float("nan"))
    idx = np.random.default_rng(seed).integers(0, x.size, size=(n_boot, x.size))
    if isinstance(stat, str) and stat in ROWWISE:
        values = ROWWISE[stat](x[idx], y[idx])
    else:
        fn = _NAMED[stat] if isinstance(stat, str) else stat
        values = np.array([fn(x[i], y[i]) for i in idx], dtype=np.float64)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return (float("nan"), float("nan"))
    lo, hi = np.quantile(values, [alpha / 2, 1 - alpha / 2])
    return (float(lo), float(hi))


def correlation_summary(
    pred: Sequence[float],
    label: Sequence[float],
    lower_better: bool = False,
    n_boot: int = 1000,
    seed: int = 0,
    alpha: float = 0.05,
) -> dict[str, Any]:
    """SRCC, PLCC, logistic PLCC and KRCC of predictions against labels, with bootstrap CIs.

    A metric where lower means "more editable" (a distance such as LPIPS or NIQE) is negated first, so every
    row of a comparison table reads "higher is better". ``n`` counts the finite pairs used, ``n_dropped`` the
    pairs removed for a non-finite value.
    """
    p = np.asarray(pred, dtype=np.float64).ravel()
    if lower_better:
        p = -p
    total = p.size
    x, y = _clean(p, label)
    return {
        "srcc": srcc(x, y),
        "plcc": plcc(x, y),
        "plcc_logistic": plcc_logistic(x, y),
        "krcc": krcc(x, y),
        "srcc_ci": bootstrap_ci("srcc", x, y, n_boot, seed, alpha),
        "plcc_ci": bootstrap_ci("plcc", x, y, n_boot, seed, alpha),
        "n": int(x.size),
        "n_dropped": int(total - x.size),
    }


def grouped_summary(
    df: pd.DataFrame,
    group_col: str,
    pred_col: str = "score",
    label_col: str = "editability",
    lower_better: bool = False,
    n_boot: int = 200,
    seed: int = 0,
    include_all: bool = True,
) -> pd.DataFrame:
    """One correlation_summary row per group (e.g. category, task tag), plus an ``__all__`` row."""
    for col in (group_col, pred_col, label_col):
        if col not in df.columns:
            raise KeyError(f"grouped_summary: column {col!r} not in the frame ({', '.join(map(str, df.columns))})")
    rows = []
    parts = [("__all__", df)] if include_all else []
    parts += [(str(k), g) for k, g in df.groupby(group_col, sort=True)]
    for key, part in parts:
        s = correlation_summary(part[pred_col], part[label_col], lower_better, n_boot, seed)
        rows.append({group_col: key, **s})
    return pd.DataFrame(rows)


def correlation_table(
    df: pd.DataFrame,
    pred_cols: Sequence[str],
    label_col: str = "editability",
    lower_better: dict[str, bool] | None = None,
    n_boot: int = 1000,
    seed: int = 0,
) -> pd.DataFrame:
    """One row per predictor column (a method or IQA baseline), ranked by SRCC: the paper's comparison table."""
    lower_better = lower_better or {}
    rows = [
        {"method": c, **correlation_summary(df[c], df[label_col], lower_better.get(c, False), n_boot, seed)}
        for c in pred_cols
    ]
    return pd.DataFrame(rows).sort_values("srcc", ascending=False, na_position="last").reset_index(drop=True)
