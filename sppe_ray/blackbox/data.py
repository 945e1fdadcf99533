"""Setting 1 data: small labelled scenes whose *task* is not private and whose private attributes are known.

Each 48 x 48 image shows one large shape whose kind is the utility class (circle, square, triangle, stripes:
the "activity" a cloud model is asked about), on a random gradient, and, each with probability one half, three
private attributes: a real face (scikit-image's LFW crops, tinted with a skin tone), a bare skin patch, and a
line of text. The generator returns the multi-label privacy ground truth and the private boxes, so the
heuristic baselines (blur, blackening, downsampling of the private regions) use the true regions. Images are
float32 in [0, 1], channels first, as the networks take them.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import cv2
import numpy as np

CLASSES = ("circle", "square", "triangle", "stripes")
ATTRIBUTES = ("face", "skin", "text")
SIZE = 48
_SKIN = ((224, 187, 160), (198, 134, 96), (141, 85, 54), (241, 194, 125), (92, 56, 40))


@dataclass
class SceneSet:
    """Images (n, 3, H, W), utility labels (n,), privacy attributes (n, 3) and private boxes per image."""

    images: np.ndarray
    labels: np.ndarray
    attributes: np.ndarray
    boxes: list[list[tuple[int, int, int, int]]]

    def __len__(self) -> int:
        return len(self.labels)


@functools.lru_cache(maxsize=1)
def _faces() -> np.ndarray:
    from skimage.data import lfw_subset

    return lfw_subset()[:100]  # the first 100 crops are faces


def _shape(img: np.ndarray, cls: int, rng: np.random.Generator) -> None:
    colour = tuple(int(v) for v in rng.integers(0, 256, 3))
    s = int(rng.integers(14, 20))
    cx, cy = (int(v) for v in rng.integers(s, SIZE - s, 2))
    if cls == 0:
        cv2.circle(img, (cx, cy), s, colour, -1)
    elif cls == 1:
        cv2.rectangle(img, (cx - s, cy - s), (cx + s, cy + s), colour, -1)
    elif cls == 2:
        pts = np.array([[cx, cy - s], [cx - s, cy + s], [cx + s, cy + s]], np.int32)
        cv2.fillPoly(img, [pts], colour)
    else:
        for y in range(cy - s, cy + s, 6):
            cv2.rectangle(img, (cx - s, y), (cx + s, y + 2), colour, -1)


def _place(rng: np.random.Generator, w: int, h: int) -> tuple[int, int]:
    return int(rng.integers(0, SIZE - w)), int(rng.integers(0, SIZE - h))


def _face(img: np.ndarray, rng: np.random.Generator) -> tuple[int, int, int, int]:
    s = int(rng.integers(14, 19))
    crop = cv2.resize(_faces()[int(rng.integers(0, 100))], (s, s), interpolation=cv2.INTER_AREA)
    tone = np.asarray(_SKIN[int(rng.integers(0, len(_SKIN)))], float) / 255
    x, y = _place(rng, s, s)
    img[y:y + s, x:x + s] = np.clip(crop[..., None] * tone * 1.4 * 255, 0, 255).astype(np.uint8)
    return x, y, x + s, y + s


def _skin(img: np.ndarray, rng: np.random.Generator) -> tuple[int, int, int, int]:
    a, b = (int(v) for v in rng.integers(4, 7, 2))
    x, y = _place(rng, 2 * a, 2 * b)
    cv2.ellipse(img, (x + a, y + b), (a, b), 0, 0, 360, _SKIN[int(rng.integers(0, len(_SKIN)))], -1)
    return x, y, x + 2 * a, y + 2 * b


def _text(img: np.ndarray, rng: np.random.Generator) -> tuple[int, int, int, int]:
    word = "".join(chr(int(c)) for c in rng.integers(65, 91, 4))
    x, y = _place(rng, 30, 10)
    cv2.rectangle(img, (x, y), (x + 30, y + 10), (250, 250, 250), -1)
    cv2.putText(img, word, (x + 1, y + 9), cv2.FONT_HERSHEY_PLAIN, 0.7, (10, 10, 10), 1, cv2.LINE_AA)
    return x, y, x + 30, y + 10


def make_scenes(n: int, seed: int = 0) -> SceneSet:
    """``n`` scenes, deterministic for (n, seed)."""
    rng = np.random.default_rng(seed)
    images = np.zeros((n, 3, SIZE, SIZE), np.float32)
    labels = np.zeros(n, np.int64)
    attrs = np.zeros((n, len(ATTRIBUTES)), np.float32)
    boxes: list[list[tuple[int, int, int, int]]] = []
    for i in range(n):
        c0, c1 = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
        ramp = np.linspace(0, 1, SIZE)[:, None, None]
        img = np.ascontiguousarray(np.broadcast_to(c0 * (1 - ramp) + c1 * ramp, (SIZE, SIZE, 3)).astype(np.uint8))
        labels[i] = int(rng.integers(0, len(CLASSES)))
        _shape(img, int(labels[i]), rng)
        mine = []
        for k, draw in enumerate((_face, _skin, _text)):
            if rng.random() < 0.5:
                attrs[i, k] = 1
                mine.append(draw(img, rng))
        images[i] = img.transpose(2, 0, 1) / 255.0
        boxes.append(mine)
    return SceneSet(images, labels, attrs, boxes)
