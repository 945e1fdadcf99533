"""Privacy leakage: exact pixel leaks of a surrogate, and rates of identity / OCR leaks with bootstrap CIs.

The per-sample identity distances (face descriptors) and OCR similarities come from ``sppe_ray.privacy``;
this module only turns such arrays into rates a report can quote, so the thresholds live in one place.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

from sppe_ray.errors import ImageError

# Same person when the 128-d dlib descriptor distance is below 0.6 (dlib's published operating point).
FACE_SAME_PERSON = 0.6
# OCR text counts as leaked when its fuzzy similarity to the original text is at least this (0..1 scale).
OCR_LEAK = 0.8


def pixel_leak(source: np.ndarray, surrogate: np.ndarray, mask: np.ndarray) -> float:
    """Fraction of private (mask) pixels whose RGB values the surrogate left identical to the source.

    0 means every private pixel was changed; an empty mask has nothing to leak and gives NaN, which the rate
    helpers below drop.
    """
    if source.shape != surrogate.shape or source.ndim != 3:
        raise ImageError(f"source {source.shape} and surrogate {surrogate.shape} must be equal (H, W, 3) arrays.")
    mask = np.asarray(mask)
    if mask.shape != source.shape[:2]:
        raise ImageError(f"mask shape {mask.shape} does not match image shape {source.shape[:2]}.")
    mask = mask.astype(bool)
    if not mask.any():
        return float("nan")
    same = np.all(source == surrogate, axis=2)
    return float(same[mask].mean())


def leak_rate(
    values: Sequence[float],
    threshold: float,
    leak_when: Literal["below", "above"] = "below",
    n_boot: int = 1000,
    seed: int = 0,
    alpha: float = 0.05,
) -> dict[str, Any]:
    """Share of samples that leak (value below / at-or-above ``threshold``), with a bootstrap interval.

    Non-finite values (no face found, no text read) are dropped and counted in ``n_dropped``: they are not
    evidence of privacy, only of nothing to compare.
    """
    if leak_when not in ("below", "above"):
        raise ValueError(f"leak_when must be 'below' or 'above', got {leak_when!r}")
    v = np.asarray(values, dtype=np.float64).ravel()
    ok = np.isfinite(v)
    v = v[ok]
    out: dict[str, Any] = {"n": int(v.size), "n_dropped": int((~ok).sum())}
    if v.size == 0:
        return {**out, "rate": float("nan"), "ci": (float("nan"), float("nan"))}
    hits = (v < threshold) if leak_when == "below" else (v >= threshold)
    boot = np.random.default_rng(seed).integers(0, v.size, size=(n_boot, v.size))
    rates = hits[boot].mean(axis=1)
    lo, hi = np.quantile(rates, [alpha / 2, 1 - alpha / 2])
    return {**out, "rate": float(hits.mean()), "ci": (float(lo), float(hi))}


def mean_ci(values: Sequence[float], n_boot: int = 1000, seed: int = 0, alpha: float = 0.05) -> dict[str, Any]:
    """Mean of the finite values with a percentile bootstrap interval (e.g. mean pixel leak)."""
    v = np.asarray(values, dtype=np.float64).ravel()
    v = v[np.isfinite(v)]
    if v.size == 0:
        return {"mean": float("nan"), "ci": (float("nan"), float("nan")), "n": 0}
    means = v[np.random.default_rng(seed).integers(0, v.size, size=(n_boot, v.size))].mean(axis=1)
    lo, hi = np.quantile(means, [alpha / 2, 1 - alpha / 2])
    return {"mean": float(v.mean()), "ci": (float(lo), float(hi)), "n": int(v.size)}


def identity_leak(distances: Sequence[float], threshold: float = FACE_SAME_PERSON, **kw: Any) -> dict[str, Any]:
    """Rate of surrogates whose face is still recognised as the source person (distance < threshold)."""
    return leak_rate(distances, threshold, "below", **kw)


def ocr_leak(similarities: Sequence[float], threshold: float = OCR_LEAK, **kw: Any) -> dict[str, Any]:
    """Rate of surrogates whose text still reads as the source text (similarity >= threshold)."""
    return leak_rate(similarities, threshold, "above", **kw)
