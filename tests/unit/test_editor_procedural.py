"""Procedural editor: contract, determinism, and the phenomenon (a surrogate hiding what the editor keys on
changes the edit; a surrogate keeping it does not)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont
from skimage import data

from sppe_ray.editors import Editor, create_editor
from sppe_ray.editors.procedural import EDITS, analyse
from sppe_ray.errors import ImageError, UnknownInstructionError

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
CODES = [f"{i:03d}" for i in range(1, 66)]


@pytest.fixture(scope="module")
def editor():
    return create_editor("procedural")


@pytest.fixture(scope="module")
def astronaut():
    return cv2.resize(data.astronaut(), (256, 256), interpolation=cv2.INTER_AREA)


def _card(number: str, name: str, fill_card: bool = False, pixelate_text: bool = False) -> np.ndarray:
    im = Image.fromarray(cv2.resize(data.coffee(), (256, 256), interpolation=cv2.INTER_AREA))
    d = ImageDraw.Draw(im)
    font = ImageFont.truetype(FONT, 14)
    d.rounded_rectangle((40, 70, 216, 180), 8, fill=(30, 60, 140))
    if not fill_card:
        d.rectangle((55, 85, 85, 105), fill=(220, 190, 60))
        d.text((55, 120), number, font=font, fill=(255, 255, 255))
        d.text((55, 150), name, font=font, fill=(255, 255, 255))
    img = np.array(im)
    if pixelate_text:
        patch = img[115:170, 50:210]
        small = cv2.resize(patch, (patch.shape[1] // 8, patch.shape[0] // 8), interpolation=cv2.INTER_AREA)
        img[115:170, 50:210] = cv2.resize(small, patch.shape[1::-1], interpolation=cv2.INTER_NEAREST)
    return img


def _changed(before: np.ndarray, after: np.ndarray, thr: int = 40) -> np.ndarray:
    return np.abs(after.astype(np.int16) - before.astype(np.int16)).sum(-1) > thr


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum()) / max(float((a | b).sum()), 1.0)


def test_protocol_and_every_instruction(editor, astronaut):
    assert isinstance(editor, Editor) and editor.name == "procedural" and editor.version == "1"
    assert sorted(EDITS) == CODES
    img = cv2.resize(astronaut, (96, 80))  # small and not square
    for code in CODES:
        out = editor.edit(img, code, 5)
        assert out.shape == img.shape and out.dtype == np.uint8, code
        assert np.array_equal(out, editor.edit(img.copy(), code, 5)), code
    styled = [c for c in CODES if not np.array_equal(editor.edit(img, c, 5), img)]
    assert len(styled) >= 55  # only removals with nothing to remove may leave the image as it was


def test_seed_controls_randomness_and_codes_accept_ints(editor, astronaut):
    a = editor.edit(astronaut, "035", 1)
    assert not np.array_equal(a, editor.edit(astronaut, "035", 2))
    assert np.array_equal(a, editor.edit(astronaut, 35, 1))


@pytest.mark.parametrize("bad", ["066", "000", "abc", ""])
def test_unknown_codes_raise(editor, astronaut, bad):
    with pytest.raises(UnknownInstructionError):
        editor.edit(astronaut, bad, 0)


@pytest.mark.parametrize("img", [np.zeros((32, 32), np.uint8), np.zeros((32, 32, 3), np.float32),
                                 np.zeros((4, 32, 3), np.uint8), "not an image"])
def test_bad_images_raise(editor, img):
    with pytest.raises(ImageError):
        editor.edit(img, "001", 0)


def test_face_hidden_moves_sunglasses_face_kept_keeps_them(editor, astronaut):
    face = analyse(astronaut).face
    assert face is not None
    b = face.box
    blurred = astronaut.copy()
    blurred[b.y0:b.y1, b.x0:b.x1] = cv2.GaussianBlur(astronaut[b.y0:b.y1, b.x0:b.x1], (0, 0), 8)
    swapped = astronaut.copy()  # "another face", aligned: the mirrored face at the same place
    swapped[b.y0:b.y1, b.x0:b.x1] = astronaut[b.y0:b.y1, b.x0:b.x1][:, ::-1]
    assert analyse(blurred).face is None and analyse(swapped).face is not None
    src = _changed(astronaut, editor.edit(astronaut, "001", 0))
    good = _changed(swapped, editor.edit(swapped, "001", 0))
    bad = _changed(blurred, editor.edit(blurred, "001", 0))
    assert src.sum() > 100
    assert _iou(src, good) > 0.6
    assert _iou(src, bad) < 0.3


def test_text_hidden_is_not_removed_text_rerendered_is(editor):
    src = _card("4539 1234 5678 9012", "JOHN SMITH")
    good = _card("5120 9876 1122 3344", "MARY JONES")
    bad = _card("4539 1234 5678 9012", "JOHN SMITH", pixelate_text=True)
    region = np.zeros(src.shape[:2], bool)
    region[115:170, 50:210] = True
    edits = {k: editor.edit(v, "047", 0) for k, v in {"src": src, "good": good, "bad": bad}.items()}
    assert _changed(src, edits["src"])[region].sum() > 300

    def gap(x, y):
        return float(np.abs(x.astype(int) - y.astype(int))[region].mean())

    # Removal makes source and re-rendered surrogate converge (both become a blank card); pixelated text stays.
    assert gap(edits["src"], edits["good"]) < 0.5 * gap(src, good)
    assert gap(edits["src"], edits["bad"]) > 2 * gap(edits["src"], edits["good"])
    assert _changed(bad, edits["bad"])[region].sum() < 0.2 * _changed(src, edits["src"])[region].sum()


def test_card_filled_is_not_restyled_card_faked_is(editor):
    src = _card("4539 1234 5678 9012", "JOHN SMITH")
    good = _card("5120 9876 1122 3344", "MARY JONES")
    bad = _card("", "", fill_card=True)
    assert analyse(src).find("card") is not None and analyse(bad).find("card") is None
    edits = {k: editor.edit(v, "054", 0) for k, v in {"src": src, "good": good, "bad": bad}.items()}
    outside = np.ones(src.shape[:2], bool)
    outside[66:185, 36:221] = False  # the card and its rim: the private region
    diff_good = np.abs(edits["src"].astype(int) - edits["good"].astype(int))[outside].mean()
    diff_bad = np.abs(edits["src"].astype(int) - edits["bad"].astype(int))[outside].mean()
    assert diff_good < 1.0
    assert diff_bad > 5 * max(diff_good, 0.5)


@pytest.mark.parametrize("cascade", ["haarcascade_frontalface_default.xml", "lbpcascade_frontalface.xml"])
def test_face_search_is_thread_safe(cascade):
    """Threads share no classifier: OpenCV keeps per-call state in one and releases the GIL, so shared ones
    gave wrong boxes (and assertion errors) under ERMA's two extraction threads."""
    from concurrent.futures import ThreadPoolExecutor

    import cv2
    from skimage import data

    from sppe_ray.editors.procedural.analysis import FaceSearch, detect_faces, locate_eyes

    search = FaceSearch(cascade=cascade)
    photo = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2GRAY)
    rng = np.random.default_rng(0)
    crops = []
    for _ in range(48):  # mixed sizes: the classifier's per-call state depends on the image size
        side = int(rng.integers(200, 512))
        y, x = (int(v) for v in rng.integers(0, 512 - side + 1, size=2))
        crops.append(np.ascontiguousarray(photo[y : y + side, x : x + side]))

    def find(gray):
        faces = detect_faces(gray, search)
        return [(f, locate_eyes(gray, f)) for f in faces]

    serial = [find(g) for g in crops]
    assert sum(bool(r) for r in serial) >= 12  # the astronaut's face is found in many crops
    for _ in range(3):
        with ThreadPoolExecutor(2) as pool:
            assert list(pool.map(find, crops)) == serial
