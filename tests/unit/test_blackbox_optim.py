"""Objectives and zeroth-order optimisers of the black-box anonymizer on an analytic problem with a known Pareto
front: two quadratics L1 = |theta - a|^2 / p (the black box, values only) and L2 = |theta - b|^2 / p (white box,
with its gradient). Every Pareto-optimal theta lies on the segment [a, b]."""

import math

import numpy as np
import pytest

from sppe_ray.blackbox.history import CriticalHistory, blended_direction, step_scale
from sppe_ray.blackbox.objectives import IdealPoint, Scalarisation
from sppe_ray.blackbox.optimizers import CMAES, SPSA, SPSAGC, CriticalHistorySPSA, PolicySearch
from sppe_ray.blackbox.spsa import Gains, bernoulli, estimate, segmented_uniform

P = 12


class TwoQuadratics:
    def __init__(self) -> None:
        self.a, self.b = np.ones(P), -np.ones(P)
        self.calls = 0

    def blackbox_loss(self, theta: np.ndarray) -> float:
        self.calls += 1
        return float(np.sum((theta - self.a) ** 2) / P)

    def privacy_loss(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        return float(np.sum((theta - self.b) ** 2) / P), 2 * (theta - self.b) / P

    def off_front(self, theta: np.ndarray) -> float:
        """Distance from theta to the segment [a, b] (the Pareto set)."""
        d = self.b - self.a
        t = float(np.clip((theta - self.a) @ d / (d @ d), 0, 1))
        return float(np.linalg.norm(theta - (self.a + t * d)))


# ---- objectives ----------------------------------------------------------------------------------------------
def test_objective_values_follow_eqs_4_to_6():
    losses, ideal = np.array([0.4, 0.1]), np.array([0.2, 0.0])
    ws = Scalarisation("weighted_sum", (0.25, 0.75))
    assert ws.value(losses, ideal) == pytest.approx(0.25 * 0.4 + 0.75 * 0.1)
    tche = Scalarisation("tchebycheff", (0.5, 0.5), eps=0.1)
    assert tche.value(losses, ideal) == pytest.approx(max(0.5 * (0.4 - 0.1), 0.5 * (0.1 + 0.1)))
    assert tche.active(losses, ideal) == 0
    at = Scalarisation("augmented_tchebycheff", (0.5, 0.5), eps=0.1, sigma=0.2)
    assert at.value(losses, ideal) == pytest.approx(0.15 + 0.2 * 0.25)
    with pytest.raises(ValueError):
        Scalarisation("lexicographic")


def test_eq_11_gradient_per_objective_and_active_loss():
    g, h = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    ideal = np.zeros(2)
    ws = Scalarisation("weighted_sum", (0.3, 0.7))
    assert np.allclose(ws.combine(np.ones(2), ideal, g, h), [0.3, 0.7])
    tche = Scalarisation("tchebycheff", (0.5, 0.5), eps=0.0)
    assert np.allclose(tche.combine(np.array([1.0, 0.2]), ideal, g, h), [0.5, 0.0])  # the black box is further
    assert np.allclose(tche.combine(np.array([0.2, 1.0]), ideal, g, h), [0.0, 0.5])  # privacy is further
    at = Scalarisation("augmented_tchebycheff", (0.5, 0.5), eps=0.0, sigma=0.1)
    assert np.allclose(at.combine(np.array([1.0, 0.2]), ideal, g, h), [0.5 + 0.05, 0.05])


def test_ideal_point_is_a_running_minimum_unless_fixed():
    z = IdealPoint()
    z.update(np.array([0.5, 0.4]))
    assert np.allclose(z.update(np.array([0.6, 0.1])), [0.5, 0.1])
    assert np.allclose(IdealPoint(fixed=(0.0, 0.0)).update(np.array([3.0, 3.0])), [0.0, 0.0])


# ---- SPSA pieces ---------------------------------------------------------------------------------------------
def test_spsa_estimate_is_unbiased_on_a_linear_loss_and_costs_two_calls():
    w = np.arange(1.0, P + 1)
    calls = []

    def loss(t: np.ndarray) -> float:
        calls.append(1)
        return float(w @ t)

    rng = np.random.default_rng(0)
    both = lambda ts: [loss(t) for t in ts]  # noqa: E731
    mean = np.mean([estimate(both, np.zeros(P), 0.1, bernoulli(rng, P))[0] for _ in range(4000)], axis=0)
    assert np.allclose(mean, w, atol=1.5) and len(calls) == 8000  # std of the mean about 0.4
    d = segmented_uniform(rng, 1000)
    assert np.all((np.abs(d) >= 0.5) & (np.abs(d) <= 1.0))
    g = Gains()
    assert g.a_k(0) > g.a_k(100) > 0 and g.c_k(0) > g.c_k(100) > 0


# ---- critical history ------------------------------------------------------------------------------------------
def test_history_fills_then_evicts_the_weakest():
    h = CriticalHistory(m=2, decay=1.0)
    assert h.offer(0, np.array([1.0, 0])) and h.offer(1, np.array([3.0, 0]))
    assert not h.offer(2, np.array([0.5, 0]))  # weaker than everything stored: not kept
    assert h.offer(3, np.array([2.0, 0]))  # beats the norm-1 gradient, which is evicted
    assert sorted(h.steps) == [1, 3]


def test_decay_lets_a_newer_smaller_gradient_replace_an_old_large_one():
    h = CriticalHistory(m=1, decay=0.5)
    h.offer(0, np.array([4.0]))
    assert h.scores(3).tolist() == [0.5]  # 0.5^3 x 4
    assert h.offer(3, np.array([1.0])) and h.steps == [3]


def test_without_critical_selection_the_latest_m_are_kept():
    h = CriticalHistory(m=2, critical=False)
    for k, v in enumerate([5.0, 4.0, 0.1]):
        h.offer(k, np.array([v]))
    assert sorted(h.steps) == [1, 2]


def test_direction_blend_and_the_arctan_step_scale():
    h = CriticalHistory(m=3)
    g = np.array([1.0, 0.0])
    assert np.array_equal(blended_direction(g, h, 0.5), g)  # first step: the estimate alone
    h.offer(0, np.array([0.0, 2.0]))
    assert np.allclose(blended_direction(g, h, 0.5), [0.5, 1.0])
    b = 1.0
    assert step_scale(g, g, b) == pytest.approx(b / math.pi * math.atan(2 * math.pi))  # agreement: longer
    assert step_scale(g, -g, b) == pytest.approx(-b / math.pi * math.atan(2 * math.pi))  # disagreement: shorter
    assert step_scale(g, np.array([0.0, 1.0]), b) == 0.0
    assert all(abs(step_scale(g, np.array([c, 1.0]), 1.9)) < 0.95 for c in (-5, -1, 0, 1, 5))
    with pytest.raises(ValueError):
        step_scale(g, g, 2.0)


# ---- optimisers on the analytic front ------------------------------------------------------------------------
def _run(opt, steps: int, theta0: np.ndarray | None = None) -> tuple[TwoQuadratics, np.ndarray, list]:
    prob = TwoQuadratics()
    theta = np.random.default_rng(42).normal(0, 2, P) if theta0 is None else theta0
    infos = []
    for k in range(steps):
        theta, info = opt.step(prob, theta, k)
        infos.append(info)
    return prob, theta, infos


WS = Scalarisation("weighted_sum", (0.5, 0.5))


def _ws_value(prob: TwoQuadratics, theta: np.ndarray) -> float:
    return 0.5 * float(np.sum((theta - prob.a) ** 2) + np.sum((theta - prob.b) ** 2)) / P


@pytest.mark.parametrize("make, steps, calls_per_step", [
    (lambda: CriticalHistorySPSA(WS, Gains(a=2.0, c=0.05)), 300, 2),
    (lambda: SPSA(WS, gains=Gains(a=2.0, c=0.05)), 300, 2),
    (lambda: SPSAGC(WS, a=0.3, c=0.05), 300, 2),
    (lambda: CMAES(WS, sigma0=0.5, popsize=8), 120, 8),
    (lambda: PolicySearch(WS, sigma=0.1, samples=8, lr=0.3), 300, 8),
])
def test_every_optimiser_approaches_the_weighted_sum_optimum(make, steps, calls_per_step):
    """The weighted-sum optimum is the midpoint of the front (value 1.0); from a random start (value about 4.4,
    6.4 off the front) every optimiser removes most of the excess and comes close to the front."""
    prob0 = TwoQuadratics()
    start = np.random.default_rng(42).normal(0, 2, P)
    excess0, off0 = _ws_value(prob0, start) - 1.0, prob0.off_front(start)
    prob, theta, infos = _run(make(), steps)
    assert prob.calls == steps * calls_per_step == sum(i.calls for i in infos)  # the query count
    assert _ws_value(prob, theta) - 1.0 < 0.3 * excess0
    assert prob.off_front(theta) < 0.25 * off0


@pytest.mark.parametrize("kind", ["tchebycheff", "augmented_tchebycheff"])
def test_tchebycheff_family_lands_where_the_weighted_gaps_meet(kind):
    obj = Scalarisation(kind, (0.8, 0.2), eps=0.05, sigma=0.05)
    opt = CriticalHistorySPSA(obj, Gains(a=2.0, c=0.05), ideal=IdealPoint(fixed=(0.0, 0.0)))
    prob, theta, _ = _run(opt, 600)
    # On the segment theta = a + t (b - a): 0.8 (4 t^2 + eps) = 0.2 (4 (1 - t)^2 + eps), so t = 1/3, where the
    # weighted sum with the same weights would sit at t = 0.2.
    d = prob.b - prob.a
    t = float((theta - prob.a) @ d / (d @ d))
    assert prob.off_front(theta) < 1.0 and abs(t - 1 / 3) < 0.08


def test_ablation_toggles_change_the_step_and_state_round_trips():
    full = CriticalHistorySPSA(WS, Gains(a=2.0, c=0.05), seed=3)
    no_scale = CriticalHistorySPSA(WS, Gains(a=2.0, c=0.05), seed=3, step_size=False)
    _, t_full, i_full = _run(full, 5)
    _, t_plain, i_plain = _run(no_scale, 5)
    assert any(i.scale != 0 for i in i_full[1:]) and all(i.scale == 0 for i in i_plain)
    assert not np.allclose(t_full, t_plain)
    clone = CriticalHistorySPSA(WS, Gains(a=2.0, c=0.05), seed=99)
    clone.load(full.state())
    a, _ = full.step(TwoQuadratics(), t_full, 5)
    b, _ = clone.step(TwoQuadratics(), t_full, 5)
    assert np.array_equal(a, b)  # resumed exactly: same perturbation, same history, same ideal point
