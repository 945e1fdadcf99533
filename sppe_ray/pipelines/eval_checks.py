"""Identity and text checks on private regions, shared by the recovery and surrogate-privacy rows.

Why the mask's box: a face descriptor or OCR run on the whole picture mostly sees the background the two
images share; looking only inside the private region's box (padded by the leakage module so a detector sees
context) compares what the surrogate was meant to hide. The detectors live in `sppe_ray.privacy.leakage`; when that
module or its backends are missing, every check returns NaN and the reason is kept, so the job still runs.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from sppe_ray.imageio import pixel_digest
from sppe_ray.metrics.privacy import FACE_SAME_PERSON
from sppe_ray.pipelines.memo import Memo
from sppe_ray.privacy.detectors.text import BOX_PAD
from sppe_ray.privacy.geometry import mask_box

#: OCR similarity at or above which the recovered region is said to carry the source's text.
TEXT_RECOVERED = 0.5
#: Pixels around the box that OCR reads (`rapidocr_lines`' default pad); the memo key must cover everything the
#: engine sees, or two different inputs could share a cached reading.
OCR_PAD = BOX_PAD
OCR_MEMO = 4096


class RegionChecks:
    """Lazily bound identity/OCR functions; `reason` says why a check is unavailable (None when fine).

    OCR text is memoised by the bytes of the crop the OCR engine reads (bounded LRU): the source region is
    compared with the surrogate and with every recovered output of every sample sharing it, and an output
    whose region is the source's own pixels (paste-back) reads the same text without a second OCR call.
    OCR is the slowest thing this module does, and it is deterministic for equal pixels.
    """

    def __init__(self, ocr_detail: str = "fast") -> None:
        self.ocr_detail = ocr_detail
        self.reason: str | None = None
        self._leakage: Any = None
        self._memo = Memo(capacity=2 * OCR_MEMO)  # namespaces "face" and "ocr"
        self.ocr_calls = 0
        try:
            from sppe_ray.privacy import leakage

            self._leakage = leakage
        except Exception as exc:  # leakage backends (dlib, OCR) are optional on a bare machine
            self.reason = f"privacy.leakage unavailable ({type(exc).__name__}: {exc})"

    def identity_distance(self, source: np.ndarray, other: np.ndarray, mask: np.ndarray) -> float:
        """Face-descriptor distance inside the private region; NaN when the source shows no face.

        Same rule as `leakage.identity_distance` (the other image's face is looked for in the region, by HOG
        only, else read at the source's face box); the source's face box and descriptor are memoised by its pixels,
        since every sample and every method sharing a source compares against the same face.
        """
        box = mask_box(mask)
        if self._leakage is None or box is None:
            return math.nan
        if source.shape != other.shape:
            raise ValueError(f"images differ in shape: {source.shape} vs {other.shape}")
        key = _pixel_key(source, box)
        found = self._memo.get("face", key)
        if found is None:
            face = self._leakage.find_face_box(source, box)
            found = (face, None if face is None else self._leakage.descriptor_at(source, face))
            self._memo.put("face", key, found)
        face, descriptor = found
        if face is None:
            return math.nan
        # HOG only for the other image: it is pixel-aligned with the source (no instruction moves content),
        # so where HOG misses, the source's face box is where its face is; the CNN fallback cost ~400 ms a call.
        other_face = self._leakage.find_face_box(other, box, accurate=False) or face
        return float(np.linalg.norm(descriptor - self._leakage.descriptor_at(other, other_face)))

    def text_similarity(self, source: np.ndarray, other: np.ndarray, mask: np.ndarray) -> float:
        """OCR similarity (0..1) of `other`'s region text to the source's; NaN when the source reads empty."""
        box = mask_box(mask)
        if self._leakage is None or box is None:
            return math.nan
        ref = self.ocr(source, box)
        if not self._leakage.normalise_text(ref):
            return math.nan
        return float(self._leakage.text_similarity(ref, self.ocr(other, box)))

    def ocr(self, image: np.ndarray, box: tuple[int, int, int, int]) -> str:
        """`leakage.ocr_text(image, box)`, memoised on the pixels OCR reads (the box padded by OCR_PAD)."""
        key = _pixel_key(image, box, OCR_PAD) + self.ocr_detail
        text = self._memo.get("ocr", key)
        if text is None:
            text = self._leakage.ocr_text(image, box, detail=self.ocr_detail)
            self.ocr_calls += 1
            self._memo.put("ocr", key, text)
        return text


def _pixel_key(image: np.ndarray, box: tuple[int, int, int, int], pad: int | None = None) -> str:
    """Digest of the pixels a check reads: the box padded by `pad` (None: the whole image) plus the box."""
    if pad is None:
        crop = image
    else:
        x0, y0, x1, y1 = box
        h, w = image.shape[:2]
        crop = image[max(0, y0 - pad):min(h, y1 + pad), max(0, x0 - pad):min(w, x1 + pad)]
    return pixel_digest(crop) + repr(box)


def identity_recovered(distance: float) -> float:
    """1.0 when the output still shows the source person, 0.0 when not, NaN when undecidable."""
    return math.nan if not math.isfinite(distance) else float(distance < FACE_SAME_PERSON)


def text_recovered(similarity: float) -> float:
    return math.nan if not math.isfinite(similarity) else float(similarity >= TEXT_RECOVERED)
