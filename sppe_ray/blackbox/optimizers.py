"""Zero-order optimisers of the anonymizer's parameters against a black box (Table 6 of the paper).

Every optimiser sees a ``Problem``: the black-box loss L_MLLM, reachable only by queries, and the white-box
privacy loss L_Privacy with its gradient (backprop through the reviewer). ``step`` returns the new parameters
and what the step cost in black-box calls.

- ``CriticalHistorySPSA``: the paper's method (Eqs. 7-12), with the four Table 7 toggles. The black-box loss
  at theta is taken as the mean of the two perturbed queries (no third call); both are within c_k of theta.
- ``SPSA``: the same with the history off (Table 7's "w/o history" is plain SPSA).
- ``SPSAGC``: BlackVIP's SPSA with gradient correction (Nesterov-style momentum b1 = 0.9, segmented-uniform
  perturbations, gains a/(k+o)^alpha and c/(k+1)^gc).
- ``CMAES``: the ``cma`` package on the scalarised objective (values only: it ignores the privacy gradient);
  it has no checkpoint state, so a resumed CMA-ES fit restarts its distribution at the saved mean.
- ``PolicySearch``: a Gaussian policy over the parameters trained by REINFORCE with a mean baseline. The paper
  cites Q-learning without saying how it met a continuous parameter vector; a Gaussian parameter policy is the
  continuous-action counterpart, so this is a stand-in, not the paper's baseline.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from sppe_ray.blackbox.history import CriticalHistory, blended_direction, step_scale
from sppe_ray.blackbox.objectives import IdealPoint, Scalarisation
from sppe_ray.blackbox.spsa import Gains, bernoulli, estimate, segmented_uniform
from sppe_ray.registry import Registry


class Problem(Protocol):
    """What an optimiser may do: query the black box, and differentiate the privacy loss."""

    def blackbox_loss(self, theta: np.ndarray) -> float: ...

    def blackbox_losses(self, thetas: list[np.ndarray]) -> list[float]:
        """Several black-box losses at once (the problem may query them in parallel); optional."""
        ...

    def privacy_loss(self, theta: np.ndarray) -> tuple[float, np.ndarray]: ...


def blackbox_losses(problem: Problem) -> Any:
    """The problem's batched black-box loss, or its single one mapped over the list (analytic test problems)."""
    batched = getattr(problem, "blackbox_losses", None)
    return batched if batched is not None else (lambda thetas: [problem.blackbox_loss(t) for t in thetas])


@dataclass
class StepInfo:
    """One step's record (logged per step to MLflow by the trainer)."""

    losses: tuple[float, float]
    value: float
    calls: int
    scale: float = 0.0
    active: int = -1


@dataclass
class CriticalHistorySPSA:
    """Eqs. 7-12 with the Table 7 toggles: ``history`` (off = plain SPSA), ``critical`` (off = latest m),
    ``direction`` (Eq. 9 blend), ``step_size`` (Eq. 10 scale). Defaults: m = 5, d = 0.9, gamma = 0.5, b = 1."""

    objective: Scalarisation
    gains: Gains = field(default_factory=Gains)
    m: int = 5
    decay: float = 0.9
    gamma: float = 0.5
    b: float = 1.0
    history: bool = True
    critical: bool = True
    direction: bool = True
    step_size: bool = True
    seed: int = 0
    ideal: IdealPoint = field(default_factory=IdealPoint)

    def __post_init__(self) -> None:
        self.rng = np.random.default_rng(self.seed)
        self.memory = CriticalHistory(self.m, self.decay, self.critical)

    def step(self, problem: Problem, theta: np.ndarray, k: int) -> tuple[np.ndarray, StepInfo]:
        g_hat, plus, minus = estimate(blackbox_losses(problem), theta, self.gains.c_k(k),
                                      bernoulli(self.rng, theta.size))
        l_priv, h = problem.privacy_loss(theta)
        losses = np.array([(plus + minus) / 2.0, l_priv])
        ideal = self.ideal.update(losses)
        g_use, scale = g_hat, 0.0
        if self.history:
            blended = blended_direction(g_hat, self.memory, self.gamma)
            if self.direction:
                g_use = blended
            if self.step_size:
                scale = step_scale(g_hat, blended, self.b)
            self.memory.offer(k, g_hat)
        grad = self.objective.combine(losses, ideal, (1.0 + scale) * g_use, h)
        info = StepInfo((float(losses[0]), float(losses[1])), self.objective.value(losses, ideal), 2, scale,
                        self.objective.active(losses, ideal))
        return theta - self.gains.a_k(k) * grad, info

    def state(self) -> dict[str, Any]:
        return {"rng": self.rng.bit_generator.state, "memory": self.memory.state(), "ideal": _ideal_state(self.ideal)}

    def load(self, state: dict[str, Any]) -> None:
        self.rng.bit_generator.state = state["rng"]
        self.memory.load(state["memory"])
        _load_ideal(self.ideal, state["ideal"])


def SPSA(objective: Scalarisation, **kw: Any) -> CriticalHistorySPSA:  # noqa: N802 - named like the others
    """Plain SPSA (Eq. 7 into Eq. 12): the critical-history scheme switched off."""
    return CriticalHistorySPSA(objective, history=False, **kw)


@dataclass
class SPSAGC:
    """SPSA with gradient correction (BlackVIP): m = b1 m + g; the applied gradient is g + b1 m."""

    objective: Scalarisation
    a: float = 0.01
    c: float = 0.005
    o: float = 1.0
    alpha: float = 0.4
    gc: float = 0.2
    b1: float = 0.9
    seed: int = 0
    ideal: IdealPoint = field(default_factory=IdealPoint)

    def __post_init__(self) -> None:
        self.rng = np.random.default_rng(self.seed)
        self.momentum: np.ndarray | None = None

    def step(self, problem: Problem, theta: np.ndarray, k: int) -> tuple[np.ndarray, StepInfo]:
        g_hat, plus, minus = estimate(blackbox_losses(problem), theta, self.c / (k + 1) ** self.gc,
                                      segmented_uniform(self.rng, theta.size))
        l_priv, h = problem.privacy_loss(theta)
        losses = np.array([(plus + minus) / 2.0, l_priv])
        ideal = self.ideal.update(losses)
        self.momentum = g_hat if self.momentum is None else self.b1 * self.momentum + g_hat
        grad = self.objective.combine(losses, ideal, g_hat + self.b1 * self.momentum, h)
        info = StepInfo((float(losses[0]), float(losses[1])), self.objective.value(losses, ideal), 2)
        return theta - self.a / (k + self.o) ** self.alpha * grad, info

    def state(self) -> dict[str, Any]:
        return {"rng": self.rng.bit_generator.state, "ideal": _ideal_state(self.ideal),
                "momentum": None if self.momentum is None else self.momentum.tolist()}

    def load(self, state: dict[str, Any]) -> None:
        self.rng.bit_generator.state = state["rng"]
        _load_ideal(self.ideal, state["ideal"])
        self.momentum = None if state["momentum"] is None else np.asarray(state["momentum"], float)


def _ideal_state(ideal: IdealPoint) -> list[float] | None:
    return None if ideal.best is None else ideal.best.tolist()


def _load_ideal(ideal: IdealPoint, state: list[float] | None) -> None:
    ideal.best = None if state is None else np.asarray(state, float)


def _scalars(problem: Problem, objective: Scalarisation, ideal: IdealPoint,
             thetas: list[np.ndarray]) -> list[tuple[float, np.ndarray]]:
    """The scalarised objective at each of ``thetas`` from values alone (one black-box call each, at once)."""
    out = []
    for value, theta in zip(blackbox_losses(problem)(thetas), thetas, strict=True):
        losses = np.array([value, problem.privacy_loss(theta)[0]])
        out.append((objective.value(losses, ideal.update(losses)), losses))
    return out


@dataclass
class CMAES:
    """CMA-ES (the ``cma`` package) over the parameter vector on the scalarised objective; one black-box call per
    candidate. ``theta`` passed to the first step is the start; afterwards the distribution mean. ``diagonal``
    (sep-CMA, the default) keeps a diagonal covariance: the full one is p x p (43M entries for the 6.6k-parameter
    anonymizer) and is updated in O(p^2) per candidate."""

    objective: Scalarisation
    sigma0: float = 0.01
    popsize: int = 8
    diagonal: bool = True
    seed: int = 0
    ideal: IdealPoint = field(default_factory=IdealPoint)
    es: Any = None

    def step(self, problem: Problem, theta: np.ndarray, k: int) -> tuple[np.ndarray, StepInfo]:
        import cma

        if self.es is None:
            self.es = cma.CMAEvolutionStrategy(theta.tolist(), self.sigma0,
                                               {"popsize": self.popsize, "seed": self.seed + 1, "verbose": -9,
                                                "CMA_diagonal": self.diagonal})
        candidates = self.es.ask()
        scored = _scalars(problem, self.objective, self.ideal, [np.asarray(x) for x in candidates])
        self.es.tell(candidates, [v for v, _ in scored])
        best = min(scored, key=lambda s: s[0])
        info = StepInfo((float(best[1][0]), float(best[1][1])), float(best[0]), len(candidates))
        return np.asarray(self.es.mean, float), info


@dataclass
class PolicySearch:
    """REINFORCE on a Gaussian policy N(mu, s^2 I) over the parameters, mean reward as the baseline."""

    objective: Scalarisation
    sigma: float = 0.05
    samples: int = 6
    lr: float = 0.05
    seed: int = 0
    ideal: IdealPoint = field(default_factory=IdealPoint)

    def __post_init__(self) -> None:
        self.rng = np.random.default_rng(self.seed)

    def step(self, problem: Problem, theta: np.ndarray, k: int) -> tuple[np.ndarray, StepInfo]:
        noise = self.rng.standard_normal((self.samples, theta.size))
        scored = _scalars(problem, self.objective, self.ideal, [theta + self.sigma * e for e in noise])
        values = np.array([v for v, _ in scored])
        grad = ((values - values.mean())[:, None] * noise).mean(axis=0) / self.sigma
        best = scored[int(np.argmin(values))]
        info = StepInfo((float(best[1][0]), float(best[1][1])), float(values.mean()), self.samples)
        return theta - self.lr * grad, info

    def state(self) -> dict[str, Any]:
        return {"rng": self.rng.bit_generator.state, "ideal": _ideal_state(self.ideal)}

    def load(self, state: dict[str, Any]) -> None:
        self.rng.bit_generator.state = state["rng"]
        _load_ideal(self.ideal, state["ideal"])


OPTIMIZERS = Registry("optimizer", "blackbox.optimizer")
OPTIMIZERS.add("critical_history_spsa", CriticalHistorySPSA, "the paper's method: SPSA + critical history "
                                                             "(direction blend, arctan step scale)")
OPTIMIZERS.add("spsa", SPSA, "plain SPSA (Spall 1992), two queries per step")
OPTIMIZERS.add("spsa_gc", SPSAGC, "SPSA with gradient correction (BlackVIP, Oh 2023)")
OPTIMIZERS.add("cma_es", CMAES, "CMA-ES (Hansen 2003) through the cma package")
OPTIMIZERS.add("policy_search", PolicySearch, "REINFORCE Gaussian parameter policy (stand-in for the paper's "
                                             "Q-learning baseline)")
