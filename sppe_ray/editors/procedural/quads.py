"""Rectangle-like objects (cards, tickets, screens, plates) found from Canny edges and contours.

A candidate must also carry detail inside (printed text, numbers, a picture): a flat-filled box is a redaction,
not a card, and an editor asked to restyle "the credit card" finds nothing there. Kinds differ only in aspect
ratio and size, the way a person would tell a card from a plate at a glance.
"""

from __future__ import annotations

import cv2
import numpy as np

from sppe_ray.editors.procedural.geometry import Box, Quad, order_corners

# kind -> (min aspect, max aspect, min area fraction, max area fraction, min interior edge density)
KINDS: dict[str, tuple[float, float, float, float, float]] = {
    "card": (1.3, 1.95, 0.03, 0.92, 0.025),
    "ticket": (1.55, 3.8, 0.03, 0.92, 0.025),
    "laptop": (1.15, 2.0, 0.05, 0.95, 0.015),
    "plate": (1.9, 6.5, 0.003, 0.25, 0.04),
}


def find_quads(image: np.ndarray, max_side: int = 384) -> list[Quad]:
    """All rectangle-like outlines in an RGB image with their aspect, size and interior detail, largest first.

    Edges are taken per colour channel: a blue card on a brown table can have the same gray level as the table.
    """
    height, width = image.shape[:2]
    scale = min(1.0, max_side / max(height, width))
    work = image if scale == 1.0 else cv2.resize(image, (round(width * scale), round(height * scale)),
                                                 interpolation=cv2.INTER_AREA)
    wh, ww = work.shape[:2]
    smooth = cv2.GaussianBlur(work, (3, 3), 0)
    edges = np.max([cv2.Canny(np.ascontiguousarray(smooth[..., i]), 40, 120) for i in range(3)], axis=0)
    closed = cv2.dilate(edges, np.ones((3, 3), np.uint8))
    contours, _ = cv2.findContours(closed, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    total = float(wh * ww)
    quads: list[Quad] = []
    for c in contours:
        area = cv2.contourArea(c)
        if area < 0.002 * total or area > 0.97 * total:
            continue
        rect = cv2.minAreaRect(c)
        (rw, rh) = rect[1]
        if min(rw, rh) < 4 or area / max(rw * rh, 1.0) < 0.8:
            continue
        approx = cv2.approxPolyDP(c, 0.04 * cv2.arcLength(c, True), True)
        pts = approx.reshape(-1, 2) if len(approx) == 4 and cv2.isContourConvex(approx) else cv2.boxPoints(rect)
        corners = order_corners(pts) / scale
        quads.append(_describe(corners, edges, scale, height, width, max(rw, rh) / min(rw, rh)))
    return _dedupe(sorted(quads, key=lambda q: -q.area_frac))


def _describe(corners: np.ndarray, edges: np.ndarray, scale: float, height: int, width: int, aspect: float) -> Quad:
    x0, y0 = np.floor(corners.min(0)).astype(int)
    x1, y1 = np.ceil(corners.max(0)).astype(int)
    box = Box(int(x0), int(y0), int(x1), int(y1)).clip(height, width)
    inner = np.zeros(edges.shape, np.uint8)
    shrunk = (corners - corners.mean(0)) * 0.8 + corners.mean(0)
    cv2.fillConvexPoly(inner, np.round(shrunk * scale).astype(np.int32), 1)
    n_inner = int(inner.sum())
    detail = float((edges[inner > 0] > 0).sum()) / max(n_inner, 1)
    area = float(cv2.contourArea(corners.astype(np.float32))) / (height * width)
    return Quad(corners=corners.astype(np.float32), box=box, aspect=float(aspect), area_frac=area, detail=detail)


def _dedupe(quads: list[Quad]) -> list[Quad]:
    """The inner and outer edge of one border both form contours; keep the larger of near-identical pairs."""
    kept: list[Quad] = []
    for q in quads:
        same = False
        for k in kept:
            ix = min(q.box.x1, k.box.x1) - max(q.box.x0, k.box.x0)
            iy = min(q.box.y1, k.box.y1) - max(q.box.y0, k.box.y0)
            if ix > 0 and iy > 0 and ix * iy > 0.85 * q.box.area and q.box.area > 0.8 * k.box.area:
                same = True
                break
        if not same:
            kept.append(q)
    return kept


def pick_quad(quads: list[Quad], kind: str) -> Quad | None:
    """The largest candidate that fits ``kind`` (see ``KINDS``), or None."""
    lo, hi, amin, amax, dmin = KINDS[kind]
    for q in quads:
        if lo <= q.aspect <= hi and amin <= q.area_frac <= amax and q.detail >= dmin:
            return q
    return None
