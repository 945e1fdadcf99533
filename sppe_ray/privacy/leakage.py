"""How much of the private content a surrogate still reveals: face identity distance (dlib ResNet
descriptors) and OCR text similarity (RapidOCR + difflib on alphanumerics). Models load once per process."""

from __future__ import annotations

import difflib
import re

import numpy as np

from sppe_ray.privacy.detectors import weights
from sppe_ray.privacy.detectors.faces import find_faces, hog_faces
from sppe_ray.privacy.detectors.text import rapidocr_lines
from sppe_ray.privacy.geometry import mask_box

Box = tuple[int, int, int, int]


def _padded(box: Box, shape: tuple[int, ...], frac: float = 0.25) -> Box:
    x0, y0, x1, y1 = box
    px, py = int((x1 - x0) * frac) + 2, int((y1 - y0) * frac) + 2
    return (max(0, x0 - px), max(0, y0 - py), min(shape[1], x1 + px), min(shape[0], y1 + py))


def _mask_box(mask: np.ndarray) -> Box:
    box = mask_box(mask)
    if box is None:
        raise ValueError("mask is empty: there is no region to compare")
    return box


def find_face_box(img: np.ndarray, box: Box | None = None, accurate: bool = True) -> Box | None:
    """The largest face (tight box) in the image, or in `box` padded by a quarter; None when none.

    `accurate=False` runs only the HOG detector, not the CNN fallback (about 20 ms against 400 ms per
    call): for an image aligned with one whose face is already known, where a miss can fall back to that box.
    """
    x0, y0, x1, y1 = _padded(box, img.shape) if box is not None else (0, 0, img.shape[1], img.shape[0])
    crop = np.ascontiguousarray(img[y0:y1, x0:x1])
    found = find_faces(crop) if accurate else hog_faces(crop)
    if not found:
        return None
    (bx0, by0, bx1, by1), _ = max(found, key=lambda f: (f[0][2] - f[0][0]) * (f[0][3] - f[0][1]))
    return (bx0 + x0, by0 + y0, bx1 + x0, by1 + y0)


def descriptor_at(img: np.ndarray, face_box: Box) -> np.ndarray:
    """128-d dlib descriptor of the face in exactly this box (5-point aligned chip)."""
    import dlib

    arr = np.ascontiguousarray(img)
    shape = weights.dlib_pose5()(arr, dlib.rectangle(*(int(v) for v in face_box)))
    return np.asarray(weights.dlib_face_encoder().compute_face_descriptor(arr, shape), dtype=np.float64)


def face_descriptor(img: np.ndarray, box: Box | None = None) -> np.ndarray | None:
    """Descriptor of the largest face found (in `box` if given); None when no face is found."""
    face = find_face_box(img, box)
    return None if face is None else descriptor_at(img, face)


def identity_distance(img_a: np.ndarray, img_b: np.ndarray, mask: np.ndarray | None = None,
                      face_box: Box | None = None) -> float | None:
    """Euclidean distance between the identities of the face in `img_a` (the source) and `img_b`, looking
    inside the mask's box when given; dlib calls distances below 0.6 the same person.

    None when `img_a` has no detectable face. When `img_b` has none, its descriptor is taken at the
    source's face box: an attacker knows where the face was, so "undetectable" is not counted as safe.
    A known `face_box` (from the region) is used for both images without detection.
    """
    if img_a.shape != img_b.shape:
        raise ValueError(f"images differ in shape: {img_a.shape} vs {img_b.shape}")
    if face_box is not None:
        return float(np.linalg.norm(descriptor_at(img_a, face_box) - descriptor_at(img_b, face_box)))
    box = _mask_box(mask) if mask is not None else None
    face_a = find_face_box(img_a, box)
    if face_a is None:
        return None
    face_b = find_face_box(img_b, box) or face_a
    return float(np.linalg.norm(descriptor_at(img_a, face_a) - descriptor_at(img_b, face_b)))


def ocr_text(img: np.ndarray, box: Box | None = None, detail: str = "full") -> str:
    """All text RapidOCR reads (in `box` if given, padded), lines in reading order, space-joined."""
    lines = rapidocr_lines(img, box, detail=detail)
    lines.sort(key=lambda ln: (round(float(ln[0][:, 1].mean()) / 8), float(ln[0][:, 0].min())))
    return " ".join(t for _, t, _ in lines)


def normalise_text(text: str | None) -> str:
    """Lower-case alphanumerics only: OCR spacing and punctuation noise must not count as a change."""
    return re.sub(r"[^0-9a-z]", "", (text or "").lower())


def text_similarity(a: str | None, b: str | None) -> float:
    """difflib ratio in [0, 1] of the normalised strings; 0.0 when either has no letters or digits
    (nothing readable is nothing leaked)."""
    na, nb = normalise_text(a), normalise_text(b)
    if not na or not nb:
        return 0.0
    return float(difflib.SequenceMatcher(None, na, nb, autojunk=False).ratio())
