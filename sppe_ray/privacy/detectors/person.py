"""Person detector: OpenCV's HOG + linear SVM people detector, refined to a silhouette with GrabCut.

A box would hand the background to the surrogate as "private"; GrabCut seeded by the box keeps the body.
"""

from __future__ import annotations

import functools

import cv2
import numpy as np

from sppe_ray.privacy.detectors.base import box_mask, check_image, nms_boxes
from sppe_ray.privacy.region import Region

PERSON_CATEGORY = "a109_person_body"


@functools.lru_cache(maxsize=1)
def _hog() -> cv2.HOGDescriptor:
    hog = cv2.HOGDescriptor()
    hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())
    return hog


def grabcut_refine(image: np.ndarray, box: tuple[int, int, int, int], iterations: int = 3) -> np.ndarray:
    """Foreground pixels inside `box` by GrabCut; the plain box when GrabCut keeps almost nothing."""
    x0, y0, x1, y1 = box
    fallback = box_mask(image.shape[:2], box)
    if x1 - x0 < 8 or y1 - y0 < 8:
        return fallback
    gc = np.zeros(image.shape[:2], dtype=np.uint8)
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    try:
        cv2.grabCut(np.ascontiguousarray(image[..., ::-1]), gc, (x0, y0, x1 - x0, y1 - y0), bgd, fgd,
                    iterations, cv2.GC_INIT_WITH_RECT)
    except cv2.error:
        return fallback
    fg = (gc == cv2.GC_FGD) | (gc == cv2.GC_PR_FGD)
    return fg if fg.sum() >= 0.15 * fallback.sum() else fallback


class HOGPersonDetector:
    """Pedestrian-style upright people (64 x 128 window); small images are upscaled to reach the window."""

    name = "person"

    def __init__(self, min_score: float = 0.5, refine: bool = True) -> None:
        self.min_score = min_score
        self.refine = refine

    def detect(self, image: np.ndarray) -> list[Region]:
        check_image(image)
        scale = max(1.0, 256 / min(image.shape[:2]))
        work = cv2.resize(image, None, fx=scale, fy=scale) if scale > 1 else image
        rects, weights = _hog().detectMultiScale(work, winStride=(8, 8), padding=(8, 8), scale=1.05)
        boxes = [(x / scale, y / scale, (x + w) / scale, (y + h) / scale) for x, y, w, h in np.reshape(rects, (-1, 4))]
        scores = [float(1 / (1 + np.exp(-float(w)))) for w in np.reshape(weights, -1)]
        regions = []
        h, w = image.shape[:2]
        for i in nms_boxes(boxes, scores, 0.4):
            if scores[i] < self.min_score:
                continue
            x0, y0, x1, y1 = boxes[i]
            box = (max(0, int(x0)), max(0, int(y0)), min(w, int(x1)), min(h, int(y1)))
            mask = grabcut_refine(image, box) if self.refine else box_mask(image.shape[:2], box)
            regions.append(Region(PERSON_CATEGORY, mask, score=scores[i], detector=self.name, meta={"box": box}))
        return regions
