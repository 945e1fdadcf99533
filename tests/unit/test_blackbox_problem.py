"""Setting 1 wiring: the scene generator, the networks, and the anonymizer's two losses with the black box
reached only by counted queries."""

import numpy as np
import torch

from sppe_ray.blackbox.data import ATTRIBUTES, CLASSES, make_scenes
from sppe_ray.blackbox.networks import SmallCNN, TinyUNet, cmap, fit_classifier, n_params
from sppe_ray.blackbox.objectives import Scalarisation
from sppe_ray.blackbox.optimizers import CriticalHistorySPSA
from sppe_ray.blackbox.problem import AnonymizerProblem
from sppe_ray.blackbox.query import CountedBlackBox, FrozenModel
from sppe_ray.blackbox.spsa import Gains


def test_scenes_are_deterministic_and_labelled():
    a, b = make_scenes(16, seed=3), make_scenes(16, seed=3)
    assert np.array_equal(a.images, b.images) and a.images.shape == (16, 3, 48, 48)
    assert a.images.min() >= 0 and a.images.max() <= 1 and set(a.labels) <= set(range(len(CLASSES)))
    assert a.attributes.shape == (16, len(ATTRIBUTES))
    assert [len(bx) for bx in a.boxes] == a.attributes.sum(1).astype(int).tolist()


def test_anonymizer_starts_as_the_identity_and_is_small():
    x = torch.as_tensor(make_scenes(4).images)
    net = TinyUNet()
    assert torch.equal(net(x), x) and n_params(net) < 10_000


def test_cmap_known_answers():
    truth = np.array([[1, 0], [0, 1], [1, 1], [0, 0]], float)
    assert cmap(truth.copy(), truth) == 1.0
    assert cmap(np.zeros_like(truth), truth) == 0.5  # no ranking: AP = the positive share


def test_problem_losses_queries_and_gradient_isolation():
    torch.manual_seed(0)
    data = make_scenes(8, seed=1)
    train = make_scenes(128, seed=2)
    utility = SmallCNN(len(CLASSES))
    reviewer = fit_classifier(SmallCNN(len(ATTRIBUTES)), train.images, train.attributes, True, steps=60, batch=32)
    bb = CountedBlackBox(FrozenModel(utility))
    prob = AnonymizerProblem(TinyUNet(), bb, reviewer, data.images, data.labels, [f"s{i}" for i in range(8)])
    theta = prob.theta()
    l_bb = prob.blackbox_loss(theta)
    l_priv, h = prob.privacy_loss(theta)
    assert np.isfinite(l_bb) and 0 <= l_priv <= np.log(2) and h.shape == theta.shape and np.abs(h).sum() > 0
    assert bb.calls == {f"s{i}": 1 for i in range(8)}
    assert all(p.grad is None for p in utility.parameters())  # nothing reached the black box's weights
    opt = CriticalHistorySPSA(Scalarisation("augmented_tchebycheff", (0.2, 0.8)), Gains(a=5.0, c=0.01))
    for k in range(15):
        theta, _ = opt.step(prob, theta, k)
    assert bb.calls["s0"] == 1 + 2 * 15  # two queries per step for every sample of the batch
    assert prob.privacy_loss(theta)[0] < 0.9 * l_priv  # the reviewer is already less sure
