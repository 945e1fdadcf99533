"""Text detectors: RapidOCR (PP-OCR ONNX det+rec, the default) and Tesseract (a second opinion).

Each returns one Region per text line with the OCR string in `Region.text`, so the composite detector can
guess the category from what the line says and surrogates can fake a value of the same format.
"""

from __future__ import annotations

import shutil

import cv2
import numpy as np

from sppe_ray.errors import BackendUnavailableError
from sppe_ray.privacy.detectors import weights
from sppe_ray.privacy.detectors.base import box_mask, check_image, quad_mask
from sppe_ray.privacy.region import Region

GENERIC_TEXT_CATEGORY = "a111_name_all"
OcrLine = tuple[np.ndarray, str, float]  # (4 x 2 quad in image coords, text, score)


#: pixels read around a box by default (text touching the box edge is still whole)
BOX_PAD = 4


def _crop(image: np.ndarray, box: tuple[int, int, int, int] | None, pad: int) -> tuple[np.ndarray, int, int]:
    if box is None:
        return image, 0, 0
    h, w = image.shape[:2]
    x0, y0 = max(0, int(box[0]) - pad), max(0, int(box[1]) - pad)
    x1, y1 = min(w, int(box[2]) + pad), min(h, int(box[3]) + pad)
    return image[y0:y1, x0:x1], x0, y0


def rapidocr_lines(image: np.ndarray, box: tuple[int, int, int, int] | None = None, pad: int = BOX_PAD,
                   detail: str = "full") -> list[OcrLine]:
    """OCR lines of `image` (or of `box` in it, padded): PP-OCR expects BGR like cv2 images.
    `detail` picks the detector resolution (`weights.OCR_DETAIL`)."""
    crop, ox, oy = _crop(image, box, pad)
    if crop.size == 0 or min(crop.shape[:2]) < 4:
        return []
    out = weights.rapidocr_engine(detail)(np.ascontiguousarray(crop[..., ::-1]))
    if out.boxes is None or out.txts is None:
        return []
    return [
        (np.asarray(quad, dtype=np.float64) + (ox, oy), str(txt), float(score))
        for quad, txt, score in zip(out.boxes, out.txts, out.scores, strict=True)
        if str(txt).strip()
    ]


def tesseract_lines(image: np.ndarray, box: tuple[int, int, int, int] | None = None, pad: int = BOX_PAD,
                    min_conf: float = 30.0) -> list[OcrLine]:
    """OCR lines from Tesseract's word boxes grouped by (block, paragraph, line)."""
    try:
        import pytesseract
    except ImportError as exc:
        raise BackendUnavailableError("pytesseract is not installed; install pytesseract or use 'rapidocr'") from exc
    if shutil.which("tesseract") is None:
        raise BackendUnavailableError("the tesseract binary is not on PATH; apt-get install tesseract-ocr")
    crop, ox, oy = _crop(image, box, pad)
    if crop.size == 0:
        return []
    scale = 2 if max(crop.shape[:2]) < 600 else 1  # tesseract wants ~30 px capitals
    big = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC) if scale > 1 else crop
    data = pytesseract.image_to_data(big, output_type=pytesseract.Output.DICT, config="--psm 11")
    lines: dict[tuple[int, int, int], list[tuple[int, int, int, int, str, float]]] = {}
    for i, word in enumerate(data["text"]):
        conf = float(data["conf"][i])
        if not word.strip() or conf < min_conf:
            continue
        key = (data["block_num"][i], data["par_num"][i], data["line_num"][i])
        x, y, w, h = (data[k][i] / scale for k in ("left", "top", "width", "height"))
        lines.setdefault(key, []).append((x, y, x + w, y + h, word, conf))
    out = []
    for words in lines.values():
        x0, y0 = min(w[0] for w in words) + ox, min(w[1] for w in words) + oy
        x1, y1 = max(w[2] for w in words) + ox, max(w[3] for w in words) + oy
        quad = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=np.float64)
        out.append((quad, " ".join(w[4] for w in words), float(np.mean([w[5] for w in words])) / 100.0))
    return out


def _regions(image: np.ndarray, lines: list[OcrLine], name: str, min_score: float) -> list[Region]:
    shape = image.shape[:2]
    regions = []
    for quad, txt, score in lines:
        if score < min_score:
            continue
        mask = quad_mask(shape, quad)
        if not mask.any():  # degenerate quad: fall back to its bounding box
            mask = box_mask(shape, (*quad.min(axis=0), *(quad.max(axis=0) + 1)))
        regions.append(Region(GENERIC_TEXT_CATEGORY, mask, score=score, detector=name, text=txt,
                              meta={"quad": quad.tolist()}))
    return regions


class RapidOCRDetector:
    """Text lines from RapidOCR 3.x; category is the generic text one (the composite refines it)."""

    name = "rapidocr"

    def __init__(self, min_score: float = 0.5) -> None:
        self.min_score = min_score

    def detect(self, image: np.ndarray) -> list[Region]:
        check_image(image)
        return _regions(image, rapidocr_lines(image), self.name, self.min_score)


class TesseractDetector:
    """Text lines from Tesseract (sparse-text mode); weaker on plates and small text than RapidOCR."""

    name = "tesseract"

    def __init__(self, min_score: float = 0.6) -> None:
        self.min_score = min_score

    def detect(self, image: np.ndarray) -> list[Region]:
        check_image(image)
        # Sparse mode hallucinates one-glyph "words" on textures; keep lines with two letters or digits.
        lines = [ln for ln in tesseract_lines(image) if sum(ch.isalnum() for ch in ln[1]) >= 2]
        return _regions(image, lines, self.name, self.min_score)
