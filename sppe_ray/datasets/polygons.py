"""Region geometry as annotation tools store it: polygons and COCO run-length encodings, to boolean masks.

visual_redactions stores each instance as a list of polygons, each a flat ``[x1, y1, x2, y2, ...]`` list in
pixels of the annotated image (closed: the last point repeats the first), plus the same shape as a COCO RLE
under ``segmentation``. Both are accepted here; ``[[x, y], ...]`` point lists are accepted too because many
exporters write them. Coordinates are scaled from the annotated size to the size the mask is drawn at.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from sppe_ray.errors import ImageError


def polygon_points(polygon: Sequence) -> np.ndarray:
    """(N, 2) float array from a flat ``[x1, y1, ...]`` list or a ``[[x, y], ...]`` list; ImageError if bad."""
    try:
        arr = np.asarray(polygon, dtype=np.float64)
    except (TypeError, ValueError):
        raise ImageError("polygon holds non-numeric coordinates") from None
    if arr.ndim == 1:
        if arr.size % 2:
            raise ImageError(f"flat polygon has an odd number of coordinates ({arr.size})")
        arr = arr.reshape(-1, 2)
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise ImageError(f"polygon must be [x1, y1, ...] or [[x, y], ...], got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ImageError("polygon holds non-finite coordinates")
    return arr


def rasterize_polygons(polygons: Sequence[Sequence], shape_hw: tuple[int, int],
                       scale_xy: tuple[float, float] = (1.0, 1.0)) -> np.ndarray:
    """Fill polygons (with fewer than 3 points skipped) into a bool mask of ``shape_hw``."""
    height, width = shape_hw
    canvas = np.zeros((height, width), dtype=np.uint8)
    shapes = []
    for polygon in polygons:
        pts = polygon_points(polygon)
        if len(pts) < 3:
            continue
        pts = pts * np.asarray(scale_xy, dtype=np.float64)
        shapes.append(np.round(pts).astype(np.int32).reshape(-1, 1, 2))
    if shapes:
        cv2.fillPoly(canvas, shapes, 1)
    return canvas.astype(bool)


def _rle_counts_from_string(text: str) -> list[int]:
    """Decode COCO's compressed RLE string: 5-bit groups per char (offset 48), delta-coded after the 2nd run."""
    counts: list[int] = []
    pos = 0
    while pos < len(text):
        value, shift, more = 0, 0, True
        while more:
            if pos >= len(text):
                raise ImageError("RLE string ends inside a number")
            c = ord(text[pos]) - 48
            value |= (c & 0x1F) << shift
            more = bool(c & 0x20)
            pos += 1
            shift += 5
            if not more and c & 0x10:
                value |= -1 << shift  # sign-extend
        if len(counts) > 2:
            value += counts[-2]
        counts.append(value)
    return counts


def decode_rle(segmentation: dict) -> np.ndarray:
    """COCO RLE ``{"size": [h, w], "counts": str | list[int]}`` to a bool (h, w) mask (column-major runs)."""
    try:
        height, width = (int(v) for v in segmentation["size"])
        raw = segmentation["counts"]
    except (KeyError, TypeError, ValueError):
        raise ImageError("RLE segmentation needs 'size' [h, w] and 'counts'") from None
    counts = _rle_counts_from_string(raw) if isinstance(raw, str) else [int(c) for c in raw]
    if any(c < 0 for c in counts) or sum(counts) != height * width:
        raise ImageError(f"RLE counts sum to {sum(counts)}, expected {height * width} for {height}x{width}")
    values = np.zeros(len(counts), dtype=bool)
    values[1::2] = True  # runs alternate, starting with background
    flat = np.repeat(values, counts)
    return flat.reshape((width, height)).T.copy()
