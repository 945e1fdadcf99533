"""Person edits 001-018 and 023, keyed on the detected face (``a.head``: the face, or a guessed head when none).

Accessories are shapes scaled and placed from the face box and eyes, so a surrogate face at the same place gets
them at the same place, while a blurred face (no detection) gets them wherever a head is guessed.
"""

from __future__ import annotations

import cv2
import numpy as np

from sppe_ray.editors.procedural.analysis import Analysis
from sppe_ray.editors.procedural.paint import blend, f32, feather, fill_region, smooth_noise, u8


def _pt(x: float, y: float) -> tuple[int, int]:
    return int(round(x)), int(round(y))


def sunglasses(img: np.ndarray, a: Analysis, rng: np.random.Generator) -> np.ndarray:
    out = img.copy()
    f = a.head
    (lx, ly), (rx, ry) = f.eyes
    rad = f.eye_radius * 1.35
    axes = _pt(rad * 1.15, rad * 0.85)
    for cx, cy in ((lx, ly), (rx, ry)):
        cv2.ellipse(out, _pt(cx, cy), axes, 0, 0, 360, (18, 18, 22), -1, cv2.LINE_AA)
        cv2.ellipse(out, _pt(cx - rad * 0.35, cy - rad * 0.3), _pt(rad * 0.3, rad * 0.15), -20, 0, 360,
                    (90, 96, 110), -1, cv2.LINE_AA)
    thick = max(1, int(f.box.w * 0.03))
    cv2.line(out, _pt(lx + axes[0], ly), _pt(rx - axes[0], ry), (30, 30, 30), thick, cv2.LINE_AA)
    cv2.line(out, _pt(lx - axes[0], ly), _pt(f.box.x0, ly - rad * 0.2), (30, 30, 30), thick, cv2.LINE_AA)
    cv2.line(out, _pt(rx + axes[0], ry), _pt(f.box.x1, ry - rad * 0.2), (30, 30, 30), thick, cv2.LINE_AA)
    return out


def cowboy_hat(img: np.ndarray, a: Analysis, rng: np.random.Generator) -> np.ndarray:
    out = img.copy()
    b = a.head.box
    brim_y = b.y0 + 0.12 * b.h
    cv2.ellipse(out, _pt(b.cx, brim_y), _pt(b.w * 0.85, b.h * 0.14), 0, 0, 360, (112, 70, 36), -1, cv2.LINE_AA)
    crown = np.array([_pt(b.x0 + 0.18 * b.w, brim_y), _pt(b.x0 + 0.25 * b.w, brim_y - 0.55 * b.h),
                      _pt(b.cx, brim_y - 0.45 * b.h), _pt(b.x1 - 0.25 * b.w, brim_y - 0.55 * b.h),
                      _pt(b.x1 - 0.18 * b.w, brim_y)], np.int32)
    cv2.fillPoly(out, [crown], (132, 86, 44), cv2.LINE_AA)
    cv2.line(out, _pt(b.x0 + 0.2 * b.w, brim_y - 0.1 * b.h), _pt(b.x1 - 0.2 * b.w, brim_y - 0.1 * b.h),
             (60, 34, 18), max(1, int(b.h * 0.07)), cv2.LINE_AA)
    return out


def cap(img: np.ndarray, a: Analysis, rng: np.random.Generator) -> np.ndarray:
    out = img.copy()
    b = a.head.box
    colours = [(200, 30, 40), (30, 70, 170), (30, 120, 60), (30, 30, 30)]
    colour = colours[int(rng.integers(len(colours)))]
    top = b.y0 + 0.22 * b.h
    cv2.ellipse(out, _pt(b.cx, top), _pt(b.w * 0.56, b.h * 0.42), 0, 180, 360, colour, -1, cv2.LINE_AA)
    cv2.ellipse(out, _pt(b.cx + 0.25 * b.w, top), _pt(b.w * 0.5, b.h * 0.09), 0, 0, 180,
                tuple(int(c * 0.7) for c in colour), -1, cv2.LINE_AA)
    cv2.circle(out, _pt(b.cx, top - 0.42 * b.h), max(1, int(b.w * 0.04)), (240, 240, 240), -1, cv2.LINE_AA)
    return out


def earrings(img: np.ndarray, a: Analysis, rng: np.random.Generator) -> np.ndarray:
    out = img.copy()
    b = a.head.box
    r = max(2, int(b.w * 0.06))
    for x in (b.x0 + 0.02 * b.w, b.x1 - 0.02 * b.w):
        cv2.circle(out, _pt(x, b.y0 + 0.68 * b.h), r, (212, 175, 55), -1, cv2.LINE_AA)
        cv2.circle(out, _pt(x, b.y0 + 0.68 * b.h + 2.2 * r), int(r * 0.8), (235, 205, 90), -1, cv2.LINE_AA)
    return out


def scarf(img: np.ndarray, a: Analysis, rng: np.random.Generator) -> np.ndarray:
    out = img.copy()
    b = a.head.box
    band = np.array([_pt(b.x0 - 0.2 * b.w, b.y1 - 0.02 * b.h), _pt(b.x1 + 0.2 * b.w, b.y1 - 0.02 * b.h),
                     _pt(b.x1 + 0.3 * b.w, b.y1 + 0.4 * b.h), _pt(b.x0 - 0.3 * b.w, b.y1 + 0.4 * b.h)], np.int32)
    cv2.fillPoly(out, [band], (178, 34, 52), cv2.LINE_AA)
    tail = np.array([_pt(b.cx + 0.05 * b.w, b.y1 + 0.3 * b.h), _pt(b.cx + 0.35 * b.w, b.y1 + 0.3 * b.h),
                     _pt(b.cx + 0.3 * b.w, b.y1 + 1.1 * b.h), _pt(b.cx + 0.05 * b.w, b.y1 + 1.05 * b.h)], np.int32)
    cv2.fillPoly(out, [tail], (160, 28, 45), cv2.LINE_AA)
    for k in range(1, 4):
        y = b.y1 + k * 0.1 * b.h
        cv2.line(out, _pt(b.x0 - 0.25 * b.w, y), _pt(b.x1 + 0.25 * b.w, y), (240, 220, 200), 1, cv2.LINE_AA)
    return out


def suit(img: np.ndarray, a: Analysis, rng: np.random.Generator) -> np.ndarray:
    out = img.copy()
    b = a.head.box
    h = img.shape[0]
    top = b.y1 + 0.05 * b.h
    jacket = np.array([_pt(b.cx - 0.45 * b.w, top), _pt(b.cx + 0.45 * b.w, top), _pt(b.cx + 1.5 * b.w, top + 0.6 * b.h),
                       _pt(b.cx + 1.5 * b.w, h), _pt(b.cx - 1.5 * b.w, h), _pt(b.cx - 1.5 * b.w, top + 0.6 * b.h)],
                      np.int32)
    cv2.fillPoly(out, [jacket], (34, 38, 52), cv2.LINE_AA)
    shirt = np.array([_pt(b.cx - 0.3 * b.w, top), _pt(b.cx + 0.3 * b.w, top), _pt(b.cx, top + 1.2 * b.h)], np.int32)
    cv2.fillPoly(out, [shirt], (244, 244, 240), cv2.LINE_AA)
    tie = np.array([_pt(b.cx - 0.07 * b.w, top + 0.05 * b.h), _pt(b.cx + 0.07 * b.w, top + 0.05 * b.h),
                    _pt(b.cx + 0.11 * b.w, top + 0.9 * b.h), _pt(b.cx, top + 1.05 * b.h),
                    _pt(b.cx - 0.11 * b.w, top + 0.9 * b.h)], np.int32)
    cv2.fillPoly(out, [tie], (150, 20, 30), cv2.LINE_AA)
    return out


def hair_mask(a: Analysis) -> np.ndarray:
    """Soft hair region: a band over and beside the face box, minus skin-coloured pixels and the face itself."""
    b = a.head.box
    h, w = a.height, a.width
    m = np.zeros((h, w), np.uint8)
    cv2.ellipse(m, _pt(b.cx, b.y0 + 0.3 * b.h), _pt(b.w * 0.78, b.h * 0.72), 0, 0, 360, 1, -1)
    cv2.ellipse(m, _pt(b.cx, b.y0 + 0.62 * b.h), _pt(b.w * 0.4, b.h * 0.5), 0, 0, 360, 0, -1)
    hair = (m > 0) & ~a.skin
    return feather(hair, max(1.0, b.w / 40))


def hair_colour(hue: int, sat: int, lift: float):
    """Recolour the hair region in HSV; ``lift`` raises brightness (blonde)."""

    def edit(img: np.ndarray, a: Analysis, rng: np.random.Generator) -> np.ndarray:
        hsv = f32(cv2.cvtColor(img, cv2.COLOR_RGB2HSV))
        hsv[..., 0] = hue
        hsv[..., 1] = np.maximum(hsv[..., 1], sat)
        hsv[..., 2] = hsv[..., 2] * (1 - lift) + 255 * lift
        recoloured = cv2.cvtColor(u8(hsv), cv2.COLOR_HSV2RGB)
        return blend(img, recoloured, hair_mask(a) * 0.85)

    return edit


def curly_hair(img: np.ndarray, a: Analysis, rng: np.random.Generator) -> np.ndarray:
    b = a.head.box
    h, w = img.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    period = max(4.0, b.w / 7)
    amp = max(1.5, b.w / 25)
    phase = float(rng.random() * 2 * np.pi)
    mx = xx + amp * np.sin(yy / period * 2 * np.pi + phase)
    my = yy + amp * np.cos(xx / period * 2 * np.pi + phase)
    waved = cv2.remap(img, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    return blend(img, waved, hair_mask(a))


def _face_alpha(a: Analysis, grow: float = 0.15) -> np.ndarray:
    b = a.head.box.grow(grow)
    m = np.zeros((a.height, a.width), np.uint8)
    cv2.ellipse(m, _pt(b.cx, b.cy), _pt(b.w / 2, b.h / 1.8), 0, 0, 360, 1, -1)
    return feather(m, max(1.0, b.w / 12))


def cyborg(img: np.ndarray, a: Analysis, rng: np.random.Generator) -> np.ndarray:
    b = a.head.box
    gray = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    metal = u8(np.stack([gray * 0.75, gray * 0.85, gray * 1.0 + 25], -1))
    alpha = _face_alpha(a)
    half = np.zeros_like(alpha)
    half[:, int(b.cx):] = 1
    out = blend(img, metal, alpha * (0.35 + 0.55 * half))
    for _ in range(6):
        y = int(b.y0 + rng.uniform(0.2, 0.9) * b.h)
        x0 = int(b.cx + rng.uniform(0.0, 0.1) * b.w)
        x1 = int(b.cx + rng.uniform(0.25, 0.5) * b.w)
        cv2.line(out, (x0, y), (x1, y), (90, 230, 255), 1, cv2.LINE_AA)
        cv2.circle(out, (x1, y), max(1, b.w // 40), (90, 230, 255), -1)
    (rx, ry) = a.head.eyes[1]
    cv2.circle(out, _pt(rx, ry), int(a.head.eye_radius), (255, 30, 30), -1, cv2.LINE_AA)
    return out


def cartoon(img: np.ndarray, a: Analysis, rng: np.random.Generator) -> np.ndarray:
    smooth = cv2.bilateralFilter(img, 7, 60, 7)
    quant = (smooth // 40) * 40 + 20
    edges = cv2.adaptiveThreshold(cv2.medianBlur(cv2.cvtColor(img, cv2.COLOR_RGB2GRAY), 5), 255,
                                  cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY, 9, 4)
    toon = u8(f32(quant) * (edges[..., None] / 255.0))
    return blend(img, toon, np.clip(a.foreground * 1.2, 0, 1) * 0.9 + 0.1)


def anime(img: np.ndarray, a: Analysis, rng: np.random.Generator) -> np.ndarray:
    h, w = img.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    mx, my = xx.copy(), yy.copy()
    r = a.head.eye_radius * 2.2
    for ex, ey in a.head.eyes:  # magnify the eyes: sample closer to the centre inside a disc
        d = np.sqrt((xx - ex) ** 2 + (yy - ey) ** 2)
        k = np.where(d < r, 0.6 + 0.4 * (d / r) ** 2, 1.0)
        mx, my = ex + (mx - ex) * k, ey + (my - ey) * k
    warped = cv2.remap(img, mx.astype(np.float32), my.astype(np.float32), cv2.INTER_LINEAR)
    hsv = f32(cv2.cvtColor(cv2.bilateralFilter(warped, 5, 50, 5), cv2.COLOR_RGB2HSV))
    hsv[..., 1] = np.minimum(hsv[..., 1] * 1.4, 255)
    hsv[..., 2] = (hsv[..., 2] // 48) * 48 + 30
    poster = cv2.cvtColor(u8(hsv), cv2.COLOR_HSV2RGB)
    return blend(img, poster, np.clip(a.foreground * 1.2, 0, 1) * 0.85 + 0.1)


def superhero(img: np.ndarray, a: Analysis, rng: np.random.Generator) -> np.ndarray:
    out = img.copy()
    b = a.head.box
    h = img.shape[0]
    cape = np.array([_pt(b.cx - 0.8 * b.w, b.y1 + 0.2 * b.h), _pt(b.cx + 0.8 * b.w, b.y1 + 0.2 * b.h),
                     _pt(b.cx + 1.9 * b.w, h), _pt(b.cx - 1.9 * b.w, h)], np.int32)
    layer = out.copy()
    cv2.fillPoly(layer, [cape], (200, 20, 30), cv2.LINE_AA)
    out = blend(out, layer, 1 - 0.6 * np.clip(a.foreground, 0, 1))  # cape behind the person
    (lx, ly), (rx, ry) = a.head.eyes
    rad = a.head.eye_radius
    cv2.rectangle(out, _pt(lx - 2 * rad, ly - rad), _pt(rx + 2 * rad, ry + rad), (30, 40, 160), -1, cv2.LINE_AA)
    for ex, ey in a.head.eyes:
        cv2.ellipse(out, _pt(ex, ey), _pt(rad, rad * 0.6), 0, 0, 360, (240, 240, 240), -1, cv2.LINE_AA)
    chest = _pt(b.cx, b.y1 + 0.9 * b.h)
    star = cv2.ellipse2Poly(chest, _pt(b.w * 0.28, b.w * 0.22), 0, 0, 360, 72)
    cv2.fillPoly(out, [star], (250, 210, 40), cv2.LINE_AA)
    return out


def vampire(img: np.ndarray, a: Analysis, rng: np.random.Generator) -> np.ndarray:
    gray = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY).astype(np.float32)
    pale = u8(np.stack([gray * 0.55 + 115, gray * 0.55 + 112, gray * 0.55 + 125], -1))
    out = blend(img, pale, _face_alpha(a, 0.05) * 0.8)
    for ex, ey in a.head.eyes:
        cv2.circle(out, _pt(ex, ey), max(1, int(a.head.eye_radius * 0.7)), (220, 0, 0), -1, cv2.LINE_AA)
    b = a.head.box
    for dx in (-0.1, 0.1):
        tip = np.array([_pt(b.cx + dx * b.w - 0.04 * b.w, b.y0 + 0.78 * b.h),
                        _pt(b.cx + dx * b.w + 0.04 * b.w, b.y0 + 0.78 * b.h),
                        _pt(b.cx + dx * b.w, b.y0 + 0.9 * b.h)], np.int32)
        cv2.fillPoly(out, [tip], (250, 250, 250), cv2.LINE_AA)
    return u8(f32(out) * np.array([0.92, 0.85, 1.0], np.float32))


def ghost(img: np.ndarray, a: Analysis, rng: np.random.Generator) -> np.ndarray:
    fg = np.clip(a.foreground, 0, 1)
    behind = fill_region(img, fg > 0.3)
    glow = u8(f32(cv2.GaussianBlur(img, (0, 0), 2)) * 0.5 + np.array([120, 135, 150], np.float32))
    person = blend(behind, glow, 0.55)
    return blend(img, person, fg)


def older(img: np.ndarray, a: Analysis, rng: np.random.Generator) -> np.ndarray:
    b = a.head.box
    out = img.copy()
    hsv = f32(cv2.cvtColor(img, cv2.COLOR_RGB2HSV))
    hsv[..., 1] *= 0.2
    hsv[..., 2] = hsv[..., 2] * 0.6 + 100
    grey_hair = cv2.cvtColor(u8(hsv), cv2.COLOR_HSV2RGB)
    out = blend(out, grey_hair, hair_mask(a) * 0.9)
    texture = (smooth_noise(a.height, a.width, rng, max(4, b.w // 3)) - 0.5) * 40
    aged = u8(f32(out) * 0.9 + texture[..., None])
    out = blend(out, aged, _face_alpha(a, 0.0))
    for k in range(3):  # forehead and eye-corner wrinkles
        y = b.y0 + (0.18 + 0.06 * k) * b.h
        cv2.ellipse(out, _pt(b.cx, y + 0.1 * b.h), _pt(0.28 * b.w, 0.1 * b.h), 0, 200, 340, (90, 70, 60), 1,
                    cv2.LINE_AA)
    for ex, ey in a.head.eyes:
        side = 1 if ex > b.cx else -1
        for k in (-1, 0, 1):
            cv2.line(out, _pt(ex + side * 1.4 * a.head.eye_radius, ey), _pt(ex + side * 2.2 * a.head.eye_radius,
                     ey + k * 0.6 * a.head.eye_radius), (100, 78, 66), 1, cv2.LINE_AA)
    return blend(img, out, 0.9)


def young(img: np.ndarray, a: Analysis, rng: np.random.Generator) -> np.ndarray:
    smooth = cv2.bilateralFilter(img, 9, 40, 9)
    bright = u8(f32(smooth) * 1.06 + 8)
    return blend(img, bright, _face_alpha(a, 0.1))


def remove_person(img: np.ndarray, a: Analysis, rng: np.random.Generator) -> np.ndarray:
    mask = cv2.dilate((a.foreground > 0.3).astype(np.uint8), np.ones((7, 7), np.uint8)) > 0
    return fill_region(img, mask)


EDITS = {
    "001": sunglasses, "002": cowboy_hat, "003": cap, "004": earrings, "005": scarf, "006": suit,
    "007": hair_colour(0, 170, 0.0), "008": hair_colour(24, 120, 0.45), "009": hair_colour(112, 190, 0.1),
    "010": curly_hair, "011": cyborg, "012": cartoon, "013": anime, "014": superhero, "015": vampire,
    "016": ghost, "017": older, "018": young, "023": remove_person,
}
