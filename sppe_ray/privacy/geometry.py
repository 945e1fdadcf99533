"""Where a region's coordinates go when its image is resized, cropped, padded or framed.

A Region carries its mask and, in ``meta``, coordinates its detector found: a face or person ``box``, a text
``quad``, facial ``landmarks``, document ``fields`` with their own boxes or quads. Every geometric step that
moves the mask must move these too, or a later step reads a face at a place where there is none (on real
photos the detector works on a shrunken copy, and the identity check then compared the wrong pixels).
``AxisMap`` is the one transform the project applies (scale each axis, then shift), ``map_region`` moves a
region's mask and every coordinate in its meta with it, and ``check_box`` refuses a box that no longer lies
on its mask.

Coordinates are continuous pixel-edge coordinates: a box ``(x0, y0, x1, y1)`` has an exclusive end, and
the point ``(x, y)`` lies at the top-left corner of pixel ``(x, y)``. Scaling by ``s`` maps edges exactly;
a point at a pixel centre moves by at most half a pixel of the output, far below any tolerance used here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from sppe_ray.errors import ImageError

#: meta keys that hold one box (x0, y0, x1, y1).
BOX_KEYS = ("box", "bbox", "face_box")
#: meta keys that hold a list of (x, y) points (text quads, landmarks).
POINT_KEYS = ("quad", "landmarks", "points")
#: meta keys that hold a list (or name -> dict) of sub-records with their own boxes/points (document fields).
NESTED_KEYS = ("fields",)
#: a box agrees with its mask when at least this fraction of the box's pixels are mask pixels.
MIN_BOX_IN_MASK = 0.1


@dataclass(frozen=True)
class AxisMap:
    """``x' = x * sx + dx``, ``y' = y * sy + dy``: every resize, crop, pad and square framing is one of these."""

    sx: float = 1.0
    sy: float = 1.0
    dx: float = 0.0
    dy: float = 0.0

    @classmethod
    def resize(cls, from_hw: tuple[int, int], to_hw: tuple[int, int]) -> AxisMap:
        """The map of resizing a whole ``from_hw`` image to ``to_hw``."""
        return cls(to_hw[1] / from_hw[1], to_hw[0] / from_hw[0])

    @classmethod
    def crop_resize_pad(cls, box: tuple[int, int, int, int], content_hw: tuple[int, int],
                        offset: tuple[int, int] = (0, 0)) -> AxisMap:
        """Crop ``box`` (x0, y0, x1, y1), resize it to ``content_hw``, put it at ``offset`` (top, left)."""
        x0, y0, x1, y1 = box
        sx, sy = content_hw[1] / (x1 - x0), content_hw[0] / (y1 - y0)
        return cls(sx, sy, offset[1] - x0 * sx, offset[0] - y0 * sy)

    def then(self, other: AxisMap) -> AxisMap:
        """This map followed by ``other``."""
        return AxisMap(self.sx * other.sx, self.sy * other.sy, self.dx * other.sx + other.dx,
                       self.dy * other.sy + other.dy)

    def inverse(self) -> AxisMap:
        return AxisMap(1 / self.sx, 1 / self.sy, -self.dx / self.sx, -self.dy / self.sy)

    def points(self, pts: Any) -> np.ndarray:
        """(N, 2) x, y points mapped."""
        arr = np.asarray(pts, dtype=np.float64).reshape(-1, 2)
        return arr * (self.sx, self.sy) + (self.dx, self.dy)

    def box(self, box: Any) -> tuple[int, int, int, int]:
        """A box mapped and rounded outward to whole pixels (it still covers what it covered)."""
        x0, y0, x1, y1 = (float(v) for v in box)
        (ax, ay), (bx, by) = self.points([(x0, y0), (x1, y1)])
        return (int(np.floor(min(ax, bx))), int(np.floor(min(ay, by))), int(np.ceil(max(ax, bx))),
                int(np.ceil(max(ay, by))))


def _map_value(key: str, value: Any, amap: AxisMap) -> Any:
    if value is None:
        return None
    if key in BOX_KEYS and len(value) == 4:
        return amap.box(value)
    if key in POINT_KEYS:
        return amap.points(value).tolist()
    if key in NESTED_KEYS:
        if isinstance(value, dict):
            return {k: map_meta(v, amap) if isinstance(v, dict) else v for k, v in value.items()}
        return [map_meta(v, amap) if isinstance(v, dict) else v for v in value]
    return value


def map_meta(meta: dict, amap: AxisMap) -> dict:
    """A copy of ``meta`` with every coordinate it holds (see the *_KEYS above) mapped by ``amap``."""
    return {k: _map_value(k, v, amap) for k, v in meta.items()}


def clip_box(box: Any, shape_hw: tuple[int, int]) -> tuple[int, int, int, int]:
    h, w = shape_hw
    x0, y0, x1, y1 = (int(v) for v in box)
    return (max(0, x0), max(0, y0), min(w, x1), min(h, y1))


def box_in_mask(box: Any, mask: np.ndarray) -> float:
    """Fraction of the box's pixels (clipped to the image) that are mask pixels; 0.0 for an empty box."""
    x0, y0, x1, y1 = clip_box(box, mask.shape)
    if x1 <= x0 or y1 <= y0:
        return 0.0
    return float(mask[y0:y1, x0:x1].mean())


def check_box(box: Any, mask: np.ndarray, what: str = "region") -> tuple[int, int, int, int]:
    """The box as ints, or ImageError when it does not lie on the mask: a box from another frame of reference
    (the classic bug: detected on a resized copy, never mapped) must stop the pipeline, not steer a check."""
    if box is None or len(box) != 4:
        raise ImageError(f"{what}: box {box!r} is not (x0, y0, x1, y1)")
    ibox = tuple(int(round(float(v))) for v in box)
    share = box_in_mask(ibox, mask)
    if share < MIN_BOX_IN_MASK:
        raise ImageError(f"{what}: its box {ibox} lies off its mask (only {share:.0%} of the box is masked, "
                         f"mask box {mask_box(mask)}): the box and mask come from different image geometries")
    return ibox


def mask_box(mask: np.ndarray, pad: int = 0) -> tuple[int, int, int, int] | None:
    """(x0, y0, x1, y1) of a mask's pixels, exclusive end, grown by `pad` and clipped to the image; None for an
    empty mask (each caller decides what that means: no region, the whole image, an error)."""
    ys, xs = np.nonzero(mask)
    if len(xs) == 0:
        return None
    h, w = mask.shape[:2]
    return (max(0, int(xs.min()) - pad), max(0, int(ys.min()) - pad),
            min(w, int(xs.max()) + 1 + pad), min(h, int(ys.max()) + 1 + pad))


def map_region(region: Any, amap: AxisMap, mask_fn: Callable[[np.ndarray], np.ndarray]) -> Any:
    """The region moved into another frame: ``mask_fn`` moves the mask (resize, crop, pad), ``amap`` the
    coordinates in meta; the meta box is clipped to the new image and must still lie on the new mask."""
    mask = mask_fn(region.mask)
    meta = map_meta(region.meta, amap)
    for key in BOX_KEYS:
        if meta.get(key) is not None and len(meta[key]) == 4:
            meta[key] = clip_box(meta[key], mask.shape)
    return replace(region, mask=mask, meta=meta)  # Region checks its box against the new mask
