"""Simultaneous-perturbation gradient estimates (Spall 1992) and their gains.

Two black-box queries per estimate: g = [L(theta + c D) - L(theta - c D)] / (2 c D), element-wise, with D
Bernoulli +-1 (SPSA) or segmented-uniform on [-1, -0.5] U [0.5, 1] (SPSA-GC, BlackVIP).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Gains:
    """Spall's practical gains: a_k = a / (A + k + 1)^alpha, c_k = c / (k + 1)^gamma."""

    a: float = 0.05
    c: float = 0.05
    A: float = 10.0
    alpha: float = 0.602
    gamma: float = 0.101

    def a_k(self, k: int) -> float:
        return self.a / (self.A + k + 1) ** self.alpha

    def c_k(self, k: int) -> float:
        return self.c / (k + 1) ** self.gamma


def bernoulli(rng: np.random.Generator, p: int) -> np.ndarray:
    return rng.choice(np.array([-1.0, 1.0]), size=p)


def segmented_uniform(rng: np.random.Generator, p: int) -> np.ndarray:
    return rng.uniform(0.5, 1.0, size=p) * bernoulli(rng, p)


def estimate(losses: Callable[[list[np.ndarray]], list[float]], theta: np.ndarray, c: float, delta: np.ndarray
             ) -> tuple[np.ndarray, float, float]:
    """(gradient estimate, L(theta + c D), L(theta - c D)): both sides in one call of ``losses`` (a list of
    parameter vectors to a list of losses), so a parallel black box answers the two queries at once."""
    plus, minus = (float(v) for v in losses([theta + c * delta, theta - c * delta]))
    return (plus - minus) / (2.0 * c * delta), plus, minus
