"""fingerprint_synth: a new ridge pattern (different core, pattern type, ridge period and distortion) in
the source's ink and paper colours, so the print keeps its look but matches nobody."""

from __future__ import annotations

import cv2
import numpy as np

from sppe_ray.privacy.region import Region
from sppe_ray.privacy.surrogates.masking import bbox_of
from sppe_ray.privacy.surrogates.strokes import _smooth_field
from sppe_ray.privacy.surrogates.text import estimate_style


def ridge_pattern(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """Ridges in [0, 1] (1 = ridge): cosine of a phase made of a distance-to-core term (loops), an
    angular term (whorls) and smooth distortion, the way a ridge phase field is commonly modelled."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    cx, cy = w * rng.uniform(0.35, 0.65), h * rng.uniform(0.3, 0.6)
    sx, sy = rng.uniform(0.7, 1.3), rng.uniform(0.7, 1.3)
    r = np.sqrt(((xx - cx) * sx) ** 2 + ((yy - cy) * sy) ** 2)
    period = max(3.0, min(h, w) / rng.uniform(14, 22))
    whorl = int(rng.integers(0, 3))
    phase = 2 * np.pi * r / period + whorl * np.arctan2(yy - cy, xx - cx)
    phase += _smooth_field((h, w), rng, 5) * rng.uniform(2, 6)
    ridges = 0.5 + 0.5 * np.cos(phase)
    return cv2.GaussianBlur(ridges, (0, 0), 0.6)


def fingerprint_synth(image: np.ndarray, region: Region, rng: np.random.Generator) -> np.ndarray:
    """Paper-coloured region with the new ridges inked in, fading toward an oval edge like a real print."""
    style = estimate_style(image, region.mask)
    x0, y0, x1, y1 = bbox_of(region.mask)
    h, w = y1 - y0, x1 - x0
    ridges = ridge_pattern(h, w, rng)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    oval = 1 - np.clip(((xx - w / 2) / (w / 2)) ** 2 + ((yy - h / 2) / (h / 2)) ** 2, 0, 1) ** 3
    a = (ridges * oval)[..., None]
    paper = np.asarray(style.paper, np.float32)
    ink = np.asarray(style.ink, np.float32)
    patch = paper * (1 - a) + ink * a + rng.normal(0, 2.0, size=(h, w, 3)).astype(np.float32)
    out = image.copy()
    out[y0:y1, x0:x1] = np.clip(patch + 0.5, 0, 255).astype(np.uint8)
    return out
