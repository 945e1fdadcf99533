"""What the procedural editor sees in an image: faces and eyes, text lines, cards/plates/screens, the foreground.

Each finding is computed lazily (an edit asks only for what it keys on) and the whole analysis of an image is
kept in a small cache keyed by the pixels' hash, because the benchmark edits one image with many instructions.
Everything here is deterministic: same pixels, same findings.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass
from functools import cached_property

import cv2
import numpy as np

from sppe_ray.editors.procedural.geometry import Box, Face, Quad
from sppe_ray.editors.procedural.quads import find_quads, pick_quad
from sppe_ray.editors.procedural.textlines import find_text_lines, text_mask
from sppe_ray.privacy.detectors.weights import cascade

FACE_WORK_SIDE = 128  # Haar search runs at this size: ~15 ms instead of ~90 ms at 256 px; faces >= ~19% of side


@dataclass(frozen=True)
class FaceSearch:
    """Which OpenCV cascade looks for frontal faces, at what working size, with what pyramid step."""

    cascade: str = "haarcascade_frontalface_default.xml"
    work_side: int = FACE_WORK_SIDE
    scale_factor: float = 1.1


#: The editor's own search. Others (ERMA's cheaper one) trade a few borderline faces for speed.
EDITOR_FACES = FaceSearch()


def detect_faces(gray: np.ndarray, search: FaceSearch = EDITOR_FACES) -> list[Box]:
    """Frontal face boxes, largest first."""
    height, width = gray.shape
    scale = min(1.0, search.work_side / max(height, width))
    work = cv2.resize(gray, (max(1, round(width * scale)), max(1, round(height * scale))),
                      interpolation=cv2.INTER_AREA) if scale < 1.0 else gray
    with cascade(search.cascade) as clf:
        found = clf.detectMultiScale(
            cv2.equalizeHist(work), scaleFactor=search.scale_factor, minNeighbors=4, minSize=(20, 20))
    boxes = [Box(int(x / scale), int(y / scale), int((x + w) / scale), int((y + h) / scale)) for x, y, w, h in found]
    return sorted(boxes, key=lambda b: -b.area)


def locate_eyes(gray: np.ndarray, face: Box) -> tuple[tuple[tuple[float, float], tuple[float, float]], bool]:
    """Eye centres: from the eye cascade in the face's upper half when it finds a plausible pair, else geometry."""
    geometric = ((face.x0 + 0.31 * face.w, face.y0 + 0.40 * face.h), (face.x0 + 0.69 * face.w, face.y0 + 0.40 * face.h))
    upper = Box(face.x0, face.y0 + face.h // 6, face.x1, face.y0 + int(face.h * 0.62)).clip(*gray.shape)
    if upper.area < 64:
        return geometric, False
    roi = gray[upper.y0:upper.y1, upper.x0:upper.x1]
    with cascade("haarcascade_eye.xml") as clf:
        eyes = clf.detectMultiScale(roi, 1.1, 3, minSize=(max(4, face.w // 10),) * 2)
    centres = [(upper.x0 + x + w / 2, upper.y0 + y + h / 2) for x, y, w, h in eyes]
    left = [c for c in centres if c[0] < face.cx]
    right = [c for c in centres if c[0] >= face.cx]
    if not left or not right:
        return geometric, False
    le = min(left, key=lambda c: abs(c[0] - geometric[0][0]))
    re = min(right, key=lambda c: abs(c[0] - geometric[1][0]))
    if abs(le[1] - re[1]) > 0.15 * face.h or not (0.25 * face.w < re[0] - le[0] < 0.6 * face.w):
        return geometric, False
    return (le, re), True


def spectral_saliency(gray: np.ndarray, side: int = 64) -> np.ndarray:
    """Spectral-residual saliency (Hou & Zhang 2007) at low resolution, returned at full size in [0, 1]."""
    height, width = gray.shape
    small = cv2.resize(gray, (side, side), interpolation=cv2.INTER_AREA).astype(np.float32) / 255
    spec = np.fft.fft2(small)
    log_amp = np.log(np.abs(spec) + 1e-6)
    residual = log_amp - cv2.blur(log_amp, (3, 3))
    sal = np.abs(np.fft.ifft2(np.exp(residual + 1j * np.angle(spec)))) ** 2
    sal = cv2.GaussianBlur(sal.astype(np.float32), (0, 0), 2.5)
    sal = (sal - sal.min()) / max(float(sal.max() - sal.min()), 1e-6)
    return cv2.resize(sal, (width, height), interpolation=cv2.INTER_LINEAR)


class Analysis:
    """Lazy findings for one image. Attributes are computed on first use and then reused."""

    def __init__(self, image: np.ndarray, faces: FaceSearch = EDITOR_FACES) -> None:
        self.image = image
        self.face_search = faces
        self.height, self.width = image.shape[:2]
        self.gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)

    # ---- people
    @cached_property
    def faces(self) -> list[Face]:
        out = []
        for box in detect_faces(self.gray, self.face_search)[:3]:
            eyes, found = locate_eyes(self.gray, box)
            out.append(Face(box=box, eyes=eyes, eyes_found=found))
        return out

    @cached_property
    def face(self) -> Face | None:
        return self.faces[0] if self.faces else None

    @cached_property
    def head(self) -> Face:
        """The detected face, or where an editor that found none would guess a head: atop the salient region."""
        if self.face is not None:
            return self.face
        fg = self.foreground > 0.5
        ys, xs = np.nonzero(fg)
        if len(xs) < 16:
            cx, top, span = self.width / 2, self.height * 0.15, self.width * 0.3
        else:
            cx, top, span = float(np.median(xs)), float(ys.min()), max(12.0, (xs.max() - xs.min()) * 0.4)
        size = int(min(span, self.height * 0.45, self.width * 0.45))
        box = Box(int(cx - size / 2), int(top), int(cx - size / 2) + size, int(top) + size)
        eyes = ((box.x0 + 0.31 * size, box.y0 + 0.40 * size), (box.x0 + 0.69 * size, box.y0 + 0.40 * size))
        return Face(box=box, eyes=eyes, eyes_found=False, detected=False)

    @cached_property
    def foreground(self) -> np.ndarray:
        """Soft foreground mask in [0, 1]: GrabCut around the person when a face is found, else saliency."""
        if self.face is not None:
            return self._grabcut_person(self.face.box)
        sal = spectral_saliency(self.gray)
        thr = float(sal.mean() + 0.6 * sal.std())
        fg = (sal > thr).astype(np.uint8)
        n, labels, stats, _ = cv2.connectedComponentsWithStats(fg)
        if n > 1:
            fg = (labels == 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))).astype(np.uint8)
        return cv2.GaussianBlur(fg.astype(np.float32), (0, 0), max(1.0, self.width / 128))

    def _person_template(self, face: Box) -> np.ndarray:
        """A head-and-shoulders silhouette scaled to the face: the prior a person segmentation starts from."""
        m = np.zeros((self.height, self.width), np.uint8)
        cx, w, h = int(face.cx), face.w, face.h
        cv2.ellipse(m, (cx, int(face.cy)), (int(w * 0.62), int(h * 0.72)), 0, 0, 360, 1, -1)
        neck = int(face.y1 + 0.1 * h)
        body = np.array([[cx - int(0.35 * w), face.y1 - int(0.1 * h)], [cx + int(0.35 * w), face.y1 - int(0.1 * h)],
                         [cx + int(0.7 * w), neck], [cx + int(1.4 * w), neck + int(0.6 * h)],
                         [cx + int(1.5 * w), self.height], [cx - int(1.5 * w), self.height],
                         [cx - int(1.4 * w), neck + int(0.6 * h)], [cx - int(0.7 * w), neck]], np.int32)
        cv2.fillPoly(m, [body], 1)
        return m

    def _grabcut_person(self, face: Box, side: int = 64) -> np.ndarray:
        """GrabCut at 64 px seeded by the silhouette template; falls back to the template when GrabCut collapses."""
        template = self._person_template(face)
        small_t = cv2.resize(template, (side, side), interpolation=cv2.INTER_NEAREST)
        small = cv2.resize(self.image, (side, side), interpolation=cv2.INTER_AREA)
        mask = np.where(cv2.dilate(small_t, np.ones((5, 5), np.uint8)) > 0, cv2.GC_PR_FGD, cv2.GC_BGD).astype(np.uint8)
        core = cv2.erode(small_t, np.ones((5, 5), np.uint8))
        mask[core > 0] = cv2.GC_FGD
        bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
        cv2.setRNGSeed(12345)  # GrabCut's k-means draws from OpenCV's thread RNG: pin it for determinism
        try:
            cv2.grabCut(small, mask, None, bgd, fgd, 2, cv2.GC_INIT_WITH_MASK)
            cut = np.isin(mask, (cv2.GC_FGD, cv2.GC_PR_FGD)).astype(np.float32)
        except cv2.error:  # degenerate colour models (flat image)
            cut = small_t.astype(np.float32)
        if cut.sum() < 0.6 * small_t.sum():
            cut = small_t.astype(np.float32)
        fg = cv2.resize(cut, (self.width, self.height), interpolation=cv2.INTER_LINEAR)
        return cv2.GaussianBlur(fg, (0, 0), max(1.0, self.width / 128))

    @cached_property
    def skin(self) -> np.ndarray:
        """Pixels whose colour is close to the face centre's (YCrCb distance): hair masks subtract this."""
        ycc = cv2.cvtColor(self.image, cv2.COLOR_RGB2YCrCb).astype(np.float32)
        f = self.head.box
        core = f.grow(-0.3).clip(self.height, self.width)
        ref = ycc[core.y0:core.y1, core.x0:core.x1].reshape(-1, 3)
        ref = np.median(ref, 0) if len(ref) else np.array([150, 150, 110], np.float32)
        dist = np.abs(ycc[..., 1] - ref[1]) + np.abs(ycc[..., 2] - ref[2])
        return dist < 14

    # ---- text and objects
    @cached_property
    def text_lines(self) -> list[Box]:
        return find_text_lines(self.gray)

    @cached_property
    def text_mask(self) -> np.ndarray:
        return text_mask(self.text_lines, self.height, self.width, pad=0.3)

    @cached_property
    def quads(self) -> list[Quad]:
        return find_quads(self.image)

    def find(self, kind: str) -> Quad | None:
        """A card / ticket / laptop / plate candidate, or None."""
        return pick_quad(self.quads, kind)

    @cached_property
    def document_area(self) -> Box | None:
        """Where a document sits: a detected card/ticket, else the span of the text lines, else None."""
        for kind in ("card", "ticket", "laptop"):
            q = self.find(kind)
            if q is not None:
                return q.box
        if self.text_lines:
            box = self.text_lines[0]
            for b in self.text_lines[1:]:
                box = box.union(b)
            return box.grow(0.1).clip(self.height, self.width)
        return None

    # ---- global statistics (style parameters)
    @cached_property
    def stats(self) -> dict[str, float]:
        hsv = cv2.cvtColor(self.image, cv2.COLOR_RGB2HSV)
        return {
            "saturation": float(hsv[..., 1].mean() / 255),
            "brightness": float(hsv[..., 2].mean() / 255),
            "contrast": float(self.gray.std() / 128),
            "edge_density": float((cv2.Canny(self.gray, 60, 150) > 0).mean()),
        }


_CACHE: OrderedDict[bytes, Analysis] = OrderedDict()
_CACHE_LOCK = threading.Lock()
CACHE_SIZE = 16


def analyse(image: np.ndarray) -> Analysis:
    """The (cached) analysis of an image; the key is a hash of its shape and pixels."""
    key = hashlib.blake2b(image.tobytes(), digest_size=16, person=str(image.shape).encode()[:16]).digest()
    with _CACHE_LOCK:
        hit = _CACHE.get(key)
        if hit is not None:
            _CACHE.move_to_end(key)
            return hit
    result = Analysis(image.copy())
    with _CACHE_LOCK:
        _CACHE[key] = result
        while len(_CACHE) > CACHE_SIZE:
            _CACHE.popitem(last=False)
    return result
