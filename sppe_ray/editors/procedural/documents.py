"""Text, stain, card, ticket and removal edits 047-065, keyed on detected text lines and rectangles.

Text pixelated or blurred past recognition is not found, so "remove text" leaves it; a card flat-filled by a
surrogate is not a card any more, so the restyle lands on a guessed central card instead of the real one.
"""

from __future__ import annotations

import cv2
import numpy as np

from sppe_ray.editors.procedural.analysis import Analysis
from sppe_ray.editors.procedural.geometry import Box
from sppe_ray.editors.procedural.paint import (
    blend,
    edge_relief,
    f32,
    feather,
    fill_region,
    material,
    put_text,
    u8,
)


def remove_text(img, a: Analysis, rng):
    return fill_region(img, a.text_mask) if a.text_lines else img.copy()


def _stain_area(a: Analysis) -> Box:
    area = a.document_area
    if area is None or area.area < 16:
        return Box(a.width // 4, a.height // 4, 3 * a.width // 4, 3 * a.height // 4)
    return area


def _blob(rng, size: int, radius: float) -> np.ndarray:
    """Distance map (1 at the rim) of an irregular round blob centred in a ``size`` x ``size`` window."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) - size / 2
    ang = np.arctan2(yy, xx)
    wob = 1 + 0.25 * np.sin(3 * ang + rng.uniform(0, 6.3)) + 0.12 * np.sin(7 * ang + rng.uniform(0, 6.3))
    return np.sqrt(xx ** 2 + yy ** 2) / (radius * wob)


def stain(colour: tuple[int, int, int], ring: float, opacity: float, count: int, size: float):
    """Stains placed inside the document/text area (else the centre): ring darkness and fill opacity differ
    between water (faint ring), coffee (brown ring) and ink (opaque blue splatter)."""

    def edit(img, a: Analysis, rng):
        area = _stain_area(a)
        alpha = np.zeros((a.height, a.width), np.float32)
        for i in range(count):
            cx, cy = area.x0 + rng.uniform(0.2, 0.8) * area.w, area.y0 + rng.uniform(0.2, 0.8) * area.h
            r = max(3.0, size * min(area.w, area.h) * (1.0 if i == 0 else rng.uniform(0.2, 0.5)))
            win = int(r * 3) | 1
            d = _blob(rng, win, r)
            a_win = np.clip(np.clip(1 - d, 0, 1) ** 0.3 * opacity + np.exp(-((d - 1) ** 2) / 0.004) * ring, 0, 1)
            x0, y0 = int(cx) - win // 2, int(cy) - win // 2
            box = Box(x0, y0, x0 + win, y0 + win).clip(a.height, a.width)
            if box.area:
                sub = a_win[box.y0 - y0:box.y1 - y0, box.x0 - x0:box.x1 - x0]
                view = alpha[box.y0:box.y1, box.x0:box.x1]
                np.maximum(view, sub, out=view)
        return blend(img, np.full_like(img, colour), alpha)

    return edit


def scratches(img, a: Analysis, rng):
    area = _stain_area(a)
    out = img.copy()
    for _ in range(6):
        x0, y0 = area.x0 + rng.uniform(0, area.w), area.y0 + rng.uniform(0, area.h)
        ang, length = rng.uniform(0, np.pi), rng.uniform(0.3, 0.8) * max(area.w, area.h)
        x1, y1 = x0 + np.cos(ang) * length, y0 + np.sin(ang) * length
        shade = (235, 235, 230) if rng.random() < 0.6 else (40, 40, 40)
        cv2.line(out, (int(x0), int(y0)), (int(x1), int(y1)), shade, 1, cv2.LINE_AA)
    return out


def _card_region(a: Analysis, kind: str) -> tuple[np.ndarray, Box]:
    """Alpha and box of the detected card/ticket. With none found, the editor restyles the whole picture
    half-strength (what an editor does with "make the card golden" when it cannot see a card)."""
    q = a.find(kind) or (a.find("card") if kind == "ticket" else None)
    if q is not None:
        return feather(q.mask(a.height, a.width), 0.8), q.box
    return np.full((a.height, a.width), 0.55, np.float32), Box(0, 0, a.width, a.height)


def _decorate(layer: np.ndarray, style: str, box: Box, rng) -> None:
    """Motifs that make each restyle recognisable (in place, inside the card box)."""
    s = max(4, min(box.w, box.h))
    if style == "birthday":
        for _ in range(30):
            c = (int(box.x0 + rng.uniform(0, box.w)), int(box.y0 + rng.uniform(0, box.h)))
            col = tuple(int(v) for v in rng.integers(80, 255, 3))
            cv2.circle(layer, c, max(1, s // 40), col, -1)
        put_text(layer, "Happy Birthday", (box.cx, box.y0 + box.h * 0.2), s * 0.13, (220, 40, 120))
    elif style == "love":
        for _ in range(6):
            c = (int(box.x0 + rng.uniform(0.1, 0.9) * box.w), int(box.y0 + rng.uniform(0.1, 0.9) * box.h))
            r = max(2, s // 18)
            cv2.circle(layer, (c[0] - r // 2, c[1]), r // 2 + 1, (210, 30, 60), -1, cv2.LINE_AA)
            cv2.circle(layer, (c[0] + r // 2, c[1]), r // 2 + 1, (210, 30, 60), -1, cv2.LINE_AA)
            cv2.fillPoly(layer, [np.array([(c[0] - r, c[1]), (c[0] + r, c[1]), (c[0], c[1] + r)], np.int32)],
                         (210, 30, 60), cv2.LINE_AA)
    elif style == "vip":
        put_text(layer, "VIP", (box.x0 + box.w * 0.78, box.y0 + box.h * 0.22), s * 0.18, (230, 190, 80), 0.12)
    if style in ("vip", "wedding", "gold", "leather"):
        inset = max(2, s // 14)
        colour = (110, 70, 35) if style == "leather" else (212, 175, 55)
        cv2.rectangle(layer, (box.x0 + inset, box.y0 + inset), (box.x1 - inset, box.y1 - inset), colour,
                      1, cv2.LINE_4 if style == "leather" else cv2.LINE_AA)
        if style == "wedding":
            cv2.rectangle(layer, (box.x0 + 2 * inset, box.y0 + 2 * inset), (box.x1 - 2 * inset, box.y1 - 2 * inset),
                          colour, 1, cv2.LINE_AA)


STYLES = {  # style -> (material, decoration, relief strength)
    "birthday": ("paper", "birthday", 0.6), "leather": ("leather", "leather", 1.0), "gold": ("gold", "gold", 1.4),
    "love": ("paper", "love", 0.8), "vip": ("velvet", "vip", 1.2), "marble": ("marble", "marble", 1.0),
    "wedding": ("paper", "wedding", 0.7), "wood": ("wood", "wood", 1.3),
}


def restyle(style: str, kind: str):
    """Replace the card/ticket surface with a material, keeping its printed strokes as relief."""
    mat, deco, relief_k = STYLES[style]

    def edit(img, a: Analysis, rng):
        mask, box = _card_region(a, kind)
        layer = img.copy()
        if box.area > 0:
            tex = material(mat, box.h, box.w, rng)
            if style == "birthday":
                tex = u8(f32(tex) * 0.6 + np.array([100, 70, 90], np.float32))
            relief = edge_relief(a.gray[box.y0:box.y1, box.x0:box.x1]) * relief_k
            layer[box.y0:box.y1, box.x0:box.x1] = u8(f32(tex) + relief[..., None])
            _decorate(layer, deco, box, rng)
            if kind == "ticket":
                x = int(box.x0 + 0.75 * box.w)
                for y in range(box.y0 + 2, box.y1 - 2, 6):
                    cv2.circle(layer, (x, y), 1, (30, 30, 30), -1)
        return blend(img, layer, mask)

    return edit


def remove_object(kind: str):
    """Inpaint the detected laptop or plate; when none is found the image comes back unchanged."""

    def edit(img, a: Analysis, rng):
        q = a.find(kind)
        if q is not None:
            mask = cv2.dilate(q.mask(a.height, a.width).astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
            return fill_region(img, mask)
        if kind == "plate":
            lines = [b for b in a.text_lines if 2.0 <= b.w / max(b.h, 1) <= 6.5]
            if lines:
                return fill_region(img, lines[0].grow(0.15, 0.3).mask(a.height, a.width))
        return img.copy()

    return edit


EDITS = {
    "047": remove_text,
    "048": stain((150, 140, 120), 0.35, 0.12, 2, 0.35),
    "049": stain((110, 65, 25), 0.7, 0.3, 2, 0.3),
    "050": stain((25, 45, 170), 0.3, 0.85, 5, 0.18),
    "051": scratches,
    "052": restyle("birthday", "card"), "053": restyle("leather", "card"), "054": restyle("gold", "card"),
    "055": restyle("love", "card"), "056": restyle("vip", "card"), "057": restyle("marble", "card"),
    "058": restyle("wedding", "card"), "059": restyle("wood", "card"),
    "060": restyle("wood", "ticket"), "061": restyle("gold", "ticket"), "062": restyle("marble", "ticket"),
    "063": restyle("leather", "ticket"),
    "064": remove_object("laptop"), "065": remove_object("plate"),
}
