"""Cosines between embeddings and between edit directions, with the near-zero cases defined.

Two rules for comparing *edit directions* d = f(edited) - f(original) live here because both the labels and
the recovery metrics need them, and they must agree on what "no edit" means:

- ``anchored_cosine`` (labels): the cosine of the two directions after appending the same constant
  coordinate ``eps`` to each. Both edits ~zero -> 1 (unedited alike), exactly one ~zero -> ~0 (neutral),
  both large -> the plain cosine. It is continuous, so labels do not jump at an arbitrary threshold.
- ``direction_cosine`` (published recovery metrics): the plain cosine when both norms exceed ``eps``;
  both below -> 1.0, exactly one below -> 0.0. It stays equal to the published DirI/DirS whenever the
  published value is defined.
"""

from __future__ import annotations

import numpy as np


def cosine_rows(a: np.ndarray, b: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    """Row-wise cosine of two (N, D) arrays (float64 for stable downstream statistics); zero rows give 0."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    num = np.sum(a * b, axis=-1)
    den = np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1)
    return np.where(den > eps, num / np.maximum(den, eps), 0.0)


def anchored_cosine(d1: np.ndarray, d2: np.ndarray, eps: float) -> np.ndarray:
    """Cosine of ``[d1, eps]`` and ``[d2, eps]`` row-wise: a continuous, defined-everywhere agreement."""
    d1 = np.asarray(d1, dtype=np.float64)
    d2 = np.asarray(d2, dtype=np.float64)
    e2 = float(eps) ** 2
    num = np.sum(d1 * d2, axis=-1) + e2
    den = np.sqrt((np.sum(d1 * d1, axis=-1) + e2) * (np.sum(d2 * d2, axis=-1) + e2))
    return np.clip(num / den, -1.0, 1.0)


def direction_cosine(d1: np.ndarray, d2: np.ndarray, eps: float) -> np.ndarray:
    """Plain row-wise cosine with the degenerate cases fixed: both ~0 -> 1, exactly one ~0 -> 0."""
    d1 = np.asarray(d1, dtype=np.float64)
    d2 = np.asarray(d2, dtype=np.float64)
    n1 = np.linalg.norm(d1, axis=-1)
    n2 = np.linalg.norm(d2, axis=-1)
    small1, small2 = n1 <= eps, n2 <= eps
    plain = np.sum(d1 * d2, axis=-1) / np.maximum(n1 * n2, 1e-300)
    out = np.where(small1 & small2, 1.0, np.where(small1 | small2, 0.0, plain))
    return np.clip(out, -1.0, 1.0)
