"""Quality: how much of the image survives anonymization (SSIM, GMSD, embedder and CLIP similarities)."""

from __future__ import annotations

import numpy as np

from sppe_ray.errors import ImageError


def _same_size(original: np.ndarray, anonymized: np.ndarray) -> np.ndarray:
    """The anonymized image bicubic-resized to the original's size (the published SSIM rule)."""
    if anonymized.shape == original.shape:
        return anonymized
    import cv2

    if anonymized.ndim != 3 or original.ndim != 3:
        raise ImageError(f"images must be RGB (H, W, 3): {original.shape} vs {anonymized.shape}")
    h, w = original.shape[:2]
    return cv2.resize(anonymized, (w, h), interpolation=cv2.INTER_CUBIC)


def ssim(original: np.ndarray, anonymized: np.ndarray) -> float:
    """SSIM of uint8 RGB images (skimage, channel_axis 2, data_range 255); 1 for identical images."""
    from skimage.metrics import structural_similarity

    anonymized = _same_size(original, anonymized)
    return float(structural_similarity(original, anonymized, channel_axis=2, data_range=255))


def _luma(img: np.ndarray) -> np.ndarray:
    return img.astype(np.float64) @ np.array([0.299, 0.587, 0.114])


def gmsd(original: np.ndarray, anonymized: np.ndarray, c: float = 170.0) -> float:
    """Gradient magnitude similarity deviation (Xue et al. 2014): 0 for identical images, larger is worse.

    Luma, 2x2 average downsampling, Prewitt gradients, GMS = (2 m1 m2 + c) / (m1^2 + m2^2 + c) per pixel,
    GMSD = the standard deviation of GMS (c = 170 for 0-255 data, the paper's value)."""
    from scipy.ndimage import convolve

    anonymized = _same_size(original, anonymized)
    maps = []
    for img in (original, anonymized):
        y = _luma(img)
        y = convolve(y, np.full((2, 2), 0.25), mode="nearest")[::2, ::2]
        px = np.array([[1, 0, -1], [1, 0, -1], [1, 0, -1]]) / 3.0
        maps.append(np.hypot(convolve(y, px, mode="nearest"), convolve(y, px.T, mode="nearest")))
    m1, m2 = maps
    gms = (2 * m1 * m2 + c) / (m1 ** 2 + m2 ** 2 + c)
    return float(gms.std())


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine of two vectors (0 when either is all zeros)."""
    na, nb = float(np.linalg.norm(a)), float(np.linalg.norm(b))
    return float(np.dot(a, b) / (na * nb)) if na and nb else 0.0


def directional_similarity(img_orig: np.ndarray, img_anon: np.ndarray, txt_private: np.ndarray,
                           txt_public: np.ndarray) -> float:
    """cos(E(anonymized) - E(original), T(public caption) - T(private caption)) in one image-text space:
    did the image move the way the caption did? NaN when either difference is zero (nothing changed)."""
    di, dt = img_anon - img_orig, txt_public - txt_private
    if not np.linalg.norm(di) or not np.linalg.norm(dt):
        return float("nan")
    return cosine(di, dt)
