"""Small value types the analysis hands to the edit functions: boxes, faces and quadrilaterals."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Box:
    """Axis-aligned box in pixel coordinates, ``x1``/``y1`` exclusive."""

    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def w(self) -> int:
        return self.x1 - self.x0

    @property
    def h(self) -> int:
        return self.y1 - self.y0

    @property
    def area(self) -> int:
        return max(self.w, 0) * max(self.h, 0)

    @property
    def cx(self) -> float:
        return (self.x0 + self.x1) / 2

    @property
    def cy(self) -> float:
        return (self.y0 + self.y1) / 2

    def clip(self, height: int, width: int) -> Box:
        """The part of the box inside an image of the given size (may be empty)."""
        return Box(
            min(max(self.x0, 0), width), min(max(self.y0, 0), height),
            min(max(self.x1, 0), width), min(max(self.y1, 0), height),
        )

    def grow(self, fx: float, fy: float | None = None) -> Box:
        """The box enlarged by a fraction of its own size on each side (negative shrinks)."""
        fy = fx if fy is None else fy
        dx, dy = int(round(self.w * fx)), int(round(self.h * fy))
        return Box(self.x0 - dx, self.y0 - dy, self.x1 + dx, self.y1 + dy)

    def union(self, other: Box) -> Box:
        return Box(min(self.x0, other.x0), min(self.y0, other.y0), max(self.x1, other.x1), max(self.y1, other.y1))

    def mask(self, height: int, width: int) -> np.ndarray:
        """Boolean mask of the box inside an image of the given size."""
        m = np.zeros((height, width), bool)
        b = self.clip(height, width)
        m[b.y0:b.y1, b.x0:b.x1] = True
        return m


@dataclass(frozen=True)
class Face:
    """A face box plus eye centres; ``eyes_found`` says whether the eye cascade or face geometry placed them."""

    box: Box
    eyes: tuple[tuple[float, float], tuple[float, float]]
    eyes_found: bool
    detected: bool = True  # False when the "face" is only a head position guessed from the foreground

    @property
    def eye_radius(self) -> float:
        return max(2.0, self.box.w * 0.13)


@dataclass(frozen=True)
class Quad:
    """A rectangle-like outline found in the image (a card, ticket, screen or plate candidate)."""

    corners: np.ndarray  # (4, 2) float32, clockwise from top-left
    box: Box
    aspect: float  # long side / short side of the fitted rotated rectangle
    area_frac: float  # fraction of the image covered
    detail: float  # edge density inside: flat fills have none, printed cards plenty

    def mask(self, height: int, width: int) -> np.ndarray:
        import cv2

        m = np.zeros((height, width), np.uint8)
        cv2.fillConvexPoly(m, np.round(self.corners).astype(np.int32), 1)
        return m.astype(bool)


def order_corners(pts: np.ndarray) -> np.ndarray:
    """Order 4 points clockwise starting top-left, so warps map them consistently."""
    pts = np.asarray(pts, np.float32).reshape(4, 2)
    s = pts.sum(1)
    d = np.diff(pts, axis=1).ravel()
    return np.array([pts[np.argmin(s)], pts[np.argmin(d)], pts[np.argmax(s)], pts[np.argmax(d)]], np.float32)
