"""People and places: real faces and bodies from the offline photos (exact masks from hand-checked boxes
refined by an ellipse or grabCut), and drawn silhouettes for landmark, nudity (abstract, nothing
explicit), ethnic clothing and physical disability."""

from __future__ import annotations

import functools

import cv2
import numpy as np

from sppe_ray.privacy.photos import FACE_BOXES, PERSON_BOXES, PERSON_CORES, PERSON_EXCLUDE, box_pixels, photo
from sppe_ray.privacy.synthetic.canvas import SKIN_TONES, Canvas, random_color

_WORK = 320  # grabCut resolution: masks are computed once per photo at this long side and cached


@functools.lru_cache(maxsize=16)
def person_mask(name: str) -> np.ndarray:
    """Bool mask of the person in photo `name` (full photo resolution), grabCut seeded by box and outline."""
    img = photo(name)
    h, w = img.shape[:2]
    s = _WORK / max(h, w)
    small = cv2.resize(img, (int(w * s), int(h * s)), interpolation=cv2.INTER_AREA)
    seed = np.full(small.shape[:2], cv2.GC_BGD, np.uint8)
    x0, y0, x1, y1 = box_pixels(PERSON_BOXES[name], small.shape)
    seed[y0:y1, x0:x1] = cv2.GC_PR_BGD
    core = (np.array(PERSON_CORES[name]) * [small.shape[1], small.shape[0]]).astype(np.int32)
    cv2.fillPoly(seed, [core], cv2.GC_PR_FGD)
    inner = np.zeros(small.shape[:2], np.uint8)
    cv2.fillPoly(inner, [core], 1)
    inner = cv2.erode(inner, np.ones((15, 15), np.uint8))
    seed[inner > 0] = cv2.GC_FGD
    for box in PERSON_EXCLUDE.get(name, ()):
        ex0, ey0, ex1, ey1 = box_pixels(box, small.shape)
        seed[ey0:ey1, ex0:ex1] = cv2.GC_BGD
    bgd, fgd = np.zeros((1, 65)), np.zeros((1, 65))
    cv2.setRNGSeed(0)
    cv2.grabCut(small, seed, None, bgd, fgd, 4, cv2.GC_INIT_WITH_MASK)
    fg = ((seed == cv2.GC_FGD) | (seed == cv2.GC_PR_FGD)).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(fg)
    if n > 1:  # keep the largest blob: stray background islands are not the person
        fg = (labels == 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))).astype(np.uint8)
    fg = cv2.morphologyEx(fg, cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8))
    out = cv2.resize(fg, (w, h), interpolation=cv2.INTER_LINEAR) > 0
    out.setflags(write=False)
    return out


@functools.lru_cache(maxsize=16)
def face_mask(name: str) -> np.ndarray:
    """Bool ellipse over the face (forehead to chin) of photo `name`, from its hand-checked box."""
    img = photo(name)
    x0, y0, x1, y1 = box_pixels(FACE_BOXES[name], img.shape)
    out = np.zeros(img.shape[:2], np.uint8)
    center = ((x0 + x1) // 2, int(y0 + (y1 - y0) * 0.42))
    cv2.ellipse(out, center, (int((x1 - x0) * 0.56), int((y1 - y0) * 0.64)), 0, 0, 360, 1, -1)
    mask = out > 0
    mask.setflags(write=False)
    return mask


def crop_around(img: np.ndarray, mask: np.ndarray, box: tuple[int, int, int, int], rng: np.random.Generator,
                size: int, fill: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """Random square crop holding `box` (which takes `fill` of the side), maybe mirrored, at size x size."""
    h, w = img.shape[:2]
    bx0, by0, bx1, by1 = box
    side = int(np.clip(max(bx1 - bx0, by1 - by0) / rng.uniform(*fill), 16, min(h, w)))
    x_lo, x_hi = max(0, bx1 - side), min(bx0, w - side)
    y_lo, y_hi = max(0, by1 - side), min(by0, h - side)
    x0 = int(rng.integers(min(x_lo, x_hi), max(x_lo, x_hi) + 1))
    y0 = int(rng.integers(min(y_lo, y_hi), max(y_lo, y_hi) + 1))
    x0, y0 = min(max(0, x0), w - side), min(max(0, y0), h - side)
    c_img, c_mask = img[y0:y0 + side, x0:x0 + side], mask[y0:y0 + side, x0:x0 + side]
    if rng.random() < 0.5:
        c_img, c_mask = c_img[:, ::-1], c_mask[:, ::-1]
    out = cv2.resize(np.ascontiguousarray(c_img), (size, size), interpolation=cv2.INTER_AREA)
    m = cv2.resize(c_mask.astype(np.uint8) * 255, (size, size), interpolation=cv2.INTER_LINEAR) > 127
    return out, m


def photo_canvas(name: str, mask: np.ndarray, rng: np.random.Generator, frame: bool) -> Canvas:
    """A cut-out of the person (frame=False) or a printed photo with white border (frame=True)."""
    img = photo(name)
    h, w = img.shape[:2]
    s = 240 / max(h, w)
    small = cv2.resize(img, (int(w * s), int(h * s)), interpolation=cv2.INTER_AREA)
    m = cv2.resize(mask.astype(np.float32), (small.shape[1], small.shape[0]), interpolation=cv2.INTER_AREA)
    if frame:
        b = 10
        cv = Canvas(small.shape[1] + 2 * b, small.shape[0] + 3 * b, (245, 245, 240), family="printed_photo")
        cv.rgb[b:b + small.shape[0], b:b + small.shape[1]] = small
        cv.private[b:b + small.shape[0], b:b + small.shape[1]] = m
        return cv
    ys, xs = np.nonzero(m > 0.5)
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    cv = Canvas(int(x1 - x0), int(y1 - y0), family="person_cutout")
    cv.rgb[:] = small[y0:y1, x0:x1]
    cv.alpha = m[y0:y1, x0:x1].copy()
    cv.private = cv.alpha.copy()
    return cv


def _figure(mask: np.ndarray, x: int, y: int, scale: float, seated: bool = False) -> None:
    """Stick-and-blob human figure (head at x, y) into a uint8 mask; proportions of ~7.5 heads."""
    def s(v: float) -> int:
        return int(v * scale)

    cv2.circle(mask, (x, y), s(14), 255, -1, cv2.LINE_AA)
    cv2.rectangle(mask, (x - s(5), y + s(10)), (x + s(5), y + s(22)), 255, -1)
    torso = np.array([[x - s(24), y + s(20)], [x + s(24), y + s(20)], [x + s(19), y + s(78)],
                      [x - s(19), y + s(78)]], np.int32)
    cv2.fillPoly(mask, [torso], 255, cv2.LINE_AA)
    for side in (-1, 1):
        cv2.line(mask, (x + side * s(22), y + s(26)), (x + side * s(32), y + s(80)), 255, s(11), cv2.LINE_AA)
        if seated:
            cv2.line(mask, (x + side * s(10), y + s(76)), (x + s(46), y + s(84)), 255, s(15), cv2.LINE_AA)
            cv2.line(mask, (x + s(46), y + s(84)), (x + s(48), y + s(130)), 255, s(12), cv2.LINE_AA)
        else:
            cv2.line(mask, (x + side * s(11), y + s(74)), (x + side * s(14), y + s(168)), 255, s(15), cv2.LINE_AA)


def body_canvas(rng: np.random.Generator, kind: str) -> Canvas:
    """Silhouette-based bodies: "nudity" (skin only), "clothing" (patterned garment), "disability"."""
    w, h = 150, 250
    cv = Canvas(w, h, (0, 0, 0), family=kind)
    shape = np.zeros((h, w), np.uint8)
    seated = kind == "disability" and rng.random() < 0.6
    _figure(shape, w // 2 - (15 if seated else 0), 24, 1.25 if not seated else 1.1, seated=seated)
    skin = np.array(SKIN_TONES[int(rng.integers(0, len(SKIN_TONES)))], np.float32)
    shade = (0.7 + 0.4 * np.sin(np.linspace(0.2, np.pi - 0.2, w)))[None, :, None]
    cv.rgb[:] = np.clip(skin * shade, 0, 255).astype(np.uint8)
    cv.alpha = cv2.GaussianBlur(shape, (0, 0), 1.0).astype(np.float32) / 255.0
    if kind == "clothing":
        garment = shape.copy()
        garment[:int(h * 0.16)] = 0
        ys, xs = np.mgrid[0:h, 0:w]
        c1, c2, c3 = random_color(rng, 120, 256), random_color(rng, 0, 120), random_color(rng, 60, 220)
        period = int(rng.integers(10, 22))
        stripes = (ys // period) % 3
        zig = ((xs + np.abs((ys % period) - period // 2) * 2) // max(4, period // 2)) % 2
        pattern = np.where(stripes[..., None] == 0, c1, np.where(zig[..., None] == 1, c2, c3)).astype(np.uint8)
        g = garment > 127
        cv.rgb[g] = (pattern[g] * shade[0, xs[g], 0][:, None]).astype(np.uint8)
        cv.private = (garment.astype(np.float32) / 255.0) * cv.alpha
        return cv
    if kind == "disability":
        wheel = np.zeros((h, w), np.uint8)
        if seated:
            cx, cy, r = w // 2 - 10, h - 62, 52
            cv2.circle(wheel, (cx, cy), r, 255, 5, cv2.LINE_AA)
            for a in np.linspace(0, np.pi, 5)[:-1]:
                d = (int(r * np.cos(a)), int(r * np.sin(a)))
                cv2.line(wheel, (cx - d[0], cy - d[1]), (cx + d[0], cy + d[1]), 255, 1, cv2.LINE_AA)
            cv2.circle(wheel, (cx + 70, h - 20), 14, 255, 4, cv2.LINE_AA)
            cv2.line(wheel, (cx - 30, cy - 60), (cx - 40, cy - 125), 255, 5, cv2.LINE_AA)
            cv2.line(wheel, (cx - 30, cy - 30), (cx + 60, cy - 30), 255, 5, cv2.LINE_AA)
            cv2.line(wheel, (cx + 60, cy - 30), (cx + 70, h - 34), 255, 4, cv2.LINE_AA)
        else:
            cv2.line(wheel, (w // 2 + 48, 70), (w // 2 + 58, h - 6), 255, 5, cv2.LINE_AA)
            cv2.line(wheel, (w // 2 + 40, 66), (w // 2 + 60, 62), 255, 6, cv2.LINE_AA)
        metal = (70, 72, 80) if rng.random() < 0.6 else (150, 150, 160)
        cv.rgb[wheel > 127] = metal
        cv.alpha = np.maximum(cv.alpha, wheel.astype(np.float32) / 255.0)
    cv.private = cv.alpha.copy()
    return cv


def landmark(rng: np.random.Generator) -> Canvas:
    """A monument silhouette with stone shading: lattice tower, obelisk, domed hall or clock tower."""
    w, h = 200, 300
    stone = random_color(rng, 120, 220)
    cv = Canvas(w, h, stone, family="landmark")
    shape = np.zeros((h, w), np.uint8)
    kind = int(rng.integers(0, 4))
    if kind == 0:  # lattice tower
        cv2.fillPoly(shape, [np.array([[100, 0], [108, 60], [140, 200], [190, 299], [10, 299], [60, 200],
                                       [92, 60]], np.int32)], 255, cv2.LINE_AA)
        cv2.ellipse(shape, (100, 299), (55, 60), 0, 180, 360, 0, -1)
        for y in range(40, 290, 14):
            cv2.line(cv.rgb, (0, y), (w, y + 14), (60, 60, 60), 1)
            cv2.line(cv.rgb, (w, y), (0, y + 14), (60, 60, 60), 1)
    elif kind == 1:  # obelisk
        cv2.fillPoly(shape, [np.array([[100, 0], [118, 24], [128, 280], [72, 280], [82, 24]], np.int32)], 255)
        cv2.rectangle(shape, (52, 280), (148, 299), 255, -1)
    elif kind == 2:  # domed hall with columns
        cv2.rectangle(shape, (10, 170), (190, 299), 255, -1)
        cv2.ellipse(shape, (100, 170), (70, 80), 0, 180, 360, 255, -1, cv2.LINE_AA)
        cv2.rectangle(shape, (96, 60), (104, 95), 255, -1)
        for x in range(22, 190, 24):
            cv2.rectangle(cv.rgb, (x, 200), (x + 10, 290), tuple(int(v * 0.7) for v in stone), -1)
    else:  # clock tower
        cv2.rectangle(shape, (60, 60), (140, 299), 255, -1)
        cv2.fillPoly(shape, [np.array([[100, 0], [145, 60], [55, 60]], np.int32)], 255)
        cv2.circle(cv.rgb, (100, 100), 24, (240, 236, 220), -1, cv2.LINE_AA)
        cv2.line(cv.rgb, (100, 100), (100, 82), (20, 20, 20), 2)
        cv2.line(cv.rgb, (100, 100), (114, 104), (20, 20, 20), 2)
        for y in range(140, 290, 30):
            cv2.rectangle(cv.rgb, (88, y), (112, y + 18), (50, 50, 60), -1)
    shade = (0.65 + 0.5 * np.linspace(0, 1, w))[None, :, None]
    cv.rgb[:] = np.clip(cv.rgb * shade, 0, 255).astype(np.uint8)
    cv.alpha = cv2.GaussianBlur(shape, (0, 0), 0.7).astype(np.float32) / 255.0
    cv.private = cv.alpha.copy()
    return cv
