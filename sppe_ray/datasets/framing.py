"""Bring a photo of any shape to the benchmark's square size without losing or leaking private pixels.

Policy (one place, applied identically to the image and to every region mask):

* **crop** when the union of the private regions fits inside the largest centred square: the square slides
  along the long axis to contain the regions (centred on them as far as the frame allows), then is resized to
  ``size x size``. No padding, so editors see a natural photo, and no private pixel is cut away.
* **pad** otherwise (regions spread wider than the short side): the whole photo is scaled so its long side is
  ``size`` and centred on a flat grey canvas; masks are padded with False. Grey, not mirrored, padding:
  a reflection would copy private pixels outside their mask.

Without regions (not yet detected) the crop is centred.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sppe_ray.imageio import resize_image, resize_mask
from sppe_ray.privacy.geometry import AxisMap, map_region
from sppe_ray.privacy.region import Region

PAD_VALUE = 127  # mid grey: neutral for style/colour statistics an editor may compute


@dataclass(frozen=True)
class Framing:
    """How one image is mapped to the output square; ``box`` is (x0, y0, x1, y1) of the input kept."""

    mode: str  # "crop" | "pad"
    box: tuple[int, int, int, int]
    content_hw: tuple[int, int]
    offset: tuple[int, int]  # (top, left) of the resized content in the output
    size: int

    def axis_map(self) -> AxisMap:
        """Where a point of the input lands in the output square."""
        return AxisMap.crop_resize_pad(self.box, self.content_hw, self.offset)

    def to_dict(self) -> dict:
        return {"mode": self.mode, "box": list(self.box), "content_hw": list(self.content_hw),
                "offset": list(self.offset), "size": self.size}


def _slide(length: int, side: int, lo: int | None, hi: int | None) -> int:
    """Start of a window of ``side`` in [0, length) that contains [lo, hi) and is centred on it if possible."""
    if lo is None or hi is None:
        return (length - side) // 2
    start = int(round((lo + hi) / 2 - side / 2))
    return int(np.clip(start, max(0, hi - side), min(length - side, lo)))


def plan_framing(shape_hw: tuple[int, int], bbox: tuple[int, int, int, int] | None, size: int) -> Framing:
    """Choose crop or pad for an image of ``shape_hw`` whose private regions span ``bbox`` (x0, y0, x1, y1)."""
    height, width = int(shape_hw[0]), int(shape_hw[1])
    side = min(height, width)
    if bbox is not None and bbox[2] <= bbox[0]:
        bbox = None  # an empty region has no extent to protect
    fits = bbox is None or (bbox[2] - bbox[0] <= side and bbox[3] - bbox[1] <= side)
    if fits:
        x0 = _slide(width, side, *(None, None) if bbox is None else (bbox[0], bbox[2]))
        y0 = _slide(height, side, *(None, None) if bbox is None else (bbox[1], bbox[3]))
        return Framing("crop", (x0, y0, x0 + side, y0 + side), (size, size), (0, 0), size)
    scale = size / max(height, width)
    ch, cw = max(1, round(height * scale)), max(1, round(width * scale))
    return Framing("pad", (0, 0, width, height), (ch, cw), ((size - ch) // 2, (size - cw) // 2), size)


def frame_image(img: np.ndarray, framing: Framing) -> np.ndarray:
    x0, y0, x1, y1 = framing.box
    content = resize_image(np.ascontiguousarray(img[y0:y1, x0:x1]), framing.content_hw)
    if framing.mode == "crop":
        return content
    out = np.full((framing.size, framing.size, 3), PAD_VALUE, dtype=np.uint8)
    top, left = framing.offset
    out[top:top + content.shape[0], left:left + content.shape[1]] = content
    return out


def frame_mask(mask: np.ndarray, framing: Framing) -> np.ndarray:
    x0, y0, x1, y1 = framing.box
    content = resize_mask(np.ascontiguousarray(mask[y0:y1, x0:x1]), framing.content_hw)
    if framing.mode == "crop":
        return content
    out = np.zeros((framing.size, framing.size), dtype=bool)
    top, left = framing.offset
    out[top:top + content.shape[0], left:left + content.shape[1]] = content
    return out


def frame_region(region: Region, framing: Framing) -> Region:
    """The region in the output square: mask framed like the image, every coordinate in meta with it."""
    out = map_region(region, framing.axis_map(), lambda m: frame_mask(m, framing))
    out.meta["framing"] = framing.mode
    return out
