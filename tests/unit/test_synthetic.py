"""Synthetic private scenes, fake values and text rendering."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from sppe_ray.errors import BackendUnavailableError, ImageError, UnknownCategoryError
from sppe_ray.privacy import fakes, textrender
from sppe_ray.privacy.photos import background_photos
from sppe_ray.privacy.synthetic import CATEGORIES, TEXT_CATEGORIES, codes, contact_sheet, render_scene
from sppe_ray.taxonomy import CATEGORIES as TAXONOMY

SIZE = 160


@pytest.fixture(scope="module")
def base() -> np.ndarray:
    return background_photos()[0][1]


def test_synthetic_covers_exactly_the_taxonomy():
    assert set(CATEGORIES) == set(TAXONOMY)
    assert len(CATEGORIES) == 36


@pytest.mark.parametrize("category", CATEGORIES)
def test_every_category_renders_with_an_exact_partial_mask(category, base):
    scene = render_scene(category, base, np.random.default_rng(3), size=SIZE)
    assert scene.image.shape == (SIZE, SIZE, 3) and scene.image.dtype == np.uint8
    region = scene.regions[0]
    assert region.category == category
    assert region.mask.shape == (SIZE, SIZE) and region.mask.dtype == bool
    assert 0.002 * SIZE * SIZE < region.area < 0.9 * SIZE * SIZE
    if category in TEXT_CATEGORIES:
        assert region.text and region.text.strip()
    for field in region.meta.get("fields", {}).values():
        x0, y0, x1, y1 = field["bbox"]
        assert 0 <= x0 <= x1 <= SIZE and 0 <= y0 <= y1 <= SIZE
        assert len(field["quad"]) == 4 and field["text"]


def test_document_fields_lie_inside_the_private_mask(base):
    scene = render_scene("a30_credit_card", base, np.random.default_rng(5), size=256)
    region = scene.regions[0]
    number = region.meta["fields"]["number"]
    assert fakes.luhn_valid(number["text"]) and number["text"] in region.text
    cx, cy = np.mean(number["quad"], axis=0)
    assert region.mask[int(cy), int(cx)]


def test_text_region_masks_only_the_value_not_the_carrier(base):
    scene = render_scene("a111_name_all", base, np.random.default_rng(1), size=256)
    value = scene.regions[0].meta["fields"]["value"]
    x0, y0, x1, y1 = value["bbox"]
    box_area = (x1 - x0) * (y1 - y0)
    assert scene.regions[0].area < 2.0 * box_area  # mask is the text box, not the whole label


def test_render_is_deterministic_and_seed_dependent(base):
    a = render_scene("a31_passport", base, np.random.default_rng(11))
    b = render_scene("a31_passport", base, np.random.default_rng(11))
    c = render_scene("a31_passport", base, np.random.default_rng(12))
    assert np.array_equal(a.image, b.image) and np.array_equal(a.regions[0].mask, b.regions[0].mask)
    assert a.regions[0].text == b.regions[0].text
    assert not np.array_equal(a.image, c.image)


def test_person_scenes_are_deterministic(base):
    a = render_scene("a109_person_body", base, np.random.default_rng(2), size=128)
    b = render_scene("a109_person_body", base, np.random.default_rng(2), size=128)
    assert np.array_equal(a.image, b.image) and a.source_group == b.source_group
    assert a.source_group.startswith("person-")


def test_bad_inputs_raise_typed_errors(base):
    rng = np.random.default_rng(0)
    with pytest.raises(UnknownCategoryError):
        render_scene("a999_nothing", base, rng)
    with pytest.raises(ImageError):
        render_scene("a30_credit_card", base.astype(np.float32), rng)
    with pytest.raises(ImageError):
        render_scene("a30_credit_card", base[..., 0], rng)
    with pytest.raises(ValueError):
        render_scene("a30_credit_card", base, rng, size=8)


def test_qr_code_decodes_to_the_region_text():
    canvas = codes.qr_code(np.random.default_rng(4))
    payload = canvas.fields[0].text
    bgr = cv2.cvtColor(canvas.rgb, cv2.COLOR_RGB2BGR)
    decoded, _, _ = cv2.QRCodeDetector().detectAndDecode(bgr)
    assert decoded == payload


def test_ean13_check_digit_and_module_count():
    assert codes.ean13_check_digit("400638133393") == "1"  # 4006381333931 is a published valid EAN
    modules = codes.ean13_modules("4006381333931")
    assert len(modules) == 95 and modules.startswith("101") and modules.endswith("101")
    with pytest.raises(ValueError):
        codes.ean13_modules("123")


def test_contact_sheet_grid(base):
    scenes = [render_scene(c, base, np.random.default_rng(i), size=96) for i, c in enumerate(CATEGORIES[:5])]
    sheet = contact_sheet(scenes, tile=64, columns=3)
    assert sheet.shape == (2 * 64, 3 * 2 * 64, 3)


# --- fakes -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", fakes.TEXT_KINDS)
def test_fake_text_kinds_are_nonempty_and_deterministic(kind):
    a = fakes.fake_text(kind, np.random.default_rng(7))
    assert a.strip() and a == fakes.fake_text(kind, np.random.default_rng(7))


def test_card_numbers_are_luhn_valid_and_grouped():
    rng = np.random.default_rng(0)
    for _ in range(50):
        number = fakes.fake_text("card_number", rng)
        assert fakes.luhn_valid(number)
        assert [len(g) for g in number.split(" ")] == [4, 4, 4, 4]


def test_luhn_known_values():
    assert fakes.luhn_valid("79927398713") and not fakes.luhn_valid("79927398710")
    assert not fakes.luhn_valid("4111-1111-1111-111x")


def test_fake_like_keeps_format_and_differs():
    rng = np.random.default_rng(1)
    for text in ("John Smith", "12/03/1987", "AB-1234", "x", "7", "john.doe@mail.com", "4111 1111 1111 1111"):
        out = fakes.fake_like(text, rng)
        assert out != text and len(out) == len(text)
        for a, b in zip(text, out, strict=True):
            assert a.isdigit() == b.isdigit() and a.isalpha() == b.isalpha()
            assert a.isupper() == b.isupper()
            if not a.isalnum():
                assert a == b
    assert fakes.luhn_valid(fakes.fake_like("4111 1111 1111 1111", rng))
    with pytest.raises(ValueError):
        fakes.fake_like("--- ", rng)


def test_fake_errors():
    with pytest.raises(ValueError):
        fakes.fake_text("shoe_size", np.random.default_rng(0))
    with pytest.raises(UnknownCategoryError):
        fakes.text_kind_for_category("a0_unknown")
    assert fakes.text_kind_for_category("a30_credit_card") == "card_number"
    assert {fakes.text_kind_for_category(c) for c in TAXONOMY} <= set(fakes.TEXT_KINDS)


# --- text rendering ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("angle", [0.0, 20.0])
def test_draw_text_fit_stays_in_box_and_reports_changes(angle):
    img = np.full((80, 200, 3), 240, np.uint8)
    before = img.copy()
    mask = textrender.draw_text_fit(img, (20, 10, 180, 70), "JANE DOE", (10, 10, 10), angle=angle)
    ys, xs = np.nonzero(mask)
    assert len(xs) > 50
    assert xs.min() >= 20 and xs.max() < 180 and ys.min() >= 10 and ys.max() < 70
    changed = np.any(img != before, axis=2)
    assert not np.any(changed & ~mask)
    assert textrender.text_mask_size("JANE DOE", 20)[0] < textrender.text_mask_size("JANE DOE", 40)[0]


def test_draw_text_fit_bad_inputs():
    with pytest.raises(ImageError):
        textrender.draw_text_fit(np.zeros((10, 10), np.uint8), (0, 0, 5, 5), "a")
    with pytest.raises(ValueError):
        textrender.draw_text_fit(np.zeros((10, 10, 3), np.uint8), (5, 5, 5, 9), "a")


def test_missing_fonts_raise_backend_unavailable(monkeypatch, tmp_path):
    monkeypatch.setattr(textrender, "_FONT_DIRS", ())
    monkeypatch.setenv("SPPE_FONT_DIR", str(tmp_path))
    textrender.font_path.cache_clear()
    try:
        with pytest.raises(BackendUnavailableError, match="SPPE_FONT_DIR"):
            textrender.font_path(bold=True)
    finally:
        textrender.font_path.cache_clear()
