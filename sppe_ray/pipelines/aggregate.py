"""Per-sample result rows -> the numbers people quote: summary.json sections and per-group tables.

Pure pandas over the results frame (plus the benchmark's labels joined by sample_id), so it is tested without
Ray or MLflow and re-runs from a results folder alone. Every statistic drops failed samples (non-null `error`)
and reports how many it kept (`n`) and how many failed (`n_failed`).
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pandas as pd

from sppe_ray.metrics.editability import correlation_summary
from sppe_ray.metrics.privacy import identity_leak, mean_ci, ocr_leak
from sppe_ray.metrics.recovery import RECOVERY_KEYS
from sppe_ray.pipelines import paired

RECOVERY_RATES = ("identity_recovered", "text_recovered")
GROUP_COLUMNS = ("category", "task_tag", "strategy")


def _finite(x: Any) -> float | None:
    """JSON-safe float: NaN/inf become null."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def _ci(pair: Any) -> list[float | None]:
    return [_finite(pair[0]), _finite(pair[1])]


def expand_metrics(results: pd.DataFrame) -> pd.DataFrame:
    """The `metrics` JSON column spread into one column per key (missing keys are NaN)."""
    parsed = [json.loads(m) if isinstance(m, str) and m else {} for m in results["metrics"]]
    wide = pd.DataFrame(parsed, index=results.index)
    wide = wide.drop(columns=[c for c in wide.columns if c in results.columns], errors="ignore")
    return pd.concat([results, wide], axis=1)


def editability_frame(results: pd.DataFrame, labels: pd.DataFrame) -> pd.DataFrame:
    """Editability rows joined with the label column `editability`; `lower_better` is per method."""
    ed = results[results["task"] == "editability"].copy()
    ed = ed.merge(labels[["sample_id", "editability"]], on="sample_id", how="left")
    ed["lower_better"] = [bool(json.loads(m).get("lower_better", False)) if isinstance(m, str) else False
                          for m in ed["metrics"]]
    return ed


def _without_logistic(x: np.ndarray, y: np.ndarray, lower: bool, n_boot: int, seed: int) -> dict[str, Any]:
    from sppe_ray.metrics import editability as em

    p = -x if lower else x
    ok = np.isfinite(p) & np.isfinite(y)
    p, y = p[ok], y[ok]
    return {"srcc": em.srcc(p, y), "plcc": em.plcc(p, y), "plcc_logistic": float("nan"), "krcc": em.krcc(p, y),
            "srcc_ci": em.bootstrap_ci("srcc", p, y, n_boot, seed),
            "plcc_ci": em.bootstrap_ci("plcc", p, y, n_boot, seed),
            "n": int(p.size)}


def _corr(part: pd.DataFrame, n_boot: int, seed: int) -> dict[str, Any]:
    good = part[part["error"].isna()]
    x, y = good["score"].to_numpy(float), good["editability"].to_numpy(float)
    lower = bool(part["lower_better"].iloc[0]) if len(part) else False
    try:
        s = correlation_summary(x, y, lower, n_boot, seed)
    except (TypeError, ValueError):  # scipy's curve_fit refuses fewer points than logistic parameters
        s = _without_logistic(x, y, lower, n_boot, seed)
    return {"srcc": _finite(s["srcc"]), "plcc": _finite(s["plcc"]), "plcc_logistic": _finite(s["plcc_logistic"]),
            "krcc": _finite(s["krcc"]), "srcc_ci": _ci(s["srcc_ci"]), "plcc_ci": _ci(s["plcc_ci"]),
            "n": int(s["n"]), "n_failed": int(part["error"].notna().sum())}


def editability_summary(ed: pd.DataFrame, n_boot: int = 1000, seed: int = 0) -> dict[str, dict[str, Any]]:
    """METHOD -> correlation summary against the labels, methods ordered by SRCC (best first)."""
    out = {str(m): _corr(g, n_boot, seed) for m, g in ed.groupby("method", sort=True)}
    return dict(sorted(out.items(), key=lambda kv: -(kv[1]["srcc"] if kv[1]["srcc"] is not None else -9)))


def _recovery_stats(part: pd.DataFrame, n_boot: int, seed: int) -> dict[str, Any]:
    good = part[part["error"].isna()]
    out: dict[str, Any] = {}
    cis: dict[str, list[float | None]] = {}
    for key in (*RECOVERY_KEYS, *RECOVERY_RATES):
        values = good[key].to_numpy(float) if key in good.columns else np.zeros(0)
        m = mean_ci(values, n_boot=n_boot, seed=seed)
        out[key] = _finite(m["mean"])
        cis[key] = _ci(m["ci"])
        if key in RECOVERY_RATES:
            out[f"{key}_n"] = int(m["n"])
    out["ci"] = cis
    out["n"] = int(len(good))
    out["n_failed"] = int(part["error"].notna().sum())
    return out


def recovery_summary(rec: pd.DataFrame, n_boot: int = 1000, seed: int = 0) -> dict[str, dict[str, Any]]:
    """METHOD -> mean of the 8 metrics and the two recovered rates, each with a bootstrap CI."""
    return {str(m): _recovery_stats(g, n_boot, seed) for m, g in rec.groupby("method", sort=True)}


def privacy_summary(priv: pd.DataFrame, n_boot: int = 1000, seed: int = 0) -> dict[str, Any]:
    """Pixel leak (mean), identity leak rate (faces) and OCR leak rate (text), overall and per strategy."""
    def block(part: pd.DataFrame) -> dict[str, Any]:
        good = part[part["error"].isna()]
        col = lambda k: good[k].to_numpy(float) if k in good.columns else np.zeros(0)  # noqa: E731
        px = mean_ci(col("pixel_leak"), n_boot=n_boot, seed=seed)
        ident = identity_leak(col("identity_distance"), n_boot=n_boot, seed=seed)
        ocr = ocr_leak(col("ocr_similarity"), n_boot=n_boot, seed=seed)
        out = {"pixel_leak": _finite(px["mean"]), "pixel_leak_ci": _ci(px["ci"]),
               "pixel_leak_any": _finite(float((col("pixel_leak") > 0).mean())) if len(good) else None,
               "identity_leak_rate": _finite(ident["rate"]), "identity_leak_ci": _ci(ident["ci"]),
               "identity_n": ident["n"], "ocr_leak_rate": _finite(ocr["rate"]), "ocr_leak_ci": _ci(ocr["ci"]),
               "ocr_n": ocr["n"], "n": int(len(good)), "n_failed": int(part["error"].notna().sum())}
        missing = {k: why for k, why in (("identity_leak_rate", _why_missing(out["identity_n"], part, "a face")),
                                         ("ocr_leak_rate", _why_missing(out["ocr_n"], part, "readable text")))
                   if out[k] is None}
        return {**out, "missing": missing} if missing else out
    out = block(priv)
    out["by_strategy"] = {str(k): block(g) for k, g in priv.groupby("strategy", sort=True)}
    return out


def _why_missing(n: int, part: pd.DataFrame, what: str) -> str:
    """Why a leak rate is null: a reader must not have to guess between "nothing to check" and "failed"."""
    if len(part) == 0:
        return "no samples"
    failed = int(part["error"].notna().sum())
    if failed == len(part):
        first = str(part["error"].dropna().iloc[0])
        return f"every check failed ({failed} samples; first: {first[:160]})"
    return f"no source region in this group shows {what} (n=0 of {len(part) - failed} checked)"


def group_tables(ed: pd.DataFrame, rec: pd.DataFrame, n_boot: int = 200,
                 seed: int = 0) -> dict[str, pd.DataFrame]:
    """Long tables per grouping column: editability (srcc, plcc, n) and recovery (metric means, n)."""
    tables: dict[str, pd.DataFrame] = {}
    for col in GROUP_COLUMNS:
        rows = []
        for (method, key), g in ed.groupby(["method", col], sort=True):
            s = _corr(g, n_boot, seed)
            rows.append({"method": method, col: key, "srcc": s["srcc"], "plcc": s["plcc"], "krcc": s["krcc"],
                         "srcc_lo": s["srcc_ci"][0], "srcc_hi": s["srcc_ci"][1], "n": s["n"]})
        tables[f"editability_by_{col}"] = pd.DataFrame(rows)
        rows = []
        for (method, key), g in rec.groupby(["method", col], sort=True):
            good = g[g["error"].isna()]
            row = {"method": method, col: key, "n": len(good)}
            for k in (*RECOVERY_KEYS, *RECOVERY_RATES):
                row[k] = _finite(good[k].mean()) if k in good.columns and good[k].notna().any() else None
            rows.append(row)
        tables[f"recovery_by_{col}"] = pd.DataFrame(rows)
    return tables


def summarize(results: pd.DataFrame, labels: pd.DataFrame, n_boot: int = 1000,
              seed: int = 0) -> tuple[dict[str, Any], dict[str, pd.DataFrame]]:
    """(summary sections `editability`/`recovery`/`privacy`/`errors`, per-group tables)."""
    wide = expand_metrics(results)
    ed = editability_frame(wide, labels)
    rec = wide[wide["task"] == "recovery"]
    priv = wide[wide["task"] == "privacy"]
    errors = results[results["error"].notna()].groupby("method")["error"].agg(["count", "first"])
    summary = {
        "editability": editability_summary(ed, n_boot, seed),
        "recovery": recovery_summary(rec, n_boot, seed),
        "privacy": privacy_summary(priv, n_boot, seed) if len(priv) else {},
        "errors": {str(m): {"count": int(r["count"]), "example": str(r["first"])} for m, r in errors.iterrows()},
    }
    summary["comparisons"] = {
        "editability": paired.editability_comparison(ed, summary["editability"], n_boot, seed),
        "recovery": paired.recovery_comparison(rec, summary["recovery"], n_boot, seed),
    }
    return summary, group_tables(ed, rec, max(50, n_boot // 5), seed)
