"""Face detectors: dlib's MMOD CNN (accurate, slow) and OpenCV Haar cascades (fast, frontal/profile).

Both return oval masks around the detected box, extended up and down because detector boxes are tight on
eyes-to-mouth while the private region is the whole face.
"""

from __future__ import annotations

import cv2
import numpy as np

from sppe_ray.privacy.detectors import weights
from sppe_ray.privacy.detectors.base import check_image, ellipse_mask, nms_boxes
from sppe_ray.privacy.region import Region

FACE_CATEGORY = "a105_face_all"
Box = tuple[int, int, int, int]


def face_region_mask(shape: tuple[int, int], box: Box) -> np.ndarray:
    """Oval covering forehead to chin for a tight detector box (x0, y0, x1, y1)."""
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    return ellipse_mask(shape, ((x0 + x1) / 2, (y0 + y1) / 2 - 0.05 * h), (0.62 * w, 0.8 * h))


def _rect_box(rect: object, shape: tuple[int, int]) -> Box:
    h, w = shape
    return (max(0, rect.left()), max(0, rect.top()), min(w, rect.right() + 1), min(h, rect.bottom() + 1))


def mmod_faces(image: np.ndarray, upsample: int | None = None) -> list[tuple[Box, float]]:
    """(box, confidence) from the MMOD CNN; small images are upsampled once since it misses faces < ~80 px."""
    if upsample is None:
        upsample = 1 if max(image.shape[:2]) <= 640 else 0
    found = weights.dlib_cnn_detector()(np.ascontiguousarray(image), int(upsample))
    return [(_rect_box(d.rect, image.shape[:2]), float(d.confidence)) for d in found]


def hog_faces(image: np.ndarray, upsample: int = 1) -> list[tuple[Box, float]]:
    """(box, score) from dlib's HOG frontal detector (fast first pass; misses profiles)."""
    rects, scores, _ = weights.dlib_hog_detector().run(np.ascontiguousarray(image), int(upsample), 0.0)
    return [(_rect_box(r, image.shape[:2]), float(s)) for r, s in zip(rects, scores, strict=True)]


def find_faces(image: np.ndarray) -> list[tuple[Box, float]]:
    """Fast-then-accurate: HOG first, MMOD only when HOG finds nothing (used by leakage checks)."""
    return hog_faces(image) or mmod_faces(image)


class DlibFaceDetector:
    """dlib MMOD CNN face detector; weights from the face_recognition_models package (offline)."""

    name = "dlib"

    def __init__(self, upsample: int | None = None, min_confidence: float = 0.3) -> None:
        self.upsample = upsample
        self.min_confidence = min_confidence

    def detect(self, image: np.ndarray) -> list[Region]:
        check_image(image)
        shape = image.shape[:2]
        return [
            Region(FACE_CATEGORY, face_region_mask(shape, box), score=min(1.0, max(0.0, conf)),
                   detector=self.name, meta={"box": box})
            for box, conf in mmod_faces(image, self.upsample)
            if conf >= self.min_confidence
        ]


class HaarFaceDetector:
    """OpenCV frontal + profile Haar cascades (both directions for profiles), merged by NMS."""

    name = "haar"
    cascades = ("haarcascade_frontalface_default.xml", "haarcascade_profileface.xml")

    def __init__(self, min_neighbors: int = 5, min_size: int = 20) -> None:
        self.min_neighbors = min_neighbors
        self.min_size = min_size

    def _run(self, gray: np.ndarray, name: str, mirrored: bool) -> list[tuple[Box, float]]:
        src = gray[:, ::-1].copy() if mirrored else gray
        with weights.cascade(name) as clf:
            found, _, levels = clf.detectMultiScale3(
                src, scaleFactor=1.1, minNeighbors=self.min_neighbors, minSize=(self.min_size, self.min_size),
                outputRejectLevels=True,
            )
        out = []
        w = gray.shape[1]
        for (x, y, bw, bh), level in zip(np.asarray(found).reshape(-1, 4), np.asarray(levels).reshape(-1),
                                         strict=True):
            x0 = w - (x + bw) if mirrored else x
            # Haar "level weights" are unbounded margins; squash them into (0, 1) as a score.
            out.append(((int(x0), int(y), int(x0 + bw), int(y + bh)), float(1 / (1 + np.exp(-level)))))
        return out

    def detect(self, image: np.ndarray) -> list[Region]:
        check_image(image)
        gray = cv2.equalizeHist(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY))
        cands = self._run(gray, self.cascades[0], False)
        cands += self._run(gray, self.cascades[1], False) + self._run(gray, self.cascades[1], True)
        keep = nms_boxes([b for b, _ in cands], [s for _, s in cands], 0.3)
        shape = image.shape[:2]
        return [
            Region(FACE_CATEGORY, face_region_mask(shape, cands[i][0]), score=cands[i][1], detector=self.name,
                   meta={"box": cands[i][0]})
            for i in keep
        ]
