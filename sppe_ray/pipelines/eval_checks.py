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

from sppe_ray.metrics.privacy import FACE_SAME_PERSON

#: OCR similarity at or above which the recovered region is said to carry the source's text.
TEXT_RECOVERED = 0.5


def mask_box(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    """(x0, y0, x1, y1) of the private region, the box convention of `sppe_ray.privacy.leakage`."""
    ys, xs = np.nonzero(mask)
    if xs.size == 0:
        return None
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


class RegionChecks:
    """Lazily bound identity/OCR functions; `reason` says why a check is unavailable (None when fine).

    The source region's OCR text is cached per sample: it is compared with the surrogate and with every
    recovered output, and OCR is the slowest thing this module does.
    """

    def __init__(self) -> None:
        self.reason: str | None = None
        self._leakage: Any = None
        self._texts: dict[str, str] = {}
        try:
            from sppe_ray.privacy import leakage

            self._leakage = leakage
        except Exception as exc:  # leakage backends (dlib, OCR) are optional on a bare machine
            self.reason = f"privacy.leakage unavailable ({type(exc).__name__}: {exc})"

    def identity_distance(self, source: np.ndarray, other: np.ndarray, mask: np.ndarray) -> float:
        """Face-descriptor distance inside the private region; NaN when the source shows no face."""
        if self._leakage is None or mask_box(mask) is None:
            return math.nan
        value = self._leakage.identity_distance(source, other, mask)
        return math.nan if value is None else float(value)

    def text_similarity(self, key: str, source: np.ndarray, other: np.ndarray, mask: np.ndarray) -> float:
        """OCR similarity (0..1) of `other`'s region text to the source's; NaN when the source reads empty."""
        box = mask_box(mask)
        if self._leakage is None or box is None:
            return math.nan
        if key not in self._texts:
            if len(self._texts) > 4096:
                self._texts.clear()
            self._texts[key] = self._leakage.ocr_text(source, box)
        ref = self._texts[key]
        if not self._leakage.normalise_text(ref):
            return math.nan
        return float(self._leakage.text_similarity(ref, self._leakage.ocr_text(other, box)))


def identity_recovered(distance: float) -> float:
    """1.0 when the output still shows the source person, 0.0 when not, NaN when undecidable."""
    return math.nan if not math.isfinite(distance) else float(distance < FACE_SAME_PERSON)


def text_recovered(similarity: float) -> float:
    return math.nan if not math.isfinite(similarity) else float(similarity >= TEXT_RECOVERED)
