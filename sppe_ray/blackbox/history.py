"""The critical-history scheme of the paper (Eqs. 8-10): keep the m most important past gradient estimates,
blend them into the direction, and scale the step by how much the new estimate agrees with that direction.

Choices where the paper is silent: the collection fills by appending until it holds m; the blend averages the
stored gradients over how many there are (the paper's (1 - gamma)/m, equal once full); the new estimate is
offered to the collection after the direction is formed, so the blend is history only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np


@dataclass
class CriticalHistory:
    """C_g: at most ``m`` gradients with the step they were made at. ``critical=False`` keeps the latest m
    instead (the "w/o critical collection" ablation)."""

    m: int = 5
    decay: float = 0.9
    critical: bool = True
    steps: list[int] = field(default_factory=list)
    grads: list[np.ndarray] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.m < 1 or not 0 < self.decay <= 1:
            raise ValueError(f"need m >= 1 and decay in (0, 1], got m={self.m}, decay={self.decay}")

    def scores(self, k: int) -> np.ndarray:
        """Eq. 8 for the stored gradients at step k: d^(k - t_i) ||g_ti||."""
        return np.array([self.decay ** (k - t) * float(np.linalg.norm(g)) for t, g in zip(self.steps, self.grads,
                                                                                          strict=True)])

    def offer(self, k: int, g: np.ndarray) -> bool:
        """Insert ``g`` made at step ``k`` when there is room, or when it outscores the weakest stored one
        (which is evicted); returns whether it was kept."""
        if len(self.grads) < self.m:
            self.steps.append(k)
            self.grads.append(np.asarray(g, float).copy())
            return True
        drop = int(np.argmin(self.scores(k))) if self.critical else int(np.argmin(self.steps))
        if self.critical and float(np.linalg.norm(g)) <= float(self.scores(k)[drop]):
            return False
        self.steps[drop], self.grads[drop] = k, np.asarray(g, float).copy()
        return True

    def mean(self) -> np.ndarray | None:
        return np.mean(self.grads, axis=0) if self.grads else None

    def state(self) -> dict:
        return {"steps": list(self.steps), "grads": [g.tolist() for g in self.grads]}

    def load(self, state: dict) -> None:
        self.steps = [int(s) for s in state["steps"]]
        self.grads = [np.asarray(g, float) for g in state["grads"]]


def blended_direction(g_hat: np.ndarray, history: CriticalHistory, gamma: float) -> np.ndarray:
    """Eq. 9: gamma g_hat + (1 - gamma) x the mean stored gradient (g_hat alone while the history is empty)."""
    past = history.mean()
    return g_hat if past is None else gamma * g_hat + (1.0 - gamma) * past


def step_scale(g_hat: np.ndarray, g_tilde: np.ndarray, b: float) -> float:
    """Eq. 10: I = (b / pi) arctan(2 pi cos phi), phi the angle between the estimate and the direction; the step
    is multiplied by 1 + I, in (1 - b/2, 1 + b/2): agreement lengthens it, disagreement shortens it."""
    if not 0 < b < 2:
        raise ValueError(f"b must lie in (0, 2), got {b}")
    na, nb = float(np.linalg.norm(g_hat)), float(np.linalg.norm(g_tilde))
    cos = float(g_hat @ g_tilde) / (na * nb) if na and nb else 0.0
    return b / math.pi * math.atan(2 * math.pi * cos)
