"""The visual_redactions (VISPR redactions, Orekondy et al., CVPR 2018) annotation format.

Verified against tribhuvanesh/visual_redactions (tools/dataset_creation/collate.py docstring and
tools/common/anno_utils.py): one JSON per split (``train2017.json``, ``val2017.json``, ``test2017.json``)::

    {"created_at": ..., "stats": {...},
     "annotations": {"2017_18072751": {"image_id": "2017_18072751",
                                      "image_path": "images/val2017/2017_18072751.jpg",
                                      "image_height": 1024, "image_width": 2048,
                                      "attributes": [{"instance_id": 4, "attr_id": "a105_face_all",
                                                      "polygons": [[x1, y1, x2, y2, ..., x1, y1], ...],
                                                      "area": [...], "bbox": [[x, y, w, h], ...],
                                                      "segmentation": {COCO RLE}}]}}}

``image_path`` is relative to the dataset root (``images_root`` here). Also accepted: a list of such image
records, or a single record (one JSON per image), ``file_id``/``id`` for ``image_id`` and ``file`` for
``image_path``. Attributes whose ``attr_id`` is not one of our 36 categories (after the SPPE aliases below)
are skipped and counted; images left with no known attribute, or whose file is missing, too.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

from sppe_ray.datasets.images import ImageEntry, scene_from_entry
from sppe_ray.errors import BenchmarkError
from sppe_ray.taxonomy import CATEGORIES

# Ids seen in SPPE labels that name one of our categories under another id.
ATTR_ALIASES: dict[str, str] = {
    "a203_Person": "a109_person_body",
    "a207_Vehicle_registration_plate": "a108_license_plate_all",
    "a209_license_plate": "a108_license_plate_all",
}

__all__ = ["ATTR_ALIASES", "EntryList", "canonical_category", "load_visual_redactions", "scene_from_entry"]


class EntryList(list):
    """A list of ImageEntry that also says what was left out and why (``skipped``: reason -> count)."""

    def __init__(self, entries: list[ImageEntry] | None = None, skipped: Counter | None = None) -> None:
        super().__init__(entries or [])
        self.skipped: Counter = skipped if skipped is not None else Counter()


def canonical_category(attr_id: str) -> str | None:
    """Our category id for a VISPR/SPPE attribute id, or None when it is not one of the 36."""
    attr_id = ATTR_ALIASES.get(attr_id, attr_id)
    return attr_id if attr_id in CATEGORIES else None


def _image_records(doc: Any) -> list[dict]:
    if isinstance(doc, dict) and isinstance(doc.get("annotations"), dict):
        return [dict(v, image_id=v.get("image_id", k)) for k, v in sorted(doc["annotations"].items())]
    if isinstance(doc, dict) and isinstance(doc.get("annotations"), list):
        return list(doc["annotations"])
    if isinstance(doc, list):
        return list(doc)
    if isinstance(doc, dict) and "attributes" in doc:
        return [doc]
    raise BenchmarkError("not a visual_redactions annotation file: expected {'annotations': {...}}, a list "
                         "of image records or one image record with 'attributes'")


def load_visual_redactions(json_path: str | os.PathLike[str],
                           images_root: str | os.PathLike[str]) -> EntryList:
    """Image entries with polygon regions; ``.skipped`` counts unknown attributes, missing images, etc."""
    path = Path(json_path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BenchmarkError(f"cannot read annotation file {path}: {exc}") from None
    root = Path(images_root)
    out = EntryList()
    for rec in _image_records(doc):
        if not isinstance(rec, dict):
            out.skipped["bad_record"] += 1
            continue
        rel = rec.get("image_path") or rec.get("file")
        image_id = str(rec.get("image_id") or rec.get("file_id") or rec.get("id") or Path(str(rel)).stem)
        if not rel:
            out.skipped["no_image_path"] += 1
            continue
        regions = []
        for attr in rec.get("attributes") or []:
            category = canonical_category(str(attr.get("attr_id", "")))
            if category is None:
                out.skipped[f"unknown_attribute:{attr.get('attr_id')}"] += 1
                continue
            if not attr.get("polygons") and not isinstance(attr.get("segmentation"), dict):
                out.skipped["attribute_without_shape"] += 1
                continue
            regions.append({"category": category, "attr_id": attr.get("attr_id"),
                            "instance_id": attr.get("instance_id", attr.get("id")),
                            "polygons": attr.get("polygons") or [], "segmentation": attr.get("segmentation")})
        if not regions:
            out.skipped["no_known_attribute"] += 1
            continue
        image_path = root / str(rel)
        if not image_path.is_file():
            out.skipped["missing_image"] += 1
            continue
        meta: dict[str, Any] = {"origin": "visual_redactions", "image_id": image_id}
        if rec.get("image_height") and rec.get("image_width"):
            meta["annotated_hw"] = [int(rec["image_height"]), int(rec["image_width"])]
        out.append(ImageEntry(path=image_path, group=f"visual_redactions/{image_id}", regions=regions, meta=meta))
    return out
