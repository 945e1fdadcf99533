"""Editor B's text, stain, card and ticket edits (047-065).

Where they land is editor B's own rule: the panel of the right shape when B finds one (a flat colour region
filling its rotated rectangle), else the span of the text lines B reads (MSER), else the middle 40% of the
picture. Removals (047, 064, 065) erase only what B found; when it finds nothing it leaves the image as is,
as an editor does that sees no laptop to remove.
"""

from __future__ import annotations

import cv2
import numpy as np

from sppe_ray.editors.procedural_b.draw import clip8, emboss, erase, label, mix, soft, texture, warp_to
from sppe_ray.editors.procedural_b.sight import Rect, Sight


def _rect_corners(r: Rect) -> np.ndarray:
    return np.float32([[r.x0, r.y0], [r.x1 - 1, r.y0], [r.x1 - 1, r.y1 - 1], [r.x0, r.y1 - 1]])


def target_corners(s: Sight, kind: str) -> np.ndarray:
    """Where a document edit lands: B's panel of this kind, else its text span, else the middle 40%."""
    panel = s.panel(kind)
    if panel is not None:
        return panel.corners
    if s.text_lines:
        x0 = min(r.x0 for r in s.text_lines)
        y0 = min(r.y0 for r in s.text_lines)
        x1 = max(r.x1 for r in s.text_lines)
        y1 = max(r.y1 for r in s.text_lines)
        pad = max(2, (y1 - y0) // 6)
        return _rect_corners(Rect(x0 - pad, y0 - pad, x1 + pad, y1 + pad).clip(s.height, s.width))
    return _rect_corners(Rect(int(s.width * 0.3), int(s.height * 0.3), int(s.width * 0.7), int(s.height * 0.7)))


def remove_text(img, s: Sight, rng):
    return erase(img, s.text_mask)


def _area(s: Sight) -> Rect:
    c = target_corners(s, "card")
    x0, y0 = c.min(0)
    x1, y1 = c.max(0)
    return Rect(int(x0), int(y0), int(x1) + 1, int(y1) + 1).clip(s.height, s.width)


def stains(colour: tuple[int, int, int], opacity: float, rings: bool, count: int):
    """Blotches (or rings, for coffee) of ``colour`` scattered over the document area."""
    def edit(img, s: Sight, rng):
        area = _area(s)
        alpha = np.zeros(img.shape[:2], np.float32)
        for _ in range(count):
            cx = area.x0 + rng.random() * max(area.w, 1)
            cy = area.y0 + rng.random() * max(area.h, 1)
            r = max(3.0, (0.15 + 0.2 * rng.random()) * max(min(area.w, area.h), 0.3 * min(s.height, s.width)))
            if rings:
                cv2.ellipse(alpha, (int(cx), int(cy)), (int(r), int(r * 0.85)), float(rng.random() * 180), 0, 360,
                            1.0, max(1, int(r * 0.12)), cv2.LINE_AA)
            else:
                cv2.ellipse(alpha, (int(cx), int(cy)), (int(r), int(r * (0.5 + 0.4 * rng.random()))),
                            float(rng.random() * 180), 0, 360, 1.0, -1, cv2.LINE_AA)
        paint = np.broadcast_to(np.array(colour, np.uint8), img.shape)
        return mix(img, paint, soft(alpha, 1.5) * opacity)
    return edit


def scratches(img, s: Sight, rng):
    out = img.copy()
    area = _area(s)
    for _ in range(9):
        x0, x1 = area.x0 + rng.random(2) * max(area.w, 1)
        y0, y1 = area.y0 + rng.random(2) * max(area.h, 1)
        cv2.line(out, (int(x0), int(y0)), (int(x1), int(y1)), (235, 235, 230), 1, cv2.LINE_AA)
    return out


def _swatch(style: str, h: int, w: int, gray: np.ndarray, rng) -> np.ndarray:
    """The new face of the card or ticket; engraved styles keep the original's structure as relief."""
    material = {"leather": "leather", "gold": "gold", "marble": "marble", "wood": "wood", "vip": "velvet"}
    sw = texture(material.get(style, "paper"), h, w, rng)
    if style in ("leather", "gold", "marble", "wood"):
        relief = emboss(cv2.resize(gray, (w, h), interpolation=cv2.INTER_AREA))
        return clip8(sw.astype(np.float32) + 0.6 * relief[..., None])
    if style == "birthday":
        sw = mix(sw, np.broadcast_to(np.array((255, 200, 220), np.uint8), sw.shape), 0.6)
        for _ in range(30):
            colour = tuple(int(c) for c in rng.integers(60, 255, 3))
            cv2.circle(sw, (int(rng.integers(w)), int(rng.integers(h))), max(1, h // 30), colour, -1)
        label(sw, "Happy Birthday", w * 0.1, h * 0.55, h * 0.16, (200, 30, 90))
    elif style == "love":
        sw = mix(sw, np.broadcast_to(np.array((255, 225, 230), np.uint8), sw.shape), 0.5)
        for k in range(4):
            y = int(h * (0.35 + 0.15 * k))
            cv2.line(sw, (int(w * 0.1), y), (int(w * 0.85), y), (150, 60, 90), 1, cv2.LINE_AA)
        cv2.circle(sw, (int(w * 0.82), int(h * 0.22)), max(2, h // 10), (210, 20, 50), -1, cv2.LINE_AA)
    elif style == "vip":
        cv2.rectangle(sw, (2, 2), (w - 3, h - 3), (212, 175, 55), max(1, h // 25))
        label(sw, "VIP", w * 0.35, h * 0.62, h * 0.3, (212, 175, 55), max(1, h // 30))
    elif style == "wedding":
        sw = mix(sw, np.broadcast_to(np.array((250, 245, 235), np.uint8), sw.shape), 0.6)
        cv2.rectangle(sw, (3, 3), (w - 4, h - 4), (200, 170, 90), 1)
        for cx, cy in ((0, 0), (w, 0), (0, h), (w, h)):
            cv2.circle(sw, (cx, cy), max(3, h // 5), (220, 160, 170), -1, cv2.LINE_AA)
    return sw


def restyle(style: str, kind: str):
    def edit(img, s: Sight, rng):
        corners = target_corners(s, kind)
        span = corners.max(0) - corners.min(0)
        w, h = max(8, int(span[0])), max(8, int(span[1]))
        x0, y0 = np.maximum(corners.min(0).astype(int), 0)
        crop = s.gray[y0:y0 + h, x0:x0 + w]
        crop = crop if crop.size else np.zeros((h, w), np.uint8)
        layer, cover = warp_to(img, _swatch(style, h, w, crop, rng), corners)
        return mix(img, layer, np.clip(cover, 0, 1))
    return edit


def remove_panel(kind: str):
    def edit(img, s: Sight, rng):
        panel = s.panel(kind)
        if panel is None:
            return img.copy()
        mask = np.zeros(img.shape[:2], np.uint8)
        cv2.fillConvexPoly(mask, panel.corners.astype(np.int32), 1)
        return erase(img, mask > 0)
    return edit


EDITS = {
    "047": remove_text,
    "048": stains((200, 205, 215), 0.35, False, 3),
    "049": stains((120, 70, 30), 0.55, True, 2),
    "050": stains((20, 30, 150), 0.8, False, 4),
    "051": scratches,
    "052": restyle("birthday", "card"), "053": restyle("leather", "card"), "054": restyle("gold", "card"),
    "055": restyle("love", "card"), "056": restyle("vip", "card"), "057": restyle("marble", "card"),
    "058": restyle("wedding", "card"), "059": restyle("wood", "card"),
    "060": restyle("wood", "ticket"), "061": restyle("gold", "ticket"), "062": restyle("marble", "ticket"),
    "063": restyle("leather", "ticket"),
    "064": remove_panel("laptop"), "065": remove_panel("plate"),
}
