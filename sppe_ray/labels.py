"""Editability labels computed from the four images of an SPPE sample.

The main label asks: did the surrogate receive the edit the source would have received? It compares the two
edit *directions* in embedding space, d_src = f(src_edit) - f(src) and d_sur = f(sur_edit) - f(sur):

    editability = (anchored_cos(d_sur, d_src) + 1) / 2

Why directions and not the outputs: the surrogate differs from the source in the private region by
construction, so cos(f(sur_edit), f(src_edit)) is high whenever the two *images* look alike even when the
editor did something different to each; the direction cancels what the pair shared before the edit. The
output cosine and a pixel-level region agreement are kept as extra columns (``label_output``,
``label_region``). Formulas and the near-zero rule are in docs/labels.md.
"""

from __future__ import annotations

import numpy as np
from skimage.metrics import structural_similarity

from sppe_ray.embed.base import ImageEmbedder, check_images
from sppe_ray.embed.geometry import anchored_cosine, cosine_rows
from sppe_ray.errors import ImageError

# Scale below which an edit vector counts as "nothing happened" (embeddings are unit rows, so |d| <= 2). With
# the classic embedder, Gaussian noise of sigma 1-3 grey levels or a JPEG q90 re-encode moves a 256 px photo by
# 0.01-0.07 and a mild tint (+-20 levels) by 0.14-0.54: 0.05 sits between re-encoding noise and a real edit.
ZERO_EDIT_EPS = 0.05
LABEL_KEYS = ("editability", "label_output", "label_region")


def _check_quad(src: np.ndarray, sur: np.ndarray, src_edit: np.ndarray, sur_edit: np.ndarray,
                mask: np.ndarray | None, i: int = 0) -> None:
    check_images([src, sur, src_edit, sur_edit])
    shapes = {a.shape for a in (src, sur, src_edit, sur_edit)}
    if len(shapes) != 1:
        raise ImageError(f"sample {i}: source, surrogate and both edits must share one shape, got {sorted(shapes)}.")
    if mask is not None and (np.ndim(mask) != 2 or np.shape(mask) != src.shape[:2]):
        raise ImageError(f"sample {i}: mask shape {np.shape(mask)} does not match image shape {src.shape[:2]}.")


def region_agreement(src: np.ndarray, sur: np.ndarray, src_edit: np.ndarray, sur_edit: np.ndarray,
                     mask: np.ndarray | None = None) -> float:
    """SSIM of the two difference images (edit - original), mapped to [0, 1].

    With a mask the SSIM map is averaged inside and outside the private region separately and the two means
    are averaged, so a small private region weighs as much as the rest of the picture: the region is where the
    surrogate differs, hence where the edits are most likely to disagree.
    """
    d_src = (src_edit.astype(np.float32) - src.astype(np.float32)) / 255.0
    d_sur = (sur_edit.astype(np.float32) - sur.astype(np.float32)) / 255.0
    win = min(7, min(src.shape[:2]) // 2 * 2 - 1)
    _, smap = structural_similarity(d_src, d_sur, channel_axis=2, data_range=2.0, full=True, win_size=win)
    smap = smap.mean(axis=2)
    if mask is not None:
        mask = np.asarray(mask).astype(bool)  # a 0/255 uint8 mask must not be used as fancy indices
    if mask is None or not mask.any() or mask.all():
        value = float(smap.mean())
    else:
        value = 0.5 * float(smap[mask].mean()) + 0.5 * float(smap[~mask].mean())
    return float(np.clip((value + 1.0) / 2.0, 0.0, 1.0))


def label_batch(
    srcs: list[np.ndarray],
    surs: list[np.ndarray],
    src_edits: list[np.ndarray],
    sur_edits: list[np.ndarray],
    embedder: ImageEmbedder,
    masks: list[np.ndarray | None] | None = None,
    eps: float = ZERO_EDIT_EPS,
) -> dict[str, np.ndarray]:
    """Labels for N samples; all 4N images go through the embedder in one call. Values float32 in [0, 1]."""
    n = len(srcs)
    if not (len(surs) == len(src_edits) == len(sur_edits) == n):
        raise ImageError("label_batch needs equally long lists of sources, surrogates and both edits.")
    if masks is not None and len(masks) != n:
        raise ImageError(f"label_batch got {len(masks)} masks for {n} samples.")
    masks = list(masks) if masks is not None else [None] * n
    for i in range(n):
        _check_quad(srcs[i], surs[i], src_edits[i], sur_edits[i], masks[i], i)
    if n == 0:
        return {k: np.zeros(0, dtype=np.float32) for k in LABEL_KEYS}
    f = embedder.embed([*srcs, *surs, *src_edits, *sur_edits])
    f_src, f_sur, f_src_e, f_sur_e = f[:n], f[n : 2 * n], f[2 * n : 3 * n], f[3 * n :]
    direction = anchored_cosine(f_sur_e - f_sur, f_src_e - f_src, eps)
    output = cosine_rows(f_sur_e, f_src_e)
    region = [region_agreement(srcs[i], surs[i], src_edits[i], sur_edits[i], masks[i]) for i in range(n)]
    return {
        "editability": np.clip((direction + 1) / 2, 0, 1).astype(np.float32),
        "label_output": np.clip((output + 1) / 2, 0, 1).astype(np.float32),
        "label_region": np.asarray(region, dtype=np.float32),
    }


def editability_labels(
    src: np.ndarray,
    sur: np.ndarray,
    src_edit: np.ndarray,
    sur_edit: np.ndarray,
    embedder: ImageEmbedder,
    mask: np.ndarray | None = None,
    eps: float = ZERO_EDIT_EPS,
) -> dict[str, float]:
    """Labels of one sample: ``editability`` (main), ``label_output``, ``label_region``, floats in [0, 1]."""
    out = label_batch([src], [sur], [src_edit], [sur_edit], embedder, None if mask is None else [mask], eps)
    return {k: float(v[0]) for k, v in out.items()}
