"""What editor B sees: its own findings, written apart from the first procedural editor's on purpose.

Editor B exists to measure whether editability predictions generalise to an editor whose internals they do
not know, so every finding here uses a different detector or a different rule from ``editors.procedural``:

| finding | editor B | first editor |
|---|---|---|
| faces | dlib's HOG + linear SVM detector, one upsampling, on a 256-px copy | OpenCV Haar cascade at 128 px |
| eyes | the darkest point of each half of the face's eye band | Haar eye cascade, else fixed geometry |
| no face | person edits on the largest skin blob, else a weak global tint | a head guessed atop the salient region |
| skin | a fixed YCrCb box (Cr 135-175, Cb 85-130) | colour distance to the face centre |
| text | MSER blobs grouped into lines by a horizontal closing | adaptive-threshold glyph rows |
| cards, plates... | flat colour regions filling their rotated rectangle | Canny contours with detail inside |
| foreground | distance from the border colours (Otsu), the body below a face | GrabCut from a silhouette template |

Everything is deterministic (no random state anywhere) and computed lazily per image.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import cached_property

import cv2
import numpy as np

WORK_SIDE = 256  # faces, text and panels are searched on a copy whose long side is at most this
_LOCAL = threading.local()


@dataclass(frozen=True)
class Rect:
    """An axis-aligned box in full-image pixels, x1/y1 exclusive."""

    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def w(self) -> int:
        return max(0, self.x1 - self.x0)

    @property
    def h(self) -> int:
        return max(0, self.y1 - self.y0)

    @property
    def cx(self) -> float:
        return (self.x0 + self.x1) / 2

    @property
    def cy(self) -> float:
        return (self.y0 + self.y1) / 2

    def clip(self, height: int, width: int) -> Rect:
        return Rect(max(0, self.x0), max(0, self.y0), min(width, self.x1), min(height, self.y1))

    def mask(self, height: int, width: int) -> np.ndarray:
        m = np.zeros((height, width), bool)
        c = self.clip(height, width)
        m[c.y0:c.y1, c.x0:c.x1] = True
        return m


@dataclass(frozen=True)
class Panel:
    """A flat, rectangle-filling colour region: where a card, ticket, screen or plate may sit."""

    rect: Rect
    corners: np.ndarray  # 4 x 2 float32, the rotated rectangle's corners in full-image pixels
    aspect: float  # long side / short side
    area: float  # share of the image


def _hog() -> object:
    """dlib's detector holds no per-call state we rely on, but one per thread keeps that true by construction."""
    det = getattr(_LOCAL, "hog", None)
    if det is None:
        import dlib

        det = _LOCAL.hog = dlib.get_frontal_face_detector()
    return det


def _work(image: np.ndarray, side: int = WORK_SIDE) -> tuple[np.ndarray, float]:
    h, w = image.shape[:2]
    s = min(1.0, side / max(h, w))
    if s == 1.0:
        return image, 1.0
    return cv2.resize(image, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA), s


def find_faces(image: np.ndarray) -> list[Rect]:
    """Face boxes from dlib's HOG detector, largest first (faces under ~40 px at 256 px are missed)."""
    small, s = _work(image)
    found = _hog()(np.ascontiguousarray(small), 1)
    boxes = [Rect(int(r.left() / s), int(r.top() / s), int((r.right() + 1) / s), int((r.bottom() + 1) / s))
             for r in found]
    return sorted(boxes, key=lambda b: -(b.w * b.h))


def skin_mask(image: np.ndarray) -> np.ndarray:
    """A fixed chroma box in YCrCb: the textbook skin rule, independent of any face."""
    ycc = cv2.cvtColor(image, cv2.COLOR_RGB2YCrCb)
    cr, cb = ycc[..., 1], ycc[..., 2]
    return (cr >= 135) & (cr <= 175) & (cb >= 85) & (cb <= 130) & (ycc[..., 0] > 50)


def largest_blob(mask: np.ndarray, min_share: float) -> Rect | None:
    """Bounding box of the largest connected component, when it covers at least ``min_share`` of the image."""
    n, _, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8))
    if n < 2:
        return None
    i = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    if stats[i, cv2.CC_STAT_AREA] < min_share * mask.size:
        return None
    x, y, w, h = stats[i, :4]
    return Rect(int(x), int(y), int(x + w), int(y + h))


def find_eyes(gray: np.ndarray, face: Rect) -> tuple[tuple[float, float], tuple[float, float]]:
    """The darkest point (after smoothing) in each half of the band 25-52% down the face."""
    band = Rect(face.x0 + face.w // 8, face.y0 + face.h // 4, face.x1 - face.w // 8,
                face.y0 + int(face.h * 0.52)).clip(*gray.shape)
    default = ((face.x0 + 0.3 * face.w, face.y0 + 0.38 * face.h), (face.x0 + 0.7 * face.w, face.y0 + 0.38 * face.h))
    if band.w < 6 or band.h < 3:
        return default
    roi = cv2.GaussianBlur(gray[band.y0:band.y1, band.x0:band.x1], (0, 0), max(1.0, face.w / 40))
    half = roi.shape[1] // 2
    eyes = []
    for part, dx in ((roi[:, :half], 0), (roi[:, half:], half)):
        y, x = np.unravel_index(int(np.argmin(part)), part.shape)
        eyes.append((band.x0 + dx + x + 0.5, band.y0 + y + 0.5))
    return eyes[0], eyes[1]


def find_text_lines(gray: np.ndarray) -> list[Rect]:
    """MSER blobs of glyph size, closed horizontally into lines; a line needs two blobs and a wide shape."""
    small, s = _work(gray)
    h, w = small.shape
    _, boxes = cv2.MSER_create(delta=5, min_area=8, max_area=max(60, h * w // 100)).detectRegions(small)
    glyphs = [b for b in boxes if 3 <= b[3] <= 0.2 * h and b[2] <= 1.5 * b[3] + 2]
    if len(glyphs) < 2:
        return []
    canvas = np.zeros((h, w), np.uint8)
    for x, y, bw, bh in glyphs:
        canvas[y:y + bh, x:x + bw] = 1
    tall = int(np.median([b[3] for b in glyphs]))
    closed = cv2.morphologyEx(canvas, cv2.MORPH_CLOSE, np.ones((max(1, tall // 3), max(3, tall)), np.uint8))
    n, labels, stats, _ = cv2.connectedComponentsWithStats(closed)
    centres = np.array([[x + bw / 2, y + bh / 2] for x, y, bw, bh in glyphs]).astype(int)
    lines = []
    for i in range(1, n):
        x, y, bw, bh = stats[i, :4]
        members = int(np.sum(labels[centres[:, 1], centres[:, 0]] == i))
        if members >= 2 and bw >= 1.5 * bh:
            lines.append(Rect(int(x / s), int(y / s), int((x + bw) / s), int((y + bh) / s)))
    return sorted(lines, key=lambda r: (r.y0, r.x0))


def find_panels(image: np.ndarray, side: int = 128) -> list[Panel]:
    """Flat colour regions (Lab quantised to 20-level bins) whose outer contour fills >= 85% of its rotated
    rectangle and covers 1.5-70% of the image; largest first."""
    small, s = _work(image, side)
    h, w = small.shape[:2]
    lab = cv2.cvtColor(cv2.GaussianBlur(small, (3, 3), 0), cv2.COLOR_RGB2LAB).astype(np.int32) // 20
    codes = lab[..., 0] * 169 + lab[..., 1] * 13 + lab[..., 2]
    values, counts = np.unique(codes, return_counts=True)
    panels = []
    for value in values[np.argsort(-counts)][:10]:
        region = cv2.morphologyEx((codes == value).astype(np.uint8), cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8))
        contours, _ = cv2.findContours(region, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        for c in contours:
            area = cv2.contourArea(c)
            if not 0.015 * h * w <= area <= 0.7 * h * w:
                continue
            (cx, cy), (rw, rh), angle = cv2.minAreaRect(c)
            if rw * rh <= 0 or area / (rw * rh) < 0.85:
                continue
            corners = cv2.boxPoints(((cx, cy), (rw, rh), angle)).astype(np.float32) / s
            x0, y0 = corners.min(0)
            x1, y1 = corners.max(0)
            panels.append(Panel(Rect(int(x0), int(y0), int(x1) + 1, int(y1) + 1), corners,
                                max(rw, rh) / max(min(rw, rh), 1e-6), area / (h * w)))
    return sorted(panels, key=lambda p: -p.area)


KINDS = {  # aspect (long/short) and image share that make a panel count as each thing
    "card": ((1.35, 1.95), (0.015, 0.5)),
    "ticket": ((1.95, 3.2), (0.015, 0.5)),
    "plate": ((3.2, 6.0), (0.015, 0.3)),
    "laptop": ((1.15, 1.9), (0.08, 0.7)),
}


def pick_panel(panels: list[Panel], kind: str) -> Panel | None:
    (lo, hi), (amin, amax) = KINDS[kind]
    for p in panels:
        if lo <= p.aspect < hi and amin <= p.area <= amax:
            return p
    return None


def border_foreground(image: np.ndarray, side: int = 96) -> np.ndarray:
    """Pixels unlike the image border (mean Lab distance to the border's colour clusters, Otsu threshold),
    the largest such component, as a float mask in [0, 1] at full size."""
    small, _ = _work(image, side)
    lab = cv2.cvtColor(small, cv2.COLOR_RGB2LAB).astype(np.float32)
    edge = np.concatenate([lab[0], lab[-1], lab[:, 0], lab[:, -1]])
    refs = edge[np.argsort(edge[:, 0])][:: max(1, len(edge) // 8)]  # about eight border colours, dark to light
    dist = np.min(np.linalg.norm(lab[..., None, :] - refs[None, None], axis=-1), axis=-1)
    dist8 = np.clip(dist * (255.0 / max(float(dist.max()), 1e-6)), 0, 255).astype(np.uint8)
    _, fg = cv2.threshold(dist8, 0, 1, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(fg)
    largest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA])) if n > 1 else 0
    if not largest or stats[largest, cv2.CC_STAT_AREA] < 0.02 * fg.size:
        return np.zeros(image.shape[:2], np.float32)
    keep = (labels == largest).astype(np.float32)
    keep = cv2.morphologyEx(keep, cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8))
    return cv2.resize(keep, (image.shape[1], image.shape[0]), interpolation=cv2.INTER_LINEAR)


class Sight:
    """Editor B's lazy findings for one image."""

    def __init__(self, image: np.ndarray) -> None:
        self.image = image
        self.height, self.width = image.shape[:2]
        self.gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)

    @cached_property
    def faces(self) -> list[Rect]:
        return find_faces(self.image)

    @cached_property
    def skin(self) -> np.ndarray:
        return skin_mask(self.image)

    @cached_property
    def target(self) -> Rect | None:
        """Where person edits land: the largest face, else the largest skin blob (>= 1.5% of the image) read as
        a face of its width, else nowhere (person edits then become a weak global tint)."""
        if self.faces:
            return self.faces[0]
        blob = largest_blob(cv2.morphologyEx(self.skin.astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8)),
                            0.015)
        if blob is None:
            return None
        side = min(blob.w, blob.h * 1.2)
        return Rect(int(blob.cx - side / 2), blob.y0, int(blob.cx + side / 2), int(blob.y0 + side * 1.2))

    @cached_property
    def eyes(self) -> tuple[tuple[float, float], tuple[float, float]] | None:
        return None if self.target is None else find_eyes(self.gray, self.target)

    @cached_property
    def hair(self) -> np.ndarray:
        """Pixels in a cap-shaped band around the top of the target face that are not skin or are clearly
        darker than the face (brown hair has skin chroma); empty without a target."""
        m = np.zeros((self.height, self.width), np.uint8)
        t = self.target
        if t is None:
            return m.astype(bool)
        cv2.ellipse(m, (int(t.cx), int(t.y0 + 0.35 * t.h)), (int(0.72 * t.w), int(0.75 * t.h)), 0, 180, 360, 1, -1)
        cv2.ellipse(m, (int(t.cx), int(t.cy)), (int(0.38 * t.w), int(0.45 * t.h)), 0, 0, 360, 0, -1)
        core = t.clip(self.height, self.width)
        face_l = float(np.median(self.gray[core.y0:core.y1, core.x0:core.x1])) if core.w and core.h else 128.0
        return (m > 0) & (~self.skin | (self.gray < 0.8 * face_l))

    @cached_property
    def text_lines(self) -> list[Rect]:
        return find_text_lines(self.gray)

    @cached_property
    def text_mask(self) -> np.ndarray:
        m = np.zeros((self.height, self.width), bool)
        for r in self.text_lines:
            pad = max(1, r.h // 4)
            m |= Rect(r.x0 - pad, r.y0 - pad, r.x1 + pad, r.y1 + pad).mask(self.height, self.width)
        return m

    @cached_property
    def panels(self) -> list[Panel]:
        return find_panels(self.image)

    def panel(self, kind: str) -> Panel | None:
        return pick_panel(self.panels, kind)

    @cached_property
    def foreground(self) -> np.ndarray:
        """The body under the face (a widening column down to the bottom) when there is a target, else the
        region unlike the border; float in [0, 1]."""
        t = self.target
        if t is None:
            return border_foreground(self.image)
        m = np.zeros((self.height, self.width), np.uint8)
        cv2.ellipse(m, (int(t.cx), int(t.cy)), (int(0.6 * t.w), int(0.7 * t.h)), 0, 0, 360, 1, -1)
        body = np.array([[t.cx - 0.5 * t.w, t.y1], [t.cx + 0.5 * t.w, t.y1], [t.cx + 1.3 * t.w, self.height],
                         [t.cx - 1.3 * t.w, self.height]], np.int32)
        cv2.fillPoly(m, [body], 1)
        return cv2.GaussianBlur(m.astype(np.float32), (0, 0), max(1.0, self.width / 100))

    @cached_property
    def keep(self) -> np.ndarray:
        """Where editor B holds restyles back (to 40% strength): faces and text it can read stay legible."""
        m = self.text_mask.copy()
        for f in self.faces[:3]:
            m |= f.mask(self.height, self.width)
        return m
