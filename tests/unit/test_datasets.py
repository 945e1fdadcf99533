"""Adapters for a user's photos, visual_redactions annotations and the published SPPE folder, on fixtures
written in each format (real PNG/JPEG files)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from sppe_ray.datasets import (
    ImageEntry,
    decode_rle,
    import_sppe,
    list_user_images,
    load_visual_redactions,
    read_sppe_folder,
    scene_from_entry,
)
from sppe_ray.datasets.framing import PAD_VALUE, plan_framing
from sppe_ray.errors import BenchmarkError, ImageError, UnknownCategoryError
from sppe_ray.imageio import decode_image, decode_mask
from sppe_ray.privacy.region import Region
from sppe_ray.shards import read_benchmark, read_manifest, verify_benchmark

RED, BLUE = (220, 20, 20), (20, 20, 220)


def _two_tone(h: int, w: int, box: tuple[int, int, int, int]) -> np.ndarray:
    """Blue picture with a red rectangle (x0, y0, x1, y1): lets a test see if a mask sits on the right pixels."""
    img = np.empty((h, w, 3), np.uint8)
    img[:] = BLUE
    x0, y0, x1, y1 = box
    img[y0:y1, x0:x1] = RED
    return img


def _mask(h: int, w: int, box: tuple[int, int, int, int]) -> np.ndarray:
    m = np.zeros((h, w), bool)
    m[box[1]:box[3], box[0]:box[2]] = True
    return m


def _save(path: Path, arr: np.ndarray, **kw) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path, **kw)
    return path


def _assert_mask_on_red(scene) -> None:
    mask = scene.union_mask()
    red = scene.image[:, :, 0].astype(int) - scene.image[:, :, 2].astype(int) > 100
    inter = (mask & red).sum()
    assert inter / mask.sum() > 0.9 and inter / red.sum() > 0.9


# -- user images -------------------------------------------------------------------------------------------
@pytest.fixture()
def photo_dir(tmp_path: Path) -> Path:
    d = tmp_path / "photos"
    _save(d / "a" / "wide.jpg", _two_tone(120, 200, (120, 30, 170, 90)), quality=95)
    _save(d / "a" / "wide.mask.png", _mask(120, 200, (120, 30, 170, 90)))
    _save(d / "card.png", _two_tone(80, 80, (10, 10, 40, 30)))
    _save(d / "card.a30_credit_card.mask.png", _mask(40, 40, (5, 5, 20, 15)))  # half size, same aspect
    _save(d / "plain.png", _two_tone(64, 64, (0, 0, 1, 1)))
    _save(d / ".hidden" / "x.png", _two_tone(64, 64, (0, 0, 8, 8)))
    (d / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not a jpeg")
    return d


def test_list_user_images_finds_images_and_masks(photo_dir: Path) -> None:
    entries = list_user_images(photo_dir)
    assert [e.path for e in entries] == sorted(e.path for e in entries)
    names = [e.path.name for e in entries]
    assert set(names) == {"wide.jpg", "card.png", "plain.png", "broken.jpg"}
    by = {e.path.name: e for e in entries}
    assert set(by["wide.jpg"].mask_paths) == {""} and set(by["card.png"].mask_paths) == {"a30_credit_card"}
    assert by["plain.png"].mask_paths == {} and by["wide.jpg"].group == "images/a/wide"
    assert ImageEntry.from_dict(json.loads(json.dumps(by["card.png"].to_dict()))) == by["card.png"]
    with pytest.raises(ImageError):
        list_user_images(photo_dir / "nope")


def test_scene_from_mask_crops_around_region(photo_dir: Path) -> None:
    entry = next(e for e in list_user_images(photo_dir) if e.path.name == "wide.jpg")
    scene = scene_from_entry(entry, 64)
    assert scene.image.shape == (64, 64, 3) and scene.source_group == "images/a/wide"
    assert [r.category for r in scene.regions] == ["a109_person_body"]
    assert scene.regions[0].meta["framing"] == "crop"  # the region (x 120..170) fits the 120-px square
    _assert_mask_on_red(scene)
    other = scene_from_entry(entry, 64, default_category="a105_face_all")
    assert other.regions[0].category == "a105_face_all"


def test_scene_with_category_mask_at_other_size(photo_dir: Path) -> None:
    entry = next(e for e in list_user_images(photo_dir) if e.path.name == "card.png")
    scene = scene_from_entry(entry, 48)
    assert scene.regions[0].category == "a30_credit_card"
    _assert_mask_on_red(scene)


def test_regions_too_wide_are_padded_not_cut(tmp_path: Path) -> None:
    img = _two_tone(60, 200, (0, 20, 10, 40))
    img[20:40, 190:200] = RED
    _save(tmp_path / "p.png", img)
    both = _mask(60, 200, (0, 20, 10, 40)) | _mask(60, 200, (190, 20, 200, 40))
    _save(tmp_path / "p.mask.png", both)
    scene = scene_from_entry(list_user_images(tmp_path)[0], 100)
    assert scene.regions[0].meta["framing"] == "pad"
    assert (scene.image[0] == PAD_VALUE).all() and not scene.union_mask()[0].any()
    cols = np.nonzero(scene.union_mask().any(axis=0))[0]
    assert cols.min() <= 5 and cols.max() >= 94  # both ends of the photo survive
    _assert_mask_on_red(scene)


def test_plan_framing_contains_bbox_when_it_fits() -> None:
    f = plan_framing((100, 300), (250, 10, 290, 50), 32)
    x0, _, x1, _ = f.box
    assert f.mode == "crop" and x0 <= 250 and x1 >= 290 and x1 - x0 == 100


class _FakeDetector:
    name = "fake"

    def __init__(self) -> None:
        self.calls = 0

    def detect(self, image: np.ndarray) -> list[Region]:
        self.calls += 1
        h, w = image.shape[:2]
        return [Region("a105_face_all", _mask(h, w, (0, 0, w // 4, h // 4)), 0.9, "fake")]


def test_detector_used_only_without_masks(photo_dir: Path) -> None:
    entries = {e.path.name: e for e in list_user_images(photo_dir)}
    det = _FakeDetector()
    scene = scene_from_entry(entries["plain.png"], 32, detector=det)
    assert det.calls == 1 and scene.regions[0].detector == "fake" and scene.regions[0].area > 0
    scene_from_entry(entries["wide.jpg"], 32, detector=det)
    assert det.calls == 1


def test_user_image_errors(photo_dir: Path, tmp_path: Path) -> None:
    entries = {e.path.name: e for e in list_user_images(photo_dir)}
    with pytest.raises(ImageError, match="no private region"):
        scene_from_entry(entries["plain.png"], 32)
    with pytest.raises(ImageError):
        scene_from_entry(entries["broken.jpg"], 32, detector=_FakeDetector())
    d = tmp_path / "bad"
    _save(d / "x.png", _two_tone(40, 80, (0, 0, 10, 10)))
    _save(d / "x.a999_nothing.mask.png", _mask(40, 80, (0, 0, 10, 10)))
    with pytest.raises(UnknownCategoryError):
        scene_from_entry(list_user_images(d)[0], 32)
    (d / "x.a999_nothing.mask.png").unlink()
    _save(d / "x.mask.png", _mask(80, 40, (0, 0, 10, 10)))  # rotated
    with pytest.raises(ImageError, match="rotated"):
        scene_from_entry(list_user_images(d)[0], 32)


# -- visual_redactions -------------------------------------------------------------------------------------
def _vr_fixture(tmp_path: Path) -> Path:
    root = tmp_path / "vr"
    _save(root / "images" / "val2017" / "2017_1.jpg", _two_tone(100, 200, (120, 20, 160, 60)), quality=95)
    _save(root / "images" / "val2017" / "2017_2.jpg", _two_tone(100, 100, (0, 0, 5, 5)), quality=95)
    face = {"instance_id": 0, "attr_id": "a105_face_all",
            "polygons": [[120, 20, 160, 20, 160, 60, 120, 60, 120, 20]]}
    person = {"instance_id": 1, "attr_id": "a203_Person", "polygons": [[[130, 30], [150, 30], [150, 50]]]}
    unknown = {"instance_id": 2, "attr_id": "a17_color", "polygons": [[0, 0, 5, 0, 5, 5, 0, 0]]}
    doc = {"created_at": "2017", "stats": {}, "annotations": {
        "2017_1": {"image_id": "2017_1", "image_path": "images/val2017/2017_1.jpg", "image_height": 100,
                   "image_width": 200, "attributes": [face, person, unknown]},
        "2017_2": {"image_id": "2017_2", "image_path": "images/val2017/2017_2.jpg", "image_height": 100,
                   "image_width": 100, "attributes": [unknown]},
        "2017_3": {"image_id": "2017_3", "image_path": "images/val2017/2017_3.jpg", "image_height": 10,
                   "image_width": 10, "attributes": [face]},
    }}
    (root / "val2017.json").write_text(json.dumps(doc))
    return root


def test_load_visual_redactions_counts_what_it_skips(tmp_path: Path) -> None:
    root = _vr_fixture(tmp_path)
    entries = load_visual_redactions(root / "val2017.json", root)
    assert [e.group for e in entries] == ["visual_redactions/2017_1"]
    assert entries.skipped == Counter({"unknown_attribute:a17_color": 2, "no_known_attribute": 1,
                                       "missing_image": 1})
    assert sorted(r["category"] for r in entries[0].regions) == ["a105_face_all", "a109_person_body"]
    with pytest.raises(BenchmarkError):
        load_visual_redactions(root / "missing.json", root)


def test_visual_redactions_polygons_rasterised_and_scaled(tmp_path: Path) -> None:
    root = _vr_fixture(tmp_path)
    entry = load_visual_redactions(root / "val2017.json", root)[0]
    scene = scene_from_entry(entry, 50)
    regions = {r.category: r for r in scene.regions}
    assert set(regions) == {"a105_face_all", "a109_person_body"}
    assert 0.85 < regions["a105_face_all"].area / (20 * 20) < 1.15  # 40x40 px square, image scaled by 1/2
    assert regions["a109_person_body"].area < regions["a105_face_all"].area
    _assert_mask_on_red(type(scene)(scene.image, [regions["a105_face_all"]], scene.source_group, scene.origin))
    # annotation made on a half-size copy: coordinates are scaled up to the real image
    half = ImageEntry(entry.path, entry.group, regions=[{"category": "a105_face_all",
                      "polygons": [[60, 10, 80, 10, 80, 30, 60, 30]]}], meta={"annotated_hw": [50, 100]})
    assert 0.85 < scene_from_entry(half, 50).regions[0].area / 400 < 1.15


def _rle_encode(mask: np.ndarray) -> str:
    """Reference COCO string encoder (the inverse of the decoder under test)."""
    flat = mask.T.reshape(-1)
    counts, cur, run = [], False, 0
    for v in flat:
        if v != cur:
            counts.append(run)
            cur, run = v, 0
        run += 1
    counts.append(run)
    out = []
    for i, c in enumerate(counts):
        x = c - counts[i - 2] if i > 2 else c
        more = True
        while more:
            ch = x & 0x1F
            x >>= 5
            more = not ((x == 0 and not ch & 0x10) or (x == -1 and ch & 0x10))
            out.append(chr(ch + (0x20 if more else 0) + 48))
    return "".join(out)


def test_decode_rle_both_encodings() -> None:
    mask = np.zeros((4, 3), bool)
    mask[1:3, 1] = True  # column-major runs: 5 off, 2 on, 5 off
    assert (decode_rle({"size": [4, 3], "counts": [5, 2, 5]}) == mask).all()
    rng = np.random.default_rng(0)
    big = rng.random((37, 23)) > 0.6
    assert (decode_rle({"size": [37, 23], "counts": _rle_encode(big)}) == big).all()
    with pytest.raises(ImageError):
        decode_rle({"size": [4, 3], "counts": [5, 2]})


# -- published SPPE folder ---------------------------------------------------------------------------------
BOX = (16, 16, 40, 40)


def _sppe_fixture(tmp_path: Path) -> tuple[Path, Path]:
    root = tmp_path / "sppe"
    rng = np.random.default_rng(1)
    records = []
    for split, stems in (("TRAIN", [f"2017_{i}" for i in range(6)]), ("TEST", ["2017_90", "2017_91"])):
        base = root / "VISPR" / split
        for stem in stems:
            src = (rng.random((64, 64, 1)) * 60 + np.array([60, 120, 180])).astype(np.uint8)
            sur = src.copy()
            sur[BOX[1]:BOX[3], BOX[0]:BOX[2]] = (250, 250, 30)
            _save(base / "source" / "a105_face_all" / f"{stem}.jpg", src, quality=95)
            _save(base / "surrogate" / "a105_face_all" / f"{stem}.jpg", sur, quality=95)
            _save(base / "source_edited" / "a105_face_all" / f"{stem}_035.jpg", 255 - src, quality=95)
            _save(base / "surrogate_edited" / "a105_face_all" / f"{stem}_035.jpg", 255 - sur, quality=95)
            for code in ("035", "002"):
                records.append({"category": "a105_face_all", "stem": stem, "code": code, "label": 0.5,
                                "source": f"VISPR/{split}/source/a105_face_all/{stem}.jpg",
                                "surrogate": f"VISPR/{split}/surrogate/a105_face_all/{stem}.jpg"})
    records[0]["label"] = -0.02
    records.append(dict(records[0], category="a999_unknown"))
    records.append(dict(records[0], stem="2017_404", source="VISPR/TRAIN/source/a105_face_all/2017_404.jpg"))
    (root / "VISPR/TEST/surrogate/a105_face_all/2017_91.jpg").unlink()
    (root / "VISPR/TEST/source/a105_face_all/2017_90.jpg").write_bytes(b"corrupt")
    labels = tmp_path / "labels.json"
    labels.write_text(json.dumps(records))
    return root, labels


def test_import_sppe_makes_a_valid_benchmark(tmp_path: Path) -> None:
    root, labels = _sppe_fixture(tmp_path)
    out = tmp_path / "bench"
    manifest = import_sppe(root, out, labels, shard_size=5, val_fraction=0.5)
    assert verify_benchmark(out) == []
    assert manifest["counts"]["total"] == 12 and len(manifest["shards"]) == 3
    assert read_manifest(out)["skipped"] == {"unknown_category:a999_unknown": 1, "missing_source": 1,
                                            "missing_surrogate": 2, "corrupt_image": 2}
    assert manifest["incomplete"] == {"missing_source_edit": 6, "missing_surrogate_edit": 6}  # code 002
    table = read_benchmark(out).to_pylist()
    by_group: dict[str, set[str]] = {}
    for row in table:
        by_group.setdefault(row["source_group"], set()).add(row["split"])
        assert row["strategy"] == "published" and row["category"] == "a105_face_all"
        assert (row["source_edit"] is None) == (row["instruction_code"] == "002")
        mask = decode_mask(row["mask"])
        iou = (mask & _mask(64, 64, BOX)).sum() / (mask | _mask(64, 64, BOX)).sum()
        assert iou > 0.8
        assert decode_image(row["source"]).shape == (64, 64, 3)
    assert all(len(s) == 1 for s in by_group.values())  # one photo, one split
    assert {s for ss in by_group.values() for s in ss} == {"train", "val"}
    labels_seen = sorted(row["editability"] for row in table)
    assert labels_seen[0] == pytest.approx(0.49) and labels_seen[-1] == pytest.approx(0.75)
    with pytest.raises(BenchmarkError):
        import_sppe(root, out, labels)


def test_read_sppe_folder_walks_tree_without_labels(tmp_path: Path) -> None:
    root, _ = _sppe_fixture(tmp_path)
    skipped: Counter = Counter()
    rows = list(read_sppe_folder(root, skipped=skipped, label_scale="unit"))
    assert len(rows) == 6 and {r["instruction_code"] for r in rows} == {"035"}
    assert all(r["editability"] is None and r["surrogate_edit"] is not None for r in rows)
    assert skipped == Counter({"missing_surrogate": 1, "corrupt_image": 1})
    with pytest.raises(BenchmarkError):
        list(read_sppe_folder(tmp_path / "missing"))
