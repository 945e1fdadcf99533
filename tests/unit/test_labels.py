"""Editability labels: the direction-agreement label, its near-zero rule, and the alternative columns."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import skimage.data

from sppe_ray.embed import create_image_embedder
from sppe_ray.errors import ImageError
from sppe_ray.labels import ZERO_EDIT_EPS, editability_labels, label_batch


@pytest.fixture(scope="module")
def emb():
    return create_image_embedder("classic")


@pytest.fixture(scope="module")
def scene():
    """A photo, a surrogate that blurs a private square, and the square's mask."""
    src = cv2.resize(skimage.data.astronaut(), (192, 192), interpolation=cv2.INTER_AREA)
    mask = np.zeros(src.shape[:2], bool)
    mask[40:100, 60:130] = True
    sur = src.copy()
    sur[mask] = cv2.GaussianBlur(src, (0, 0), 6)[mask]
    return src, sur, mask


def _tint(img: np.ndarray, rgb: tuple[float, float, float]) -> np.ndarray:
    return np.clip(img.astype(np.float32) + np.array(rgb, np.float32), 0, 255).astype(np.uint8)


def test_same_edit_on_identical_pair_is_fully_editable(emb, scene):
    src, _, mask = scene
    edited = _tint(src, (40, 0, -40))
    lab = editability_labels(src, src.copy(), edited, edited.copy(), emb, mask)
    assert set(lab) == {"editability", "label_output", "label_region"}
    for v in lab.values():
        assert v == pytest.approx(1.0, abs=1e-5)


def test_both_unedited_is_one_even_if_surrogate_differs(emb, scene):
    src, sur, mask = scene
    lab = editability_labels(src, sur, src.copy(), sur.copy(), emb, mask)
    assert lab["editability"] == pytest.approx(1.0, abs=1e-6)
    assert lab["label_region"] == pytest.approx(1.0, abs=1e-6)
    assert lab["label_output"] < 1.0  # the outputs still differ where the surrogate does


def test_exactly_one_edited_is_neutral(emb, scene):
    src, sur, _ = scene
    edited = _tint(src, (60, 20, -60))
    lab = editability_labels(src, sur, edited, sur.copy(), emb)
    f_src, f_edit = emb.embed([src, edited])
    d = float(np.linalg.norm(f_edit - f_src))
    expected = 0.5 + 0.5 * ZERO_EDIT_EPS / np.hypot(d, ZERO_EDIT_EPS)  # documented rule, docs/labels.md
    assert lab["editability"] == pytest.approx(expected, abs=1e-4)
    assert 0.5 < lab["editability"] < 0.6


def test_label_orders_agreeing_above_disagreeing_edits(emb, scene):
    src, sur, mask = scene
    warm = (50, 10, -50)
    same = editability_labels(src, sur, _tint(src, warm), _tint(sur, warm), emb, mask)
    opposite = editability_labels(src, sur, _tint(src, warm), _tint(sur, (-50, -10, 50)), emb, mask)
    other = editability_labels(src, sur, _tint(src, warm), cv2.GaussianBlur(sur, (0, 0), 3), emb, mask)
    assert same["editability"] > 0.85
    assert opposite["editability"] < 0.3
    assert same["editability"] > other["editability"] > opposite["editability"]
    assert same["label_region"] > other["label_region"]
    assert same["label_region"] > opposite["label_region"]


def test_region_label_weights_the_private_region(emb, scene):
    """An edit that disagrees only inside a small mask counts more with the mask than without it."""
    src, sur, mask = scene
    src_edit = _tint(src, (40, 0, -40))
    sur_edit = src_edit.copy()
    sur_edit[mask] = _tint(sur, (-40, 0, 40))[mask]
    with_mask = editability_labels(src, sur, src_edit, sur_edit, emb, mask)["label_region"]
    without = editability_labels(src, sur, src_edit, sur_edit, emb, None)["label_region"]
    assert with_mask < without < 1.0
    # a 0/255 uint8 mask means the same as the boolean one
    as_uint8 = editability_labels(src, sur, src_edit, sur_edit, emb, mask.astype(np.uint8) * 255)
    assert as_uint8["label_region"] == pytest.approx(with_mask)


def test_batch_matches_single_and_types(emb, scene):
    src, sur, mask = scene
    rng = np.random.default_rng(3)
    edits = [(_tint(src, t), _tint(sur, u)) for t, u in
             [((30, 0, 0), (30, 0, 0)), ((0, 30, 0), (0, 0, 30)), ((-20, -20, -20), (20, 20, 20))]]
    out = label_batch([src] * 3, [sur] * 3, [e[0] for e in edits], [e[1] for e in edits], emb, [mask] * 3)
    for k, v in out.items():
        assert v.dtype == np.float32 and v.shape == (3,)
        assert np.all((v >= 0) & (v <= 1)), k
    single = editability_labels(src, sur, edits[1][0], edits[1][1], emb, mask)
    for k in out:
        assert out[k][1] == pytest.approx(single[k], abs=1e-5)
    assert len(set(np.round(out["editability"], 4))) == 3  # three different edits, three different labels
    noise = rng.integers(0, 255, src.shape, dtype=np.uint8)
    assert 0 <= editability_labels(src, sur, noise, src, emb)["editability"] <= 1


def test_bad_inputs(emb, scene):
    src, sur, mask = scene
    with pytest.raises(ImageError):
        editability_labels(src, sur[:100], src, sur, emb)
    with pytest.raises(ImageError):
        editability_labels(src, sur, src, sur, emb, mask[:50])
    with pytest.raises(ImageError):
        label_batch([src], [sur, sur], [src], [sur], emb)
    with pytest.raises(ImageError):
        editability_labels(src.astype(np.float32), sur, src, sur, emb)
    empty = label_batch([], [], [], [], emb)
    assert all(v.shape == (0,) for v in empty.values())
