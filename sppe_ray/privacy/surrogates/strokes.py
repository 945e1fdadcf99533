"""Pen-made content: handwriting_synth (a fake value in a wobbly oblique hand) and signature_synth
(random smooth looping strokes), both in the region's estimated ink over an inpainted background."""

from __future__ import annotations

import cv2
import numpy as np

from sppe_ray.privacy.region import Region
from sppe_ray.privacy.surrogates.classic import background_fill
from sppe_ray.privacy.surrogates.masking import bbox_of
from sppe_ray.privacy.surrogates.text import estimate_style, fake_value
from sppe_ray.privacy.textrender import draw_text_fit, font_path


def _smooth_field(shape: tuple[int, int], rng: np.random.Generator, cells: int = 4) -> np.ndarray:
    """Low-frequency noise in [-1, 1] (bicubic upsampling of a coarse random grid)."""
    coarse = rng.uniform(-1, 1, size=(cells, cells)).astype(np.float32)
    return cv2.resize(coarse, (shape[1], shape[0]), interpolation=cv2.INTER_CUBIC)


def _blend(out: np.ndarray, alpha: np.ndarray, ink: tuple[int, int, int]) -> np.ndarray:
    a = np.clip(alpha, 0, 1)[..., None]
    res = out.astype(np.float32) * (1 - a) + np.asarray(ink, np.float32) * a
    return np.clip(res + 0.5, 0, 255).astype(np.uint8)


def handwriting_synth(image: np.ndarray, region: Region, rng: np.random.Generator) -> np.ndarray:
    """A same-format fake written in an oblique face, warped by a smooth random displacement field."""
    style = estimate_style(image, region.mask)
    text = fake_value(image, region, rng)
    out = background_fill(image, region.mask, rng)
    x0, y0, x1, y1 = bbox_of(region.mask)
    canvas = np.zeros_like(image)
    drawn = draw_text_fit(canvas, (x0, y0, x1, y1), text, color=(255, 255, 255), angle=float(rng.uniform(-4, 4)),
                          align="left", font_file=font_path(oblique=True))
    if not drawn.any():
        return out
    alpha = canvas[..., 0].astype(np.float32) / 255.0
    h, w = alpha.shape
    amp = max(1.0, 0.06 * (y1 - y0))
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    dx = _smooth_field((h, w), rng, 12) * amp
    dy = _smooth_field((h, w), rng, 12) * amp
    alpha = cv2.remap(alpha, gx + dx, gy + dy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    return _blend(out, alpha, style.ink)


def signature_path(box: tuple[int, int, int, int], rng: np.random.Generator, n: int = 400) -> np.ndarray:
    """Points of a random signature-like curve across `box`: forward drift plus summed sinusoids, whose
    fast horizontal terms make loops where they outrun the drift."""
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    t = np.linspace(0, 1, n)
    x = x0 + w * (0.05 + 0.9 * t)
    y = np.full(n, y0 + h * rng.uniform(0.4, 0.6))
    for _ in range(int(rng.integers(2, 4))):
        f, phase = rng.uniform(3, 9), rng.uniform(0, 2 * np.pi)
        x += rng.uniform(0.02, 0.06) * w * np.sin(2 * np.pi * f * t + phase)
        y += rng.uniform(0.08, 0.22) * h * np.sin(2 * np.pi * f * t + phase + rng.uniform(0.5, 2.0))
    y += rng.uniform(-0.15, 0.15) * h * t  # a rising or falling baseline
    return np.stack([np.clip(x, x0, x1 - 1), np.clip(y, y0, y1 - 1)], axis=1)


def signature_synth(image: np.ndarray, region: Region, rng: np.random.Generator) -> np.ndarray:
    """One or two random looping strokes (and sometimes an underline) in the estimated ink."""
    style = estimate_style(image, region.mask)
    out = background_fill(image, region.mask, rng)
    x0, y0, x1, y1 = bbox_of(region.mask)
    layer = np.zeros(image.shape[:2], dtype=np.uint8)
    thickness = max(1, int(round((y1 - y0) / 30)))
    for _ in range(int(rng.integers(1, 3))):
        pts = (signature_path((x0, y0, x1, y1), rng) * 16).astype(np.int32)  # 4 fractional bits
        cv2.polylines(layer, [pts], False, 255, thickness, cv2.LINE_AA, shift=4)
    if rng.random() < 0.5:
        yy = int(y0 + (y1 - y0) * rng.uniform(0.75, 0.9))
        cv2.line(layer, (int(x0 + 0.1 * (x1 - x0)), yy), (int(x1 - 0.1 * (x1 - x0)), yy), 255, thickness, cv2.LINE_AA)
    return _blend(out, layer.astype(np.float32) / 255.0, style.ink)
