"""The 8 recovery metrics on hand-built cases, and the privacy leak helpers."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import skimage.data

from sppe_ray.embed import create_image_embedder
from sppe_ray.errors import ImageError
from sppe_ray.metrics.privacy import identity_leak, leak_rate, mean_ci, ocr_leak, pixel_leak
from sppe_ray.metrics.recovery import (
    PSNR_CAP,
    RECOVERY_KEYS,
    psnr,
    recovery_metrics,
    recovery_metrics_batch,
    ssim,
)


@pytest.fixture(scope="module")
def quad():
    src = cv2.resize(skimage.data.chelsea(), (160, 128), interpolation=cv2.INTER_AREA)
    mask = np.zeros(src.shape[:2], bool)
    mask[30:90, 50:110] = True
    sur = src.copy()
    sur[mask] = 128
    warm = np.array([45, 5, -45], np.float32)
    src_edit = np.clip(src + warm, 0, 255).astype(np.uint8)
    sur_edit = np.clip(sur + warm, 0, 255).astype(np.uint8)
    return src, src_edit, sur, sur_edit, mask


def test_output_equal_to_source(quad):
    src, src_edit, sur, sur_edit, _ = quad
    m = recovery_metrics(src, src_edit, sur, sur_edit, src.copy())
    assert set(m) == set(RECOVERY_KEYS)
    assert m["ssim"] == pytest.approx(1.0) and m["psnr"] == PSNR_CAP and m["csim_src"] == pytest.approx(1.0)
    assert m["dir_i"] == 0.0 and m["dir_s"] == 0.0  # no movement vs a real edit: defined as 0
    assert m["gt_ssim"] < 1.0 and m["gt_psnr"] < 40


def test_output_equal_to_ground_truth(quad):
    src, src_edit, sur, sur_edit, _ = quad
    m = recovery_metrics(src, src_edit, sur, sur_edit, src_edit.copy())
    assert m["csim_gt"] == pytest.approx(1.0, abs=1e-6)
    assert m["gt_ssim"] == pytest.approx(1.0) and m["gt_psnr"] == PSNR_CAP
    assert m["dir_i"] == pytest.approx(1.0, abs=1e-6)
    assert 0.5 < m["dir_s"] < 1.0  # the same tint moved the surrogate almost the same way
    assert m["psnr"] < 30 and m["csim_src"] < 1.0


def test_zero_directions_and_ordering(quad):
    src, src_edit, sur, sur_edit, _ = quad
    nothing = recovery_metrics(src, src.copy(), sur, sur.copy(), src.copy())
    assert nothing["dir_i"] == 1.0 and nothing["dir_s"] == 1.0  # nothing asked, nothing done
    cool = np.clip(src - np.array([45, 5, -45], np.float32), 0, 255).astype(np.uint8)
    wrong = recovery_metrics(src, src_edit, sur, sur_edit, cool)
    right = recovery_metrics(src, src_edit, sur, sur_edit, src_edit)
    assert wrong["dir_i"] < 0 < right["dir_i"]
    assert wrong["csim_gt"] < right["csim_gt"] and wrong["gt_psnr"] < right["gt_psnr"]


def test_psnr_hand_computed():
    a = np.zeros((16, 16, 3), np.uint8)
    b = np.full((16, 16, 3), 51, np.uint8)  # error 0.2 everywhere -> mse 0.04 -> 13.98 dB
    assert psnr(a, b) == pytest.approx(10 * np.log10(1 / 0.04), abs=1e-4)
    assert psnr(a, a) == PSNR_CAP


def test_batch_matches_single_and_custom_embedder(quad):
    src, src_edit, sur, sur_edit, _ = quad
    outs = [src, src_edit, cv2.GaussianBlur(src_edit, (0, 0), 2)]
    emb = create_image_embedder("classic")
    batch = recovery_metrics_batch([src] * 3, [src_edit] * 3, [sur] * 3, [sur_edit] * 3, outs, emb)
    for k in RECOVERY_KEYS:
        assert batch[k].shape == (3,)
        assert batch[k][2] == pytest.approx(recovery_metrics(src, src_edit, sur, sur_edit, outs[2], emb)[k])
    assert batch["gt_ssim"][2] < 1.0


def test_recovery_bad_inputs(quad):
    src, src_edit, sur, sur_edit, _ = quad
    with pytest.raises(ImageError):
        recovery_metrics(src, src_edit, sur, sur_edit, src[:50])
    with pytest.raises(ImageError):
        recovery_metrics_batch([src], [src_edit], [sur], [sur_edit], [])
    assert recovery_metrics_batch([], [], [], [], [])["psnr"].shape == (0,)


def test_pixel_leak(quad):
    src, _, sur, _, mask = quad
    assert pixel_leak(src, sur, mask) == pytest.approx(float(np.all(src[mask] == 128, axis=1).mean()))
    assert pixel_leak(src, src, mask) == 1.0
    half = sur.copy()
    rows = np.where(mask.any(axis=1))[0]
    top = rows[: len(rows) // 2]
    half[top[0] : top[-1] + 1][mask[top[0] : top[-1] + 1]] = src[top[0] : top[-1] + 1][mask[top[0] : top[-1] + 1]]
    assert 0.45 < pixel_leak(src, half, mask) < 0.55
    assert np.isnan(pixel_leak(src, sur, np.zeros_like(mask)))
    with pytest.raises(ImageError):
        pixel_leak(src, sur, mask[:10])


def test_leak_rates():
    d = np.array([0.2, 0.5, 0.7, 0.9, np.nan, 0.3])
    r = identity_leak(d, n_boot=200)
    assert r["rate"] == pytest.approx(3 / 5) and r["n"] == 5 and r["n_dropped"] == 1
    assert r["ci"][0] <= r["rate"] <= r["ci"][1]
    o = ocr_leak([1.0, 0.85, 0.1, 0.0], n_boot=100)
    assert o["rate"] == pytest.approx(0.5)
    assert np.isnan(leak_rate([np.nan], 0.5)["rate"])
    with pytest.raises(ValueError):
        leak_rate([0.1], 0.5, leak_when="sideways")
    m = mean_ci([0.0, 1.0, 0.5, np.nan], n_boot=100)
    assert m["mean"] == pytest.approx(0.5) and m["n"] == 3 and m["ci"][0] <= 0.5 <= m["ci"][1]


@pytest.mark.parametrize("shape", [(128, 160, 3), (37, 53, 3), (5, 9, 3), (4, 6, 3)])
def test_ssim_matches_skimage_definition(quad, shape):
    from skimage.metrics import structural_similarity

    rng = np.random.default_rng(shape[0])
    a = rng.integers(0, 256, shape, dtype=np.uint8)
    if shape == quad[0].shape:
        a = quad[0]
    b = np.clip(a.astype(int) + rng.integers(-40, 41, shape), 0, 255).astype(np.uint8)
    win = min(7, min(shape[:2]) // 2 * 2 - 1)
    ref = structural_similarity(a / 255.0, b / 255.0, channel_axis=2, data_range=1.0, win_size=win)
    assert ssim(a, b) == pytest.approx(ref, abs=1e-5)
    assert ssim(a, a) == pytest.approx(1.0, abs=1e-6)
    assert ssim(a, b) < 0.999


def test_ssim_rejects_mismatched_or_tiny_images():
    a = np.zeros((8, 8, 3), np.uint8)
    with pytest.raises(ImageError, match="one shape"):
        ssim(a, np.zeros((8, 9, 3), np.uint8))
    with pytest.raises(ImageError, match="3x3"):
        ssim(a[:2, :2], a[:2, :2])
