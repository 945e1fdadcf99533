"""Global style and era edits 019-022, 024-036. Their strength and palette follow image statistics (saturation,
brightness, edge density), so a surrogate that changes those statistics shifts the whole result a little."""

from __future__ import annotations

import cv2
import numpy as np

from sppe_ray.editors.procedural.analysis import Analysis
from sppe_ray.editors.procedural.paint import (
    blend,
    border,
    f32,
    fractal_noise,
    material,
    tone_map,
    u8,
    vignette,
)


def _gray(img: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)


def _vig(img: np.ndarray, strength: float) -> np.ndarray:
    return u8(f32(img) * vignette(*img.shape[:2], strength)[..., None])


def vintage(img, a: Analysis, rng):
    strength = float(np.clip(0.45 + 0.9 * a.stats["saturation"], 0.45, 0.95))  # colourful photos fade more
    sepia = tone_map(_gray(img), (52, 34, 18), (250, 226, 180))
    faded = u8(f32(blend(img, sepia, strength)) * 0.85 + 28)
    return _vig(faded, 0.5)


def modern(img, a: Analysis, rng):
    lab = cv2.cvtColor(img, cv2.COLOR_RGB2LAB)
    lab[..., 0] = cv2.createCLAHE(clipLimit=2.0 + 2 * (1 - a.stats["contrast"]), tileGridSize=(4, 4)).apply(lab[..., 0])
    out = cv2.cvtColor(lab, cv2.COLOR_LAB2RGB)
    hsv = f32(cv2.cvtColor(out, cv2.COLOR_RGB2HSV))
    hsv[..., 1] = np.minimum(hsv[..., 1] * 1.25, 255)
    out = cv2.cvtColor(u8(hsv), cv2.COLOR_HSV2RGB)
    sharp = cv2.addWeighted(out, 1.5, cv2.GaussianBlur(out, (0, 0), 1.5), -0.5, 0)
    return u8(f32(sharp) * np.array([0.97, 1.0, 1.05], np.float32))


def medieval(img, a: Analysis, rng):
    stone = material("parchment", *img.shape[:2], rng)
    earthy = tone_map(_gray(img), (40, 30, 22), (200, 180, 140))
    out = blend(blend(img, earthy, 0.75), stone, 0.2)
    return _vig(out, 0.8)


def _glow_edges(img, colour, low=60, high=150):
    edges = cv2.Canny(_gray(img), low, high)
    glow = cv2.GaussianBlur(edges.astype(np.float32), (0, 0), 1.5) / 255
    return u8(f32(img) + glow[..., None] * np.array(colour, np.float32) * 1.5)


def high_tech(img, a: Analysis, rng):
    cool = u8(f32(img) * np.array([0.55, 0.85, 1.1], np.float32) + np.array([0, 10, 30], np.float32))
    out = _glow_edges(cool, (40, 220, 255))
    step = max(8, img.shape[0] // 16)
    out[::step, :] = u8(f32(out[::step, :]) * 0.6 + np.array([0, 90, 110], np.float32))
    out[:, ::step] = u8(f32(out[:, ::step]) * 0.6 + np.array([0, 90, 110], np.float32))
    return out


def twenties(img, a: Analysis, rng):
    gray = f32(_gray(img))
    grain = rng.normal(0, 10 + 20 * a.stats["edge_density"], gray.shape).astype(np.float32)
    out = np.repeat((gray * 0.9 + 12 + grain)[..., None], 3, -1) * np.array([1.0, 0.97, 0.9], np.float32)
    out = _vig(u8(out), 0.9)
    for _ in range(3):
        x = int(rng.integers(img.shape[1]))
        cv2.line(out, (x, 0), (x + int(rng.integers(-6, 7)), img.shape[0]), (220, 215, 200), 1)
    return out


def eighties(img, a: Analysis, rng):
    lum = f32(_gray(img))[..., None] / 255
    duo = (1 - lum) * np.array([40, 0, 110], np.float32) + lum * np.array([255, 60, 200], np.float32)
    out = blend(img, u8(duo), 0.45 + 0.2 * (1 - a.stats["saturation"]))
    out = _glow_edges(out, (0, 255, 240), 40, 120)
    out[::3] = u8(f32(out[::3]) * 0.8)
    return out


def futuristic(img, a: Analysis, rng):
    teal = u8(f32(img) * np.array([0.7, 1.0, 1.1], np.float32))
    lab = cv2.cvtColor(teal, cv2.COLOR_RGB2LAB)
    lab[..., 0] = cv2.equalizeHist(lab[..., 0])
    out = cv2.cvtColor(lab, cv2.COLOR_LAB2RGB)
    bright = cv2.threshold(_gray(out), 200, 255, cv2.THRESH_BINARY)[1]
    streak = cv2.blur(bright.astype(np.float32), (max(9, img.shape[1] // 6), 1)) / 255
    return u8(f32(out) + streak[..., None] * np.array([60, 200, 255], np.float32))


def victorian(img, a: Analysis, rng):
    soft = cv2.GaussianBlur(img, (0, 0), 1.2)
    brown = tone_map(_gray(soft), (40, 24, 16), (236, 210, 170))
    out = blend(soft, brown, 0.8)
    h, w = img.shape[:2]
    frame = np.zeros((h, w), np.uint8)
    cv2.ellipse(frame, (w // 2, h // 2), (int(w * 0.46), int(h * 0.48)), 0, 0, 360, 1, -1)
    alpha = cv2.GaussianBlur(1 - frame.astype(np.float32), (0, 0), max(2.0, w / 40))
    return blend(out, np.full_like(out, (30, 20, 24)), alpha)


def _palette(img, colours, rng):
    """Quantise to a fixed cultural palette by luminance rank (fast; no k-means)."""
    lum = _gray(cv2.bilateralFilter(img, 5, 40, 5))
    idx = np.minimum((lum.astype(np.int32) * len(colours)) // 256, len(colours) - 1)
    return np.asarray(colours, np.uint8)[idx]


def chinese(img, a: Analysis, rng):
    ink = tone_map(cv2.bilateralFilter(_gray(img), 7, 40, 7), (20, 20, 24), (246, 238, 220))
    out = blend(ink, material("paper", *img.shape[:2], rng), 0.25)
    h, w = img.shape[:2]
    s = max(6, w // 10)
    cv2.rectangle(out, (w - s - s // 2, h - s - s // 2), (w - s // 2, h - s // 2), (190, 30, 30), -1)
    border(out, max(2, w // 64), (120, 30, 30))
    return out


def indian(img, a: Analysis, rng):
    out = blend(img, _palette(img, [(90, 10, 40), (200, 40, 90), (240, 130, 20), (250, 200, 60)], rng), 0.55)
    h, w = img.shape[:2]
    bw = max(4, w // 24)
    border(out, bw, (200, 40, 90))
    for x in range(bw, w, bw * 2):
        for y in (bw // 2, h - bw // 2):
            cv2.circle(out, (x, y), max(1, bw // 3), (250, 200, 60), -1, cv2.LINE_AA)
    return out


def egyptian(img, a: Analysis, rng):
    out = blend(img, tone_map(_gray(img), (70, 40, 10), (240, 206, 130)), 0.8)
    h, w = img.shape[:2]
    bw = max(4, w // 20)
    border(out, bw, (30, 60, 140))
    for x in range(0, w, bw):
        cv2.rectangle(out, (x + 1, 1), (x + bw // 2, bw - 1), (230, 180, 40), -1)
    return out


def medieval_european(img, a: Analysis, rng):
    out = blend(img, _palette(img, [(30, 20, 60), (120, 20, 30), (40, 70, 140), (200, 160, 60)], rng), 0.6)
    border(out, max(3, img.shape[1] // 40), (190, 150, 50), inner=(120, 20, 30))
    return out


def oil_painting(img, a: Analysis, rng):
    xphoto = getattr(cv2, "xphoto", None)
    if xphoto is not None and hasattr(xphoto, "oilPainting"):
        size = 2 + int(round(a.stats["edge_density"] * 20)) % 3  # busier images get other brushes
        # Painted at half resolution (4x cheaper); the upsampling blur reads as brushwork anyway.
        small = cv2.resize(img, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
        painted = cv2.resize(xphoto.oilPainting(small, max(2, size), 1), img.shape[1::-1],
                             interpolation=cv2.INTER_CUBIC)
        return cv2.addWeighted(painted, 0.85, cv2.bilateralFilter(img, 5, 40, 5), 0.15, 0)
    return cv2.stylization(img, sigma_s=30, sigma_r=0.4)


def pencil_sketch(img, a: Analysis, rng):
    gray = _gray(img)
    inv_blur = cv2.GaussianBlur(255 - gray, (0, 0), 3 + 3 * a.stats["contrast"])
    dodge = np.minimum(255, gray.astype(np.float32) * 255 / np.maximum(255 - inv_blur.astype(np.float32), 1))
    paper = fractal_noise(*gray.shape, rng, 3) * 16 - 8
    return np.repeat(u8(dodge + paper)[..., None], 3, -1)


def watercolor(img, a: Analysis, rng):
    small = cv2.resize(img, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
    wash = cv2.resize(cv2.bilateralFilter(cv2.medianBlur(small, 5), 7, 60, 7), img.shape[1::-1])
    bleed = cv2.GaussianBlur(wash, (0, 0), 1.5)
    paper = material("paper", *img.shape[:2], rng)
    return u8(f32(bleed) * 0.85 + f32(paper) * 0.15 + 10)


def _dabs(img, rng, count, radius, jitter):
    """Impressionist brush dabs: colours sampled from the image at random points, painted as small ellipses."""
    out = cv2.GaussianBlur(img, (0, 0), radius / 2)
    h, w = img.shape[:2]
    ys = rng.integers(0, h, count)
    xs = rng.integers(0, w, count)
    angles = rng.uniform(0, 180, count)
    shift = rng.normal(0, jitter, (count, 3))
    for x, y, ang, d in zip(xs, ys, angles, shift, strict=True):
        c = np.clip(img[y, x].astype(np.float32) + d, 0, 255)
        cv2.ellipse(out, (int(x), int(y)), (radius, max(1, radius // 2)), float(ang), 0, 360,
                    tuple(float(v) for v in c), -1)
    return out


def monet(img, a: Analysis, rng):
    r = max(3, img.shape[1] // 48)
    dabs = _dabs(img, rng, int(img.shape[0] * img.shape[1] / (r * r * 3)), r, 12)
    pastel = u8(f32(dabs) * 0.8 + np.array([40, 45, 55], np.float32))
    return blend(pastel, material("paper", *img.shape[:2], rng), 0.1)


def van_gogh(img, a: Analysis, rng):
    h, w = img.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    n = fractal_noise(h, w, rng, 3) * 2 * np.pi
    amp = max(2.0, w / 60)
    swirl = cv2.remap(img, xx + amp * np.cos(n * 2), yy + amp * np.sin(n * 2), cv2.INTER_LINEAR,
                      borderMode=cv2.BORDER_REFLECT)
    streak = cv2.filter2D(swirl, -1, np.eye(5, dtype=np.float32) / 5)
    hsv = f32(cv2.cvtColor(streak, cv2.COLOR_RGB2HSV))
    hsv[..., 1] = np.minimum(hsv[..., 1] * 1.6 + 30, 255)
    out = cv2.cvtColor(u8(hsv), cv2.COLOR_HSV2RGB)
    lum = f32(_gray(out))[..., None] / 255
    return blend(out, u8((1 - lum) * np.array([20, 40, 140], np.float32) + lum * np.array([250, 210, 60], np.float32)),
                 0.3)


EDITS = {
    "019": vintage, "020": modern, "021": medieval, "022": high_tech, "024": twenties, "025": eighties,
    "026": futuristic, "027": victorian, "028": chinese, "029": indian, "030": egyptian, "031": medieval_european,
    "032": oil_painting, "033": pencil_sketch, "034": watercolor, "035": monet, "036": van_gogh,
}
