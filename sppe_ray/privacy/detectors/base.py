"""Shared shapes for detectors: the Detector protocol, input validation and box/quad to mask conversion."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import cv2
import numpy as np

from sppe_ray.errors import ImageError
from sppe_ray.privacy.region import Region


@runtime_checkable
class Detector(Protocol):
    """Finds private regions; `name` goes into Region.detector and into benchmark provenance."""

    name: str

    def detect(self, image: np.ndarray) -> list[Region]: ...


def check_image(image: np.ndarray) -> np.ndarray:
    """Accept only the project's image convention (RGB uint8 (H, W, 3)); ImageError otherwise."""
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ImageError(
            f"expected an RGB uint8 image of shape (H, W, 3), got {getattr(image, 'dtype', type(image))} "
            f"{getattr(image, 'shape', None)}"
        )
    if min(image.shape[:2]) < 8:
        raise ImageError(f"image too small for detection: {image.shape[:2]}")
    return image


def box_mask(shape: tuple[int, int], box: tuple[float, float, float, float]) -> np.ndarray:
    """Bool mask of the (x0, y0, x1, y1) box clipped to `shape`."""
    h, w = shape
    x0, y0, x1, y1 = (int(round(v)) for v in box)
    mask = np.zeros((h, w), dtype=bool)
    mask[max(0, y0):min(h, y1), max(0, x0):min(w, x1)] = True
    return mask


def quad_mask(shape: tuple[int, int], quad: np.ndarray) -> np.ndarray:
    """Bool mask of a filled polygon (N x 2 points, x then y), clipped to `shape`."""
    canvas = np.zeros(shape, dtype=np.uint8)
    cv2.fillPoly(canvas, [np.round(np.asarray(quad, dtype=np.float64)).astype(np.int32)], 1)
    return canvas.astype(bool)


def ellipse_mask(shape: tuple[int, int], center: tuple[float, float], axes: tuple[float, float]) -> np.ndarray:
    """Bool mask of an axis-aligned filled ellipse; faces are oval, a box would hide too much background."""
    canvas = np.zeros(shape, dtype=np.uint8)
    cx, cy = (int(round(v)) for v in center)
    ax, ay = (max(1, int(round(v))) for v in axes)
    cv2.ellipse(canvas, (cx, cy), (ax, ay), 0, 0, 360, 1, thickness=-1)
    return canvas.astype(bool)


def nms_boxes(boxes: list[tuple[float, float, float, float]], scores: list[float], iou: float = 0.4) -> list[int]:
    """Indices kept by greedy non-maximum suppression (boxes as x0, y0, x1, y1), in index order."""
    if not boxes:
        return []
    b = np.asarray(boxes, dtype=np.float64)
    area = np.clip(b[:, 2] - b[:, 0], 0, None) * np.clip(b[:, 3] - b[:, 1], 0, None)
    order = list(np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable"))
    keep: list[int] = []
    while order:
        i = order.pop(0)
        keep.append(int(i))
        rest = np.asarray(order, dtype=int)
        if rest.size == 0:
            break
        iw = np.clip(np.minimum(b[i, 2], b[rest, 2]) - np.maximum(b[i, 0], b[rest, 0]), 0, None)
        ih = np.clip(np.minimum(b[i, 3], b[rest, 3]) - np.maximum(b[i, 1], b[rest, 1]), 0, None)
        inter = iw * ih
        overlap = inter / np.maximum(area[i] + area[rest] - inter, 1e-9)
        order = [int(j) for j, o in zip(rest, overlap, strict=True) if o <= iou]
    return sorted(keep)


def mask_iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two bool masks (0 when both are empty)."""
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 0.0
