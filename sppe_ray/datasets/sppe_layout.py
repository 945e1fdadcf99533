"""The published SPPE benchmark folder, imported as a sppe-ray benchmark (so every model and metric here runs
on the original data).

Layout, verified against the published ERMA code's README and dataset class (records
``{category, stem, code, source, surrogate, label}`` in ``labels/{train,val,test}_labels.json``, paths
relative to the data root)::

    <root>/<DATASET>/<SPLIT>/source/<category>/<stem>.jpg        DATASET: VISPR, ...; SPLIT: TRAIN|VAL|TEST
    <root>/<DATASET>/<SPLIT>/surrogate/<category>/<stem>.jpg

Edited images are named ``<stem>_<code>`` (the code is the number at the end of the file name, as in the
SOER README); where they are stored is not published, so these places are searched, first hit wins:
``<SPLIT>/{source_edited,source_edit,source_edits}/<category>/`` then the same without ``<category>``, then
``<SPLIT>/source/<category>/`` itself (and likewise for ``surrogate``). Suffixes .jpg .jpeg .png .webp.

Without a labels JSON the tree is walked; each edited file found names one (stem, code) sample, with no label.

Row mapping: ``editability`` = the published label; with ``label_scale="cosine"`` (default: published labels
are raw cosines, about -0.02..0.98) it is mapped to [0, 1] by (x+1)/2 like our own labels, with ``"unit"``
kept as is; the raw value is in ``provenance``. ``mask`` = ``privacy.difference.difference_mask(source, surrogate)``.
``split`` = the folder (TRAIN/VAL/TEST -> train/val/test); when a dataset has no VAL folder, ``val_fraction``
of its train groups (group = dataset/stem, hashed with ``seed``) become val. ``strategy`` = "published".
Images are shrunk so the long side is at most ``max_side``; surrogate and edits are resized to the source.
Rows that cannot be made are skipped and counted (``skipped``); missing or unreadable edits leave the edit
columns null and are counted in ``incomplete``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sppe_ray.datasets.vispr import canonical_category
from sppe_ray.errors import BenchmarkError, ImageError, UnknownInstructionError
from sppe_ray.imageio import encode_mask, encode_png, fit_within, load_image, resize_image
from sppe_ray.privacy.difference import DEFAULT_THRESHOLD, difference_mask
from sppe_ray.schema import sample_id
from sppe_ray.shards import ShardWriter
from sppe_ray.taxonomy import get_instruction, normalize_code

SPLITS = {"train": "train", "val": "val", "valid": "val", "validation": "val", "test": "test"}
EXTS = (".jpg", ".jpeg", ".png", ".webp", ".JPG", ".JPEG", ".PNG")
EDIT_DIRS = {"source": ("source_edited", "source_edit", "source_edits"),
             "surrogate": ("surrogate_edited", "surrogate_edit", "surrogate_edits")}
STRATEGY = "published"
_EDIT_RE = re.compile(r"^(?P<stem>.+)_(?P<code>\d{3})$")


@dataclass(frozen=True)
class SPPERecord:
    """One (source, surrogate, instruction) sample of the published folder; label None when not given."""

    dataset: str
    split_dir: Path
    category: str
    stem: str
    code: str
    source: Path
    surrogate: Path
    label: object = None

    @property
    def split(self) -> str:
        return SPLITS.get(self.split_dir.name.lower(), "test")


def find_edit(split_dir: Path, role: str, category: str, stem: str, code: str) -> Path | None:
    """Path of the ``role`` ("source"/"surrogate") image edited with ``code``, or None."""
    for base in [*(split_dir / d / category for d in EDIT_DIRS[role]), *(split_dir / d for d in EDIT_DIRS[role]),
                 split_dir / role / category]:
        for ext in EXTS:
            path = base / f"{stem}_{code}{ext}"
            if path.is_file():
                return path
    return None


def _walk_records(root: Path) -> list[SPPERecord]:
    records = []
    for source_dir in sorted(p for p in root.rglob("source") if p.is_dir()):
        split_dir = source_dir.parent
        if split_dir.name.lower() not in SPLITS:
            continue
        dataset = split_dir.parent.name
        for cat_dir in sorted(p for p in source_dir.iterdir() if p.is_dir()):
            files = sorted(p for p in cat_dir.iterdir() if p.is_file() and p.suffix in EXTS)
            stems = {p.stem for p in files}
            for path in files:
                m = _EDIT_RE.match(path.stem)
                if m and m["stem"] in stems:
                    continue  # an edited copy stored beside its source
                codes = set()
                for role in ("surrogate", "source"):
                    for base in [*(split_dir / d / cat_dir.name for d in EDIT_DIRS[role]),
                                 *(split_dir / d for d in EDIT_DIRS[role]), split_dir / role / cat_dir.name]:
                        codes |= {p.stem.rsplit("_", 1)[1] for p in base.glob(f"{path.stem}_[0-9][0-9][0-9].*")}
                surrogate = split_dir / "surrogate" / cat_dir.name / path.name
                for code in sorted(codes) or [None]:
                    records.append(SPPERecord(dataset, split_dir, cat_dir.name, path.stem, code or "",
                                              path, surrogate))
    return records


def _label_files(labels_json: object) -> list[Path]:
    if isinstance(labels_json, (str, os.PathLike)):
        path = Path(labels_json)
        return sorted(path.glob("*.json")) if path.is_dir() else [path]
    return [Path(p) for p in labels_json]  # type: ignore[union-attr]


def _json_records(root: Path, labels_json: object) -> list[SPPERecord]:
    records = []
    for file in _label_files(labels_json):
        try:
            doc = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise BenchmarkError(f"cannot read SPPE labels {file}: {exc}") from None
        if not isinstance(doc, list):
            raise BenchmarkError(f"{file} must hold a JSON list of {{category, stem, code, source, ...}} records")
        for rec in doc:
            try:
                parts = Path(str(rec["source"])).parts
                at = max(i for i, part in enumerate(parts) if part.lower() == "source")
                split_dir = root.joinpath(*parts[:at]) if at else root / file.stem.split("_")[0].upper()
                records.append(SPPERecord(parts[at - 2] if at >= 2 else root.name, split_dir, str(rec["category"]),
                                          str(rec["stem"]), str(rec["code"]), root / str(rec["source"]),
                                          root / str(rec["surrogate"]), rec.get("label")))
            except (KeyError, TypeError, ValueError):
                raise BenchmarkError(f"{file}: record {rec!r} lacks category/stem/code/source/surrogate") from None
    return records


def _unit(text: str) -> float:
    return int(hashlib.sha256(text.encode()).hexdigest()[:12], 16) / float(16**12)


def _editability(label: object, scale: str) -> float | None:
    if label is None:
        return None
    value = float(label)  # ValueError/TypeError -> caller counts bad_label
    if value != value or not -1.0 <= value <= 1.0 or (scale == "unit" and value < 0.0):
        raise ValueError(f"label {value} out of range")
    return min(1.0, max(0.0, (value + 1.0) / 2.0)) if scale == "cosine" else value


def sppe_records(root: str | os.PathLike[str], labels_json: object = None) -> list[SPPERecord]:
    """All records, from the labels JSON(s) (a file, a folder of them or a list) or by walking ``root``."""
    base = Path(root)
    if not base.is_dir():
        raise BenchmarkError(f"SPPE folder {base} does not exist")
    records = _walk_records(base) if labels_json is None else _json_records(base, labels_json)
    return sorted(records, key=lambda r: (r.dataset, str(r.split_dir), r.category, r.stem, r.code))


class _PairCache:
    """Keeps the last decoded (source, surrogate) pair: records of one photo come one after another."""

    def __init__(self) -> None:
        self.key: tuple | None = None
        self.value: tuple | None = None

    def get(self, rec: SPPERecord, max_side: int, threshold: int):
        key = (rec.source, rec.surrogate, max_side, threshold)
        if key != self.key:
            self.key = self.value = None  # a failure below must leave nothing cached
            src = fit_within(load_image(rec.source), max_side)
            sur = resize_image(load_image(rec.surrogate), src.shape[:2])
            mask = difference_mask(src, sur, threshold=threshold)
            self.key, self.value = key, (src, sur, encode_png(src), encode_png(sur), mask)
        return self.value


def _edit_png(rec: SPPERecord, role: str, hw: tuple[int, int], incomplete: Counter) -> tuple[bytes | None, str]:
    path = find_edit(rec.split_dir, role, rec.category, rec.stem, rec.code)
    if path is None:
        incomplete[f"missing_{role}_edit"] += 1
        return None, ""
    try:
        return encode_png(resize_image(load_image(path), hw)), str(path)
    except ImageError:
        incomplete[f"corrupt_{role}_edit"] += 1
        return None, str(path)


def read_sppe_folder(root: str | os.PathLike[str], labels_json: object = None, *, max_side: int = 512,
                     val_fraction: float = 0.1, seed: int = 0, label_scale: str = "cosine",
                     threshold: int = DEFAULT_THRESHOLD, skipped: Counter | None = None,
                     incomplete: Counter | None = None) -> Iterator[dict]:
    """Yield BENCHMARK_SCHEMA rows, one per record (streaming: one decoded photo pair held at a time)."""
    if label_scale not in ("cosine", "unit"):
        raise ValueError(f"label_scale must be 'cosine' or 'unit', got {label_scale!r}")
    skipped = Counter() if skipped is None else skipped
    incomplete = Counter() if incomplete is None else incomplete
    records = sppe_records(root, labels_json)
    has_val = {r.dataset for r in records if r.split == "val"}
    cache = _PairCache()
    for rec in records:
        category = canonical_category(rec.category)
        if category is None:
            skipped[f"unknown_category:{rec.category}"] += 1
            continue
        if not rec.code:
            skipped["no_edited_files"] += 1
            continue
        try:
            instr = get_instruction(normalize_code(rec.code))
            editability = _editability(rec.label, label_scale)
        except UnknownInstructionError:
            skipped["unknown_instruction"] += 1
            continue
        except (TypeError, ValueError):
            skipped["bad_label"] += 1
            continue
        if not rec.source.is_file() or not rec.surrogate.is_file():
            skipped["missing_source" if not rec.source.is_file() else "missing_surrogate"] += 1
            continue
        try:
            src, _, src_png, sur_png, mask = cache.get(rec, max_side, threshold)
        except ImageError:
            skipped["corrupt_image"] += 1
            continue
        if not mask.any():
            skipped["no_difference"] += 1
            continue
        group = f"{rec.dataset}/{rec.stem}"
        split = rec.split
        if split == "train" and rec.dataset not in has_val and _unit(f"{seed}:{group}") < val_fraction:
            split = "val"
        src_edit, src_edit_path = _edit_png(rec, "source", src.shape[:2], incomplete)
        sur_edit, sur_edit_path = _edit_png(rec, "surrogate", src.shape[:2], incomplete)
        yield {
            "sample_id": sample_id("sppe", rec.dataset, rec.split_dir.name, rec.category, rec.stem, instr.code),
            "split": split, "category": category, "instruction_code": instr.code, "instruction": instr.text,
            "task_tag": instr.task_tag, "strategy": STRATEGY, "source": src_png, "mask": encode_mask(mask),
            "surrogate": sur_png, "source_edit": src_edit, "surrogate_edit": sur_edit,
            "editability": editability, "label_output": None, "label_region": None,
            "width": int(src.shape[1]), "height": int(src.shape[0]), "source_group": group,
            "provenance": json.dumps({
                "origin": "sppe", "dataset": rec.dataset, "category_published": rec.category,
                "source": str(rec.source), "surrogate": str(rec.surrogate), "source_edit": src_edit_path,
                "surrogate_edit": sur_edit_path, "label_raw": rec.label, "label_scale": label_scale,
                "mask": {"method": "difference", "threshold": threshold},
            }, sort_keys=True),
        }


def import_sppe(root: str | os.PathLike[str], out_dir: str | os.PathLike[str], labels_json: object = None,
                shard_size: int = 64, **options) -> dict:
    """Write a published SPPE folder as a benchmark folder (shards + manifest); returns the manifest."""
    from sppe_ray.schema import table_from_rows

    if shard_size < 1:
        raise ValueError("shard_size must be at least 1")
    out = Path(out_dir)
    if out.is_dir() and any(out.glob("*.parquet")) or (out / "manifest.json").exists():
        raise BenchmarkError(f"{out} already holds a benchmark; import into an empty folder")
    skipped, incomplete = Counter(), Counter()
    writer = ShardWriter(out)
    batch: list[dict] = []
    for row in read_sppe_folder(root, labels_json, skipped=skipped, incomplete=incomplete, **options):
        batch.append(row)
        if len(batch) == shard_size:
            writer.write(table_from_rows(batch), writer.shard_name(len(writer.shards)))
            batch = []
    if batch:
        writer.write(table_from_rows(batch), writer.shard_name(len(writer.shards)))
    config = {"source": "sppe", "root": str(root), "labels_json": None if labels_json is None else
              [str(p) for p in _label_files(labels_json)], "shard_size": shard_size,
              **{k: v for k, v in sorted(options.items())}}
    out.mkdir(parents=True, exist_ok=True)
    return writer.finish(config=config, skipped=dict(skipped), extra={"incomplete": dict(sorted(incomplete.items()))})
