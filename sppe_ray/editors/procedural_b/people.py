"""Editor B's person edits 001-018 and 023.

Placement follows ``Sight.target`` (a dlib face, else the largest skin blob). When editor B finds neither it
does what an editor does that cannot find the person: a weak global tint in the instruction's colour and
nothing else, so a surrogate that hides every face and all skin gets a visibly different (and smaller) edit.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from sppe_ray.editors.procedural_b.draw import clip8, erase, mix, soft
from sppe_ray.editors.procedural_b.sight import Rect, Sight

PersonEdit = Callable[[np.ndarray, Sight, np.random.Generator], np.ndarray]


def _p(x: float, y: float) -> tuple[int, int]:
    return int(round(x)), int(round(y))


def _face_box(s: Sight) -> Rect | None:
    """The target clipped to the picture, or None when too little of it is inside to paint on."""
    t = s.target.clip(s.height, s.width)
    return t if t.w >= 4 and t.h >= 4 else None


def needs_person(colour: tuple[int, int, int]) -> Callable[[PersonEdit], PersonEdit]:
    """Wrap an edit that needs a target: without one, tint the picture 12% toward ``colour``."""
    def wrap(fn: PersonEdit) -> PersonEdit:
        def edit(img: np.ndarray, s: Sight, rng: np.random.Generator) -> np.ndarray:
            if s.target is None:
                return mix(img, np.broadcast_to(np.array(colour, np.uint8), img.shape), 0.12)
            return fn(img, s, rng)
        edit.__name__ = fn.__name__
        return edit
    return wrap


@needs_person((20, 20, 20))
def shades(img, s: Sight, rng):
    """Wraparound shades: one dark band across both eyes with a reflective stripe."""
    out = img.copy()
    (lx, ly), (rx, ry) = s.eyes
    t = s.target
    half = max(2.0, 0.11 * t.h)
    band = np.array([_p(t.x0 + 0.08 * t.w, ly - half), _p(t.x1 - 0.08 * t.w, ry - half),
                     _p(t.x1 - 0.12 * t.w, ry + half), _p(t.x0 + 0.12 * t.w, ly + half)], np.int32)
    cv2.fillPoly(out, [band], (12, 14, 30), cv2.LINE_AA)
    cv2.line(out, _p(t.x0 + 0.2 * t.w, ly - half * 0.3), _p(t.x1 - 0.2 * t.w, ry - half * 0.3), (110, 140, 190),
             max(1, int(half * 0.25)), cv2.LINE_AA)
    return out


@needs_person((190, 150, 90))
def stetson(img, s: Sight, rng):
    """A tan trapezoid crown on a flat brim resting on the forehead."""
    out = img.copy()
    t = s.target
    brim = t.y0 + 0.05 * t.h
    cv2.rectangle(out, _p(t.x0 - 0.35 * t.w, brim - 0.06 * t.h), _p(t.x1 + 0.35 * t.w, brim + 0.06 * t.h),
                  (170, 128, 76), -1, cv2.LINE_AA)
    crown = np.array([_p(t.x0 + 0.12 * t.w, brim), _p(t.x0 + 0.22 * t.w, brim - 0.5 * t.h),
                      _p(t.x1 - 0.22 * t.w, brim - 0.5 * t.h), _p(t.x1 - 0.12 * t.w, brim)], np.int32)
    cv2.fillPoly(out, [crown], (190, 150, 90), cv2.LINE_AA)
    cv2.rectangle(out, _p(t.x0 + 0.14 * t.w, brim - 0.14 * t.h), _p(t.x1 - 0.14 * t.w, brim - 0.06 * t.h),
                  (60, 40, 30), -1)
    return out


@needs_person((40, 90, 200))
def baseball_cap(img, s: Sight, rng):
    """A half-disc crown and a visor pointing left; the colour is drawn from the seed."""
    out = img.copy()
    t = s.target
    colour = [(40, 90, 200), (200, 200, 200), (220, 120, 20), (20, 20, 20)][int(rng.integers(4))]
    cv2.ellipse(out, _p(t.cx, t.y0 + 0.15 * t.h), _p(0.55 * t.w, 0.45 * t.h), 0, 180, 360, colour, -1, cv2.LINE_AA)
    cv2.rectangle(out, _p(t.x0 - 0.35 * t.w, t.y0 + 0.08 * t.h), _p(t.cx, t.y0 + 0.18 * t.h), colour, -1)
    return out


@needs_person((230, 190, 60))
def hoops(img, s: Sight, rng):
    """Gold hoops hanging at both sides of the face, 55% down."""
    out = img.copy()
    t = s.target
    r = max(2, int(0.09 * t.w))
    for x in (t.x0 - 0.02 * t.w, t.x1 + 0.02 * t.w):
        cv2.circle(out, _p(x, t.y0 + 0.55 * t.h + r), r, (230, 190, 60), max(1, r // 3), cv2.LINE_AA)
    return out


@needs_person((200, 40, 60))
def knitted_scarf(img, s: Sight, rng):
    """A checked band wrapped under the chin."""
    out = img.copy()
    t = s.target
    band = Rect(int(t.x0 - 0.15 * t.w), int(t.y1 - 0.05 * t.h), int(t.x1 + 0.15 * t.w), int(t.y1 + 0.28 * t.h))
    b = band.clip(s.height, s.width)
    if b.w < 2 or b.h < 2:
        return out
    yy, xx = np.mgrid[b.y0:b.y1, b.x0:b.x1]
    cell = max(2, t.w // 10)
    checks = ((xx // cell + yy // cell) % 2).astype(bool)
    out[b.y0:b.y1, b.x0:b.x1] = np.where(checks[..., None], (200, 40, 60), (240, 230, 210))
    return out


@needs_person((30, 35, 60))
def suit_and_tie(img, s: Sight, rng):
    """Dark shoulders below the face, white lapels and a blue tie."""
    out = img.copy()
    t = s.target
    top = t.y1 + 0.08 * t.h
    jacket = np.array([_p(t.cx - 0.45 * t.w, top), _p(t.cx + 0.45 * t.w, top), _p(t.cx + 1.4 * t.w, s.height),
                       _p(t.cx - 1.4 * t.w, s.height)], np.int32)
    cv2.fillPoly(out, [jacket], (30, 35, 60), cv2.LINE_AA)
    shirt = np.array([_p(t.cx - 0.25 * t.w, top), _p(t.cx + 0.25 * t.w, top), _p(t.cx, top + 0.9 * t.h)], np.int32)
    cv2.fillPoly(out, [shirt], (245, 245, 245), cv2.LINE_AA)
    tie = np.array([_p(t.cx - 0.07 * t.w, top), _p(t.cx + 0.07 * t.w, top), _p(t.cx + 0.1 * t.w, top + 0.75 * t.h),
                    _p(t.cx, top + 0.85 * t.h), _p(t.cx - 0.1 * t.w, top + 0.75 * t.h)], np.int32)
    cv2.fillPoly(out, [tie], (30, 60, 170), cv2.LINE_AA)
    return out


def dye(a_shift: float, b_shift: float, lift: float) -> PersonEdit:
    """Hair colour in Lab: shift a*/b* and lift L inside the hair band."""
    @needs_person((128 + int(a_shift), 110, 128 + int(b_shift)))
    def recolour(img, s: Sight, rng):
        lab = cv2.cvtColor(img, cv2.COLOR_RGB2LAB).astype(np.float32)
        lab[..., 0] += lift * (255 - lab[..., 0])
        lab[..., 1] += a_shift
        lab[..., 2] += b_shift
        dyed = cv2.cvtColor(clip8(lab), cv2.COLOR_LAB2RGB)
        return mix(img, dyed, soft(s.hair, 1.5) * 0.9)
    return recolour


@needs_person((90, 60, 40))
def curls(img, s: Sight, rng):
    """Small dark ring outlines tiled over the hair band (offsets from the seed)."""
    out = img.copy()
    ys, xs = np.nonzero(s.hair)
    if len(xs) == 0:
        return out
    r = max(2, s.target.w // 14)
    ox, oy = rng.integers(0, r, 2)
    for y in range(int(ys.min()) + int(oy), int(ys.max()) + 1, r * 2):
        for x in range(int(xs.min()) + int(ox), int(xs.max()) + 1, r * 2):
            if s.hair[min(y, s.height - 1), min(x, s.width - 1)]:
                cv2.circle(out, (x, y), r, (50, 35, 25), 1, cv2.LINE_AA)
    return out


@needs_person((120, 140, 160))
def cyborg(img, s: Sight, rng):
    """The right half of the face turned to brushed steel with rivets, the right eye glowing cyan."""
    out = img.copy()
    t = _face_box(s)
    if t is None:
        return out
    half = Rect(int(t.cx), t.y0, t.x1, t.y1)
    grey = cv2.cvtColor(img[half.y0:half.y1, half.x0:half.x1], cv2.COLOR_RGB2GRAY).astype(np.float32)
    steel = clip8(np.stack([grey * 0.6 + 70, grey * 0.65 + 80, grey * 0.7 + 95], -1))
    out[half.y0:half.y1, half.x0:half.x1] = steel
    for k in range(4):
        cv2.circle(out, _p(half.x0 + 0.3 * half.w, half.y0 + (k + 0.5) * half.h / 4), max(1, t.w // 30),
                   (200, 200, 210), -1)
    cv2.circle(out, _p(*s.eyes[1]), max(2, t.w // 12), (60, 230, 255), -1, cv2.LINE_AA)
    return out


def cartoonise(img, s: Sight, rng):
    """The whole picture: colours quantised to 8 levels per channel after smoothing, dark outlines on top."""
    smooth = cv2.bilateralFilter(img, 7, 60, 7)
    flat = (smooth // 32) * 32 + 16
    edges = cv2.adaptiveThreshold(cv2.medianBlur(cv2.cvtColor(img, cv2.COLOR_RGB2GRAY), 5), 255,
                                  cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY, 9, 4)
    return np.where(edges[..., None] == 0, 20, flat).astype(np.uint8)


@needs_person((255, 160, 200))
def anime(img, s: Sight, rng):
    """Edge-preserving smoothing, +40% saturation, and large white eyes with dark irises at the eye points."""
    out = cv2.edgePreservingFilter(img, flags=1, sigma_s=30, sigma_r=0.3)
    hsv = cv2.cvtColor(out, cv2.COLOR_RGB2HSV).astype(np.float32)
    hsv[..., 1] *= 1.4
    out = cv2.cvtColor(clip8(hsv), cv2.COLOR_HSV2RGB)
    r = max(2, int(s.target.w * 0.1))
    for ex, ey in s.eyes:
        cv2.circle(out, _p(ex, ey), r, (255, 255, 255), -1, cv2.LINE_AA)
        cv2.circle(out, _p(ex, ey), max(1, int(r * 0.6)), (40, 30, 90), -1, cv2.LINE_AA)
        cv2.circle(out, _p(ex - r * 0.25, ey - r * 0.25), max(1, r // 4), (255, 255, 255), -1, cv2.LINE_AA)
    return out


@needs_person((230, 200, 40))
def superhero(img, s: Sight, rng):
    """A purple eye mask and a yellow aura traced around the body."""
    out = img.copy()
    body = (s.foreground > 0.5).astype(np.uint8)
    ring = cv2.dilate(body, np.ones((9, 9), np.uint8)) - body
    out = mix(out, np.broadcast_to(np.array((255, 220, 40), np.uint8), img.shape), soft(ring, 2.0) * 0.9)
    (lx, ly), (rx, ry) = s.eyes
    r = max(2, int(s.target.w * 0.13))
    cv2.ellipse(out, _p((lx + rx) / 2, (ly + ry) / 2), _p((rx - lx) / 2 + r, r), 0, 0, 360, (110, 30, 140), -1,
                cv2.LINE_AA)
    for ex, ey in s.eyes:
        cv2.circle(out, _p(ex, ey), max(1, r // 2), (240, 240, 240), -1, cv2.LINE_AA)
    return out


@needs_person((90, 40, 110))
def vampire(img, s: Sight, rng):
    """Grey skin on the face, dark sockets, red lips at 78% of the face; the rest cooled toward purple."""
    out = mix(img, np.broadcast_to(np.array((70, 40, 90), np.uint8), img.shape), 0.2)
    t = s.target.clip(s.height, s.width)
    face = t.mask(s.height, s.width) & s.skin
    grey = cv2.cvtColor(cv2.cvtColor(out, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB)
    out = mix(out, clip8(grey.astype(np.float32) * 1.15 + 10), soft(face, 1.0) * 0.8)
    for ex, ey in s.eyes:
        cv2.circle(out, _p(ex, ey), max(2, t.w // 9), (40, 20, 40), -1, cv2.LINE_AA)
    cv2.ellipse(out, _p(t.cx, t.y0 + 0.78 * t.h), _p(0.16 * t.w, 0.05 * t.h), 0, 0, 360, (170, 10, 30), -1,
                cv2.LINE_AA)
    return out


@needs_person((200, 220, 255))
def ghost(img, s: Sight, rng):
    """Everything paled and blue; the body made half see-through by mixing in its blurred surroundings."""
    pale = mix(img, np.broadcast_to(np.array((200, 220, 255), np.uint8), img.shape), 0.35)
    behind = cv2.GaussianBlur(pale, (0, 0), max(2.0, s.width / 30))
    return mix(pale, behind, s.foreground * 0.55)


@needs_person((160, 160, 160))
def older(img, s: Sight, rng):
    """Hair turned white-grey, the face desaturated and given fine dark line texture."""
    out = mix(img, np.broadcast_to(np.array((215, 215, 210), np.uint8), img.shape), soft(s.hair, 1.2) * 0.85)
    t = _face_box(s)
    if t is None:
        return out
    roi = out[t.y0:t.y1, t.x0:t.x1].astype(np.float32)
    grey = roi.mean(-1, keepdims=True)
    lines = (np.sin(np.arange(t.h)[:, None] / max(1.0, t.h / 18) * np.pi) > 0.93).astype(np.float32)[..., None]
    out[t.y0:t.y1, t.x0:t.x1] = clip8((0.5 * roi + 0.5 * grey) * (1 - 0.18 * lines))
    return out


@needs_person((255, 200, 200))
def younger(img, s: Sight, rng):
    """The face smoothed hard (bilateral), brightened 8%, with pink cheeks."""
    out = img.copy()
    t = _face_box(s)
    if t is None:
        return out
    roi = cv2.bilateralFilter(out[t.y0:t.y1, t.x0:t.x1], 9, 80, 9)
    out[t.y0:t.y1, t.x0:t.x1] = clip8(roi.astype(np.float32) * 1.08)
    for cx in (t.x0 + 0.28 * t.w, t.x1 - 0.28 * t.w):
        blush = np.zeros(img.shape[:2], np.float32)
        cv2.circle(blush, _p(cx, t.y0 + 0.62 * t.h), max(2, t.w // 9), 1.0, -1)
        out = mix(out, np.broadcast_to(np.array((240, 120, 130), np.uint8), img.shape), soft(blush, t.w / 20) * 0.4)
    return out


def remove_person(img, s: Sight, rng):
    """Erase the body (or, without a target, whatever stands out from the border)."""
    return erase(img, s.foreground > 0.4)


EDITS: dict[str, PersonEdit] = {
    "001": shades, "002": stetson, "003": baseball_cap, "004": hoops, "005": knitted_scarf, "006": suit_and_tie,
    "007": dye(45, 35, 0.0), "008": dye(2, 45, 0.35), "009": dye(10, -55, 0.05), "010": curls, "011": cyborg,
    "012": cartoonise, "013": anime, "014": superhero, "015": vampire, "016": ghost, "017": older,
    "018": younger, "023": remove_person,
}
