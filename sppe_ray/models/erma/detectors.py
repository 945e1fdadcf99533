"""Detector agreement: what any content-aware editor could key on, found in the source and in the surrogate.

Why: an editor looks at the picture before it edits (faces, text, documents and screens, the salient
foreground, global colour) and edits what it finds. A surrogate is editable when those things are still found
in it, in the same place, while whole-image embeddings barely move when a small region changes. The cues are
generic and ours: an OpenCV face cascade through `sppe_ray.privacy` (the project's privacy detectors load it),
a morphological text map, the largest four-cornered contour, frequency-tuned saliency and colour statistics.
None of it is any editor's code (a test forbids `sppe_ray.editors` imports under `models/` and `metrics/`), so
ERMA learns from content, not from the internals of the editor that made its labels. Which cues matter depends
on the instruction, so the head gates this block by the instruction embedding (see `model.py`). Only (source,
surrogate, mask) are used: ERMA runs before any edit exists.

Scaling is analytic (fixed constants, never fitted): flags, fractions and IoUs are already in [0, 1]; counts
are divided by a typical maximum; small statistic changes are multiplied up to unit range.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

#: Side of the working copy every cue is computed on: cues describe layout, not detail, and 160 px keeps the
#: whole block near 5 ms an image.
WORK_SIDE = 160
_STAT_NAMES = ("sat", "bri", "con", "edge")
#: Multipliers bringing each global statistic (level, change) to roughly unit range.
_STAT_SCALE = {"sat": (1.0, 5.0), "bri": (1.0, 5.0), "con": (2.0, 10.0), "edge": (5.0, 20.0)}


@dataclass(frozen=True)
class FaceSearch:
    """A frontal-face cascade run on the working copy (cascades come from `privacy.detectors.weights`)."""

    cascade: str = "haarcascade_frontalface_default.xml"
    min_neighbors: int = 4
    scale_factor: float = 1.1

    def find(self, grey: np.ndarray) -> list[tuple[int, int, int, int]]:
        """Face boxes (x0, y0, x1, y1) in working-copy pixels, largest first, at most three."""
        from sppe_ray.privacy.detectors.weights import cascade

        side = min(grey.shape)
        with cascade(self.cascade) as clf:
            found = clf.detectMultiScale(grey, scaleFactor=self.scale_factor, minNeighbors=self.min_neighbors,
                                         minSize=(max(12, side // 12),) * 2)
        boxes = [(int(x), int(y), int(x + w), int(y + h)) for x, y, w, h in (found if len(found) else [])]
        return sorted(boxes, key=lambda b: -(b[2] - b[0]) * (b[3] - b[1]))[:3]


#: Face searches ERMA can run, by the name models record (`erma.face_detector`): OpenCV's Haar frontal cascade
#: (default) or its LBP cascade (cheaper, a little less sensitive).
FACE_SEARCHES: dict[str, FaceSearch] = {
    "haar": FaceSearch(),
    "lbp": FaceSearch(cascade="lbpcascade_frontalface.xml", min_neighbors=3),
}
DEFAULT_FACES = FACE_SEARCHES["haar"]

DETECTOR_STATS: tuple[str, ...] = (
    "face_s", "face_u", "face_same", "nfaces_s", "nfaces_u", "face_iou", "face_area_s", "face_in_mask_s",
    "text_s", "text_u", "text_iou", "text_in_mask_s", "nblobs_s", "nblobs_u", "nblobs_diff",
    "rect_s", "rect_u", "rect_iou", "rect_area_s", "rect_in_mask_s",
    "fg_iou", "fg_mean_s", "fg_mean_u", "fg_in_mask_s",
    *(f"st_{k}_{s}" for k in _STAT_NAMES for s in ("s", "d")),
    "mask_area", "mask_cx", "mask_cy",
)  # fmt: skip


def _working_copy(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(RGB, grey) at WORK_SIDE on the longer side (never enlarged)."""
    h, w = image.shape[:2]
    scale = min(1.0, WORK_SIDE / max(h, w))
    small = image if scale == 1.0 else cv2.resize(image, (max(1, round(w * scale)), max(1, round(h * scale))),
                                                  interpolation=cv2.INTER_AREA)
    return small, cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)


def text_map(grey: np.ndarray) -> tuple[np.ndarray, int]:
    """Where text-like strokes are (bool map) and how many text blobs: dense, high-contrast, small strokes
    joined along lines (morphological gradient, Otsu, long straight edges such as a card's border removed, a
    horizontal closing, blobs filtered by shape)."""
    grad = cv2.morphologyEx(grey, cv2.MORPH_GRADIENT, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3)))
    _, strokes = cv2.threshold(grad, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    edges = cv2.morphologyEx(strokes, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (25, 1))) | \
        cv2.morphologyEx(strokes, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (1, 25)))
    strokes = cv2.subtract(strokes, cv2.dilate(edges, np.ones((3, 3), np.uint8)))
    joined = cv2.morphologyEx(strokes, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (7, 1)))
    n, labels, stats, _ = cv2.connectedComponentsWithStats(joined, connectivity=8)
    h, w = grey.shape
    keep = np.zeros(n, bool)
    for i in range(1, n):
        x, y, bw, bh, area = stats[i]
        fill = area / max(bw * bh, 1)
        keep[i] = (bw >= 1.5 * bh and 3 <= bh <= h / 5 and bw <= 0.95 * w and 0.25 <= fill <= 0.95)
    return keep[labels], int(keep.sum())


def largest_rect(grey: np.ndarray) -> tuple[int, int, int, int] | None:
    """Box of the largest convex four-cornered contour covering at least 3% of the image (a card, a page, a
    ticket, a screen, a plate), else None."""
    edges = cv2.dilate(cv2.Canny(grey, 50, 150), np.ones((3, 3), np.uint8))
    contours, _ = cv2.findContours(edges, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    h, w = grey.shape
    best, best_area = None, 0.03 * h * w
    for c in contours:
        poly = cv2.approxPolyDP(c, 0.03 * cv2.arcLength(c, True), True)
        area = cv2.contourArea(poly)
        if len(poly) == 4 and cv2.isContourConvex(poly) and area > best_area:
            x, y, bw, bh = cv2.boundingRect(poly)
            best, best_area = (x, y, x + bw, y + bh), area
    return best


def saliency(image: np.ndarray) -> np.ndarray:
    """Frequency-tuned saliency in [0, 1]: distance in Lab of each (slightly blurred) pixel from the image's
    mean colour. What stands out from the whole is what an editor treats as the subject."""
    lab = cv2.cvtColor(cv2.GaussianBlur(image, (5, 5), 0), cv2.COLOR_RGB2LAB).astype(np.float32)
    dist = np.linalg.norm(lab - lab.reshape(-1, 3).mean(axis=0), axis=2)
    top = float(dist.max())
    return dist / top if top > 0 else np.zeros(dist.shape, np.float32)


def colour_stats(image: np.ndarray, grey: np.ndarray) -> list[float]:
    """Mean saturation and brightness, grey-level spread and edge density, each in [0, 1]."""
    hsv = cv2.cvtColor(image, cv2.COLOR_RGB2HSV)
    edges = cv2.Canny(grey, 80, 160)
    return [float(hsv[..., 1].mean() / 255), float(hsv[..., 2].mean() / 255), float(grey.std() / 128),
            float((edges > 0).mean())]


def findings(image: np.ndarray, faces: FaceSearch = DEFAULT_FACES) -> dict:
    """The cues of one image. Depends on the image alone, so a batch analyses each distinct image once however
    many surrogates, masks and instructions it appears with (see `FeatureExtractor`)."""
    small, grey = _working_copy(image)
    text, blobs = text_map(grey)
    return {"shape": grey.shape, "faces": faces.find(grey), "text": text, "nblobs": blobs,
            "rect": largest_rect(grey), "fg": saliency(small), "stats": colour_stats(small, grey)}


def detector_features(source: np.ndarray, surrogate: np.ndarray, mask: np.ndarray,
                      faces: FaceSearch = DEFAULT_FACES) -> np.ndarray:
    """The DETECTOR_STATS scalars of one (source, surrogate, mask) triple, float32 (see module docstring)."""
    return compare(findings(source, faces), findings(surrogate, faces), mask)


def _box_mask(box: tuple[int, int, int, int] | None, shape: tuple[int, int]) -> np.ndarray:
    out = np.zeros(shape, bool)
    if box is not None:
        x0, y0, x1, y1 = box
        out[y0:y1, x0:x1] = True
    return out


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    """IoU of two maps (soft or boolean); both empty counts as agreement (1)."""
    a, b = a.astype(np.float32, copy=False), b.astype(np.float32, copy=False)
    union = float(np.maximum(a, b).sum())
    return float(np.minimum(a, b).sum() / union) if union > 0 else 1.0


def _inside(region: np.ndarray, mask: np.ndarray) -> float:
    """Share of `region` that lies under the private mask (0 when the region is empty)."""
    total = float(region.sum())
    return float(region[mask].sum() / total) if total > 0 else 0.0


def compare(fs: dict, fu: dict, mask: np.ndarray) -> np.ndarray:
    """Agreement scalars (DETECTOR_STATS order) of a source's and a surrogate's cues under `mask`."""
    shape = fs["shape"]
    small_mask = cv2.resize(mask.astype(np.uint8), (shape[1], shape[0]), interpolation=cv2.INTER_NEAREST) > 0
    out: dict[str, float] = {}
    face_s, face_u = bool(fs["faces"]), bool(fu["faces"])
    out["face_s"], out["face_u"], out["face_same"] = float(face_s), float(face_u), float(face_s == face_u)
    out["nfaces_s"], out["nfaces_u"] = len(fs["faces"]) / 3, len(fu["faces"]) / 3
    top_s = _box_mask(fs["faces"][0] if face_s else None, shape)
    top_u = _box_mask(fu["faces"][0] if face_u else None, shape)
    out["face_iou"], out["face_area_s"] = _iou(top_s, top_u), float(top_s.mean())
    out["face_in_mask_s"] = _inside(top_s, small_mask)
    out["text_s"], out["text_u"] = float(fs["text"].mean()), float(fu["text"].mean())
    out["text_iou"], out["text_in_mask_s"] = _iou(fs["text"], fu["text"]), _inside(fs["text"], small_mask)
    out["nblobs_s"], out["nblobs_u"] = min(fs["nblobs"], 30) / 30, min(fu["nblobs"], 30) / 30
    out["nblobs_diff"] = min(abs(fs["nblobs"] - fu["nblobs"]), 30) / 30
    rect_s, rect_u = _box_mask(fs["rect"], shape), _box_mask(fu["rect"], shape)
    out["rect_s"], out["rect_u"] = float(fs["rect"] is not None), float(fu["rect"] is not None)
    out["rect_iou"], out["rect_area_s"] = _iou(rect_s, rect_u), float(rect_s.mean())
    out["rect_in_mask_s"] = _inside(rect_s, small_mask)
    out["fg_iou"] = _iou(fs["fg"], fu["fg"])
    out["fg_mean_s"], out["fg_mean_u"] = float(fs["fg"].mean()), float(fu["fg"].mean())
    out["fg_in_mask_s"] = float(fs["fg"][small_mask].mean()) if small_mask.any() else 0.0
    for name, vs, vu in zip(_STAT_NAMES, fs["stats"], fu["stats"], strict=True):
        level, change = _STAT_SCALE[name]
        out[f"st_{name}_s"], out[f"st_{name}_d"] = level * vs, change * (vu - vs)
    ys, xs = np.nonzero(mask)
    h, w = mask.shape
    out["mask_area"] = float(mask.mean())
    out["mask_cx"], out["mask_cy"] = (float(xs.mean() / w), float(ys.mean() / h)) if len(xs) else (0.5, 0.5)
    return np.array([out[k] for k in DETECTOR_STATS], dtype=np.float32)
