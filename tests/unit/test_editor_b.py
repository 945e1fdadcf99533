"""Editor B (`procedural_b`): contract, determinism, independence from the first editor, and its own rules
(what it keys on differs from the first editor's, and the tests pin where)."""

from __future__ import annotations

import ast
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont
from skimage import data

import sppe_ray.editors.procedural_b as editor_b
from sppe_ray.editors import Editor, create_editor
from sppe_ray.editors.procedural_b import EDITS, sight
from sppe_ray.errors import ImageError, UnknownInstructionError

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
CODES = [f"{i:03d}" for i in range(1, 66)]


@pytest.fixture(scope="module")
def editor():
    return create_editor("procedural_b")


@pytest.fixture(scope="module")
def astronaut():
    return cv2.resize(data.astronaut(), (256, 256), interpolation=cv2.INTER_AREA)


def _card(lines: tuple[str, ...] = ("4539 1234 5678 9012", "JOHN SMITH")) -> np.ndarray:
    im = Image.fromarray(cv2.resize(data.coffee(), (256, 256), interpolation=cv2.INTER_AREA))
    d = ImageDraw.Draw(im)
    d.rounded_rectangle((40, 70, 216, 180), 8, fill=(30, 60, 140))
    font = ImageFont.truetype(FONT, 14)
    for i, line in enumerate(lines):
        d.text((55, 120 + 30 * i), line, font=font, fill=(255, 255, 255))
    return np.array(im)


def _changed(before: np.ndarray, after: np.ndarray, thr: int = 40) -> np.ndarray:
    return np.abs(after.astype(np.int16) - before.astype(np.int16)).sum(-1) > thr


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum()) / max(float((a | b).sum()), 1.0)


def test_protocol_every_instruction_and_determinism(editor, astronaut):
    assert isinstance(editor, Editor) and editor.name == "procedural_b" and editor.version == "1"
    assert sorted(EDITS) == CODES
    img = cv2.resize(astronaut, (96, 80))  # small and not square
    changed = 0
    for code in CODES:
        out = editor.edit(img, code, 5)
        assert out.shape == img.shape and out.dtype == np.uint8, code
        editor_b._SIGHTS.clear()  # the detectors themselves run again, not the cached findings
        assert np.array_equal(out, editor.edit(img.copy(), code, 5)), f"{code} is not deterministic"
        changed += int(np.abs(out.astype(int) - img).mean() > 0.5)
    assert changed >= 55  # removals of things B does not find here leave the image alone
    caps = {editor.edit(astronaut, "003", seed).tobytes() for seed in range(8)}
    assert len(caps) > 1  # the cap's colour comes from the seed


@pytest.mark.parametrize("bad", ["000", "066", "sunglasses", ""])
def test_unknown_codes_raise(editor, astronaut, bad):
    with pytest.raises(UnknownInstructionError):
        editor.edit(astronaut, bad, 0)


@pytest.mark.parametrize("img", [np.zeros((4, 4, 3), np.uint8), np.zeros((64, 64), np.float32)])
def test_bad_images_raise(editor, img):
    with pytest.raises(ImageError):
        editor.edit(img, "019", 0)


def test_shares_no_code_with_the_first_editor():
    """Editor B measures generalisation, so it may use the editor contract but nothing of editor A nor the
    privacy detectors ERMA's cues come from: imported alone, it must not load them (relative imports too)."""
    import subprocess
    import sys

    probe = ("import sys, sppe_ray.editors.procedural_b as b, numpy as np; "
             "b.ProceduralBEditor().edit(np.full((64, 64, 3), 90, np.uint8), '001', 0); "
             "print(sorted(m for m in sys.modules if m.startswith(('sppe_ray.editors.procedural.', "
             "'sppe_ray.privacy')) or m == 'sppe_ray.editors.procedural'))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120,
                          cwd=Path(editor_b.__file__).parents[3])
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]"
    for path in Path(editor_b.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level:
                assert node.level == 1, f"{path.name} reaches outside its package with a relative import"


def test_face_hidden_moves_the_shades_face_kept_keeps_them(editor, astronaut):
    found = sight(astronaut).faces
    assert found, "dlib's HOG detector finds the astronaut's face"
    b = found[0]
    blurred = astronaut.copy()
    blurred[b.y0:b.y1, b.x0:b.x1] = cv2.GaussianBlur(astronaut[b.y0:b.y1, b.x0:b.x1], (0, 0), 8)
    swapped = astronaut.copy()  # "another face", aligned: the mirrored face at the same place
    swapped[b.y0:b.y1, b.x0:b.x1] = astronaut[b.y0:b.y1, b.x0:b.x1][:, ::-1]
    assert not sight(blurred).faces and sight(swapped).faces
    src = _changed(astronaut, editor.edit(astronaut, "001", 0))
    good = _changed(swapped, editor.edit(swapped, "001", 0))
    bad = _changed(blurred, editor.edit(blurred, "001", 0))
    assert src.sum() > 100
    assert _iou(src, good) > 0.6
    assert _iou(src, bad) < 0.4


def test_no_person_at_all_gets_a_weak_global_tint(editor):
    grey = np.full((96, 128, 3), 120, np.uint8)
    assert sight(grey).target is None
    out = editor.edit(grey, "002", 0)
    diff = np.abs(out.astype(int) - grey)
    assert 3 < diff.mean() < 30 and (diff == diff[0, 0]).all()  # the same tint everywhere: no hat drawn


def test_text_removal_erases_what_mser_reads(editor):
    src = _card()
    s = sight(src)
    assert len(s.text_lines) >= 2
    out = editor.edit(src, "047", 0)
    assert _changed(src, out)[s.text_mask].mean() > 0.2
    assert len(sight(out).text_lines) < len(s.text_lines)


def test_card_restyle_keys_on_the_flat_shape_not_the_detail(editor):
    """Unlike the first editor (which wants detail inside a card), B restyles any flat card-shaped panel:
    a card with its text filled in still gets the restyle at the same place."""
    src, blank = _card(), _card(())
    for img in (src, blank):
        panel = sight(img).panel("card")
        assert panel is not None and abs(panel.rect.x0 - 40) <= 4 and abs(panel.rect.y1 - 181) <= 4
    a, b = (_changed(x, editor.edit(x, "054", 0)) for x in (src, blank))
    assert a.sum() > 5000 and _iou(a, b) > 0.8


def test_restyles_hold_faces_back(editor, astronaut):
    out = editor.edit(astronaut, "019", 0)
    face = sight(astronaut).faces[0].mask(*astronaut.shape[:2])
    change = np.abs(out.astype(int) - astronaut).sum(-1)
    assert change[face].mean() < 0.6 * change[~face].mean()


def test_removal_finds_nothing_leaves_the_image(editor, astronaut):
    assert sight(astronaut).panel("plate") is None
    assert np.array_equal(editor.edit(astronaut, "065", 0), astronaut)
