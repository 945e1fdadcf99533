"""Paired comparisons of a learned method against the best baseline, on the same samples.

Why paired: two methods scored on the same 690 samples have overlapping marginal confidence intervals long
before their difference is in doubt, because most of each interval is the spread of the samples both share.
Resampling the samples once and scoring both methods on each resample gives the interval of the *difference*,
which is what "is the learned method ahead?" asks. Pure pandas/numpy over the expanded results frame.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from sppe_ray.metrics.editability import ROWWISE
from sppe_ray.metrics.recovery import RECOVERY_KEYS

#: Learned method per task, compared with every other method of that task.
LEARNED = {"editability": "erma", "recovery": "c2e_s2ser"}


def _num(x: float) -> float | None:
    return float(x) if x is not None and math.isfinite(float(x)) else None


def _aligned(frame: pd.DataFrame, a: str, b: str, column: str) -> tuple[np.ndarray, np.ndarray, pd.Series]:
    """Values of `column` for methods a and b on the samples where both succeeded (same order)."""
    good = frame[frame["error"].isna()]
    wide = good[good["method"].isin([a, b])].pivot_table(index="sample_id", columns="method", values=column,
                                                         aggfunc="first")
    wide = wide.dropna()
    if a not in wide or b not in wide:
        return np.zeros(0), np.zeros(0), pd.Series(dtype=float)
    return wide[a].to_numpy(float), wide[b].to_numpy(float), wide.index.to_series()


def paired_correlation(learned: np.ndarray, baseline: np.ndarray, labels: np.ndarray, stat: str = "srcc",
                       n_boot: int = 1000, seed: int = 0) -> dict[str, Any]:
    """Difference stat(learned, label) - stat(baseline, label) with a paired percentile bootstrap CI."""
    fn = ROWWISE[stat]
    if learned.size < 3:
        return {"diff": None, "ci": [None, None], "n": int(learned.size)}
    diff = float(fn(learned[None], labels[None])[0] - fn(baseline[None], labels[None])[0])
    idx = np.random.default_rng(seed).integers(0, learned.size, size=(n_boot, learned.size))
    boots = fn(learned[idx], labels[idx]) - fn(baseline[idx], labels[idx])
    boots = boots[np.isfinite(boots)]
    lo, hi = np.quantile(boots, [0.025, 0.975]) if boots.size else (math.nan, math.nan)
    return {"diff": _num(diff), "ci": [_num(lo), _num(hi)], "n": int(learned.size)}


def paired_mean(learned: np.ndarray, baseline: np.ndarray, n_boot: int = 1000, seed: int = 0) -> dict[str, Any]:
    """Mean per-sample difference learned - baseline with a percentile bootstrap CI."""
    d = learned - baseline
    if d.size == 0:
        return {"diff": None, "ci": [None, None], "n": 0}
    idx = np.random.default_rng(seed).integers(0, d.size, size=(n_boot, d.size))
    lo, hi = np.quantile(d[idx].mean(axis=1), [0.025, 0.975])
    return {"diff": _num(d.mean()), "ci": [_num(lo), _num(hi)], "n": int(d.size)}


def editability_comparison(ed: pd.DataFrame, summary: dict[str, dict[str, Any]], n_boot: int = 1000,
                           seed: int = 0) -> dict[str, Any]:
    """ERMA against the best other method by SRCC: ratios and paired CIs of the SRCC and PLCC differences.

    `ed` is the editability frame (scores, `editability` labels, `lower_better`); scores of lower-better
    baselines are negated so every correlation is read the same way.
    """
    learned = LEARNED["editability"]
    others = [m for m, s in summary.items() if m != learned and s.get("srcc") is not None]
    if learned not in summary or not others:
        return {}
    best = max(others, key=lambda m: summary[m]["srcc"])
    frame = ed.copy()
    frame["oriented"] = np.where(frame["lower_better"], -frame["score"], frame["score"])
    a, b, ids = _aligned(frame, learned, best, "oriented")
    labels = ed.drop_duplicates("sample_id").set_index("sample_id")["editability"].reindex(ids).to_numpy(float)
    out: dict[str, Any] = {"learned": learned, "baseline": best}
    for stat in ("srcc", "plcc"):
        ratio = None
        if summary[best].get(stat) and summary[learned].get(stat) is not None:
            ratio = summary[learned][stat] / summary[best][stat]
        out[stat] = {**paired_correlation(a, b, labels, stat, n_boot, seed), "ratio": _num(ratio) if ratio else None}
    return out


def recovery_comparison(rec: pd.DataFrame, summary: dict[str, dict[str, Any]], n_boot: int = 1000,
                        seed: int = 0) -> dict[str, Any]:
    """C2E-S2SER against the best other method on each of the 8 metrics (all higher-better)."""
    learned = LEARNED["recovery"]
    others = [m for m in summary if m != learned]
    if learned not in summary or not others:
        return {}
    out: dict[str, Any] = {"learned": learned}
    for key in RECOVERY_KEYS:
        ranked = [m for m in others if summary[m].get(key) is not None]
        if not ranked or key not in rec.columns:
            continue
        best = max(ranked, key=lambda m: summary[m][key])
        a, b, _ = _aligned(rec, learned, best, key)
        out[key] = {"baseline": best, **paired_mean(a, b, n_boot, seed)}
    return out
