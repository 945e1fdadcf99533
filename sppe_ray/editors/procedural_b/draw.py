"""Editor B's painting helpers: compositing, textures and colour maps (its own, not the first editor's)."""

from __future__ import annotations

import cv2
import numpy as np


def clip8(img: np.ndarray) -> np.ndarray:
    return np.clip(img, 0, 255).astype(np.uint8)


def mix(base: np.ndarray, top: np.ndarray, alpha: np.ndarray | float) -> np.ndarray:
    """``base`` with ``top`` laid over it at ``alpha`` (a number or an H x W map in [0, 1])."""
    a = np.asarray(alpha, np.float32)
    a = a[..., None] if a.ndim == 2 else a
    return clip8(base.astype(np.float32) + (top.astype(np.float32) - base.astype(np.float32)) * a)


def soft(mask: np.ndarray, width: float) -> np.ndarray:
    return cv2.GaussianBlur(mask.astype(np.float32), (0, 0), max(0.6, width))


def grade(img: np.ndarray, matrix: tuple[tuple[float, ...], ...], offset: tuple[float, float, float] = (0, 0, 0)
          ) -> np.ndarray:
    """A 3 x 3 colour matrix plus offset, the way a photo app's filter is written."""
    out = img.astype(np.float32).reshape(-1, 3) @ np.asarray(matrix, np.float32).T + np.asarray(offset, np.float32)
    return clip8(out.reshape(img.shape))


def gradient_map(img: np.ndarray, stops: list[tuple[int, int, int]]) -> np.ndarray:
    """Luminance mapped through evenly spaced colour stops (a duotone or tritone)."""
    lum = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255 * (len(stops) - 1)
    lo = np.clip(np.floor(lum).astype(int), 0, len(stops) - 2)
    t = (lum - lo)[..., None]
    pal = np.asarray(stops, np.float32)
    return clip8(pal[lo] * (1 - t) + pal[lo + 1] * t)


def grain(shape: tuple[int, int], rng: np.random.Generator, sigma: float) -> np.ndarray:
    return rng.normal(0, sigma, shape).astype(np.float32)


def cloud(h: int, w: int, rng: np.random.Generator, scale: int = 6) -> np.ndarray:
    """Blurred random field in [0, 1] (value noise at two scales)."""
    field = np.zeros((h, w), np.float32)
    for cells, weight in ((scale, 0.65), (scale * 4, 0.35)):
        small = rng.random((cells, cells)).astype(np.float32)
        field += weight * cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    field = cv2.GaussianBlur(field, (0, 0), max(1.0, min(h, w) / 64))
    return (field - field.min()) / max(float(field.max() - field.min()), 1e-6)


def texture(kind: str, h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """A material swatch: leather, gold, marble, wood, paper, velvet."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    n = cloud(h, w, rng)
    if kind == "leather":
        base, tone = np.array([96, 58, 34]), 0.6 + 0.4 * n + grain((h, w), rng, 0.06)
    elif kind == "gold":
        base, tone = np.array([222, 180, 70]), 0.75 + 0.25 * np.sin(xx / max(w, 1) * 9 + n * 3)
    elif kind == "marble":
        base, tone = np.array([236, 234, 228]), 1.0 - 0.35 * np.abs(np.sin((xx + yy) / 14 + n * 7)) ** 6
    elif kind == "wood":
        rings = np.sin(np.hypot(xx - w * 0.1, (yy - h * 2) * 0.15) / 3 + n * 5)
        base, tone = np.array([150, 98, 52]), 0.75 + 0.2 * rings
    elif kind == "velvet":
        base, tone = np.array([28, 24, 30]), 0.8 + 0.3 * n
    else:  # paper
        base, tone = np.array([232, 220, 190]), 0.85 + 0.15 * n
    return clip8(base[None, None] * np.asarray(tone, np.float32)[..., None])


def emboss(gray: np.ndarray) -> np.ndarray:
    """Relief of the image's own structure, centred on 0 (engraving keeps what was written, raised)."""
    k = np.array([[-2, -1, 0], [-1, 0, 1], [0, 1, 2]], np.float32)
    return cv2.filter2D(gray.astype(np.float32), -1, k) / 4


def warp_to(canvas: np.ndarray, swatch: np.ndarray, corners: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Warp ``swatch`` onto the quadrilateral ``corners``; returns the warped layer and its coverage mask."""
    h, w = swatch.shape[:2]
    src = np.float32([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]])
    order = corners[np.argsort(np.arctan2(corners[:, 1] - corners[:, 1].mean(), corners[:, 0] - corners[:, 0].mean()))]
    start = int(np.argmin(order.sum(1)))  # the top-left corner first, then clockwise
    dst = np.roll(order, -start, axis=0).astype(np.float32)
    m = cv2.getPerspectiveTransform(src, dst)
    size = (canvas.shape[1], canvas.shape[0])
    layer = cv2.warpPerspective(swatch, m, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    cover = cv2.warpPerspective(np.ones((h, w), np.float32), m, size, flags=cv2.INTER_LINEAR)
    return layer, cover


def erase(img: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Remove what is under ``mask`` with Navier-Stokes inpainting at up to 128 px, blended in softly."""
    m = mask.astype(bool)
    if not m.any():
        return img.copy()
    h, w = m.shape
    s = min(1.0, 128 / max(h, w))
    size = (max(8, round(w * s)), max(8, round(h * s)))
    small = cv2.resize(img, size, interpolation=cv2.INTER_AREA)
    sm = cv2.dilate(cv2.resize(m.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST), np.ones((5, 5), np.uint8))
    filled = cv2.resize(cv2.inpaint(small, sm, 5, cv2.INPAINT_NS), (w, h), interpolation=cv2.INTER_LINEAR)
    return mix(img, filled, soft(cv2.dilate(m.astype(np.uint8), np.ones((7, 7), np.uint8)), 1.5))


def label(img: np.ndarray, text: str, x: int, y: int, height: float, colour: tuple[int, int, int],
          thickness: int = 1) -> None:
    """Write ``text`` with its baseline-left at (x, y), ``height`` pixels tall (in place)."""
    scale = max(0.2, height / 22)
    cv2.putText(img, text, (int(x), int(y)), cv2.FONT_HERSHEY_DUPLEX, scale, colour, max(1, thickness), cv2.LINE_AA)
