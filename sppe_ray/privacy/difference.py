"""The private region of a published SPPE pair, recovered as where the surrogate differs from the source.

SPPE ships source and surrogate images but no masks. A surrogate changes only the private region, so the
region is where the two differ; JPEG re-encoding also changes every pixel a little, which is why the raw
difference is not used directly:

1. both images are blurred with a 5x5 Gaussian (removes 8x8 block artefacts and ringing);
2. a pixel is different when its largest per-channel absolute difference exceeds ``threshold`` (default
   24/255: above JPEG q>=75 noise after the blur, below any visible substitution);
3. a morphological opening (removes isolated specks) then closing (fills holes inside a replaced region),
   both with an elliptical kernel of ``kernel`` pixels.
"""

from __future__ import annotations

import cv2
import numpy as np

DEFAULT_THRESHOLD = 24
DEFAULT_KERNEL = 5


def difference_mask(source: np.ndarray, surrogate: np.ndarray, *, threshold: int = DEFAULT_THRESHOLD,
                    kernel: int = DEFAULT_KERNEL) -> np.ndarray:
    """Bool (H, W) mask of the pixels the surrogate replaced; inputs are RGB uint8 of one shape."""
    if source.shape != surrogate.shape:
        raise ValueError(f"source {source.shape} and surrogate {surrogate.shape} must share one shape")
    a = cv2.GaussianBlur(source, (5, 5), 0).astype(np.int16)
    b = cv2.GaussianBlur(surrogate, (5, 5), 0).astype(np.int16)
    diff = (np.abs(a - b).max(axis=2) > threshold).astype(np.uint8)
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (kernel, kernel))
    diff = cv2.morphologyEx(diff, cv2.MORPH_OPEN, k)
    diff = cv2.morphologyEx(diff, cv2.MORPH_CLOSE, k)
    return diff.astype(bool)
