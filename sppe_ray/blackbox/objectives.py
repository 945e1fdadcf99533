"""Scalarisations of the two losses (L_MLLM, L_Privacy) (Eqs. 4-6) and the gradient each implies (Eq. 11).

Settings the paper leaves open, chosen here: weights lambda = (0.5, 0.5); the ideal point z* is the running
minimum of each loss seen so far (``IdealPoint``), eps = 0.05 below it (an unreachable utopia point), sigma =
0.05 for the augmented term. With the gradient of the black-box loss estimated and the privacy loss's computed,
the Tchebycheff family works on whichever loss is further from its ideal at each step.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sppe_ray.registry import Registry


@dataclass
class IdealPoint:
    """z*: the best value of each loss seen so far (or fixed values when given)."""

    fixed: tuple[float, ...] | None = None
    best: np.ndarray | None = field(default=None, init=False)

    def update(self, losses: np.ndarray) -> np.ndarray:
        losses = np.asarray(losses, float)
        if self.fixed is not None:
            return np.asarray(self.fixed, float)
        self.best = losses.copy() if self.best is None else np.minimum(self.best, losses)
        return self.best


@dataclass(frozen=True)
class Scalarisation:
    """One objective family with its constants; ``value`` is the scalar, ``combine`` the update direction."""

    kind: str
    weights: tuple[float, float] = (0.5, 0.5)
    eps: float = 0.05
    sigma: float = 0.05

    def __post_init__(self) -> None:
        if self.kind not in ("weighted_sum", "tchebycheff", "augmented_tchebycheff"):
            raise ValueError(f"unknown objective {self.kind!r}")
        if min(self.weights) <= 0:
            raise ValueError(f"weights must be positive, got {self.weights}")

    def gaps(self, losses: np.ndarray, ideal: np.ndarray) -> np.ndarray:
        """lambda_i (L_i - (z*_i - eps)): each loss's weighted distance from the utopia point."""
        return np.asarray(self.weights) * (np.asarray(losses, float) - (np.asarray(ideal, float) - self.eps))

    def value(self, losses: np.ndarray, ideal: np.ndarray) -> float:
        """Eq. 4 (weighted sum), Eq. 5 (Tchebycheff) or Eq. 6 (augmented Tchebycheff)."""
        lam, losses = np.asarray(self.weights), np.asarray(losses, float)
        if self.kind == "weighted_sum":
            return float(lam @ losses)
        tche = float(self.gaps(losses, ideal).max())
        return tche + (self.sigma * float(lam @ losses) if self.kind == "augmented_tchebycheff" else 0.0)

    def active(self, losses: np.ndarray, ideal: np.ndarray) -> int:
        """i_max of Eq. 11: the loss that is further from its ideal."""
        return int(np.argmax(self.gaps(losses, ideal)))

    def combine(self, losses: np.ndarray, ideal: np.ndarray, g_blackbox: np.ndarray,
                h_privacy: np.ndarray) -> np.ndarray:
        """Eq. 11: ``g_blackbox`` is the (scaled) estimate for L_MLLM, ``h_privacy`` the computed gradient of
        L_Privacy. Weighted sum: lambda1 g + lambda2 h. Tchebycheff: the active loss's term alone. Augmented:
        the active term plus sigma (lambda1 g + lambda2 h)."""
        lam1, lam2 = self.weights
        both = lam1 * g_blackbox + lam2 * h_privacy
        if self.kind == "weighted_sum":
            return both
        term = lam1 * g_blackbox if self.active(losses, ideal) == 0 else lam2 * h_privacy
        return term + (self.sigma * both if self.kind == "augmented_tchebycheff" else 0.0)


OBJECTIVES = Registry("objective", "blackbox.objective")
for _kind, _summary in (("weighted_sum", "Eq. 4: lambda1 L_MLLM + lambda2 L_Privacy"),
                        ("tchebycheff", "Eq. 5: max_i lambda_i (L_i - (z*_i - eps))"),
                        ("augmented_tchebycheff", "Eq. 6: Tchebycheff + sigma sum_i lambda_i L_i (the paper's)")):
    OBJECTIVES.add(_kind, lambda _k=_kind, **kw: Scalarisation(_k, **kw), _summary)
