"""Paper documents: passport data page, mail envelope, receipt, ticket, medicine label, diploma,
bank statement. The whole document is private; each printed value is a Field."""

from __future__ import annotations

import cv2
import numpy as np

from sppe_ray.privacy.fakes import fake_text
from sppe_ray.privacy.synthetic.canvas import Canvas, draw_portrait, random_color
from sppe_ray.privacy.synthetic.codes import draw_barcode, ean13_modules, random_ean13

_DRUGS = ("Amoxicillin 500 mg", "Lisinopril 10 mg", "Metformin 850 mg", "Atorvastatin 20 mg",
          "Sertraline 50 mg", "Levothyroxine 75 mcg", "Omeprazole 20 mg", "Ibuprofen 600 mg")
_ITEMS = ("Milk 1L", "Bread", "Eggs 12", "Coffee", "Apples", "Cheese", "Pasta", "Tomatoes", "Butter", "Rice 2kg",
          "Yogurt", "Chicken", "Water 6x", "Bananas", "Chocolate")


def _mrz_name(name: str) -> str:
    parts = [p.upper() for p in name.replace(".", "").split() if p.isalpha()]
    if not parts:
        return "DOE<<JANE"
    return f"{parts[-1]}<<{'<'.join(parts[:-1])}"


def passport(rng: np.random.Generator) -> Canvas:
    cv = Canvas(330, 230, (228, 222, 236), family="passport")
    cv.gradient((232, 226, 240), (214, 228, 232), vertical=True)
    cv.text((14, 6, 316, 24), "PASSPORT  /  PASSEPORT", (60, 40, 90), bold=True)
    draw_portrait(cv.rgb, (14, 30, 100, 140), rng)
    name = fake_text("name", rng)
    number = "".join(str(d) for d in rng.integers(0, 10, 9))
    rows = [("Surname", "name", name.split()[-1].upper()), ("Given names", "name", name.split()[0].upper()),
            ("Nationality", "generic", "UNITED STATES OF AMERICA"),
            ("Date of birth", "birth_date", fake_text("birth_date", rng)), ("Passport no", "generic", number)]
    y = 28
    for label, kind, value in rows:
        cv.text((112, y, 320, y + 8), label, (100, 90, 110), max_size=8)
        cv.text((112, y + 8, 322, y + 22), value, (20, 20, 40), name=label.lower().replace(" ", "_"), kind=kind,
                private=True, bold=True, max_size=13)
        y += 23
    line1 = f"P<USA{_mrz_name(name)}".ljust(44, "<")[:44]
    line2 = f"{number}<0USA{int(rng.integers(400101, 991231))}0M{int(rng.integers(250101, 351231))}3".ljust(44, "<")
    cv.text((8, 170, 322, 196), line1, (10, 10, 10), mono=True, name="mrz1", kind="generic", private=True)
    cv.text((8, 198, 322, 224), line2[:44], (10, 10, 10), mono=True, name="mrz2", kind="generic", private=True)
    cv.mark_all_private()
    return cv


def mail(rng: np.random.Generator) -> Canvas:
    bg = (246, 244, 238) if rng.random() < 0.6 else (214, 190, 150)
    cv = Canvas(340, 200, bg, family="mail")
    cv.text((12, 10, 150, 24), fake_text("name", rng), (60, 60, 60), name="sender", kind="name", private=True)
    cv.text((12, 26, 170, 52), fake_text("address", rng), (60, 60, 60), name="sender_address", kind="address",
            private=True)
    cv.rect((274, 10, 326, 70), (250, 250, 250))
    cv.rect((278, 14, 322, 66), random_color(rng, 60, 220))
    cv.text((280, 50, 320, 64), f"{int(rng.integers(40, 90))}c", (255, 255, 255), bold=True, align="center")
    cx = int(rng.integers(236, 262))
    for r in (18, 24):
        cv2.circle(cv.rgb, (cx, 42), r, (70, 70, 90), 1, cv2.LINE_AA)
    cv.text((100, 92, 320, 116), fake_text("name", rng), (20, 20, 20), name="recipient", kind="name",
            private=True, max_size=18)
    cv.text((100, 118, 320, 166), fake_text("address", rng), (20, 20, 20), name="recipient_address",
            kind="address", private=True, max_size=17)
    cv.mark_all_private()
    return cv


def receipt(rng: np.random.Generator) -> Canvas:
    n_items = int(rng.integers(4, 8))
    h = 150 + 18 * n_items
    cv = Canvas(180, h, (250, 249, 244), family="receipt")
    shop = str(rng.choice(["FRESH MART", "CITY MARKET", "CORNER SHOP", "GREEN GROCER", "SAVE MORE"]))
    cv.text((10, 8, 170, 30), shop, (10, 10, 10), bold=True, align="center", mono=True)
    cv.text((10, 32, 170, 46), fake_text("address", rng).split("\n")[0], (40, 40, 40), align="center",
            mono=True, name="store_address", kind="address", private=True)
    cv.text((10, 48, 170, 60), fake_text("datetime", rng), (40, 40, 40), mono=True, align="center",
            name="datetime", kind="datetime", private=True)
    y, total = 68, 0.0
    items = rng.choice(list(_ITEMS), n_items, replace=False)
    for item in items:
        price = float(rng.integers(49, 1599)) / 100
        total += price
        cv.text((10, y, 120, y + 14), str(item), (30, 30, 30), mono=True, max_size=11)
        cv.text((124, y, 170, y + 14), f"{price:6.2f}", (30, 30, 30), mono=True, max_size=11)
        y += 18
    cv.rect((10, y + 2, 170, y + 3), (60, 60, 60))
    cv.text((10, y + 8, 170, y + 24), f"TOTAL  {total:7.2f}", (0, 0, 0), bold=True, mono=True,
            name="total", kind="generic", private=True)
    last4 = "".join(str(d) for d in rng.integers(0, 10, 4))
    cv.text((10, y + 28, 170, y + 40), f"CARD **** {last4}", (30, 30, 30), mono=True, name="card",
            kind="generic", private=True)
    cv.text((10, y + 44, 170, y + 56), "THANK YOU!", (30, 30, 30), mono=True, align="center")
    cv.mark_all_private()
    return cv


def ticket(rng: np.random.Generator) -> Canvas:
    c = random_color(rng, 30, 200)
    cv = Canvas(340, 140, (250, 248, 240), family="ticket")
    cv.rect((0, 0, 250, 140), c)
    cv.round_corners(8)
    event = str(rng.choice(["SUMMER FESTIVAL", "CITY FC vs UNITED", "ROCK NIGHT", "OPERA GALA", "EXPRESS TRAIN"]))
    white = (255, 255, 255)
    cv.text((12, 8, 240, 38), event, white, bold=True)
    cv.text((12, 44, 240, 62), fake_text("datetime", rng), white, name="datetime", kind="datetime", private=True)
    seat = f"ROW {int(rng.integers(1, 40))}  SEAT {int(rng.integers(1, 60))}"
    cv.text((12, 68, 240, 88), seat, white, bold=True, name="seat", kind="generic", private=True)
    cv.text((12, 96, 240, 116), fake_text("name", rng).upper(), white, name="holder", kind="name", private=True)
    draw_barcode(cv.rgb, (262, 12, 330, 100), ean13_modules(random_ean13(rng)))
    number = "".join(str(d) for d in rng.integers(0, 10, 10))
    cv.text((258, 106, 334, 126), number, (20, 20, 20), mono=True, align="center", name="ticket_no",
            kind="generic", private=True)
    cv.mark_all_private()
    return cv


def medicine(rng: np.random.Generator) -> Canvas:
    cv = Canvas(300, 170, (255, 255, 255), family="medicine")
    cv.rect((0, 0, 300, 30), random_color(rng, 20, 140))
    pharmacy = str(rng.choice(["CVS PHARMACY", "CITY PHARMACY", "WELLCARE RX", "MEDPLUS"]))
    cv.text((10, 4, 290, 26), pharmacy, (255, 255, 255), bold=True)
    cv.text((10, 36, 200, 50), f"Rx# {int(rng.integers(1000000, 9999999))}", (30, 30, 30), mono=True,
            name="rx", kind="generic", private=True)
    cv.text((200, 36, 290, 50), fake_text("date", rng), (30, 30, 30), name="date", kind="date", private=True)
    cv.text((10, 54, 290, 78), fake_text("name", rng).upper(), (0, 0, 0), bold=True, name="patient",
            kind="name", private=True)
    cv.text((10, 84, 290, 104), str(rng.choice(_DRUGS)), (0, 0, 0), bold=True, name="drug", kind="generic",
            private=True)
    dose = str(rng.choice(["Take 1 tablet by mouth twice daily", "Take 1 capsule every 8 hours",
                           "Take 2 tablets at bedtime", "Take 1 tablet daily with food"]))
    cv.text((10, 110, 290, 126), dose, (30, 30, 30), name="dose", kind="generic", private=True)
    cv.text((10, 134, 290, 148), f"Dr. {fake_text('name', rng)}", (60, 60, 60), name="doctor", kind="name",
            private=True)
    cv.text((10, 150, 290, 164), f"Qty {int(rng.integers(10, 90))}   Refills {int(rng.integers(0, 5))}",
            (60, 60, 60))
    cv.mark_all_private()
    return cv


def education(rng: np.random.Generator) -> Canvas:
    cv = Canvas(340, 240, (250, 246, 232), family="education")
    border = random_color(rng, 60, 160)
    cv.rect((6, 6, 334, 234), border, thickness=3)
    cv.rect((12, 12, 328, 228), border, thickness=1)
    uni = f"University of {fake_text('address', rng).split(chr(10))[1].split(',')[0]}"
    cv.text((24, 22, 316, 52), uni, (40, 30, 20), bold=True, align="center", name="school", kind="generic",
            private=True)
    cv.text((24, 60, 316, 76), "This is to certify that", (70, 60, 50), align="center", oblique=True)
    cv.text((24, 82, 316, 116), fake_text("name", rng), (10, 10, 40), bold=True, align="center",
            name="name", kind="name", private=True)
    degree = str(rng.choice(["Bachelor of Science in Biology", "Master of Arts in History",
                             "Bachelor of Engineering", "Doctor of Philosophy in Physics"]))
    cv.text((24, 124, 316, 140), "has been awarded the degree of", (70, 60, 50), align="center", oblique=True)
    cv.text((24, 146, 316, 170), degree, (30, 20, 20), bold=True, align="center", name="degree",
            kind="generic", private=True)
    cv.text((24, 186, 150, 204), fake_text("date", rng), (40, 40, 40), align="center", name="date",
            kind="date", private=True)
    cv.rect((190, 204, 310, 205), (60, 60, 60))
    cv.mark_all_private()
    return cv


def bank_statement(rng: np.random.Generator) -> Canvas:
    cv = Canvas(240, 320, (255, 255, 255), family="bank_statement")
    brand = random_color(rng, 10, 120)
    cv.rect((0, 0, 240, 34), brand)
    cv.text((10, 6, 230, 28), str(rng.choice(["UNION BANK", "APEX BANK", "FIRST NATIONAL"])), (255, 255, 255),
            bold=True)
    cv.text((10, 42, 150, 56), fake_text("name", rng), (0, 0, 0), bold=True, name="holder", kind="name",
            private=True)
    cv.text((10, 58, 150, 82), fake_text("address", rng), (40, 40, 40), name="address", kind="address",
            private=True)
    acct = "".join(str(d) for d in rng.integers(0, 10, 10))
    cv.text((10, 88, 230, 100), f"Account {acct}", (0, 0, 0), mono=True, name="account", kind="generic",
            private=True)
    cv.text((10, 104, 230, 116), "Date        Description      Amount", (90, 90, 90), mono=True)
    y, balance = 122, float(rng.integers(1000, 9000))
    for i in range(int(rng.integers(6, 10))):
        amount = float(rng.integers(-30000, 20000)) / 100
        balance += amount
        desc = str(rng.choice(["GROCERY", "SALARY", "RENT", "ATM", "TRANSFER", "UTILITIES", "CAFE"]))
        day = f"{int(rng.integers(1, 29)):02d}/{int(rng.integers(1, 13)):02d}"
        cv.text((10, y, 230, y + 12), f"{day}  {desc:<14} {amount:9.2f}", (30, 30, 30), mono=True,
                name=f"row{i}", kind="generic", private=True)
        y += 16
        if y > 290:
            break
    cv.text((10, y + 6, 230, y + 20), f"Balance  {balance:10.2f}", (0, 0, 0), bold=True, mono=True,
            name="balance", kind="generic", private=True)
    cv.mark_all_private()
    return cv
