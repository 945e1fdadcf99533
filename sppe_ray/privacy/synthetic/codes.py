"""Machine-readable codes: real QR codes (OpenCV's encoder) and real EAN-13 barcodes with fake payloads,
so a decoder run on a scene reads back exactly Region.text."""

from __future__ import annotations

import cv2
import numpy as np

from sppe_ray.privacy.fakes import fake_text
from sppe_ray.privacy.synthetic.canvas import Canvas, Field

_L = ("0001101", "0011001", "0010011", "0111101", "0100011", "0110001", "0101111", "0111011", "0110111",
      "0001011")
_PARITY = ("LLLLLL", "LLGLGG", "LLGGLG", "LLGGGL", "LGLLGG", "LGGLLG", "LGGGLL", "LGLGLG", "LGLGGL", "LGGLGL")


def ean13_check_digit(first12: str) -> str:
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(first12))
    return str((10 - total % 10) % 10)


def ean13_modules(code: str) -> str:
    """The 95 bar modules ("1" = black) of a 13-digit EAN code."""
    if len(code) != 13 or not code.isdigit():
        raise ValueError(f"EAN-13 needs 13 digits, got {code!r}")
    right = {d: "".join("1" if b == "0" else "0" for b in _L[d]) for d in range(10)}
    out = "101"
    for digit, parity in zip(code[1:7], _PARITY[int(code[0])], strict=True):
        d = int(digit)
        out += _L[d] if parity == "L" else right[d][::-1]
    out += "01010"
    out += "".join(right[int(d)] for d in code[7:])
    return out + "101"


def random_ean13(rng: np.random.Generator) -> str:
    first = "".join(str(d) for d in rng.integers(0, 10, 12))
    return first + ean13_check_digit(first)


def draw_barcode(img: np.ndarray, box: tuple[int, int, int, int], modules: str, color=(0, 0, 0)) -> None:  # noqa: ANN001
    """Bars spread over the box width (each module an integer-free fractional width, anti-aliasing kept off)."""
    x0, y0, x1, y1 = box
    edges = np.linspace(x0, x1, len(modules) + 1).round().astype(int)
    for i, m in enumerate(modules):
        if m == "1":
            img[y0:y1, edges[i]:max(edges[i + 1], edges[i] + 1)] = color


def barcode(rng: np.random.Generator) -> Canvas:
    code = random_ean13(rng)
    cv = Canvas(260, 150, (255, 255, 255), family="barcode")
    product = fake_text("generic", rng).split()[0].upper()
    cv.text((14, 6, 246, 26), product, (40, 40, 40), bold=True, align="center")
    draw_barcode(cv.rgb, (28, 30, 232, 124), ean13_modules(code))
    cv.text((20, 126, 240, 146), f"{code[0]} {code[1:7]} {code[7:]}", (0, 0, 0), mono=True, align="center",
            name="code", kind="generic")
    cv.mark_private((20, 30, 240, 146), pad=0)
    return cv


def qr_payload(rng: np.random.Generator) -> str:
    style = int(rng.integers(0, 4))
    if style == 0:
        return f"https://{fake_text('username', rng)}.example.com/{int(rng.integers(1000, 99999))}"
    if style == 1:
        return f"mailto:{fake_text('email', rng)}"
    if style == 2:
        return f"tel:{fake_text('phone', rng)}"
    return f"MECARD:N:{fake_text('name', rng)};TEL:{fake_text('phone', rng)};;"


def qr_modules(payload: str) -> np.ndarray:
    """QR code as a bool array (True = dark module), without quiet zone."""
    encoder = cv2.QRCodeEncoder.create()
    img = encoder.encode(payload)
    dark = img < 128
    ys, xs = np.nonzero(dark)
    return dark[ys.min():ys.max() + 1, xs.min():xs.max() + 1]


def qr_code(rng: np.random.Generator) -> Canvas:
    payload = qr_payload(rng)
    modules = qr_modules(payload)
    n = modules.shape[0]
    cell = max(3, 180 // n)
    side = n * cell
    pad = 4 * cell
    caption = 28
    cv = Canvas(side + 2 * pad, side + 2 * pad + caption, (255, 255, 255), family="qr_code")
    big = np.kron(modules, np.ones((cell, cell), dtype=bool))
    cv.rgb[pad:pad + side, pad:pad + side][big] = (0, 0, 0)
    cv.text((pad, side + pad + 4, side + pad, side + pad + caption - 4), str(rng.choice(
        ["SCAN ME", "Scan to pay", "Contact", "Wi-Fi", "Menu"])), (30, 30, 30), align="center", bold=True)
    cv.fields.append(Field("payload", "generic", payload, (pad, pad, pad + side, pad + side), {"encoding": "qr"}))
    cv.mark_private((pad, pad, pad + side, pad + side), pad=pad // 2)
    return cv

