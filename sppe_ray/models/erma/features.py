"""Per-sample ERMA inputs, computed once: frozen image embeddings, mask-region embeddings, region statistics.

Why cache at this level: the encoders are frozen, so everything that touches pixels is a pure function of
(source, surrogate, mask). Computing it once per sample and training the head on the cached arrays is what
lets a fit finish in minutes on two cores, and lets the ablations reuse one extraction. The relation
features that mix these arrays (and the instruction) are cheap and live in the model (`relation.py`), so an
ablation only changes the head, never the cache.

Why the mask helps: the published method compares whole-image embeddings, where a small private region (a
face in a street scene) barely moves the vector even when the surrogate destroyed exactly what the editor
keys on. Embedding the region's bounding box of source and surrogate, plus cheap pixel statistics inside the
mask (how much changed, whether structure survived, how large the region is), makes that change visible.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np

from sppe_ray.errors import ImageError
from sppe_ray.imageio import pixel_digest
from sppe_ray.models.erma.detectors import DEFAULT_FACES, DETECTOR_STATS, FaceSearch, compare, findings
from sppe_ray.privacy.difference import difference_mask
from sppe_ray.privacy.geometry import mask_box
from sppe_ray.taxonomy import INSTRUCTIONS, instruction_text

#: Instruction codes in table order; row len(CODES) is the published fallback text for unknown codes.
CODES: tuple[str, ...] = tuple(sorted(INSTRUCTIONS))
_CODE_INDEX = {c: i for i, c in enumerate(CODES)}
FALLBACK_INDEX = len(CODES)
#: Scalars describing the masked region: area fraction, mean |src-sur| inside, log gradient-energy ratio.
REGION_STATS = ("area", "mean_abs_diff", "log_grad_ratio")
_CROP_MARGIN = 0.15  # context around the region: an editor detects a face from more than its skin pixels
_MIN_CROP = 16
_STATS_SIDE = 64  # region statistics are computed on a downscaled crop; they describe coarse change


def code_index(codes: Sequence[str | int]) -> np.ndarray:
    """Row of each instruction in the text table; unknown codes map to the fallback row (published rule)."""
    out = np.empty(len(codes), dtype=np.int64)
    for i, code in enumerate(codes):
        text = str(code).strip()
        key = f"{int(text):03d}" if text.isdigit() else text
        out[i] = _CODE_INDEX.get(key, FALLBACK_INDEX)
    return out


def text_table(text_embedder: Any) -> np.ndarray:
    """Embed the 65 instruction texts plus the fallback once: (66, T) float32. Computed at build time and
    saved with the model, so prediction never needs the text encoder again."""
    texts = [instruction_text(c) for c in CODES] + [instruction_text("000")]
    table = np.asarray(text_embedder.embed_text(texts), dtype=np.float32)
    if table.shape[0] != len(texts):
        raise ValueError(f"text embedder returned {table.shape[0]} rows for {len(texts)} texts")
    return table


def crop_box(mask: np.ndarray) -> tuple[int, int, int, int]:
    """Bounding box (x0, y0, x1, y1) of the mask with a context margin; the whole image when empty."""
    h, w = mask.shape
    box = mask_box(mask)
    if box is None:
        return 0, 0, w, h
    x0, y0, x1, y1 = box
    my = max(int((y1 - y0) * _CROP_MARGIN), (_MIN_CROP - (y1 - y0) + 1) // 2, 0)
    mx = max(int((x1 - x0) * _CROP_MARGIN), (_MIN_CROP - (x1 - x0) + 1) // 2, 0)
    return max(x0 - mx, 0), max(y0 - my, 0), min(x1 + mx, w), min(y1 + my, h)


def _grad_energy(grey: np.ndarray, weight: np.ndarray) -> float:
    gx = cv2.Sobel(grey, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(grey, cv2.CV_32F, 0, 1, ksize=3)
    return float(((gx * gx + gy * gy) * weight).sum() / max(weight.sum(), 1.0))


def region_stats(
    source: np.ndarray, surrogate: np.ndarray, mask: np.ndarray, box: tuple[int, int, int, int]
) -> np.ndarray:
    """The REGION_STATS scalars of one pair (float32). Cheap: one downscaled crop, two Sobel passes."""
    area = float(mask.mean())
    if area == 0.0:
        return np.zeros(len(REGION_STATS), dtype=np.float32)
    x0, y0, x1, y1 = box
    scale = min(1.0, _STATS_SIDE / max(y1 - y0, x1 - x0))
    size = (max(int((x1 - x0) * scale), 1), max(int((y1 - y0) * scale), 1))
    src = cv2.resize(source[y0:y1, x0:x1], size, interpolation=cv2.INTER_AREA).astype(np.float32) / 255
    sur = cv2.resize(surrogate[y0:y1, x0:x1], size, interpolation=cv2.INTER_AREA).astype(np.float32) / 255
    m = cv2.resize(mask[y0:y1, x0:x1].astype(np.float32), size, interpolation=cv2.INTER_AREA)
    if m.sum() <= 0:
        m = np.ones_like(m)
    mad = float((np.abs(src - sur).mean(axis=2) * m).sum() / m.sum())
    g_src = _grad_energy(src.mean(axis=2), m)
    g_sur = _grad_energy(sur.mean(axis=2), m)
    ratio = float(np.log((g_sur + 1e-4) / (g_src + 1e-4)))
    return np.array([area, mad, ratio], dtype=np.float32)


def _check_pair(i: int, source: np.ndarray, surrogate: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    for what, img in (("source", source), ("surrogate", surrogate)):
        if not isinstance(img, np.ndarray) or img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
            raise ImageError(f"sample {i}: {what} must be an RGB uint8 array (H, W, 3)")
    if source.shape != surrogate.shape:
        raise ImageError(f"sample {i}: surrogate shape {surrogate.shape} differs from source {source.shape}")
    if mask is None:
        return difference_mask(source, surrogate)
    mask = np.asarray(mask)
    if mask.shape != source.shape[:2]:
        raise ImageError(f"sample {i}: mask shape {mask.shape} differs from the image {source.shape[:2]}")
    return mask.astype(bool, copy=False)


def _digests(arrays: list[np.ndarray]) -> list[str]:
    """Pixel keys of a batch's arrays; one array object given for several rows is hashed once."""
    seen: dict[int, str] = {}
    for arr in arrays:
        if id(arr) not in seen:
            seen[id(arr)] = pixel_digest(arr)
    return [seen[id(arr)] for arr in arrays]


class Batch:
    """A checked batch and its duplicates: the extraction is a pure function of (source, surrogate, mask),
    and a benchmark scores each triple with several instructions (sppe-mini: five) and each source with
    several surrogates, so each distinct triple is computed once and each distinct image embedded and
    analysed once. The keys hash the pixels, so distinct inputs never share anything."""

    def __init__(self, sources: list[np.ndarray], surrogates: list[np.ndarray], masks: list[np.ndarray]) -> None:
        self.sources, self.surrogates, self.masks = sources, surrogates, masks
        self.src_keys, self.sur_keys = _digests(sources), _digests(surrogates)
        first: dict[tuple[str, str, str], int] = {}
        self.inverse = np.empty(len(sources), dtype=np.int64)
        for i, key in enumerate(zip(self.src_keys, self.sur_keys, _digests(masks), strict=True)):
            self.inverse[i] = first.setdefault(key, len(first))
        self.unique = [int(i) for i in np.unique(self.inverse, return_index=True)[1]]  # first row of each triple

    def __len__(self) -> int:
        return len(self.sources)

    def images(self, rows: Sequence[int]) -> tuple[list[np.ndarray], list[int], list[int]]:
        """The distinct images of `rows`, and where each row's source and surrogate sit among them."""
        index: dict[str, int] = {}
        images: list[np.ndarray] = []

        def at(key: str, img: np.ndarray) -> int:
            if key not in index:
                index[key] = len(images)
                images.append(img)
            return index[key]

        src_at = [at(self.src_keys[i], self.sources[i]) for i in rows]
        sur_at = [at(self.sur_keys[i], self.surrogates[i]) for i in rows]
        return images, src_at, sur_at

    def scatter(self, unique_feats: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Arrays computed for `unique` (in that order) -> one row per input row."""
        return {k: np.ascontiguousarray(v[self.inverse]) for k, v in unique_feats.items()}


class FeatureExtractor:
    """Turns (source, surrogate, mask) batches into the cached arrays ERMA trains and predicts on.

    Keys of the returned dict: ``f_src``, ``f_sur`` (N, D) whole-image embeddings; with ``use_mask`` also
    ``c_src``, ``c_sur`` (N, D) region-crop embeddings and ``region`` (N, len(REGION_STATS)); with
    ``use_detectors`` also ``detect`` (N, len(DETECTOR_STATS)), the detector-agreement block.
    """

    def __init__(
        self,
        image_embedder: Any,
        *,
        use_mask: bool = True,
        crop_embedder: Any = None,
        use_detectors: bool = False,
        face_search: FaceSearch = DEFAULT_FACES,
    ) -> None:
        self.image_embedder = image_embedder
        self.face_search = face_search
        # Crops may use a cheaper instance of the same encoder (classic at a lower working size): a region
        # is a fraction of the picture, so fewer pixels describe it, and it halves the extraction cost.
        self.crop_embedder = crop_embedder or image_embedder
        if int(self.crop_embedder.dim) != int(image_embedder.dim):
            raise ValueError("the crop embedder must have the image embedder's dimension")
        self.use_mask = use_mask
        self.use_detectors = use_detectors

    @property
    def dim(self) -> int:
        return int(self.image_embedder.dim)

    def extract(
        self,
        sources: Sequence[np.ndarray],
        surrogates: Sequence[np.ndarray],
        masks: Sequence[np.ndarray | None] | None = None,
    ) -> dict[str, np.ndarray]:
        """Arrays for every row; each distinct (source, surrogate, mask) is computed once (see `plan`)."""
        batch = self.plan(sources, surrogates, masks)
        return batch.scatter(self.compute(batch, batch.unique))

    def plan(
        self,
        sources: Sequence[np.ndarray],
        surrogates: Sequence[np.ndarray],
        masks: Sequence[np.ndarray | None] | None = None,
    ) -> Batch:
        """Check a batch and find its distinct triples and images (typed errors on bad input)."""
        n = len(sources)
        if len(surrogates) != n or (masks is not None and len(masks) != n):
            raise ImageError(
                f"got {n} sources, {len(surrogates)} surrogates and "
                f"{'no' if masks is None else len(masks)} masks; the counts must match"
            )
        checked = [
            _check_pair(i, sources[i], surrogates[i], None if masks is None else masks[i]) for i in range(n)
        ]
        return Batch(list(sources), list(surrogates), checked)

    def compute(self, batch: Batch, rows: Sequence[int]) -> dict[str, np.ndarray]:
        """Arrays of the given (distinct) rows of a planned batch, in that order."""
        if len(rows) == 0:
            return self.empty()
        images, src_at, sur_at = batch.images(rows)
        sources = [batch.sources[i] for i in rows]
        surrogates = [batch.surrogates[i] for i in rows]
        masks = [batch.masks[i] for i in rows]
        n = len(rows)
        whole = self.image_embedder.embed(images)
        out = {"f_src": whole[src_at], "f_sur": whole[sur_at]}
        if self.use_mask:
            boxes = [crop_box(m) for m in masks]
            crops = [
                img[y0:y1, x0:x1]
                for img_list in (sources, surrogates)
                for img, (x0, y0, x1, y1) in zip(img_list, boxes, strict=True)
            ]
            emb = self.crop_embedder.embed(crops)
            out["c_src"], out["c_sur"] = emb[:n], emb[n:]
            out["region"] = np.stack([region_stats(sources[i], surrogates[i], masks[i], boxes[i]) for i in range(n)])
        if self.use_detectors:
            found = [findings(img, self.face_search) for img in images]
            out["detect"] = np.stack(
                [compare(found[a], found[b], m) for a, b, m in zip(src_at, sur_at, masks, strict=True)]
            )
        return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in out.items()}

    def empty(self) -> dict[str, np.ndarray]:
        d = self.dim
        out = {"f_src": np.zeros((0, d), np.float32), "f_sur": np.zeros((0, d), np.float32)}
        if self.use_mask:
            out.update(
                c_src=np.zeros((0, d), np.float32),
                c_sur=np.zeros((0, d), np.float32),
                region=np.zeros((0, len(REGION_STATS)), np.float32),
            )
        if self.use_detectors:
            out["detect"] = np.zeros((0, len(DETECTOR_STATS)), np.float32)
        return out

