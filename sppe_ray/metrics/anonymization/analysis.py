"""What the privacy metrics read from an image: faces (dlib boxes and 128-d descriptors), OCR text, skin
tones. The only part of the suite that runs models; the metric functions stay pure.

Faces in an original: dlib HOG first, the MMOD CNN when HOG finds none (privacy.detectors.faces.find_faces); in
an anonymized image HOG only, as the benchmark evaluation does for compared images: identity re-identification
reads the descriptor at the original's face box anyway, so a face HOG misses is still measured. Text: RapidOCR
lines in reading order inside the private regions' box, at the evaluation's "fast" detector level for both
images (privacy.leakage.ocr_text). An anonymized image is
searched for faces only when its original has one, and read only when its original has private text, so the
skin-tone distribution is over the faces of images that had a face.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sppe_ray.metrics.anonymization import cheating, privacy, quality

Box = tuple[int, int, int, int]


@dataclass
class Seen:
    """Faces and text found in one image."""

    boxes: list[Box] = field(default_factory=list)
    descriptors: list[np.ndarray] = field(default_factory=list)
    text: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"boxes": [list(b) for b in self.boxes], "descriptors": [d.tolist() for d in self.descriptors],
                "text": self.text}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Seen:
        return cls([tuple(b) for b in d["boxes"]], [np.asarray(v) for v in d["descriptors"]], d["text"])


#: OCR level of the suite (privacy.detectors.weights.OCR_DETAIL): original and anonymized image are read alike.
OCR_DETAIL = "fast"


def look(image: np.ndarray, mask: np.ndarray | None, faces: bool = True, text: bool = True,
         accurate: bool = True) -> Seen:
    """Detect faces (with descriptors) in the whole image and read the text inside the private regions' box
    (``mask``; no mask, no text read). ``faces``/``text`` False skip that half (nothing to compare against);
    ``accurate`` False runs only dlib's HOG detector (about 20 ms against 400 ms for the CNN fallback).

    Why text only in the regions: the published TextSim reads the whole image with a token-set ratio, which
    scores any surviving subset as 1, so text in the background (a shop sign the data set does not call
    private, OCR noise on texture) would hide whether the private text went."""
    from sppe_ray.privacy.detectors.faces import find_faces, hog_faces
    from sppe_ray.privacy.geometry import mask_box
    from sppe_ray.privacy.leakage import descriptor_at, ocr_text

    boxes = [b for b, _ in (find_faces(image) if accurate else hog_faces(image))] if faces else []
    box = mask_box(mask) if mask is not None and text else None
    return Seen(boxes, [descriptor_at(image, b) for b in boxes], ocr_text(image, box, OCR_DETAIL) if box else "")


def _skin_tones(image: np.ndarray, boxes: list[Box]) -> list[str | None]:
    return [privacy.ita_class(image[y0:y1, x0:x1]) for x0, y0, x1, y1 in boxes]


def pair_metrics(original: np.ndarray, anonymized: np.ndarray, seen_orig: Seen, mask: np.ndarray | None,
                 copy_bits: int = 6) -> dict[str, Any]:
    """Every per-image metric of one (original, anonymized) pair; ``mask`` = the flagged regions' union."""
    from sppe_ray.privacy.leakage import descriptor_at

    # The anonymized side is read only for what the original has: FaceSim and TextSim are NaN without it.
    seen = look(anonymized, mask, faces=bool(seen_orig.boxes), text=bool(seen_orig.text.strip()), accurate=False)
    face_sim, orphans = privacy.face_similarity(seen_orig.descriptors, seen.descriptors)
    at_box = [descriptor_at(anonymized, b) for b in seen_orig.boxes]
    distances = [float(np.linalg.norm(a - b)) for a, b in zip(seen_orig.descriptors, at_box, strict=True)]
    text_sim = privacy.text_similarity(seen_orig.text, seen.text)
    tokens_hit, tokens = privacy.text_reidentified(seen_orig.text, seen.text)
    region_bits = cheating.region_phash_distance(original, anonymized, mask)
    outside = cheating.outside_change(original, anonymized, mask)
    rubric = privacy.rubric_score(distances, text_sim, region_bits, copy_bits)
    return {
        "ssim": quality.ssim(original, anonymized), "gmsd": quality.gmsd(original, anonymized),
        "phash_bits": float(cheating.hamming(cheating.phash_bits(original), cheating.phash_bits(anonymized))),
        "region_phash_bits": region_bits, "near_copy": cheating.is_near_copy(region_bits, copy_bits),
        "outside_change": outside,
        "face_sim": face_sim, "faces_orig": len(seen_orig.boxes), "faces_anon": len(seen.boxes),
        "faces_without_counterpart": orphans,
        "faces_reidentified": int(sum(privacy.identity_reidentified(seen_orig.descriptors, at_box))),
        "face_distance_at_box": float(np.mean(distances)) if distances else float("nan"),
        "text_sim": text_sim, "text_tokens": tokens, "text_tokens_reidentified": tokens_hit,
        "skin_tones": _skin_tones(anonymized, seen.boxes),
        "rubric_score": rubric, "judge": privacy.rubric_answer(rubric),
    }
