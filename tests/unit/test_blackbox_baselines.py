"""The Table 1 heuristics change what they say they change, and the confusion privacy loss has its known values."""

import math

import numpy as np
import torch

from sppe_ray.blackbox.baselines import HEURISTICS
from sppe_ray.blackbox.networks import TinyUNet
from sppe_ray.blackbox.problem import AnonymizerProblem
from sppe_ray.blackbox.query import CountedBlackBox


def _images():
    rng = np.random.default_rng(0)
    return rng.random((2, 3, 48, 48)).astype(np.float32), [[(4, 6, 20, 18)], []]


def test_box_heuristics_change_only_the_private_boxes():
    images, boxes = _images()
    for name in ("blackening", "strong_blur", "weak_blur"):
        out = HEURISTICS.entry(name).load()(images, boxes)
        inside = np.zeros((48, 48), bool)
        inside[6:18, 4:20] = True
        assert np.array_equal(out[0][:, ~inside], images[0][:, ~inside]), name
        assert not np.allclose(out[0][:, inside], images[0][:, inside]), name
        assert np.array_equal(out[1], images[1]), name  # no private region: untouched
    black = HEURISTICS.entry("blackening").load()(images, boxes)
    assert black[0][:, 6:18, 4:20].max() == 0


def test_strong_blur_removes_more_detail_than_weak_blur():
    images, boxes = _images()
    def detail(name):
        return float(np.abs(np.diff(HEURISTICS.entry(name).load()(images, boxes)[0][:, 6:18, 4:20], axis=2)).mean())
    assert detail("strong_blur") < detail("weak_blur") < float(np.abs(np.diff(images[0][:, 6:18, 4:20], axis=2)).mean())


def test_downsample_keeps_the_size_and_makes_blocks():
    images, boxes = _images()
    out = HEURISTICS.entry("downsample").load()(images, boxes)
    assert out.shape == images.shape
    assert np.array_equal(out[:, :, 0:4, 0:4], np.broadcast_to(out[:, :, :1, :1], (2, 3, 4, 4)))


class _Reviewer(torch.nn.Module):
    """Fixed logits, whatever the image (the image enters with weight 0, so the graph reaches the anonymizer)."""

    def __init__(self, logits):
        super().__init__()
        self.logits = torch.nn.Parameter(torch.tensor(logits, dtype=torch.float32))

    def forward(self, x):
        return self.logits.expand(len(x), -1) + 0.0 * x.mean(dim=(1, 2, 3))[:, None]


def _confusion(logits, attributes):
    prob = AnonymizerProblem(TinyUNet(), CountedBlackBox(lambda x: x), _Reviewer(logits), np.zeros((1, 3, 8, 8),
                             np.float32), np.zeros(1, int), ["s"], np.array([attributes], np.float32), "confusion")
    return prob.privacy_loss(prob.theta())[0]


def test_confusion_loss_is_zero_at_chance_or_wrong_and_grows_with_a_right_reviewer():
    assert _confusion([0.0, 0.0], [1, 0]) == 0.0  # chance
    assert _confusion([-3.0, 3.0], [1, 0]) == 0.0  # confidently wrong on both
    right = _confusion([3.0, -3.0], [1, 0])
    assert math.isclose(right, math.log(2) - math.log1p(math.exp(-3.0)), rel_tol=1e-5)


def test_confusion_needs_attribute_labels():
    import pytest

    with pytest.raises(ValueError, match="attribute labels"):
        AnonymizerProblem(TinyUNet(), CountedBlackBox(lambda x: x), _Reviewer([0.0]), np.zeros((1, 3, 8, 8)),
                          np.zeros(1, int), ["s"], None, "confusion")
