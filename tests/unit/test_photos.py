"""Offline real photos and the person/face masks derived from them."""

from __future__ import annotations

import numpy as np

from sppe_ray.privacy import photos
from sppe_ray.privacy.synthetic.scenes import face_mask, person_mask


def test_real_photos_are_named_rgb_uint8():
    items = photos.real_photos()
    names = [n for n, _ in items]
    assert len(names) == len(set(names)) and "skimage/astronaut" in names
    for _, img in items:
        assert img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3 and min(img.shape[:2]) >= 64


def test_face_and_background_split():
    faces = {n for n, _ in photos.face_photos()}
    backgrounds = {n for n, _ in photos.background_photos()}
    assert "skimage/astronaut" in faces and not faces & backgrounds
    assert len(backgrounds) >= 5


def test_cached_photos_are_read_only():
    img = photos.photo("skimage/coffee")
    assert not img.flags.writeable


def test_missing_opencv_data_falls_back(monkeypatch, tmp_path):
    monkeypatch.setattr(photos, "OPENCV_DATA_DIRS", (str(tmp_path / "absent"),))
    monkeypatch.delenv("SPPE_OPENCV_DATA", raising=False)
    assert photos.opencv_data_dir() is None
    assert photos._opencv_photos() == []


def test_unknown_photo_name():
    try:
        photos.photo("nowhere/none")
    except KeyError as exc:
        assert "available" in str(exc)
    else:
        raise AssertionError("expected KeyError")


def test_face_mask_sits_on_the_face_box():
    name = "skimage/astronaut"
    mask = face_mask(name)
    x0, y0, x1, y1 = photos.box_pixels(photos.FACE_BOXES[name], mask.shape)
    inside = mask[y0:y1, x0:x1].sum()
    assert inside > 0.6 * mask.sum() and mask.sum() < 0.2 * mask.size


def test_person_mask_is_a_plausible_person():
    name = "opencv/messi5" if "opencv/messi5" in dict(photos.person_photos()) else "skimage/astronaut"
    mask = person_mask(name)
    h, w = mask.shape
    core = np.array(photos.PERSON_CORES[name]).mean(axis=0)
    assert mask[int(core[1] * h), int(core[0] * w)]
    assert 0.01 * mask.size < mask.sum() < 0.7 * mask.size
