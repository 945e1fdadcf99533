"""IQA registry: what runs offline, orientation, batching, and the no-download guard."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import skimage.data

from sppe_ray.errors import BackendUnavailableError, ConfigError, ImageError
from sppe_ray.metrics import iqa_backends
from sppe_ray.metrics.iqa import METRICS, available_metrics, create_metric


@pytest.fixture(scope="module")
def pair():
    ref = cv2.resize(skimage.data.astronaut(), (96, 96), interpolation=cv2.INTER_AREA)
    return ref, cv2.GaussianBlur(ref, (0, 0), 1.0), cv2.GaussianBlur(ref, (0, 0), 3.0)


def test_registry_and_availability():
    av = available_metrics(["ssim_skimage", "psnr", "gmsd", "lpips", "niqe"])
    assert set(av) == {"ssim_skimage", "psnr", "gmsd", "lpips", "niqe"}
    assert av["ssim_skimage"] is None and av["psnr"] is None and av["gmsd"] is None
    for name, reason in av.items():
        assert reason is None or name in reason
    if iqa_backends.learned_weights_reason("lpips") is not None:  # the normal offline case
        assert "downloads are disabled" in av["lpips"]
        with pytest.raises(BackendUnavailableError, match="eval.iqa_metrics"):
            create_metric("lpips")
    with pytest.raises(ConfigError):
        create_metric("not_a_metric")
    assert create_metric("gmsd") is create_metric("gmsd")  # built once per process
    assert {METRICS.entry(n).task for n in METRICS} == {"fr", "nr"}


@pytest.mark.parametrize("name", ["ssim_skimage", "ssim", "psnr", "gmsd", "fsim", "ms_ssim"])
def test_full_reference_orders_by_degradation(name, pair):
    ref, mild, strong = pair
    m = create_metric(name)
    assert m.kind == "fr"
    scores = m.batch([ref, ref, ref], [ref, mild, strong])  # ms_ssim: 96 px is upscaled, not rejected
    assert np.all(np.isfinite(scores))
    ordered = scores if m.lower_better else -scores
    assert ordered[0] < ordered[1] < ordered[2], scores
    assert m(ref, mild) == pytest.approx(scores[1], rel=1e-5, abs=1e-6)


def test_batch_groups_shapes(pair):
    ref, mild, _ = pair
    m = create_metric("ssim_skimage")
    small_ref, small = ref[:64, :80], mild[:64, :80]
    out = m.batch([ref, small_ref, ref], [mild, small, ref])
    assert out[1] == pytest.approx(m(small_ref, small)) and out[2] == pytest.approx(1.0)


def test_no_reference_metrics(pair):
    ref, _, strong = pair
    noisy = np.clip(ref + np.random.default_rng(0).normal(0, 25, ref.shape), 0, 255).astype(np.uint8)
    for name in ("brisque", "piqe"):
        if available_metrics([name])[name] is not None:
            continue
        m = create_metric(name)
        assert m.kind == "nr" and m.lower_better
        a, b = m.batch(None, [ref, noisy])
        assert np.isfinite(a) and np.isfinite(b) and a != b
        assert m(None, ref) == pytest.approx(a, rel=1e-5)


def test_bad_inputs(pair):
    ref, mild, _ = pair
    m = create_metric("ssim_skimage")
    with pytest.raises(ImageError):
        m.batch(None, [mild])
    with pytest.raises(ImageError):
        m(ref[:50], mild)
    with pytest.raises(ImageError):
        m(ref, mild.astype(np.float32))


def test_no_download_guard_blocks_and_restores():
    import torch.hub

    original = torch.hub.download_url_to_file
    with iqa_backends.no_downloads():
        with pytest.raises(iqa_backends.DownloadBlockedError, match="weights.pth"):
            torch.hub.download_url_to_file("https://example.invalid/x/weights.pth", "/tmp/never")
    assert torch.hub.download_url_to_file is original
