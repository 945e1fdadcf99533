"""Private text in the wild: a value on a label, tag, plaque, sticky note or camera date stamp, and a
licence plate on the back of a car. Only the value (or the plate) is private, not its carrier."""

from __future__ import annotations

import cv2
import numpy as np

from sppe_ray.privacy.fakes import fake_text, text_kind_for_category
from sppe_ray.privacy.synthetic.canvas import Canvas, random_color

_HEADERS: dict[str, tuple[str, ...]] = {
    "a106_address_current_all": ("SHIP TO:", "Current address", "Deliver to:", "Address"),
    "a107_address_home_all": ("HOME", "Home address", "Residence", "Return to:"),
    "a111_name_all": ("NAME", "Name:", "Reserved for", "Owner"),
    "a24_birth_date": ("Date of birth", "DOB", "Born", "Birthday"),
    "a82_date_time": ("", "Date:", "Printed", "Last visit"),
    "a85_username": ("", "Follow me", "Login", "User"),
    "a90_email": ("Email", "Contact", "E-mail:", ""),
    "a303_house_number": ("",),
    "a307_phone_number": ("Call", "Phone", "Tel.", "Mobile"),
}


def text_value(category: str, rng: np.random.Generator) -> tuple[str, str]:
    kind = text_kind_for_category(category)
    value = fake_text(kind, rng)
    if kind == "username" and rng.random() < 0.6:
        value = "@" + value
    return kind, value


def _label(category: str, kind: str, value: str, rng: np.random.Generator) -> Canvas:
    lines = value.count("\n") + 1
    w, h = 300, 70 + 34 * lines
    style = int(rng.integers(0, 4))
    if style == 0:  # printed sticker / paper label
        cv = Canvas(w, h, random_color(rng, 225, 256), family="label")
        ink, bold, oblique = (20, 20, 30), bool(rng.random() < 0.5), False
    elif style == 1:  # dark plaque
        cv = Canvas(w, h, random_color(rng, 10, 70), family="plaque")
        cv.round_corners(10)
        ink, bold, oblique = ((235, 235, 235) if rng.random() < 0.6 else (212, 180, 90)), True, False
    elif style == 2:  # sticky note, handwritten-looking
        cv = Canvas(w, h, ((250, 236, 120), (255, 190, 200), (180, 230, 250))[int(rng.integers(0, 3))],
                    family="sticky_note")
        ink, bold, oblique = (30, 40, 120), False, True
    else:  # badge with a coloured header band
        cv = Canvas(w, h, (252, 252, 252), family="badge")
        cv.round_corners(12)
        cv.rect((0, 0, w, 40), random_color(rng, 120, 230) if rng.random() < 0.5 else (200, 30, 40))
        ink, bold, oblique = (15, 15, 15), True, bool(rng.random() < 0.5)
    header = str(rng.choice(_HEADERS[category]))
    if category == "a111_name_all" and style == 3:
        header = "HELLO my name is"
    top = 8
    if header:
        hc = (255, 255, 255) if style in (1, 3) else (90, 90, 100)
        cv.text((12, 6, w - 12, 34), header, hc, bold=True, align="center" if style == 3 else "left")
        top = 44
    cv.text((14, top, w - 14, h - 8), value, ink, name="value", kind=kind, private=True, bold=bold,
            oblique=oblique, align="center" if style in (1, 3) else "left")
    return cv


def _house_plaque(value: str, rng: np.random.Generator) -> Canvas:
    w = 70 + 50 * len(value)
    cv = Canvas(w, 140, random_color(rng, 10, 90) if rng.random() < 0.6 else (235, 235, 230), family="plaque")
    cv.round_corners(int(rng.integers(0, 30)))
    light = sum(cv.bg) > 400
    ink = (20, 20, 20) if light else (240, 240, 240)
    cv.rect((6, 6, w - 6, 134), ink, thickness=2)
    cv.text((18, 14, w - 18, 126), value, ink, name="value", kind="house_number", private=True, bold=True,
            align="center")
    return cv


def _date_stamp(value: str, rng: np.random.Generator) -> Canvas:
    """Camera-style date imprint: only glyphs are pasted (alpha = the glyph coverage)."""
    cv = Canvas(320, 44, (0, 0, 0), family="date_stamp")
    cv.text((0, 0, 320, 44), value, (255, 255, 255), name="value", kind="datetime", private=True, mono=True,
            bold=True)
    coverage = cv.rgb[..., 0].astype(np.float32) / 255.0
    cv.alpha = cv2.GaussianBlur(coverage, (0, 0), 0.6)
    cv.rgb[:] = (255, 150, 40) if rng.random() < 0.7 else (250, 220, 80)
    return cv


def text_sign(category: str, rng: np.random.Generator) -> tuple[Canvas, dict]:
    """Canvas for a text category plus placement hints (scale range, tilt) for compose.place."""
    kind, value = text_value(category, rng)
    if category == "a303_house_number":
        return _house_plaque(value, rng), {"scale": (0.25, 0.5), "tilt": 8}
    if category == "a82_date_time" and rng.random() < 0.4:
        return _date_stamp(value, rng), {"scale": (0.4, 0.6), "tilt": 0, "persp": 0.0,
                                         "center": (0.72, 0.9), "blur": 0.3}
    return _label(category, kind, value, rng), {"scale": (0.45, 0.8), "tilt": 15}


def license_plate(rng: np.random.Generator) -> Canvas:
    w, h = 340, 220
    cv = Canvas(w, h, random_color(rng, 20, 230), family="car_rear")
    cv.alpha[:] = 0.0
    body = np.array([[20, 40], [320, 40], [338, 120], [338, 205], [2, 205], [2, 120]], np.int32)
    cv2.fillPoly(cv.alpha, [body], 1.0)
    cv2.fillPoly(cv.alpha, [np.array([[60, 2], [280, 2], [316, 60], [24, 60]], np.int32)], 1.0)
    cv2.fillPoly(cv.rgb, [np.array([[66, 8], [274, 8], [304, 56], [36, 56]], np.int32)], (40, 50, 60))
    for x0 in (12, 268):
        cv.rect((x0, 78, x0 + 60, 104), (200, 20, 30), radius=4)
    cv.rect((2, 170, 338, 205), (30, 30, 32))
    value = fake_text("plate", rng)
    yellow = rng.random() < 0.3
    px0, py0, px1, py1 = 100, 112, 240, 162
    cv.rect((px0, py0, px1, py1), (245, 205, 40) if yellow else (248, 248, 248), radius=4)
    cv.rect((px0 + 2, py0 + 2, px1 - 2, py1 - 2), (20, 20, 20), thickness=1)
    state = str(rng.choice(["CALIFORNIA", "TEXAS", "OHIO", "NEW YORK", "OREGON", "ARIZONA"]))
    cv.text((px0 + 10, py0 + 3, px1 - 10, py0 + 12), state, (160, 20, 30), bold=True, align="center")
    cv.text((px0 + 6, py0 + 13, px1 - 6, py1 - 5), value, (15, 15, 60), name="plate", kind="plate",
            private=False, bold=True, align="center")
    cv.private[py0:py1, px0:px1] = 1.0
    return cv
