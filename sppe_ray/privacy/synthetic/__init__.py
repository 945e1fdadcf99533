"""Synthetic private scenes for all 36 categories, with exact masks and ground-truth text.

`render_scene(category, base_photo, rng)` draws one piece of private content with fake values, warps it
into (a crop of) a real photo, and returns a Scene whose first Region is the exact private mask. Document
regions carry `meta["fields"]`: per printed value its kind, text and quadrilateral in image coordinates,
so a surrogate can replace the values in place.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import cv2
import numpy as np

from sppe_ray.errors import ImageError, UnknownCategoryError
from sppe_ray.privacy.region import Region, Scene
from sppe_ray.privacy.synthetic import cards, codes, documents, marks, scenes, screens, text
from sppe_ray.privacy.synthetic.canvas import Canvas
from sppe_ray.privacy.synthetic.compose import Placement, add_noise, place, prepare_background
from sppe_ray.privacy.synthetic.people import face_scene, person_scene

Builder = Callable[[np.random.Generator], Canvas]

# category -> (canvas builder, placement hints for compose.place)
_CANVAS: dict[str, tuple[Builder, dict]] = {
    "a29_ausweis": (cards.id_card, {}),
    "a30_credit_card": (cards.credit_card, {}),
    "a32_drivers_license": (cards.drivers_license, {}),
    "a33_student_id": (cards.student_id, {}),
    "a305_work_badge": (cards.work_badge, {"scale": (0.5, 0.8)}),
    "a31_passport": (documents.passport, {"scale": (0.6, 0.9)}),
    "a35_mail": (documents.mail, {"scale": (0.6, 0.9)}),
    "a37_receipt": (documents.receipt, {"scale": (0.6, 0.9), "tilt": 8}),
    "a38_ticket": (documents.ticket, {"scale": (0.6, 0.9)}),
    "a43_medicine": (documents.medicine, {"scale": (0.6, 0.9)}),
    "a70_education_history": (documents.education, {"scale": (0.65, 0.92), "tilt": 6}),
    "a306_bank_statement": (documents.bank_statement, {"scale": (0.7, 0.95), "tilt": 6}),
    "a49_phone": (screens.phone, {"scale": (0.55, 0.9), "tilt": 15}),
    "a308_laptop_screen": (screens.laptop, {"scale": (0.7, 0.95), "tilt": 4, "persp": 0.04}),
    "a108_license_plate_all": (text.license_plate, {"scale": (0.6, 0.92), "tilt": 5, "persp": 0.04}),
    "a26_handwriting": (marks.handwriting, {"scale": (0.6, 0.9)}),
    "a8_signature": (marks.signature, {"scale": (0.55, 0.85)}),
    "a7_fingerprint": (marks.fingerprint, {"scale": (0.45, 0.75), "tilt": 25}),
    "a304_tattoo": (marks.tattoo, {"scale": (0.6, 0.9), "tilt": 30}),
    "a301_qr_code": (codes.qr_code, {"scale": (0.4, 0.7)}),
    "a302_barcode": (codes.barcode, {"scale": (0.45, 0.75)}),
    "a73_landmark": (scenes.landmark, {"scale": (0.55, 0.9), "tilt": 2, "persp": 0.02}),
    "a110_nudity_all": (lambda rng: scenes.body_canvas(rng, "nudity"), {"scale": (0.6, 0.9), "tilt": 6}),
    "a18_ethnic_clothing": (lambda rng: scenes.body_canvas(rng, "clothing"), {"scale": (0.6, 0.9), "tilt": 6}),
    "a39_disability_physical": (lambda rng: scenes.body_canvas(rng, "disability"),
                                {"scale": (0.6, 0.9), "tilt": 4}),
}
_TEXT_SIGNS = ("a106_address_current_all", "a107_address_home_all", "a111_name_all", "a24_birth_date",
               "a82_date_time", "a85_username", "a90_email", "a303_house_number", "a307_phone_number")
_PEOPLE = {"a105_face_all": face_scene, "a109_person_body": person_scene}

CATEGORIES: tuple[str, ...] = tuple(sorted(set(_CANVAS) | set(_TEXT_SIGNS) | set(_PEOPLE)))
# Categories whose content is legible text, so Region.text is always set for them.
TEXT_CATEGORIES: frozenset[str] = frozenset(set(_TEXT_SIGNS) | {
    "a29_ausweis", "a30_credit_card", "a31_passport", "a32_drivers_license", "a33_student_id", "a35_mail",
    "a37_receipt", "a38_ticket", "a43_medicine", "a49_phone", "a70_education_history", "a305_work_badge",
    "a306_bank_statement", "a308_laptop_screen", "a108_license_plate_all", "a26_handwriting", "a301_qr_code",
    "a302_barcode",
})


def _check_inputs(category: str, base_photo: np.ndarray, size: int) -> None:
    if category not in CATEGORIES:
        raise UnknownCategoryError(f"unknown privacy category {category!r}; expected one of the 36 ids")
    if (not isinstance(base_photo, np.ndarray) or base_photo.dtype != np.uint8 or base_photo.ndim != 3
            or base_photo.shape[2] != 3 or min(base_photo.shape[:2]) < 16):
        raise ImageError(f"base photo must be RGB uint8 (H, W, 3) with sides >= 16, got "
                         f"{getattr(base_photo, 'shape', None)} {getattr(base_photo, 'dtype', None)}")
    if not 64 <= int(size) <= 2048:
        raise ValueError(f"size must be within 64..2048, got {size}")


def _photo_group(img: np.ndarray) -> str:
    small = cv2.resize(img, (32, 32), interpolation=cv2.INTER_AREA)
    return "photo-" + hashlib.sha1(small.tobytes()).hexdigest()[:12]


def render_scene(
    category: str,
    base_photo: np.ndarray,
    rng: np.random.Generator,
    size: int = 256,
    source_group: str = "",
    origin: str = "",
) -> Scene:
    """One synthetic private scene of `category` on a crop of `base_photo`, size x size.

    Same category, photo and generator state give identical pixels. `source_group` defaults to a hash
    of the base photo (or the person photo's name for faces and bodies) so variants share a split.
    """
    _check_inputs(category, base_photo, size)
    text_value: str | None = None
    family = category
    if category in _PEOPLE:
        placement, group = _PEOPLE[category](base_photo, rng, size)
        group = f"person-{group}"
    else:
        if category in _TEXT_SIGNS:
            canvas, hints = text.text_sign(category, rng)
        else:
            builder, hints = _CANVAS[category]
            canvas = builder(rng)
        placement = place(prepare_background(base_photo, rng, size), canvas, rng, **hints)
        group = _photo_group(base_photo)
        family = canvas.family
        text_value = canvas.private_text() or None
    image = add_noise(placement.image, rng)
    meta = _meta(placement, family)
    region = Region(category=category, mask=placement.mask, detector="given", text=text_value, meta=meta)
    return Scene(image=image, regions=[region], source_group=source_group or group,
                 origin=origin or f"synthetic:{category}")


def _meta(placement: Placement, family: str) -> dict:
    meta: dict = {"family": family, "homography": np.asarray(placement.homography).round(6).tolist()}
    if placement.fields:
        meta["fields"] = placement.fields
    return meta


def contact_sheet(scenes: list[Scene], tile: int = 192, columns: int = 6) -> np.ndarray:
    """A grid of the scenes with their masks tinted red and outlined, captioned by category, for eyeballing."""
    tiles = []
    for scene in scenes:
        img = cv2.resize(scene.image, (tile, tile), interpolation=cv2.INTER_AREA)
        mask = cv2.resize(scene.union_mask().astype(np.uint8), (tile, tile), interpolation=cv2.INTER_NEAREST)
        over = img.copy()
        over[mask > 0] = (over[mask > 0] * 0.65 + np.array([255, 0, 0]) * 0.35).astype(np.uint8)
        contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        cv2.drawContours(over, contours, -1, (255, 40, 40), 1)
        label = scene.regions[0].category if scene.regions else "-"
        cv2.rectangle(over, (0, 0), (tile, 13), (0, 0, 0), -1)
        cv2.putText(over, label[:30], (2, 10), cv2.FONT_HERSHEY_SIMPLEX, 0.35, (255, 255, 255), 1, cv2.LINE_AA)
        tiles.append(np.hstack([img, over]))
    if not tiles:
        return np.zeros((tile, 2 * tile, 3), np.uint8)
    while len(tiles) % columns:
        tiles.append(np.zeros_like(tiles[0]))
    rows = [np.hstack(tiles[i:i + columns]) for i in range(0, len(tiles), columns)]
    return np.vstack(rows)


__all__ = ["CATEGORIES", "TEXT_CATEGORIES", "contact_sheet", "render_scene"]
