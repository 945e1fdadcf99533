"""Cheating: an "anonymized" image that is still a near copy of the original in its private regions, or an
edit that rewrites far more than the flagged regions.

- Region copy: 64-bit perceptual hashes (imagehash.phash, DCT) of the private regions' bounding crop in both
  images; a Hamming distance of at most ``copy_bits`` (default 6) is a near copy. A 512 -> 256 -> 512
  resample flips about 2 bits; a blur or a new face flips far more.
- Overreach: the share of pixels *outside* the dilated private regions whose largest channel change exceeds
  ``tolerance`` levels; above ``overreach_share`` (default 5%) the method rewrote the image, not the regions.
Images with no flagged region have no region to copy (NaN) and are judged on overreach over the whole image.
"""

from __future__ import annotations

import numpy as np

from sppe_ray.privacy.geometry import mask_box

MIN_CROP = 8  # pHash of a crop smaller than this is noise


def phash_bits(img: np.ndarray) -> np.ndarray:
    """The 64 pHash bits of an RGB uint8 image (imagehash.phash on a PIL copy)."""
    import imagehash
    from PIL import Image

    return np.asarray(imagehash.phash(Image.fromarray(img)).hash, dtype=bool).ravel()


def hamming(a: np.ndarray, b: np.ndarray) -> int:
    return int(np.count_nonzero(a != b))


def region_phash_distance(original: np.ndarray, anonymized: np.ndarray, mask: np.ndarray, pad: int = 2) -> float:
    """Hamming distance of the pHashes of the private regions' padded bounding crop; NaN for an empty or
    tiny region."""
    box = mask_box(mask, pad) if mask is not None and mask.any() else None
    if box is None or min(box[2] - box[0], box[3] - box[1]) < MIN_CROP:
        return float("nan")
    x0, y0, x1, y1 = box
    return float(hamming(phash_bits(original[y0:y1, x0:x1]), phash_bits(anonymized[y0:y1, x0:x1])))


def outside_change(original: np.ndarray, anonymized: np.ndarray, mask: np.ndarray | None, tolerance: int = 8,
                   dilate_frac: float = 0.02) -> float:
    """Share of pixels outside the dilated mask (the whole image when there is none) changed by more than
    ``tolerance`` in some channel; NaN when the mask covers everything."""
    import cv2

    keep = np.ones(original.shape[:2], bool)
    if mask is not None and mask.any():
        r = max(3, int(round(dilate_frac * max(original.shape[:2]))))
        grown = cv2.dilate(mask.astype(np.uint8), np.ones((2 * r + 1, 2 * r + 1), np.uint8)) > 0
        keep = ~grown
    if not keep.any():
        return float("nan")
    diff = np.abs(original.astype(np.int16) - anonymized.astype(np.int16)).max(axis=2)
    return float((diff[keep] > tolerance).mean())


def is_near_copy(distance: float, copy_bits: int = 6) -> bool | None:
    """True when the region's hash is within ``copy_bits`` of the original's; None with no region."""
    return None if not np.isfinite(distance) else bool(distance <= copy_bits)
