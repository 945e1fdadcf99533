"""Input validation and the two guarantees every surrogate gives: pixels outside the mask are the source's
exactly, and no pixel inside the mask is the source's exactly (so nothing private leaves verbatim)."""

from __future__ import annotations

import numpy as np

from sppe_ray.errors import ImageError
from sppe_ray.privacy.geometry import mask_box
from sppe_ray.privacy.region import Region


def validate(image: np.ndarray, region: Region) -> None:
    """ImageError (a ValueError) for a non-RGB-uint8 image, a mask of another shape, or an empty mask."""
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ImageError(
            f"surrogate source must be an RGB uint8 image of shape (H, W, 3), got "
            f"{getattr(image, 'dtype', type(image))} {getattr(image, 'shape', None)}"
        )
    if not isinstance(region, Region):
        raise ImageError(f"expected a Region, got {type(region).__name__}")
    if region.mask.shape != image.shape[:2]:
        raise ImageError(f"region mask shape {region.mask.shape} does not match image shape {image.shape[:2]}")
    if not region.mask.any():
        raise ImageError(f"region mask of category {region.category!r} is empty: nothing to replace")


def composite(source: np.ndarray, generated: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """`generated` inside the mask, `source` everywhere else (bit-exact)."""
    if generated.shape != source.shape:
        raise ImageError(f"strategy returned shape {generated.shape}, expected {source.shape}")
    out = source.copy()
    out[mask] = np.clip(generated, 0, 255).astype(np.uint8)[mask]
    return out


def break_ties(source: np.ndarray, out: np.ndarray, mask: np.ndarray, step: int = 3) -> np.ndarray:
    """Move every masked pixel still identical to the source by `step` levels per channel, toward mid-grey.

    A strategy may reproduce a source pixel by chance (a flat fill hitting the exact colour, a blur of a
    flat patch); those pixels would pass the source through verbatim, so they are nudged, invisibly.
    """
    same = mask & np.all(out == source, axis=-1)
    if same.any():
        px = source[same].astype(np.int16)
        px = np.where(px < 128, px + step, px - step)
        out = out.copy()
        out[same] = px.astype(np.uint8)
    return out


def bbox_of(mask: np.ndarray, pad: int = 0) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) of a non-empty mask, padded and clipped to the image (ImageError when empty)."""
    box = mask_box(mask, pad)
    if box is None:
        raise ImageError("the region's mask is empty: there is nothing to replace")
    return box
