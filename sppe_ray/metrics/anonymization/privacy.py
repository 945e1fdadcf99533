"""Privacy: can the private content still be linked to the original? (FaceSim, TextSim, re-identification,
a skin-tone entropy proxy, a deterministic rubric in place of the VLM judge.)

Rules for missing content (docs/anonymization.md):
- FaceSim: per original face, the largest cosine to any face found in the anonymized image; the image's
  value is the mean. An original without faces is not scored (NaN). An original face with no face found in
  the anonymized image is skipped and counted (``faces_without_counterpart``), as the published metric does,
  so erasing faces does not score 0 by itself; re-identification below closes that gap.
- Identity re-identification: per original face, the descriptor is read at the same box in the anonymized
  image (an attacker knows where the face was); re-identified when the Euclidean distance is below 0.6,
  dlib's same-person threshold.
- TextSim: rapidfuzz token_set_ratio / 100 of the normalised OCR text; an original with no text is not
  scored (NaN); text that disappeared scores 0.
- Text re-identification: the share of the original's OCR tokens (4+ letters or digits) read again in the
  anonymized image (fuzzy ratio >= 80 against some token).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import numpy as np

SAME_PERSON = 0.6  # dlib's Euclidean threshold on 128-d descriptors
TEXT_LEAK = 0.8
# Individual typology angle bins (Chardon et al. 1991): very light > 55 > light > 41 > intermediate > 28 >
# tan > 10 > brown > -30 > dark.
ITA_EDGES = (-30.0, 10.0, 28.0, 41.0, 55.0)
ITA_CLASSES = ("dark", "brown", "tan", "intermediate", "light", "very_light")


def _unit(v: np.ndarray) -> np.ndarray:
    n = float(np.linalg.norm(v))
    return v / n if n else v


def face_similarity(original: Sequence[np.ndarray], anonymized: Sequence[np.ndarray]) -> tuple[float, int]:
    """(FaceSim, faces without counterpart): NaN when the original has no face or none has a counterpart."""
    if not original:
        return float("nan"), 0
    if not anonymized:
        return float("nan"), len(original)
    b = np.stack([_unit(np.asarray(v, float)) for v in anonymized])
    best = [float(np.max(b @ _unit(np.asarray(a, float)))) for a in original]
    return float(np.mean(best)), 0


def identity_reidentified(original: Sequence[np.ndarray], at_same_box: Sequence[np.ndarray]) -> list[bool]:
    """Per original face: is the descriptor read at its box in the anonymized image the same person?"""
    return [bool(np.linalg.norm(np.asarray(a) - np.asarray(b)) < SAME_PERSON)
            for a, b in zip(original, at_same_box, strict=True)]


def normalise(text: str | None) -> str:
    """Lower case, letters and digits kept as space-separated tokens (OCR punctuation is noise)."""
    return " ".join(re.findall(r"[0-9a-z]+", (text or "").lower()))


def text_similarity(original: str | None, anonymized: str | None) -> float:
    """token_set_ratio / 100 of the normalised texts; NaN when the original has no text, 0 when the
    anonymized image has none left."""
    from rapidfuzz import fuzz

    a, b = normalise(original), normalise(anonymized)
    if not a:
        return float("nan")
    if not b:
        return 0.0
    return float(fuzz.token_set_ratio(a, b)) / 100.0


def text_reidentified(original: str | None, anonymized: str | None, min_len: int = 4) -> tuple[int, int]:
    """(tokens read again, original tokens) over the original's tokens of at least ``min_len`` characters."""
    from rapidfuzz import fuzz, process

    tokens = [t for t in normalise(original).split() if len(t) >= min_len]
    pool = normalise(anonymized).split()
    if not tokens or not pool:
        return 0, len(tokens)
    hits = sum(process.extractOne(t, pool, scorer=fuzz.ratio)[1] >= TEXT_LEAK * 100 for t in tokens)
    return int(hits), len(tokens)


def ita_class(face_rgb: np.ndarray) -> str | None:
    """Skin tone class of a face crop from the median individual typology angle of its skin-coloured pixels
    (Lab: ITA = atan((L - 50) / b) in degrees); None when too few skin pixels."""
    from skimage.color import rgb2lab

    if face_rgb.size == 0:
        return None
    rgb = np.asarray(face_rgb, float)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    cr = 128 + 0.5 * r - 0.4187 * g - 0.0813 * b
    cb = 128 - 0.1687 * r - 0.3313 * g + 0.5 * b
    skin = (cr > 133) & (cr < 173) & (cb > 77) & (cb < 127)
    if skin.sum() < 20:
        return None
    lab = rgb2lab(face_rgb)[skin]
    ita = float(np.median(np.degrees(np.arctan2(lab[:, 0] - 50, np.maximum(lab[:, 2], 1e-3)))))
    return ITA_CLASSES[int(np.searchsorted(ITA_EDGES, ita))]


def normalised_entropy(labels: Sequence[str | None], classes: Sequence[str] = ITA_CLASSES) -> float:
    """Shannon entropy (natural log) of the label distribution over ``classes`` / ln(len(classes)); 0 with no
    valid label. 1 means the tones are spread evenly, 0 that all faces share one."""
    valid = [x for x in labels if x in classes]
    if not valid:
        return 0.0
    p = np.array([valid.count(c) for c in classes], float) / len(valid)
    p = p[p > 0]
    return float(max(0.0, -(p * np.log(p)).sum() / math.log(len(classes))))


def rubric_score(face_distances: Sequence[float], text_sim: float, region_hash_bits: float,
                 copy_bits: int = 6) -> float:
    """Deterministic stand-in for the VLM judge (a proxy): per private item an unlinkability in [0, 1], the
    published bands' spirit (same instance = 0, totally different = 100), averaged x 100.

    Items: each original face (distance at its box: 0 below 0.6, 0.2 at 0.6 rising linearly to 1 at 0.84), the
    text (1 - TextSim; 0 when TextSim >= 0.8) and the rewritten region (pHash bits / 24, capped; 0 for a near
    copy of at most ``copy_bits`` bits).
    NaN when there is no item."""
    items = [0.0 if d < SAME_PERSON else min(1.0, (d - SAME_PERSON) / 0.3 + 0.2) for d in face_distances]
    if np.isfinite(text_sim):
        items.append(0.0 if text_sim >= TEXT_LEAK else 1.0 - text_sim)
    if np.isfinite(region_hash_bits):
        items.append(0.0 if region_hash_bits <= copy_bits else min(1.0, region_hash_bits / 24.0))
    return float(100.0 * np.mean(items)) if items else float("nan")


def rubric_answer(score: float) -> str:
    """The judge's answer line in the published format."""
    return f"ANONYMIZATION_SCORE: {score:.1f}" if np.isfinite(score) else "ANONYMIZATION_SCORE: n/a"
