"""ID-1 sized cards: credit card, national ID (Ausweis), driver's licence, student ID, work badge.

Layouts follow the real objects loosely (chip and embossed number on a payment card, photo on the left
of an ID) so detectors and editors meet the structure they would meet in photos. The whole card is
private; every printed value is a Field so document_fake can replace it in place.
"""

from __future__ import annotations

import numpy as np

from sppe_ray.privacy.fakes import card_brand, card_number, fake_text
from sppe_ray.privacy.synthetic.canvas import Canvas, draw_portrait, random_color

W, H = 340, 214  # ID-1 aspect ratio 85.6 x 54 mm

_CARD_COLOURS = (
    ((12, 44, 110), (40, 110, 200)), ((20, 20, 24), (80, 80, 90)), ((150, 20, 40), (230, 90, 60)),
    ((10, 90, 70), (60, 170, 120)), ((190, 160, 60), (240, 220, 140)), ((90, 30, 120), (170, 90, 210)),
)


def _expiry(rng: np.random.Generator) -> str:
    return f"{int(rng.integers(1, 13)):02d}/{int(rng.integers(25, 33))}"


def credit_card(rng: np.random.Generator) -> Canvas:
    c0, c1 = _CARD_COLOURS[int(rng.integers(0, len(_CARD_COLOURS)))]
    cv = Canvas(W, H, c0, family="credit_card")
    cv.gradient(c0, c1, vertical=bool(rng.random() < 0.3))
    cv.round_corners(14)
    light = sum(c0) > 400
    ink = (25, 25, 25) if light else (240, 240, 240)
    bank = str(rng.choice(["First National", "Union Bank", "Metro Credit", "Apex Bank", "Citizen Trust"]))
    cv.text((22, 14, 200, 40), bank.upper(), ink, bold=True, name="bank", kind="generic")
    cv.rect((30, 70, 78, 106), (212, 180, 90), radius=6)  # EMV chip
    for y in (80, 88, 96):
        cv.rect((30, y, 78, y + 1), (150, 120, 50))
    number = card_number(rng)
    cv.text((24, 118, 318, 150), number, ink, name="number", kind="card_number", private=True, mono=True,
            bold=True)
    cv.text((150, 154, 190, 164), "VALID\nTHRU", ink, max_size=6)
    cv.text((194, 152, 260, 170), _expiry(rng), ink, name="expiry", kind="date", private=True, mono=True)
    holder = fake_text("name", rng).upper()
    cv.text((24, 176, 250, 198), holder, ink, name="holder", kind="name", private=True, mono=True)
    cv.text((250, 170, 326, 200), card_brand(number), ink, bold=True, align="center")
    cv.mark_all_private()
    return cv


def _id_layout(cv: Canvas, rng: np.random.Generator, title: str, rows: list[tuple[str, str, str]],
               header: tuple[int, int, int]) -> None:
    cv.rect((0, 0, W, 38), header)
    cv.text((14, 6, W - 14, 32), title, (255, 255, 255), bold=True, align="center")
    draw_portrait(cv.rgb, (16, 50, 108, 168), rng)
    y = 50
    step = min(30, 150 // max(1, len(rows)))
    for label, kind, value in rows:
        cv.text((120, y, 320, y + 9), label.upper(), (90, 90, 100), max_size=8)
        cv.text((120, y + 9, 326, y + step - 2), value, (15, 15, 30), name=label.lower().replace(" ", "_"),
                kind=kind, private=True, bold=True, max_size=16)
        y += step
    cv.mark_all_private()


def id_card(rng: np.random.Generator) -> Canvas:
    cv = Canvas(W, H, (226, 232, 222), family="id_card")
    cv.gradient((232, 236, 226), (214, 226, 236))
    cv.round_corners(12)
    name = fake_text("name", rng)
    rows = [("Surname", "name", name.split()[-1].upper()), ("Given names", "name", name.split()[0].upper()),
            ("Date of birth", "birth_date", fake_text("birth_date", rng)),
            ("Document no", "generic", fake_text("plate", rng).replace(" ", "").replace("-", ""))]
    _id_layout(cv, rng, str(rng.choice(["IDENTITY CARD", "PERSONALAUSWEIS", "NATIONAL ID CARD"])), rows,
               (40, 70, 120))
    return cv


def drivers_license(rng: np.random.Generator) -> Canvas:
    cv = Canvas(W, H, (236, 230, 240), family="drivers_license")
    cv.gradient((240, 236, 246), (222, 214, 236))
    cv.round_corners(12)
    state = str(rng.choice(["CALIFORNIA", "TEXAS", "OHIO", "NEW YORK", "OREGON", "FLORIDA"]))
    rows = [("DL", "generic", fake_text("plate", rng).replace(" ", "")), ("Name", "name", fake_text("name", rng)),
            ("Address", "address", fake_text("address", rng).split("\n")[0]),
            ("DOB", "birth_date", fake_text("birth_date", rng)), ("EXP", "date", fake_text("date", rng))]
    _id_layout(cv, rng, f"{state}  DRIVER LICENSE", rows, (150, 30, 40))
    return cv


def student_id(rng: np.random.Generator) -> Canvas:
    cv = Canvas(W, H, (255, 255, 255), family="student_id")
    cv.round_corners(12)
    uni = str(rng.choice(["STATE UNIVERSITY", "CITY COLLEGE", "INSTITUTE OF TECHNOLOGY", "RIVERSIDE UNIVERSITY"]))
    rows = [("Student", "name", fake_text("name", rng)),
            ("Student ID", "generic", "".join(str(d) for d in rng.integers(0, 10, 8))),
            ("Valid until", "date", fake_text("date", rng))]
    _id_layout(cv, rng, uni, rows, random_color(rng, 20, 140))
    cv.rect((120, 176, 326, 200), (30, 30, 30))  # magnetic-strip-like bar
    return cv


def work_badge(rng: np.random.Generator) -> Canvas:
    bw, bh = 214, 320
    cv = Canvas(bw, bh, (250, 250, 250), family="work_badge")
    cv.round_corners(14)
    brand = random_color(rng, 20, 170)
    cv.rect((0, 0, bw, 70), brand)
    cv.rect((87, 12, 127, 20), (235, 235, 235), radius=4)  # lanyard slot
    company = fake_text("generic", rng).split()[0].upper() + " " + str(rng.choice(["CORP", "LABS", "INC", "GMBH"]))
    cv.text((12, 28, bw - 12, 62), company, (255, 255, 255), bold=True, align="center")
    draw_portrait(cv.rgb, (52, 84, 162, 204), rng)
    cv.text((12, 214, bw - 12, 244), fake_text("name", rng), (20, 20, 20), name="name", kind="name",
            private=True, bold=True, align="center")
    role = str(rng.choice(["Engineer", "Visitor", "Nurse", "Security", "Manager", "Contractor"]))
    cv.text((12, 248, bw - 12, 268), role, (80, 80, 80), align="center", max_size=16)
    cv.text((12, 278, bw - 12, 300), "ID " + "".join(str(d) for d in rng.integers(0, 10, 6)), brand,
            name="employee_id", kind="generic", private=True, mono=True, align="center")
    cv.mark_all_private()
    return cv
