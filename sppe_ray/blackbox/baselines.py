"""The heuristic anonymizers of the paper's Table 1, on the private regions' true boxes (setting 1 knows them).

- ``downsample``: the whole image down by ``factor`` and back up (area, then nearest), as in the action
  recognition privacy literature (Dave 2022), where it needs no detector.
- ``blackening``: every private box filled with black.
- ``strong_blur`` / ``weak_blur``: a Gaussian blur inside every private box (sigma 4 and 1.5 pixels at 48 px).
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from sppe_ray.registry import Registry

Boxes = list[list[tuple[int, int, int, int]]]


def downsample(images: np.ndarray, boxes: Boxes, factor: int = 4) -> np.ndarray:
    out = np.empty_like(images)
    h, w = images.shape[2:]
    for i, img in enumerate(images):
        hwc = img.transpose(1, 2, 0)
        small = cv2.resize(hwc, (w // factor, h // factor), interpolation=cv2.INTER_AREA)
        out[i] = cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST).transpose(2, 0, 1)
    return out


def _in_boxes(images: np.ndarray, boxes: Boxes, change: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    out = images.copy()
    for i, mine in enumerate(boxes):
        if not mine:
            continue
        changed = change(images[i].transpose(1, 2, 0)).transpose(2, 0, 1)
        for x0, y0, x1, y1 in mine:
            out[i, :, y0:y1, x0:x1] = changed[:, y0:y1, x0:x1]
    return out


def blackening(images: np.ndarray, boxes: Boxes) -> np.ndarray:
    return _in_boxes(images, boxes, np.zeros_like)


def _blur(sigma: float) -> Callable[[np.ndarray, Boxes], np.ndarray]:
    def blur(images: np.ndarray, boxes: Boxes) -> np.ndarray:
        return _in_boxes(images, boxes, lambda hwc: cv2.GaussianBlur(np.ascontiguousarray(hwc), (0, 0), sigma))
    return blur


HEURISTICS = Registry("heuristic anonymizer", "blackbox study")
HEURISTICS.add("downsample", downsample, "whole image down 4x and back up")
HEURISTICS.add("blackening", blackening, "private boxes filled black")
HEURISTICS.add("strong_blur", _blur(4.0), "Gaussian blur, sigma 4 px, inside the private boxes")
HEURISTICS.add("weak_blur", _blur(1.5), "Gaussian blur, sigma 1.5 px, inside the private boxes")
