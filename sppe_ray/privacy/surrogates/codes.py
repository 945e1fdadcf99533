"""code_fake: a new, valid QR code or EAN-13 barcode carrying a fake payload, in the source's two tones.

A valid code keeps what an editor (and a scanner) sees as "a code here" while the payload is random.
"""

from __future__ import annotations

import cv2
import numpy as np

from sppe_ray.privacy.region import Region
from sppe_ray.privacy.surrogates.masking import bbox_of
from sppe_ray.privacy.surrogates.text import estimate_style
from sppe_ray.privacy.textrender import draw_text_fit

# EAN-13 digit encodings (7 modules each) and the first-digit parity table (L = odd, G = even).
_L = ("0001101", "0011001", "0010011", "0111101", "0100011", "0110001", "0101111", "0111011", "0110111", "0001011")
_G = tuple("".join("1" if c == "0" else "0" for c in code)[::-1] for code in _L)
_R = tuple("".join("1" if c == "0" else "0" for c in code) for code in _L)
_PARITY = ("LLLLLL", "LLGLGG", "LLGGLG", "LLGGGL", "LGLLGG", "LGGLLG", "LGGGLL", "LGLGLG", "LGLGGL", "LGGLGL")


def ean13_digits(rng: np.random.Generator) -> str:
    """12 random digits plus the EAN-13 check digit."""
    body = "".join(str(int(d)) for d in rng.integers(0, 10, 12))
    total = sum(int(c) * (3 if i % 2 else 1) for i, c in enumerate(body))
    return body + str((10 - total % 10) % 10)


def ean13_modules(digits: str) -> np.ndarray:
    """The 95 bar modules (1 = bar) of a 13-digit EAN code."""
    if len(digits) != 13 or not digits.isdigit():
        raise ValueError(f"EAN-13 needs 13 digits, got {digits!r}")
    bits = "101"
    for i, c in enumerate(digits[1:7]):
        bits += (_L if _PARITY[int(digits[0])][i] == "L" else _G)[int(c)]
    bits += "01010" + "".join(_R[int(c)] for c in digits[7:]) + "101"
    return np.array([b == "1" for b in bits], dtype=bool)


def qr_modules(payload: str) -> np.ndarray:
    """QR modules (True = dark) with quiet zone, from OpenCV's encoder."""
    code = cv2.QRCodeEncoder.create().encode(payload)
    return np.asarray(code) < 128


def _payload(rng: np.random.Generator) -> str:
    alphabet = np.array(list("abcdefghijkmnpqrstuvwxyz23456789"))
    token = "".join(rng.choice(alphabet, int(rng.integers(6, 12))))
    return f"https://example.org/t/{token}"


def _place_qr(code: np.ndarray, w: int, h: int) -> np.ndarray:
    n = code.shape[0]
    cell = max(1, min(w, h) // n)  # whole pixels per module, or scanners lose the grid
    side = cell * n
    if side > min(w, h):  # region smaller than one pixel per module: squeeze (unreadable but faithful)
        return cv2.resize(code.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST).astype(bool)
    modules = np.zeros((h, w), dtype=bool)
    top, left = (h - side) // 2, (w - side) // 2
    modules[top:top + side, left:left + side] = np.kron(code, np.ones((cell, cell), dtype=bool))
    return modules


def _qr_block(rng: np.random.Generator, w: int, h: int, tries: int = 6) -> np.ndarray:
    """QR modules filling (w, h); payloads are redrawn until OpenCV's own reader decodes the result,
    since some module patterns at a few pixels per module defeat it."""
    modules = np.zeros((h, w), dtype=bool)
    for _ in range(tries):
        modules = _place_qr(np.pad(qr_modules(_payload(rng)), 2), w, h)
        probe = np.where(modules, 0, 255).astype(np.uint8)
        if cv2.QRCodeDetector().detectAndDecode(cv2.copyMakeBorder(probe, 8, 8, 8, 8, cv2.BORDER_CONSTANT,
                                                                   value=255))[0]:
            break
    return modules


def code_fake(image: np.ndarray, region: Region, rng: np.random.Generator) -> np.ndarray:
    """A barcode for a302_barcode regions, else a QR code, stretched over the region's box."""
    style = estimate_style(image, region.mask)
    dark = np.asarray(min(style.ink, style.paper, key=sum), np.float32)
    light = np.asarray(max(style.ink, style.paper, key=sum), np.float32)
    x0, y0, x1, y1 = bbox_of(region.mask)
    w, h = x1 - x0, y1 - y0
    out = image.copy()
    if region.category == "a302_barcode":
        digits = ean13_digits(rng)
        bars = np.concatenate([np.zeros(9, bool), ean13_modules(digits), np.zeros(9, bool)])
        row = cv2.resize(bars.astype(np.uint8)[None, :], (w, 1), interpolation=cv2.INTER_NEAREST)[0].astype(bool)
        text_h = max(0, h // 5) if h >= 20 else 0
        modules = np.zeros((h, w), dtype=bool)
        modules[: h - text_h] = row[None, :]
    else:
        modules = _qr_block(rng, w, h)
        text_h = 0
    noise = rng.normal(0, 2.0, size=(h, w, 3)).astype(np.float32)
    patch = np.where(modules[..., None], dark, light) + noise
    out[y0:y1, x0:x1] = np.clip(patch + 0.5, 0, 255).astype(np.uint8)
    if text_h:
        draw_text_fit(out, (x0, y1 - text_h, x1, y1), digits, color=tuple(int(v) for v in dark), mono=True)
    return out
