"""Marks of a person: handwriting, signature, fingerprint, tattoo. Pen and ink are simulated (wavy
oblique glyphs, Bezier strokes, distorted ridge fields) so no two draws look alike."""

from __future__ import annotations

import cv2
import numpy as np

from sppe_ray.privacy.fakes import fake_text
from sppe_ray.privacy.synthetic.canvas import SKIN_TONES, Canvas, Field
from sppe_ray.privacy.textrender import draw_text_fit, font_path

_INKS = ((25, 35, 110), (15, 15, 20), (30, 60, 150), (60, 20, 90))


def _wavy_text(text: str, box_w: int, box_h: int, rng: np.random.Generator) -> np.ndarray:
    """Float coverage of an oblique line of text bent by a random low-frequency wave (hand jitter)."""
    scratch = np.zeros((box_h, box_w, 3), dtype=np.uint8)
    path = font_path(oblique=True, serif=bool(rng.random() < 0.5))
    draw_text_fit(scratch, (0, 0, box_w, box_h), text, (255, 255, 255), float(rng.uniform(-3, 3)),
                  align="left", font_file=path)
    ys, xs = np.mgrid[0:box_h, 0:box_w].astype(np.float32)
    k1, k2 = rng.uniform(0.03, 0.09), rng.uniform(0.1, 0.25)
    p1, p2 = rng.uniform(0, 2 * np.pi, 2)
    map_y = ys + 1.6 * np.sin(k1 * xs + p1) + 0.6 * np.sin(k2 * xs + p2)
    map_x = xs + 0.8 * np.sin(0.2 * ys + p1)
    bent = cv2.remap(scratch[..., 0], map_x.astype(np.float32), map_y.astype(np.float32), cv2.INTER_LINEAR)
    return bent.astype(np.float32) / 255.0


def _ink(cv: Canvas, coverage: np.ndarray, top: int, left: int, color: tuple[int, int, int]) -> np.ndarray:
    h, w = coverage.shape
    region = cv.rgb[top:top + h, left:left + w].astype(np.float32)
    a = coverage[..., None]
    cv.rgb[top:top + h, left:left + w] = (region * (1 - a) + np.asarray(color, np.float32) * a).astype(np.uint8)
    return coverage > 0.1


def handwriting(rng: np.random.Generator) -> Canvas:
    w, h = 320, 220
    cv = Canvas(w, h, (250, 250, 244) if rng.random() < 0.7 else (252, 240, 150), family="handwriting")
    for y in range(40, h, 34):
        cv.rect((0, y, w, y + 1), (170, 190, 225))
    cv.rect((36, 0, 37, h), (230, 150, 150))
    ink = _INKS[int(rng.integers(0, len(_INKS)))]
    content = [fake_text("generic", rng), fake_text("name", rng), fake_text("address", rng).split("\n")[0],
               fake_text("phone", rng)]
    n = int(rng.integers(2, 5))
    for i, line in enumerate(content[:n]):
        top = 10 + 34 * i
        width = int(min(w - 50, 40 + 13 * len(line)))
        coverage = _wavy_text(line, width, 30, rng)
        drawn = _ink(cv, coverage, top, 44, ink)
        ys, xs = np.nonzero(drawn)
        if len(xs):
            box = (44 + int(xs.min()), top + int(ys.min()), 44 + int(xs.max()) + 1, top + int(ys.max()) + 1)
            cv.fields.append(Field(f"line{i}", "generic", line, box, {"color": list(ink), "handwritten": True}))
            cv.mark_private(box, pad=3)
    return cv


def _bezier(p: np.ndarray, n: int = 40) -> np.ndarray:
    t = np.linspace(0, 1, n)[:, None]
    return ((1 - t) ** 3 * p[0] + 3 * (1 - t) ** 2 * t * p[1] + 3 * (1 - t) * t ** 2 * p[2] + t ** 3 * p[3])


def signature_strokes(rng: np.random.Generator, w: int, h: int) -> list[np.ndarray]:
    """A few chained Bezier strokes drifting left to right with loops: a plausible scribbled signature."""
    strokes = []
    x, y = rng.uniform(0.05, 0.15) * w, rng.uniform(0.4, 0.7) * h
    for _ in range(int(rng.integers(2, 4))):
        pts = [np.array([x, y])]
        for _ in range(int(rng.integers(3, 6))):
            x2 = min(w * 0.95, x + rng.uniform(0.06, 0.22) * w)
            y2 = np.clip(y + rng.normal(0, 0.18) * h, 0.15 * h, 0.85 * h)
            c1 = np.array([x + rng.uniform(-0.1, 0.2) * w, rng.uniform(0.05, 0.95) * h])
            c2 = np.array([x2 + rng.uniform(-0.2, 0.05) * w, rng.uniform(0.05, 0.95) * h])
            pts.append(_bezier(np.array([[x, y], c1, c2, [x2, y2]]))[1:])
            x, y = x2, y2
        strokes.append(np.vstack([np.atleast_2d(p) for p in pts]))
        x, y = min(w * 0.9, x + rng.uniform(0.0, 0.08) * w), rng.uniform(0.3, 0.7) * h
    return strokes


def signature(rng: np.random.Generator) -> Canvas:
    w, h = 300, 140
    cv = Canvas(w, h, (250, 250, 246), family="signature")
    cv.rect((20, 110, 280, 111), (90, 90, 90))
    cv.text((20, 114, 200, 128), "Signature", (110, 110, 110), max_size=10)
    ink = _INKS[int(rng.integers(0, len(_INKS)))]
    strokes = signature_strokes(rng, w, 105)
    trace = np.zeros((h, w), np.uint8)
    for s in strokes:
        pts = np.round(s * 4).astype(np.int32).reshape(-1, 1, 2)  # 2 fractional bits: smoother curves
        cv2.polylines(cv.rgb, [pts], False, ink, int(rng.integers(1, 3)), cv2.LINE_AA, shift=2)
        cv2.polylines(trace, [pts], False, 255, 3, cv2.LINE_8, shift=2)
    blob = cv2.morphologyEx(cv2.dilate(trace, np.ones((7, 7), np.uint8)), cv2.MORPH_CLOSE,
                            np.ones((15, 15), np.uint8))
    cv.private = (blob > 0).astype(np.float32)
    return cv


def fingerprint(rng: np.random.Generator) -> Canvas:
    w, h = 160, 210
    on_card = rng.random() < 0.6
    cv = Canvas(w, h, (248, 246, 240), family="fingerprint")
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    cx, cy = w * rng.uniform(0.42, 0.58), h * rng.uniform(0.4, 0.55)
    warp = cv2.resize(rng.normal(0, 1, (5, 4)).astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
    dx, dy = (xs - cx) / rng.uniform(0.8, 1.2), (ys - cy)
    r = np.sqrt(dx ** 2 + (dy * np.where(dy > 0, 0.75, 1.0)) ** 2)
    theta = np.arctan2(dy, dx)
    loop = rng.uniform(0, 6) * np.exp(-r / 40.0) * np.cos(theta - rng.uniform(0, np.pi))
    phase = 2 * np.pi * (r / rng.uniform(8.5, 11.0) + warp * 0.7 + loop)
    ridges = np.clip(0.5 + 1.3 * np.sin(phase), 0, 1)
    shape = np.zeros((h, w), np.float32)
    cv2.ellipse(shape, (w // 2, h // 2), (w // 2 - 6, h // 2 - 6), 0, 0, 360, 1.0, -1, cv2.LINE_AA)
    fade = cv2.GaussianBlur(shape, (0, 0), 7) * shape
    ink = ridges * fade * rng.uniform(0.65, 0.95)
    color = np.array((20, 20, 30) if rng.random() < 0.7 else (40, 40, 120), np.float32)
    cv.rgb[:] = (cv.rgb * (1 - ink[..., None]) + color * ink[..., None]).astype(np.uint8)
    if not on_card:  # a print left on a surface: only the ink is pasted
        cv.alpha = np.clip(ink * 1.2, 0, 1)
    cv.private = shape
    return cv


def _tattoo_ink(layer: np.ndarray, rng: np.random.Generator) -> None:
    h, w = layer.shape
    motif = int(rng.integers(0, 4))
    cx, cy = w // 2 + int(rng.integers(-30, 30)), h // 2
    if motif == 0:  # star
        ang = np.linspace(-np.pi / 2, 1.5 * np.pi, 11)[:-1]
        rad = np.where(np.arange(10) % 2 == 0, 40, 17)
        pts = np.stack([cx + rad * np.cos(ang), cy + rad * np.sin(ang)], 1).astype(np.int32)
        cv2.polylines(layer, [pts], True, 255, 4, cv2.LINE_AA)
    elif motif == 1:  # heart with banner
        cv2.circle(layer, (cx - 16, cy - 8), 18, 255, -1, cv2.LINE_AA)
        cv2.circle(layer, (cx + 16, cy - 8), 18, 255, -1, cv2.LINE_AA)
        cv2.fillPoly(layer, [np.array([[cx - 33, cy - 2], [cx + 33, cy - 2], [cx, cy + 38]], np.int32)], 255)
    elif motif == 2:  # tribal sweeps
        for k in range(3):
            pts = _bezier(np.array([[cx - 70, cy + 20 - 15 * k], [cx - 20, cy - 50], [cx + 20, cy + 50],
                                    [cx + 70, cy - 20 + 15 * k]]) + rng.normal(0, 6, (4, 2)))
            cv2.polylines(layer, [np.round(pts).astype(np.int32)], False, 255, 7 - 2 * k, cv2.LINE_AA)
    else:  # rose: concentric loops and leaves
        for rr in (8, 16, 24, 32):
            cv2.ellipse(layer, (cx, cy), (rr, int(rr * 0.8)), int(rng.integers(0, 180)), 20, 330, 255, 3,
                        cv2.LINE_AA)
        cv2.ellipse(layer, (cx + 45, cy + 15), (18, 7), 30, 0, 360, 255, -1, cv2.LINE_AA)


def tattoo(rng: np.random.Generator) -> Canvas:
    w, h = 300, 130
    skin = np.array(SKIN_TONES[int(rng.integers(0, len(SKIN_TONES)))], np.float32)
    cv = Canvas(w, h, (0, 0, 0), family="tattoo")
    shade = 0.75 + 0.3 * np.sin(np.linspace(0.15, np.pi - 0.15, h))[:, None, None]
    cv.rgb[:] = np.clip(skin * shade, 0, 255).astype(np.uint8)
    arm = np.zeros((h, w), np.uint8)
    cv2.ellipse(arm, (w // 2, h // 2), (w // 2 - 2, h // 2 - 4), 0, 0, 360, 255, -1, cv2.LINE_AA)
    cv.alpha = arm.astype(np.float32) / 255.0
    layer = np.zeros((h, w), np.uint8)
    _tattoo_ink(layer, rng)
    ink = cv2.GaussianBlur(layer, (0, 0), 0.8).astype(np.float32) / 255.0 * rng.uniform(0.75, 0.95)
    ink *= cv.alpha
    color = np.array((25, 30, 45), np.float32)
    cv.rgb[:] = (cv.rgb * (1 - ink[..., None]) + color * ink[..., None]).astype(np.uint8)
    blob = cv2.morphologyEx(cv2.dilate((ink > 0.1).astype(np.uint8), np.ones((5, 5), np.uint8)),
                            cv2.MORPH_CLOSE, np.ones((11, 11), np.uint8))
    cv.private = blob.astype(np.float32) * cv.alpha
    return cv
