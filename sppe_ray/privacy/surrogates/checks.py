"""Does a surrogate still leak? Documented thresholds, one verdict per surrogate, and regeneration.

Thresholds:
- faces: dlib 128-d descriptor distance must exceed FACE_SAME_PERSON = 0.6 (dlib's own same-person
  threshold, ~99.4% LFW accuracy); when the source has no detectable face the verdict rests on pixels;
- text: normalised OCR similarity (difflib ratio on lower-case alphanumerics) must stay below
  TEXT_MAX_SIMILARITY = 0.5;
- pixels: at most PIXEL_LEAK_MAX = 5% of the mask pixels may equal the source exactly, and no pixel
  outside the mask may change.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sppe_ray.errors import ImageError
from sppe_ray.privacy import leakage
from sppe_ray.privacy.geometry import MIN_BOX_IN_MASK, box_in_mask
from sppe_ray.privacy.region import Region
from sppe_ray.privacy.surrogates.masking import bbox_of, validate
from sppe_ray.privacy.surrogates.registry import make_surrogate

FACE_SAME_PERSON = 0.6
TEXT_MAX_SIMILARITY = 0.5
PIXEL_LEAK_MAX = 0.05
_TEXT_KINDS = {"text", "document"}


@dataclass(frozen=True)
class SurrogateCheck:
    """The verdict on one surrogate; `reason` says which test failed (or "ok")."""

    ok: bool
    identity_distance: float | None
    text_similarity: float | None
    pixel_leak: float
    reason: str


def _kind(region: Region) -> str:
    try:
        from sppe_ray.taxonomy import get_category

        cat = get_category(region.category)
        return "face" if cat.kind == "face" else ("text" if cat.kind in _TEXT_KINDS or cat.detection == "text"
                                                   else cat.kind)
    except (ImportError, KeyError):
        return "face" if "face" in region.category else ("text" if region.text else "other")


def _known_face_box(image: np.ndarray, region: Region) -> tuple[int, int, int, int] | None:
    """Where the face is: a face region's detected box, else a face found once inside the mask's box and kept
    in `region.meta["face_box"]`, so the slow detector (dlib MMOD) runs once per region, not per attempt.
    A person region's own box frames the whole body, never the face: reading a descriptor there compared two
    shrunken bodies and called every hidden person "the same person".
    The surrogate is read at the same box: an attacker knows where the face was."""
    known = region.known_box() if _kind(region) == "face" else None
    if known is not None:
        return known
    if "face_box" in region.meta:
        box = region.meta["face_box"]
        return None if box is None else tuple(int(v) for v in box)
    box = leakage.find_face_box(image, bbox_of(region.mask))
    if box is not None and box_in_mask(box, region.mask) < MIN_BOX_IN_MASK:
        box = None  # a face beside the region (found in the padded search box) is not this region's face
    region.meta["face_box"] = None if box is None else tuple(int(v) for v in box)
    return region.meta["face_box"]


def pixel_leak(image: np.ndarray, surrogate: np.ndarray, mask: np.ndarray) -> float:
    """Fraction of mask pixels whose RGB value equals the source exactly."""
    return float(np.all(image[mask] == surrogate[mask], axis=-1).mean())


def check_surrogate(image: np.ndarray, surrogate: np.ndarray, region: Region) -> SurrogateCheck:
    """Apply the pixel, identity and text tests that fit the region's category (see module docstring)."""
    validate(image, region)
    if not isinstance(surrogate, np.ndarray) or surrogate.shape != image.shape or surrogate.dtype != np.uint8:
        raise ImageError(f"surrogate must be uint8 of the source's shape {image.shape}, "
                         f"got {getattr(surrogate, 'dtype', None)} {getattr(surrogate, 'shape', None)}")
    mask = region.mask
    leak = pixel_leak(image, surrogate, mask)
    reasons = []
    if np.any(image[~mask] != surrogate[~mask]):
        reasons.append("pixels outside the mask changed")
    if leak > PIXEL_LEAK_MAX:
        reasons.append(f"pixel leak {leak:.3f} > {PIXEL_LEAK_MAX}")
    kind = _kind(region)
    distance = similarity = None
    if kind in ("face", "person"):
        face_box = _known_face_box(image, region)
        distance = None if face_box is None else leakage.identity_distance(image, surrogate, mask, face_box=face_box)
        if distance is not None and distance <= FACE_SAME_PERSON:
            reasons.append(f"identity distance {distance:.3f} <= {FACE_SAME_PERSON} (same person)")
    if kind == "text" or region.text:
        box = bbox_of(mask)
        reference = region.text or leakage.ocr_text(image, box)
        if leakage.normalise_text(reference):
            similarity = leakage.text_similarity(reference, leakage.ocr_text(surrogate, box))
            if similarity >= TEXT_MAX_SIMILARITY:
                reasons.append(f"OCR text similarity {similarity:.3f} >= {TEXT_MAX_SIMILARITY}")
    return SurrogateCheck(not reasons, distance, similarity, leak, "; ".join(reasons) or "ok")


def make_checked_surrogate(image: np.ndarray, region: Region, strategy: str,
                           rng: np.random.Generator | int | None = None,
                           attempts: int = 3) -> tuple[np.ndarray, SurrogateCheck, int]:
    """Generate and check up to `attempts` times, each with fresh draws from `rng`; returns the first
    passing surrogate, or the last one with its failing check, and how many attempts were used."""
    if attempts < 1:
        raise ValueError(f"attempts must be >= 1, got {attempts}")
    gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    used = 0
    while True:
        used += 1
        surrogate = make_surrogate(image, region, strategy, gen)
        check = check_surrogate(image, surrogate, region)
        if check.ok or used >= attempts:
            return surrogate, check, used
