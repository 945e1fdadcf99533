"""Painting primitives shared by the edits: blending, region filling, seeded noise and material textures.

All randomness comes from a ``np.random.Generator`` passed in, so an edit is a pure function of (image, code, seed).
"""

from __future__ import annotations

import cv2
import numpy as np


def f32(img: np.ndarray) -> np.ndarray:
    return img.astype(np.float32)


def u8(img: np.ndarray) -> np.ndarray:
    return np.clip(img, 0, 255).astype(np.uint8)


def blend(base: np.ndarray, layer: np.ndarray, alpha: np.ndarray | float) -> np.ndarray:
    """Alpha-composite ``layer`` over ``base``; ``alpha`` is a scalar or an (H, W) map in [0, 1]."""
    a = np.asarray(alpha, np.float32)
    if a.ndim == 2:
        a = a[..., None]
    return u8(f32(base) * (1 - a) + f32(layer) * a)


def feather(mask: np.ndarray, sigma: float) -> np.ndarray:
    """Soft version of a boolean/float mask, for seams no one should see."""
    m = mask.astype(np.float32)
    return cv2.GaussianBlur(m, (0, 0), max(sigma, 0.5)) if sigma > 0 else m


def fill_region(img: np.ndarray, mask: np.ndarray, work_side: int = 96) -> np.ndarray:
    """Remove what is under ``mask`` by inpainting at low resolution (fast for big regions) and feathering in."""
    m = mask.astype(bool)
    if not m.any():
        return img.copy()
    h, w = m.shape
    s = min(1.0, work_side / max(h, w))
    size = (max(8, round(w * s)), max(8, round(h * s)))
    small = cv2.resize(img, size, interpolation=cv2.INTER_AREA)
    small_m = cv2.dilate((cv2.resize(m.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST) > 0).astype(np.uint8),
                         np.ones((3, 3), np.uint8))
    filled = cv2.inpaint(small, small_m, 3, cv2.INPAINT_TELEA)
    up = cv2.resize(filled, (w, h), interpolation=cv2.INTER_CUBIC)
    up = cv2.GaussianBlur(up, (0, 0), 1.0)
    grown = cv2.dilate(m.astype(np.uint8), np.ones((5, 5), np.uint8))
    return blend(img, up, feather(grown, 2.0))


def smooth_noise(h: int, w: int, rng: np.random.Generator, cells: int = 8) -> np.ndarray:
    """Low-frequency noise in [0, 1]: a random grid upsampled with cubic interpolation."""
    grid = rng.random((cells + 1, cells + 1)).astype(np.float32)
    n = cv2.resize(grid, (w, h), interpolation=cv2.INTER_CUBIC)
    return (n - n.min()) / max(float(n.max() - n.min()), 1e-6)


def fractal_noise(h: int, w: int, rng: np.random.Generator, octaves: int = 4) -> np.ndarray:
    """Sum of smooth noises at doubling frequencies: paper fibres, marble, stains."""
    total = np.zeros((h, w), np.float32)
    amp, norm = 1.0, 0.0
    for i in range(octaves):
        total += amp * smooth_noise(h, w, rng, 4 * 2 ** i)
        norm += amp
        amp *= 0.5
    return total / norm


def vignette(h: int, w: int, strength: float) -> np.ndarray:
    """Multiplicative darkening towards the corners (1 at the centre)."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    r = np.sqrt(((xx - w / 2) / (w / 2)) ** 2 + ((yy - h / 2) / (h / 2)) ** 2) / np.sqrt(2)
    return (1 - strength * r ** 2).astype(np.float32)


def gradient(h: int, w: int, top: tuple[int, int, int], bottom: tuple[int, int, int]) -> np.ndarray:
    """Vertical two-colour gradient (skies, water)."""
    t = np.linspace(0, 1, h, dtype=np.float32)[:, None, None]
    return u8(np.broadcast_to(np.array(top, np.float32) * (1 - t) + np.array(bottom, np.float32) * t, (h, w, 3)))


def tone_map(gray: np.ndarray, dark: tuple[int, int, int], light: tuple[int, int, int]) -> np.ndarray:
    """Map luminance onto a two-colour ramp (sepia, gold, ink)."""
    t = (gray.astype(np.float32) / 255)[..., None]
    return u8(np.array(dark, np.float32) * (1 - t) + np.array(light, np.float32) * t)


def material(kind: str, h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """A material texture: wood, marble, leather, gold, paper, parchment, velvet."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    n = fractal_noise(h, w, rng)
    if kind == "wood":
        rings = np.sin((yy / max(h, 1) * 18 + n * 6) * np.pi) * 0.5 + 0.5
        return tone_map(u8(rings * 120 + n * 90 + 30), (92, 52, 24), (196, 140, 82))
    if kind == "marble":
        veins = np.abs(np.sin((xx + yy) / max(w, 1) * 6 + n * 9)) ** 0.25
        return tone_map(u8(veins * 210 + 40), (120, 120, 128), (246, 244, 240))
    if kind == "leather":
        grain = cv2.GaussianBlur(rng.random((h, w)).astype(np.float32), (0, 0), 0.8)
        return tone_map(u8((0.6 * n + 0.4 * grain) * 255), (58, 30, 14), (140, 82, 44))
    if kind == "gold":
        sheen = 0.5 + 0.5 * np.sin(xx / max(w, 1) * 5 + yy / max(h, 1) * 2 + n * 2)
        return tone_map(u8(sheen * 200 + n * 55), (122, 86, 18), (252, 222, 120))
    if kind == "parchment":
        return tone_map(u8(n * 110 + 120), (150, 110, 60), (238, 214, 164))
    if kind == "velvet":
        return tone_map(u8(n * 120 + 40), (8, 8, 10), (60, 40, 70))
    return tone_map(u8(n * 60 + 190), (200, 186, 150), (250, 244, 226))  # paper


def edge_relief(gray: np.ndarray) -> np.ndarray:
    """Signed relief from an image's own strokes (light top-left, dark bottom-right): keeps printed text
    readable as an embossed/engraved pattern when a card's surface is replaced by a material."""
    g = cv2.GaussianBlur(gray.astype(np.float32), (3, 3), 0)
    relief = cv2.filter2D(g, -1, np.array([[-2, -1, 0], [-1, 0, 1], [0, 1, 2]], np.float32))
    return np.clip(relief / 4, -80, 80)


def put_text(img: np.ndarray, text: str, center: tuple[float, float], height: float,
             color: tuple[int, int, int], thickness: float = 0.08, font: int = cv2.FONT_HERSHEY_TRIPLEX) -> None:
    """Draw ``text`` centred at ``center`` with a cap height of about ``height`` pixels (in place)."""
    scale = max(height / 22.0, 0.2)
    thick = max(1, int(round(height * thickness)))
    (tw, th), _ = cv2.getTextSize(text, font, scale, thick)
    org = (int(center[0] - tw / 2), int(center[1] + th / 2))
    cv2.putText(img, text, org, font, scale, color, thick, cv2.LINE_AA)


def border(img: np.ndarray, width: int, color: tuple[int, int, int], inner: tuple[int, int, int] | None = None) -> None:
    """A frame of ``width`` pixels (in place), with an optional thin inner line."""
    h, w = img.shape[:2]
    cv2.rectangle(img, (0, 0), (w - 1, h - 1), color, max(1, width) * 2)
    if inner is not None:
        off = width + max(1, width // 3)
        cv2.rectangle(img, (off, off), (w - 1 - off, h - 1 - off), inner, max(1, width // 4))
