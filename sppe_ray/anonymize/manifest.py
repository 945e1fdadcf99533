"""The output folder of a dataset anonymization: images, per-image records, and the published manifest.

Layout of OUT (inputs keep their relative folders; every output is PNG, lossless, so pixels outside the
rewritten regions stay the original's exactly):

    OUT/<rel>.png                 anonymized image (unflagged images are copied unchanged)
    OUT/captions/<rel>_caption.json   {"caption": <stage 1 answer in the published section format>}
    OUT/.records/<rel>.json       our per-image record (status, regions, categories, strategy, checks, columns)
    OUT/.records/<rel>.regions.npz    the flagged regions' masks (packed), read by the evaluation
    OUT/manifest.csv              the published columns, one row per readable image
    OUT/records.jsonl, OUT/summary.json   every record (skipped ones with their reason) and the counts

A record is written last and atomically, so it marks an image as done: a re-run after a kill skips it.
"""

from __future__ import annotations

import csv
import json
import os
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from sppe_ray.errors import ImageError
from sppe_ray.privacy.region import Region

#: Published manifest columns, in order (Unsafe2Safe's generate_edit_instructions / combine_caption_and_edit).
COLUMNS = ("file", "PRIVACY_FLAG", "PRIVATE_CAPTION", "PUBLIC_CAPTION", "EDIT_INSTRUCTION", "COMBINED_CAPTION")
RECORDS = ".records"
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff", ".gif", ".ppm", ".pgm",
                            ".pnm"})


def list_inputs(root: Path) -> list[str]:
    """Relative paths (POSIX) of the image files under ``root``, sorted; hidden files and masks left out.
    Two files that would write one output (``a.jpg`` and ``a.png`` in one folder) are a ConfigError."""
    from sppe_ray.errors import ConfigError

    out, stems = [], {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if (path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES and not path.name.lower().endswith(".mask.png")
                and not any(p.startswith(".") for p in rel.parts)):
            stem = rel.with_suffix("").as_posix()
            if stem in stems:
                raise ConfigError(f"{stems[stem]} and {rel.as_posix()} would both be written as {stem}.png; "
                                  "rename one of them")
            stems[stem] = rel.as_posix()
            out.append(rel.as_posix())
    return out


def image_class(rel: str) -> str:
    """The published {image_class}: the name of the image's parent folder ("" at the top level)."""
    parts = rel.split("/")
    return parts[-2] if len(parts) > 1 else ""


def output_path(out: Path, rel: str) -> Path:
    return out / Path(rel).with_suffix(".png")


def record_path(out: Path, rel: str) -> Path:
    return out / RECORDS / f"{rel}.json"


def regions_path(out: Path, rel: str) -> Path:
    return out / RECORDS / f"{rel}.regions.npz"


def caption_path(out: Path, rel: str) -> Path:
    return out / "captions" / f"{Path(rel).with_suffix('').as_posix()}_caption.json"


def _atomic_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.replace(tmp, path)


def write_record(out: Path, rel: str, record: dict[str, Any]) -> None:
    _atomic_text(record_path(out, rel), json.dumps(record, sort_keys=True))


def read_record(out: Path, rel: str) -> dict[str, Any] | None:
    path = record_path(out, rel)
    return json.loads(path.read_text()) if path.is_file() else None


def write_caption(out: Path, rel: str, raw: str) -> None:
    _atomic_text(caption_path(out, rel), json.dumps({"caption": raw}))


def save_regions(out: Path, rel: str, regions: list[Region]) -> None:
    """Masks packed to bits with their categories (what the evaluation's cheating checks read)."""
    path = regions_path(out, rel)
    path.parent.mkdir(parents=True, exist_ok=True)
    shape = regions[0].mask.shape if regions else (0, 0)
    packed = np.stack([np.packbits(r.mask.ravel()) for r in regions]) if regions else np.zeros((0, 0), np.uint8)
    tmp = path.with_name(f".{path.name}.tmp.npz")
    info = [{"category": r.category, "text": r.text, "score": float(r.score), "detector": r.detector,
             "meta": {k: v for k, v in r.meta.items() if k in _KEPT_META}} for r in regions]
    np.savez_compressed(tmp, masks=packed, shape=np.asarray(shape), info=np.asarray(json.dumps(info, default=_plain)))
    os.replace(tmp, path)


#: Region meta a rewrite reads (face box for the swap and the identity check, text quads, document fields).
_KEPT_META = ("box", "quad", "fields", "family", "source_detector")


def _plain(v: Any) -> Any:
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, (np.integer, np.floating)):
        return v.item()
    raise TypeError(f"cannot store {type(v).__name__} in a region record")


def load_regions(out: Path, rel: str) -> list[Region]:
    """The regions stage 1 flagged for ``rel``; ImageError when the file is missing."""
    path = regions_path(out, rel)
    if not path.is_file():
        raise ImageError(f"no regions recorded for {rel} under {out}")
    with np.load(path) as data:
        h, w = (int(v) for v in data["shape"])
        masks = [np.unpackbits(row)[: h * w].reshape(h, w).astype(bool) for row in data["masks"]]
        info = json.loads(str(data["info"]))
    return [Region(d["category"], m, d["score"], d["detector"], d["text"], d["meta"])
            for d, m in zip(info, masks, strict=True)]


def columns_of(rel: str, captions: Any) -> dict[str, str]:
    """The published columns of one image (flag as TRUE/FALSE, like the published parser writes it)."""
    return {"file": rel, "PRIVACY_FLAG": "TRUE" if captions.flag else "FALSE",
            "PRIVATE_CAPTION": captions.private, "PUBLIC_CAPTION": captions.public,
            "EDIT_INSTRUCTION": captions.instruction, "COMBINED_CAPTION": captions.combined}


def collect(out: Path, rels: list[str], extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Write manifest.csv, records.jsonl and summary.json from the records of ``rels``; return the summary."""
    records = [r for r in (read_record(out, rel) for rel in rels) if r is not None]
    ok = [r for r in records if r["status"] == "ok"]
    with (out / "manifest.csv").open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=[*COLUMNS, "class"])
        writer.writeheader()
        for r in ok:
            writer.writerow({**r["columns"], "class": image_class(r["file"])})
    (out / "records.jsonl").write_text("".join(json.dumps(r, sort_keys=True) + "\n" for r in records))
    summary = {"images": len(rels), "done": len(records), "anonymized": len(ok),
               "flagged": sum(r["columns"]["PRIVACY_FLAG"] == "TRUE" for r in ok),
               "fallbacks": sum(bool(r["stage2"].get("fallback")) for r in ok),
               "skipped": len(records) - len(ok),
               "skip_reasons": dict(Counter(r["reason"].split(":")[0] for r in records if r["status"] != "ok")),
               "regions_by_category": dict(Counter(g["category"] for r in ok for g in r["stage1"]["regions"])),
               **(extra or {})}
    (out / "summary.json").write_text(json.dumps(summary, indent=2, sort_keys=True))
    return summary
