"""The counted black-box interface: counts per sample, retries, malformed answers, a lost black box, and no
gradient through a frozen model."""

import numpy as np
import pytest
import torch

from sppe_ray.blackbox.query import BlackBoxLost, CountedBlackBox, FrozenModel


def _uniform(x: np.ndarray) -> np.ndarray:
    return np.full((len(x), 3), 1 / 3)


def test_calls_are_counted_per_sample():
    bb = CountedBlackBox(_uniform)
    bb(np.zeros((2, 4)), ["a", "b"])
    bb(np.zeros((1, 4)), ["a"])
    assert bb.calls == {"a": 2, "b": 1} and bb.calls_per_sample() == 1.5


def test_failures_and_malformed_answers_are_retried_and_counted():
    answers = iter([RuntimeError("503"), np.array([[0.5, 0.6, 0.1]]), np.array([[0.2, 0.3, 0.5]])])

    def flaky(x: np.ndarray) -> np.ndarray:
        out = next(answers)
        if isinstance(out, Exception):
            raise out
        return out

    bb = CountedBlackBox(flaky, retries=2)
    assert np.allclose(bb(np.zeros((1, 4)), ["s"]), [[0.2, 0.3, 0.5]])
    assert bb.calls["s"] == 3 and bb.failures == {"RuntimeError": 1, "ValueError": 1}


def test_a_black_box_that_keeps_failing_is_lost_with_a_clear_error():
    def down(x: np.ndarray) -> np.ndarray:
        raise TimeoutError("no answer in 30 s")

    bb = CountedBlackBox(down, retries=1)
    with pytest.raises(BlackBoxLost, match="failed 2 attempts.*TimeoutError"):
        bb(np.zeros((1, 4)), ["s"])
    assert bb.calls["s"] == 2


def test_no_gradient_flows_through_a_frozen_model():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(12, 3))
    bb = CountedBlackBox(FrozenModel(net))
    x = torch.randn(2, 3, 2, 2, requires_grad=True)
    probs = bb(x.detach().numpy(), ["a", "b"])
    assert isinstance(probs, np.ndarray) and np.allclose(probs.sum(1), 1)
    assert all(not p.requires_grad for p in net.parameters())
    loss = torch.as_tensor(probs).sum() + (x * 0).sum()  # anything built on the answer has no path to the model
    loss.backward()
    assert all(p.grad is None for p in net.parameters())
    assert torch.as_tensor(probs).grad_fn is None


class _Mapped:
    """An answer with ``map`` (as Ray actors and HTTP endpoints have) whose first answers are scripted."""

    def __init__(self, firsts):
        self.firsts, self.single = list(firsts), 0

    def __call__(self, x):
        self.single += 1
        return np.full((len(x), 3), 1 / 3)

    def map(self, batches):
        return [self.firsts.pop(0) for _ in batches]


def test_many_sends_queries_together_and_retries_only_the_failed_ones():
    good = np.full((2, 3), 1 / 3)
    answer = _Mapped([good, ConnectionError("reset"), np.array([[2.0, -1.0, 0.0]] * 2)])
    bb = CountedBlackBox(answer, retries=1)
    out = bb.many([np.zeros((2, 4))] * 3, ["a", "b"])
    assert len(out) == 3 and all(np.allclose(o, good) for o in out)
    assert answer.single == 2  # the failed and the malformed query were retried one by one; the good one was not
    assert bb.calls == {"a": 5, "b": 5} and bb.failures == {"ConnectionError": 1, "ValueError": 1}


def test_many_without_map_is_one_query_after_another():
    bb = CountedBlackBox(_uniform)
    out = bb.many([np.zeros((2, 4)), np.ones((2, 4))], ["a", "b"])
    assert len(out) == 2 and bb.calls == {"a": 2, "b": 2}
