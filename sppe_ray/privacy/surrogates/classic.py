"""Content-destroying strategies with no new content: blur, pixelate, fill, inpaint.

They hide the region rather than replace it with a plausible other one; they are the baselines the
replacing strategies are compared against.
"""

from __future__ import annotations

import cv2
import numpy as np

from sppe_ray.privacy.region import Region
from sppe_ray.privacy.surrogates.masking import bbox_of


def blur(image: np.ndarray, region: Region, rng: np.random.Generator, strength: float = 0.25) -> np.ndarray:
    """Strong Gaussian blur, sigma a quarter of the region's larger side (faces become unrecognisable)."""
    x0, y0, x1, y1 = bbox_of(region.mask)
    sigma = max(3.0, strength * max(x1 - x0, y1 - y0))
    return cv2.GaussianBlur(image, (0, 0), sigmaX=sigma, sigmaY=sigma, borderType=cv2.BORDER_REFLECT)


def pixelate(image: np.ndarray, region: Region, rng: np.random.Generator, blocks: int = 8) -> np.ndarray:
    """Block means over a grid anchored at the region, about `blocks` cells across its larger side."""
    x0, y0, x1, y1 = bbox_of(region.mask)
    cell = max(2, int(np.ceil(max(x1 - x0, y1 - y0) / blocks)))
    out = image.copy()
    for yy in range(y0, y1, cell):
        for xx in range(x0, x1, cell):
            patch = image[yy:yy + cell, xx:xx + cell]
            out[yy:yy + cell, xx:xx + cell] = patch.reshape(-1, 3).mean(axis=0).round().astype(np.uint8)
    return out


def fill(image: np.ndarray, region: Region, rng: np.random.Generator) -> np.ndarray:
    """The region's mean colour (keeps the overall tone an editor sees, drops all structure)."""
    out = image.copy()
    out[region.mask] = image[region.mask].reshape(-1, 3).mean(axis=0).round().astype(np.uint8)
    return out


def inpaint(image: np.ndarray, region: Region, rng: np.random.Generator, method: str = "telea") -> np.ndarray:
    """Fill from the surroundings with cv2.inpaint (TELEA or NS); the region is treated as missing."""
    flags = {"telea": cv2.INPAINT_TELEA, "ns": cv2.INPAINT_NS}
    if method not in flags:
        raise ValueError(f"unknown inpaint method {method!r}; choose 'telea' or 'ns'")
    x0, y0, x1, y1 = bbox_of(region.mask)
    radius = int(np.clip(max(x1 - x0, y1 - y0) // 16, 3, 15))
    bgr = np.ascontiguousarray(image[..., ::-1])
    filled = cv2.inpaint(bgr, region.mask.astype(np.uint8), radius, flags[method])
    return np.ascontiguousarray(filled[..., ::-1])


def background_fill(image: np.ndarray, mask: np.ndarray, rng: np.random.Generator, noise: float = 2.0) -> np.ndarray:
    """Inpaint `mask` and add faint sensor-like noise so the fill is not a suspiciously smooth patch."""
    region = Region("given", mask)
    out = inpaint(image, region, rng).astype(np.float32)
    out[mask] += rng.normal(0.0, noise, size=(int(mask.sum()), 3)).astype(np.float32)
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)
