"""Private-region detectors. `create_detector(name)` returns an object with `.name` and
`.detect(image) -> list[Region]`; expensive models load lazily once per process (see weights.py).

Names: composite (everything, category-labelled), dlib (MMOD CNN faces), haar (Haar cascade faces),
rapidocr / tesseract (text lines), person (HOG + GrabCut), objects (QR codes and barcodes).
"""

from __future__ import annotations

from collections.abc import Callable

from sppe_ray.privacy.detectors.base import Detector, mask_iou
from sppe_ray.privacy.detectors.composite import CompositeDetector, classify_text
from sppe_ray.privacy.detectors.faces import DlibFaceDetector, HaarFaceDetector
from sppe_ray.privacy.detectors.objects import CodeDetector
from sppe_ray.privacy.detectors.person import HOGPersonDetector
from sppe_ray.privacy.detectors.text import RapidOCRDetector, TesseractDetector

DETECTORS: dict[str, Callable[..., Detector]] = {
    "composite": CompositeDetector,
    "dlib": DlibFaceDetector,
    "haar": HaarFaceDetector,
    "rapidocr": RapidOCRDetector,
    "tesseract": TesseractDetector,
    "person": HOGPersonDetector,
    "objects": CodeDetector,
}


def create_detector(name: str = "composite", **kwargs: object) -> Detector:
    """A detector by name; ValueError naming the choices for an unknown one."""
    try:
        factory = DETECTORS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown detector {name!r}; choose one of {', '.join(DETECTORS)}") from None
    return factory(**kwargs)


__all__ = ["DETECTORS", "Detector", "classify_text", "create_detector", "mask_iou"]
