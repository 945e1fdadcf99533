"""Detector agreement: what a content-aware editor finds in the source vs the surrogate, as fixed scalars.

Why: an editor looks at the picture before it edits (faces and eyes, text lines, cards/tickets/plates/screens,
the foreground, global statistics) and then edits what it found. A surrogate is editable when the editor finds
the same things in it, so whether each finding survives the surrogate (and where) decides most of the
editability label, while whole-image embeddings barely move when a small region changes. The findings are
computed with the same classical detectors on source and surrogate (OpenCV Haar cascades, connected-component
text lines, contour quads, saliency/GrabCut; no learned weights) and reduced to agreement scalars: found in
each, box IoU, mask IoU, count changes. Which findings matter depends on the instruction, so the head gates
this block by the instruction embedding (see `model.py`). Only (source, surrogate, mask) are used: ERMA runs
before any edit exists.

Scaling is analytic (fixed constants, never fitted): flags and IoUs are already in [0, 1]; counts are divided
by a typical maximum; small statistics differences are multiplied up to unit range.
"""

from __future__ import annotations

import numpy as np

from sppe_ray.editors.procedural.analysis import EDITOR_FACES, Analysis, FaceSearch
from sppe_ray.editors.procedural.geometry import Box

_QUADS = ("card", "ticket", "laptop", "plate")
_STATS = ("saturation", "brightness", "contrast", "edge_density")
_STAT_NAMES = ("sat", "bri", "con", "edge")
#: Multipliers bringing each global statistic (level, change) to roughly unit range.
_STAT_SCALE = {"sat": (1.0, 5.0), "bri": (1.0, 5.0), "con": (1.0, 5.0), "edge": (5.0, 20.0)}

#: Face searches ERMA can run, by the name models record (`erma.face_detector`). ``haar`` (default) is the
#: editor's own. ``lbp`` runs OpenCV's LBP frontal-face cascade at the same working size and pyramid step: about
#: 3x cheaper (2.1 against 6.7 ms per 256 px image), it finds the same faces on the test photos, and it scored
#: a little lower on sppe-mini (docs/models.md). Models saved before the setting existed ran ``haar``.
FACE_SEARCHES: dict[str, FaceSearch] = {
    "haar": EDITOR_FACES,
    "lbp": FaceSearch(cascade="lbpcascade_frontalface.xml"),
}

DETECTOR_STATS: tuple[str, ...] = (
    "face_s", "face_u", "face_same", "eyes_s", "eyes_u", "eyes_same", "nfaces_s", "nfaces_u",
    "head_iou", "eye_dist", "fg_iou", "fg_mean_s", "fg_mean_u", "fg_in_mask_s",
    "nlines_s", "nlines_u", "nlines_diff", "tmask_iou", "tmask_s", "tmask_u",
    *(f"{k}_{s}" for k in (*_QUADS, "doc") for s in ("s", "u", "iou")),
    *(f"st_{k}_{s}" for k in _STAT_NAMES for s in ("s", "d")),
    "head_mask_overlap", "mask_area",
)  # fmt: skip


def _box_iou(a: Box | None, b: Box | None, h: int, w: int) -> float:
    """IoU of two optional boxes: both absent counts as agreement (1), one absent as none (0)."""
    if a is None or b is None:
        return float(a is None and b is None)
    ma, mb = a.mask(h, w), b.mask(h, w)
    union = int((ma | mb).sum())
    return float((ma & mb).sum() / union) if union else 1.0


def _soft_iou(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a.astype(np.float32, copy=False), b.astype(np.float32, copy=False)
    union = float(np.maximum(a, b).sum())
    return float(np.minimum(a, b).sum() / union) if union > 0 else 1.0


def findings(image: np.ndarray, faces: FaceSearch = EDITOR_FACES) -> dict:
    """The editor's analysis of one image (a fresh, uncached Analysis: thread-safe and memory-bounded).

    Depends on the image alone, so a batch analyses each distinct image once however many surrogates,
    masks and instructions it appears with (see `FeatureExtractor`)."""
    a = Analysis(image, faces)
    face = a.face
    return {
        "face": face is not None,
        "eyes": bool(face.eyes_found) if face is not None else False,
        "nfaces": len(a.faces),
        "head": a.head.box,
        "eyepos": np.asarray(a.head.eyes, dtype=np.float64).ravel() / a.width,
        "fg": a.foreground,
        "nlines": len(a.text_lines),
        "tmask": a.text_mask,
        **{k: (None if (q := a.find(k)) is None else q.box) for k in _QUADS},
        "doc": a.document_area,
        "stats": [a.stats[k] for k in _STATS],
    }


def detector_features(
    source: np.ndarray, surrogate: np.ndarray, mask: np.ndarray, faces: FaceSearch = EDITOR_FACES
) -> np.ndarray:
    """The DETECTOR_STATS scalars of one (source, surrogate, mask) triple, float32 (see module docstring)."""
    return compare(findings(source, faces), findings(surrogate, faces), mask)


def compare(fs: dict, fu: dict, mask: np.ndarray) -> np.ndarray:
    """Agreement scalars (DETECTOR_STATS order) of a source's and a surrogate's findings under `mask`."""
    h, w = mask.shape
    out: dict[str, float] = {}
    for k in ("face", "eyes"):
        out[f"{k}_s"], out[f"{k}_u"], out[f"{k}_same"] = float(fs[k]), float(fu[k]), float(fs[k] == fu[k])
    out["nfaces_s"], out["nfaces_u"] = fs["nfaces"] / 3, fu["nfaces"] / 3
    out["head_iou"] = _box_iou(fs["head"], fu["head"], h, w)
    out["eye_dist"] = 5.0 * float(np.abs(fs["eyepos"] - fu["eyepos"]).mean())
    out["fg_iou"] = _soft_iou(fs["fg"], fu["fg"])
    out["fg_mean_s"], out["fg_mean_u"] = float(fs["fg"].mean()), float(fu["fg"].mean())
    out["fg_in_mask_s"] = float(fs["fg"][mask].mean()) if mask.any() else 0.0
    out["nlines_s"], out["nlines_u"] = min(fs["nlines"], 20) / 20, min(fu["nlines"], 20) / 20
    out["nlines_diff"] = min(abs(fs["nlines"] - fu["nlines"]), 20) / 20
    out["tmask_iou"] = _soft_iou(fs["tmask"], fu["tmask"])
    out["tmask_s"], out["tmask_u"] = float(fs["tmask"].mean()), float(fu["tmask"].mean())
    for k in (*_QUADS, "doc"):
        out[f"{k}_s"], out[f"{k}_u"] = float(fs[k] is not None), float(fu[k] is not None)
        out[f"{k}_iou"] = _box_iou(fs[k], fu[k], h, w)
    for name, vs, vu in zip(_STAT_NAMES, fs["stats"], fu["stats"], strict=True):
        level, change = _STAT_SCALE[name]
        out[f"st_{name}_s"], out[f"st_{name}_d"] = level * vs, change * (vu - vs)
    head = fs["head"].mask(h, w)
    out["head_mask_overlap"] = float((head & mask).sum() / max(int(head.sum()), 1))
    out["mask_area"] = float(mask.mean())
    return np.array([out[k] for k in DETECTOR_STATS], dtype=np.float32)
