"""Machine-readable codes: QR codes (cv2.QRCodeDetector) and 1-D barcodes (cv2.barcode when present).

Codes carry private payloads (URLs with tokens, ticket ids) that OCR cannot see, so they get their own
detector; the decoded payload goes into Region.text.
"""

from __future__ import annotations

import cv2
import numpy as np

from sppe_ray.privacy.detectors.base import check_image, quad_mask
from sppe_ray.privacy.region import Region

QR_CATEGORY = "a301_qr_code"
BARCODE_CATEGORY = "a302_barcode"


def _quads(points: object) -> list[np.ndarray]:
    if points is None:
        return []
    arr = np.asarray(points, dtype=np.float64)
    return [q for q in arr.reshape(-1, 4, 2)] if arr.size else []


def qr_codes(image: np.ndarray) -> list[tuple[np.ndarray, str]]:
    """(quad, decoded payload or '') for every QR code found."""
    bgr = np.ascontiguousarray(image[..., ::-1])
    try:
        ok, texts, points, _ = cv2.QRCodeDetector().detectAndDecodeMulti(bgr)
    except cv2.error:
        return []
    if not ok:
        return []
    return list(zip(_quads(points), [str(t) for t in texts], strict=False))


def barcodes(image: np.ndarray) -> list[tuple[np.ndarray, str]]:
    """(quad, decoded payload or '') for 1-D barcodes; empty when this OpenCV build has no cv2.barcode."""
    module = getattr(cv2, "barcode", None)
    if module is None:
        return []
    bgr = np.ascontiguousarray(image[..., ::-1])
    try:
        ok, texts, _types, points = module.BarcodeDetector().detectAndDecodeWithType(bgr)
    except (cv2.error, AttributeError):
        return []
    if not ok:
        return []
    texts = list(texts) if texts is not None else []
    quads = _quads(points)
    return [(q, str(texts[i]) if i < len(texts) else "") for i, q in enumerate(quads)]


class CodeDetector:
    """QR codes and barcodes; a decoded code scores 1.0, a located-but-unreadable one 0.6."""

    name = "objects"

    def detect(self, image: np.ndarray) -> list[Region]:
        check_image(image)
        shape = image.shape[:2]
        regions = []
        for category, found in ((QR_CATEGORY, qr_codes(image)), (BARCODE_CATEGORY, barcodes(image))):
            for quad, payload in found:
                mask = quad_mask(shape, quad)
                if mask.any():
                    regions.append(Region(category, mask, score=1.0 if payload else 0.6, detector=self.name,
                                          text=payload or None, meta={"quad": quad.tolist()}))
        return regions
