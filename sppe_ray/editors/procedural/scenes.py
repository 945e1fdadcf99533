"""Background swaps 037-041 (keyed on the foreground mask) and layout edits 042-046 (ads, covers, paper)."""

from __future__ import annotations

import cv2
import numpy as np

from sppe_ray.editors.procedural.analysis import Analysis
from sppe_ray.editors.procedural.paint import (
    blend,
    border,
    f32,
    fractal_noise,
    gradient,
    material,
    put_text,
    tone_map,
    u8,
    vignette,
)


def _night(h, w, rng):
    bg = gradient(h, w, (6, 8, 30), (20, 30, 70))
    n = int(h * w / 300)
    bg[rng.integers(0, h, n), rng.integers(0, w, n)] = (235, 235, 255)
    cv2.circle(bg, (int(w * 0.8), int(h * 0.18)), max(3, w // 16), (245, 240, 210), -1, cv2.LINE_AA)
    return bg


def _sunset(h, w, rng):
    bg = gradient(h, w, (70, 40, 120), (255, 140, 50))
    cv2.circle(bg, (int(w * rng.uniform(0.2, 0.8)), int(h * 0.72)), max(4, w // 9), (255, 220, 120), -1, cv2.LINE_AA)
    bg[int(h * 0.78):] = u8(f32(bg[int(h * 0.78):]) * 0.45)
    return bg


def _forest(h, w, rng):
    bg = gradient(h, w, (150, 190, 140), (30, 70, 30))
    for _ in range(max(6, w // 12)):
        x = int(rng.integers(0, w))
        top = int(h * rng.uniform(0.05, 0.45))
        half = int(w * rng.uniform(0.04, 0.09))
        shade = int(rng.integers(40, 90))
        cv2.fillPoly(bg, [np.array([(x, top), (x + half, h), (x - half, h)], np.int32)], (20, shade, 25), cv2.LINE_AA)
    return bg


def _snowy(h, w, rng):
    bg = gradient(h, w, (190, 215, 245), (250, 252, 255))
    n = fractal_noise(h, w, rng, 2)
    hills = (np.arange(h)[:, None] > h * (0.55 + 0.15 * n[0][None, :])).astype(np.float32)
    bg = blend(bg, np.full_like(bg, 248), hills)
    flakes = int(h * w / 250)
    bg[rng.integers(0, h, flakes), rng.integers(0, w, flakes)] = 255
    return bg


def _underwater(h, w, rng):
    bg = gradient(h, w, (40, 160, 190), (5, 40, 90))
    caustic = np.abs(np.sin(fractal_noise(h, w, rng, 3) * 25)) ** 8
    bg = u8(f32(bg) + caustic[..., None] * 60)
    for _ in range(max(4, w // 24)):
        cv2.circle(bg, (int(rng.integers(0, w)), int(rng.integers(0, h))), int(rng.integers(2, max(3, w // 40))),
                   (200, 240, 255), 1, cv2.LINE_AA)
    return bg


def background(make, tint: tuple[float, float, float]):
    """Replace everything outside the foreground with a generated scene; the person is relit to match."""

    def edit(img, a: Analysis, rng):
        h, w = img.shape[:2]
        bg = make(h, w, rng)
        person = u8(f32(img) * np.array(tint, np.float32))
        return blend(bg, person, np.clip(a.foreground * 1.15, 0, 1))

    return edit


def _contrast(img, amount):
    mean = f32(img).mean()
    return u8((f32(img) - mean) * amount + mean)


def luxury_ad(img, a: Analysis, rng):
    h, w = img.shape[:2]
    out = _contrast(img, 1.25)
    out = u8(f32(out) * vignette(h, w, 0.8)[..., None])
    border(out, max(3, w // 40), (20, 20, 20), inner=(212, 175, 55))
    band = max(10, h // 7)
    out[h - band:] = u8(f32(out[h - band:]) * 0.25)
    put_text(out, "LUXE", (w / 2, h - band / 2), band * 0.45, (212, 175, 55))
    return out


def perfume_ad(img, a: Analysis, rng):
    h, w = img.shape[:2]
    bloom = cv2.GaussianBlur(img, (0, 0), max(2.0, w / 50))
    out = u8(f32(img) * 0.6 + f32(bloom) * 0.5 + np.array([30, 10, 25], np.float32))
    for _ in range(10):
        c = (int(rng.integers(0, w)), int(rng.integers(0, h // 2)))
        cv2.circle(out, c, int(rng.integers(3, max(4, w // 14))), (255, 220, 240), -1, cv2.LINE_AA)
    out = blend(img, out, 0.85)
    put_text(out, "PARFUM", (w / 2, h * 0.88), max(8, h // 14), (255, 255, 255))
    return out


def magazine_cover(img, a: Analysis, rng):
    h, w = img.shape[:2]
    out = _contrast(img, 1.15)
    top = a.head.box.y0 if a.face is not None else h // 5
    title_h = max(10, min(h // 6, top if top > h // 12 else h // 6))
    put_text(out, "MODE", (w / 2, title_h * 0.55), title_h * 0.7, (230, 30, 60), 0.12)
    for k, line in enumerate(("NEW SEASON", "STYLE ISSUE", "TOP 10 LOOKS")):
        put_text(out, line, (w * 0.22, h * (0.55 + 0.1 * k)), max(5, h // 30), (255, 255, 255))
    bw, bh = max(8, w // 8), max(6, h // 14)
    cv2.rectangle(out, (w - bw - 4, h - bh - 4), (w - 4, h - 4), (255, 255, 255), -1)
    for x in range(w - bw - 2, w - 6, 2):
        cv2.line(out, (x, h - bh - 2), (x, h - 6), (0, 0, 0), 1)
    return out


def weathered_paper(img, a: Analysis, rng):
    h, w = img.shape[:2]
    paper = material("paper", h, w, rng)
    gray = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    printed = tone_map(gray, (60, 42, 24), (236, 220, 186))
    out = u8(f32(printed) * f32(paper) / 255 * 1.05)
    stains = fractal_noise(h, w, rng, 3)
    out = u8(f32(out) * (1 - 0.35 * np.clip(stains - 0.55, 0, 1)[..., None] * 2))
    for _ in range(2):
        x = int(rng.integers(w // 4, 3 * w // 4))
        cv2.line(out, (x, 0), (x + int(rng.integers(-8, 9)), h), (160, 140, 110), 1, cv2.LINE_AA)
    return u8(f32(out) * vignette(h, w, 0.7)[..., None])


def ancient_manuscript(img, a: Analysis, rng):
    h, w = img.shape[:2]
    parchment = material("parchment", h, w, rng)
    gray = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    ink = tone_map(cv2.equalizeHist(gray), (50, 26, 10), (255, 255, 255))
    out = u8(f32(parchment) * f32(ink) / 255)
    border(out, max(3, w // 36), (120, 20, 20), inner=(180, 140, 40))
    s = max(8, w // 8)
    off = max(6, w // 18)
    cv2.rectangle(out, (off, off), (off + s, off + s), (150, 24, 24), -1)
    put_text(out, "A", (off + s / 2, off + s / 2), s * 0.6, (230, 190, 70))
    return out


EDITS = {
    "037": background(_night, (0.55, 0.6, 0.85)), "038": background(_sunset, (1.05, 0.85, 0.7)),
    "039": background(_forest, (0.85, 1.0, 0.85)), "040": background(_snowy, (1.05, 1.05, 1.1)),
    "041": background(_underwater, (0.6, 0.9, 1.05)),
    "042": luxury_ad, "043": perfume_ad, "044": magazine_cover, "045": weathered_paper, "046": ancient_manuscript,
}
