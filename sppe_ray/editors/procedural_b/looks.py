"""Editor B's global looks: eras and painting styles (019-022, 024-036) and scenes (037-046).

Editor B's rule for restyles: faces and text lines it can read are held back to 40% strength, the way a careful
editor keeps people recognisable and writing legible. So a restyle depends on what B detects: a surrogate
that keeps a face or text in place gets the same held-back area, one that blurs it away does not. Backgrounds
(037-041) replace what lies outside B's foreground; with no foreground at all the scene is laid over the
whole picture at 35%.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from sppe_ray.editors.procedural_b.draw import clip8, cloud, grade, gradient_map, grain, label, mix, soft, texture
from sppe_ray.editors.procedural_b.sight import Sight

Look = Callable[[np.ndarray, np.random.Generator], np.ndarray]
HOLD_BACK = 0.4  # restyle strength inside faces and text that editor B detects


def restyle(look: Look) -> Callable[[np.ndarray, Sight, np.random.Generator], np.ndarray]:
    def edit(img: np.ndarray, s: Sight, rng: np.random.Generator) -> np.ndarray:
        styled = look(img, rng)
        if not s.keep.any():
            return styled
        strength = 1.0 - (1.0 - HOLD_BACK) * soft(s.keep, max(1.0, s.width / 120))
        return mix(img, styled, strength)
    edit.__name__ = look.__name__
    return edit


def _grey3(img: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(cv2.cvtColor(img, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB)


def _frame(img: np.ndarray, width_share: float, colour: tuple[int, int, int]) -> np.ndarray:
    out = img.copy()
    b = max(2, int(min(img.shape[:2]) * width_share))
    out[:b], out[-b:], out[:, :b], out[:, -b:] = colour, colour, colour, colour
    return out


def vintage(img, rng):
    sepia = grade(img, ((0.39, 0.77, 0.19), (0.35, 0.69, 0.17), (0.27, 0.53, 0.13)))
    faded = clip8(sepia.astype(np.float32) * 0.85 + 30 + grain(img.shape[:2], rng, 6)[..., None])
    return mix(img, faded, 0.8)


def modern(img, rng):
    bright = clip8(255 * (img.astype(np.float32) / 255) ** 0.85)
    hsv = cv2.cvtColor(bright, cv2.COLOR_RGB2HSV).astype(np.float32)
    hsv[..., 1] *= 1.2
    out = cv2.cvtColor(clip8(hsv), cv2.COLOR_HSV2RGB)
    return clip8(cv2.addWeighted(out, 1.6, cv2.GaussianBlur(out, (0, 0), 2), -0.6, 0))


def medieval(img, rng):
    poster = (img // 64) * 64 + 32
    return mix(gradient_map(poster, [(40, 25, 10), (120, 80, 40), (210, 180, 120)]), poster, 0.25)


def high_tech(img, rng):
    out = gradient_map(img, [(0, 5, 20), (0, 80, 140), (150, 240, 255)])
    edges = cv2.Canny(cv2.cvtColor(img, cv2.COLOR_RGB2GRAY), 50, 140)
    out[edges > 0] = (0, 255, 200)
    return out


def twenties(img, rng):
    grey = _grey3(cv2.GaussianBlur(img, (0, 0), 1.2)).astype(np.float32)
    contrast = (grey - 128) * 1.35 + 128 + grain(img.shape[:2], rng, 10)[..., None]
    return clip8(contrast)


def eighties(img, rng):
    shifted = img.copy()
    shifted[..., 0] = np.roll(img[..., 0], 3, axis=1)
    shifted[..., 2] = np.roll(img[..., 2], -3, axis=1)
    return mix(shifted, np.broadcast_to(np.array((255, 60, 200), np.uint8), img.shape), 0.22)


def futuristic(img, rng):
    hsv = cv2.cvtColor(img, cv2.COLOR_RGB2HSV)
    hsv[..., 0] = (hsv[..., 0].astype(np.int32) + 90) % 180
    out = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)
    return mix(out, gradient_map(img, [(10, 0, 40), (240, 250, 255)]), 0.35)


def victorian(img, rng):
    toned = gradient_map(img, [(30, 18, 22), (150, 100, 80), (240, 220, 190)])
    return _frame(cv2.GaussianBlur(toned, (0, 0), 0.8), 0.05, (60, 20, 30))


def chinese(img, rng):
    grey = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    ink = cv2.adaptiveThreshold(grey, 255, cv2.ADAPTIVE_THRESH_GAUSSIAN_C, cv2.THRESH_BINARY, 15, 6)
    wash = cv2.GaussianBlur(grey, (0, 0), 3)
    paper = texture("paper", *grey.shape, rng)
    out = clip8(paper.astype(np.float32) * (0.55 + 0.45 * (np.minimum(ink, wash)[..., None] / 255)))
    h, w = grey.shape
    cv2.rectangle(out, (int(w * 0.85), int(h * 0.8)), (int(w * 0.95), int(h * 0.92)), (190, 30, 30), -1)
    return out


def indian(img, rng):
    return mix(img, gradient_map(img, [(90, 10, 60), (230, 90, 20), (255, 210, 60)]), 0.6)


def egyptian(img, rng):
    out = gradient_map(img, [(60, 40, 20), (200, 160, 90), (250, 230, 170)])
    h = img.shape[0]
    band = max(2, h // 14)
    out[:band] = (30, 70, 150)
    out[-band:] = (30, 70, 150)
    out[:band, ::8] = (220, 180, 60)
    out[-band:, ::8] = (220, 180, 60)
    return out


def stained_glass(img, rng):
    h, w = img.shape[:2]
    cell = max(4, min(h, w) // 20)
    small = cv2.resize(img, (max(1, w // cell), max(1, h // cell)), interpolation=cv2.INTER_AREA)
    out = cv2.resize(clip8(small.astype(np.float32) * 1.15), (w, h), interpolation=cv2.INTER_NEAREST)
    out[::cell] = (30, 25, 20)
    out[:, ::cell] = (30, 25, 20)
    return out


def oil(img, rng):
    """Median-smoothed colour cells with a light canvas relief."""
    cells = (cv2.medianBlur(img, 7) // 24) * 24 + 12
    relief = cv2.Laplacian(cv2.cvtColor(img, cv2.COLOR_RGB2GRAY), cv2.CV_32F, ksize=3)
    return clip8(cells.astype(np.float32) - 0.15 * relief[..., None])


def pencil(img, rng):
    grey, _ = cv2.pencilSketch(img, sigma_s=40, sigma_r=0.08, shade_factor=0.04)
    return cv2.cvtColor(grey, cv2.COLOR_GRAY2RGB)


def watercolour(img, rng):
    washed = cv2.stylization(img, sigma_s=45, sigma_r=0.45)
    return mix(washed, texture("paper", *img.shape[:2], rng), 0.15)


def monet(img, rng):
    soft_img = cv2.GaussianBlur(img, (0, 0), 2.5)
    hsv = cv2.cvtColor(soft_img, cv2.COLOR_RGB2HSV).astype(np.float32)
    hsv[..., 0] += (cloud(*img.shape[:2], rng, 10) - 0.5) * 12
    hsv[..., 2] = hsv[..., 2] * 0.8 + 50
    return cv2.cvtColor(clip8(hsv), cv2.COLOR_HSV2RGB)


def van_gogh(img, rng):
    """Motion blur along the local edge direction (quantised to four angles) plus strong saturation."""
    grey = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY).astype(np.float32)
    angle = (np.arctan2(cv2.Sobel(grey, cv2.CV_32F, 0, 1), cv2.Sobel(grey, cv2.CV_32F, 1, 0)) + np.pi / 2) % np.pi
    bins = np.round(angle / (np.pi / 4)).astype(int) % 4
    out = np.zeros_like(img)
    for k in range(4):
        kernel = np.zeros((7, 7), np.float32)
        kernel[3] = 1.0 / 7
        rot = cv2.getRotationMatrix2D((3, 3), 45 * k, 1.0)
        kernel = cv2.warpAffine(kernel, rot, (7, 7))
        kernel /= max(float(kernel.sum()), 1e-6)
        out[bins == k] = cv2.filter2D(img, -1, kernel)[bins == k]
    hsv = cv2.cvtColor(out, cv2.COLOR_RGB2HSV).astype(np.float32)
    hsv[..., 1] = hsv[..., 1] * 1.5 + 20
    return cv2.cvtColor(clip8(hsv), cv2.COLOR_HSV2RGB)


def _night(h, w, rng):
    sky = np.linspace(0, 1, h, dtype=np.float32)[:, None, None] * np.array([10, 20, 60], np.float32) + 5
    out = clip8(np.broadcast_to(sky, (h, w, 3)).copy())
    stars = rng.random((h, w)) > 0.995
    out[stars] = 230
    return out


def _sunset(h, w, rng):
    t = np.linspace(0, 1, h, dtype=np.float32)[:, None, None]
    return clip8(np.broadcast_to((1 - t) * np.array([250, 120, 60]) + t * np.array([90, 30, 80]), (h, w, 3)).copy())


def _forest(h, w, rng):
    n = cloud(h, w, rng, 12)
    return clip8(np.stack([20 + 40 * n, 70 + 90 * n, 25 + 30 * n], -1))


def _snow(h, w, rng):
    n = cloud(h, w, rng, 4)
    return clip8(np.stack([225 + 25 * n, 232 + 20 * n, 245 + 10 * n], -1))


def _underwater(h, w, rng):
    n = cloud(h, w, rng, 8)
    t = np.linspace(0, 1, h, dtype=np.float32)[:, None]
    return clip8(np.stack([10 + 30 * n, 90 + 60 * n - 40 * t, 140 + 70 * n - 50 * t], -1))


def backdrop(make: Callable[[int, int, np.random.Generator], np.ndarray]):
    def edit(img, s: Sight, rng):
        scene = make(*img.shape[:2], rng)
        fg = s.foreground
        if fg.max() < 0.5:
            return mix(img, scene, 0.35)
        return mix(scene, img, fg)
    edit.__name__ = make.__name__.strip("_")
    return edit


def luxury_ad(img, s: Sight, rng):
    h, w = img.shape[:2]
    out = clip8(((img.astype(np.float32) - 128) * 1.25 + 128) * 0.9)
    bar = max(4, h // 8)
    out[:bar], out[-bar:] = 8, 8
    label(out, "MAISON", w * 0.3, h - bar * 0.3, bar * 0.6, (212, 175, 55))
    return out


def perfume_ad(img, s: Sight, rng):
    h, w = img.shape[:2]
    glow = cv2.GaussianBlur(img, (0, 0), max(2.0, w / 40))
    out = mix(cv2.addWeighted(img, 0.6, glow, 0.6, 0), np.broadcast_to(np.array((250, 190, 215), np.uint8),
                                                                         img.shape), 0.3)
    label(out, "eau", w * 0.06, h * 0.94, h * 0.09, (120, 40, 90))
    return out


def magazine_cover(img, s: Sight, rng):
    """The title goes where B sees no face: at the top unless the largest face sits in the top third."""
    h, w = img.shape[:2]
    out = img.copy()
    top = not (s.faces and s.faces[0].cy < h / 3)
    y = h * 0.14 if top else h * 0.95
    label(out, "FOCUS", w * 0.08, y, h * 0.13, (235, 20, 40), max(1, h // 80))
    label(out, "issue 07", w * 0.08, h * 0.5, h * 0.05, (255, 255, 255))
    return out


def weathered(img, s: Sight, rng):
    paper = texture("paper", *img.shape[:2], rng).astype(np.float32) / 255
    out = clip8(gradient_map(img, [(70, 55, 35), (235, 220, 185)]).astype(np.float32) * (0.75 + 0.25 * paper))
    h, w = img.shape[:2]
    cv2.line(out, (w // 2, 0), (w // 2 + w // 20, h), (150, 130, 100), 1, cv2.LINE_AA)
    cv2.line(out, (0, h // 3), (w, h // 3 - h // 25), (150, 130, 100), 1, cv2.LINE_AA)
    return out


def manuscript(img, s: Sight, rng):
    out = mix(texture("paper", *img.shape[:2], rng), gradient_map(img, [(50, 25, 10), (230, 210, 170)]), 0.7)
    h, w = img.shape[:2]
    cv2.rectangle(out, (int(w * 0.05), int(h * 0.05)), (int(w * 0.2), int(h * 0.22)), (150, 20, 20), -1)
    label(out, "A", w * 0.08, h * 0.19, h * 0.13, (230, 190, 60), 2)
    return _frame(out, 0.03, (120, 70, 30))


EDITS = {
    "019": restyle(vintage), "020": restyle(modern), "021": restyle(medieval), "022": restyle(high_tech),
    "024": restyle(twenties), "025": restyle(eighties), "026": restyle(futuristic), "027": restyle(victorian),
    "028": restyle(chinese), "029": restyle(indian), "030": restyle(egyptian), "031": restyle(stained_glass),
    "032": restyle(oil), "033": restyle(pencil), "034": restyle(watercolour), "035": restyle(monet),
    "036": restyle(van_gogh),
    "037": backdrop(_night), "038": backdrop(_sunset), "039": backdrop(_forest), "040": backdrop(_snow),
    "041": backdrop(_underwater),
    "042": luxury_ad, "043": perfume_ad, "044": magazine_cover, "045": weathered, "046": manuscript,
}
