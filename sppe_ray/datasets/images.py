"""A user's own photos as benchmark sources (``sppe build --images DIR``).

Layout accepted under DIR, searched recursively and listed in sorted order:

* images: ``*.png *.jpg *.jpeg *.webp *.bmp *.tif *.tiff`` (any case); hidden files/folders are ignored;
* masks beside an image (same folder, same stem), never listed as images themselves:
  ``<stem>.mask.png`` is a private region of the *default* category (``build.default_category``, default
  ``a109_person_body``: a generic "this is private" mask most often marks a person), and
  ``<stem>.<category_id>.mask.png`` (e.g. ``photo.a30_credit_card.mask.png``) one of that category.
  Masks are white (>127) = private, drawn on the upright (EXIF-rotated) photo at its size or any size of the
  same aspect ratio.

Regions come from the masks when there are any, else from the detector when one is given, else the image is
rejected with an ImageError (the pipeline skips and counts it). The image and all masks are then framed to
``size x size`` by ``framing`` (region-aware square crop, grey padding when the regions do not fit).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sppe_ray.datasets.framing import frame_image, frame_region, plan_framing
from sppe_ray.datasets.polygons import decode_rle, rasterize_polygons
from sppe_ray.errors import ImageError, UnknownCategoryError
from sppe_ray.imageio import decode_mask, fit_within, load_image, resize_mask
from sppe_ray.privacy.region import Region, Scene
from sppe_ray.taxonomy import CATEGORIES

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff"})
MASK_SUFFIX = ".mask.png"
DEFAULT_CATEGORY = "a109_person_body"
_CATEGORY_LIKE = re.compile(r"^a\d+_\w+$")
_ASPECT_TOLERANCE = 0.02  # a mask of another size is accepted if its aspect ratio is this close


@dataclass
class ImageEntry:
    """One source photo and whatever private-region annotation came with it (paths only; nothing decoded).

    ``regions`` holds annotated shapes as dicts ``{"category", "polygons" | "segmentation", ...}`` in pixels of
    the annotated size ``meta["annotated_hw"]`` (default: the decoded image's size).
    """

    path: Path
    group: str
    mask_paths: dict[str, Path] = field(default_factory=dict)
    regions: list[dict] = field(default_factory=list)
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.path = Path(self.path)
        self.mask_paths = {str(k): Path(v) for k, v in self.mask_paths.items()}

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form, so a plan can carry entries to Ray workers."""
        return {"path": str(self.path), "group": self.group,
                "mask_paths": {k: str(v) for k, v in self.mask_paths.items()},
                "regions": self.regions, "meta": self.meta}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ImageEntry:
        return cls(path=Path(data["path"]), group=str(data["group"]), mask_paths=dict(data.get("mask_paths", {})),
                   regions=list(data.get("regions", [])), meta=dict(data.get("meta", {})))


def _is_hidden(rel: Path) -> bool:
    return any(part.startswith(".") for part in rel.parts)


def _mask_key(name: str) -> tuple[str, str] | None:
    """(stem, category or "") for a mask file name, else None. Category "" means the default category."""
    if not name.lower().endswith(MASK_SUFFIX):
        return None
    base = name[: -len(MASK_SUFFIX)]
    stem, dot, category = base.rpartition(".")
    if dot and (category in CATEGORIES or _CATEGORY_LIKE.match(category)):
        return stem, category  # an unknown id is kept, so the scene fails loudly instead of losing the mask
    return base, ""


def list_user_images(folder: str | os.PathLike[str]) -> list[ImageEntry]:
    """Every image under ``folder`` (recursive, sorted) with the masks found beside it."""
    root = Path(folder)
    if not root.is_dir():
        raise ImageError(f"image folder {root} does not exist or is not a folder")
    files = sorted(p for p in root.rglob("*") if p.is_file() and not _is_hidden(p.relative_to(root)))
    masks: dict[tuple[Path, str], dict[str, Path]] = {}
    images: list[Path] = []
    for path in files:
        key = _mask_key(path.name)
        if key is not None:
            masks.setdefault((path.parent, key[0]), {})[key[1]] = path
        elif path.suffix.lower() in IMAGE_SUFFIXES:
            images.append(path)
    entries = []
    for path in images:
        rel = path.relative_to(root).with_suffix("").as_posix()
        found = masks.get((path.parent, path.stem), {})
        entries.append(ImageEntry(path=path, group=f"images/{rel}", mask_paths=found,
                                  meta={"origin": "images"}))
    return entries


def _fit_mask(mask: np.ndarray, target_hw: tuple[int, int], what: str) -> np.ndarray:
    """Bring an annotation drawn at another size onto ``target_hw``; refuse a different shape of picture."""
    if mask.shape == tuple(target_hw):
        return mask
    mh, mw = mask.shape
    th, tw = target_hw
    if abs(mw / mh - tw / th) > _ASPECT_TOLERANCE * (tw / th):
        hint = " (looks rotated: draw it on the upright photo)" if abs(mh / mw - tw / th) < 0.02 * (tw / th) else ""
        raise ImageError(f"{what} is {mw}x{mh} but the image is {tw}x{th}{hint}")
    return resize_mask(mask, target_hw)


def _mask_regions(entry: ImageEntry, work_hw: tuple[int, int], default_category: str) -> list[Region]:
    out = []
    for key, path in sorted(entry.mask_paths.items()):
        category = key or default_category
        if category not in CATEGORIES:
            raise UnknownCategoryError(f"mask {path.name} names unknown category {category!r}")
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ImageError(f"cannot read mask {path}: {exc.strerror or exc}") from None
        mask = _fit_mask(decode_mask(data), work_hw, f"mask {path.name}")
        if mask.any():
            out.append(Region(category, mask, 1.0, "given", meta={"mask": path.name}))
    return out


def _shape_regions(entry: ImageEntry, image_hw: tuple[int, int], work_hw: tuple[int, int]) -> list[Region]:
    """One Region per category: polygons (or RLE) of all its instances, scaled to the working size."""
    ann_hw = tuple(entry.meta.get("annotated_hw") or image_hw)
    _fit_mask(np.zeros((int(ann_hw[0]), int(ann_hw[1])), dtype=bool), image_hw, f"annotation of {entry.path.name}")
    scale = (work_hw[1] / ann_hw[1], work_hw[0] / ann_hw[0])
    merged: dict[str, np.ndarray] = {}
    instances: dict[str, int] = {}
    for shape in entry.regions:
        category = str(shape.get("category", ""))
        if shape.get("polygons"):
            mask = rasterize_polygons(shape["polygons"], work_hw, scale)
        elif isinstance(shape.get("segmentation"), dict):
            mask = _fit_mask(decode_rle(shape["segmentation"]), work_hw, "RLE segmentation")
        else:
            continue
        merged[category] = merged.get(category, np.zeros(work_hw, dtype=bool)) | mask
        instances[category] = instances.get(category, 0) + 1
    return [Region(c, m, 1.0, "given", meta={"instances": instances[c]}) for c, m in merged.items() if m.any()]


def _union_bbox(regions: list[Region]) -> tuple[int, int, int, int] | None:
    boxes = [r.bbox for r in regions if r.area]
    if not boxes:
        return None
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


def scene_from_entry(entry: ImageEntry, size: int, detector: Any = None, *,
                     default_category: str = DEFAULT_CATEGORY, work_side: int | None = None) -> Scene:
    """Load, find regions, frame to ``size x size``. ImageError for corrupt images or no private region.

    Regions are found on a working copy whose long side is at most ``work_side`` (default ``max(4*size,
    1024)``) so a 12-megapixel phone photo costs the detector no more than needed.
    """
    if not isinstance(entry, ImageEntry):
        entry = ImageEntry.from_dict(entry)
    image = load_image(entry.path)
    image_hw = image.shape[:2]
    work = fit_within(image, work_side or max(4 * size, 1024))
    work_hw = work.shape[:2]
    regions = _mask_regions(entry, work_hw, default_category) + _shape_regions(entry, image_hw, work_hw)
    if not regions and not entry.mask_paths and not entry.regions and detector is not None:
        regions = list(detector.detect(work))
    if not regions:
        how = "its annotation marks no pixel" if entry.mask_paths or entry.regions else \
            "add <stem>.mask.png beside it" + ("" if detector is None else " (the detector found nothing)")
        raise ImageError(f"no private region found in {entry.path.name}: {how}")
    framing = plan_framing(work_hw, _union_bbox(regions), size)
    framed = []
    for r in regions:
        moved = frame_region(r, framing)
        if moved.mask.any():
            framed.append(moved)
    if not framed:
        raise ImageError(f"private regions of {entry.path.name} vanish at {size}x{size} px")
    origin = f"{entry.meta.get('origin', 'images')}:{entry.path.name}"
    return Scene(frame_image(work, framing), framed, entry.group, origin)
