"""The 8 published edit-recovery metrics (SPPE / C2E-S2SER).

Source integrity: CSIM(Src) = cos(f(out), f(src)), SSIM(src, out), PSNR(src, out).
Edit consistency: DirI = cos(f(src_edit) - f(src), f(out) - f(src)), DirS = cos(f(sur_edit) - f(sur),
f(out) - f(src)), CSIM(GT) = cos(f(out), f(src_edit)), GT-SSIM(out, src_edit), GT-PSNR(out, src_edit).

Images are uint8 RGB, converted to float [0, 1] here. f is an ImageEmbedder: the offline ``classic``
descriptor by default, CLIP (the published choice, ViT-L/14) when configured. PSNR of identical images is
infinite; it is capped at ``PSNR_CAP`` = 100 dB (an MSE of 1e-10) so means over a benchmark stay finite.
A direction shorter than ``DIR_EPS`` counts as "no edit": both none -> 1, exactly one none -> 0.
"""

from __future__ import annotations

import cv2
import numpy as np

from sppe_ray.embed.base import ImageEmbedder, check_images, create_image_embedder
from sppe_ray.embed.geometry import cosine_rows, direction_cosine
from sppe_ray.errors import ImageError

PSNR_CAP = 100.0
DIR_EPS = 1e-4
RECOVERY_KEYS = ("csim_src", "ssim", "psnr", "dir_i", "dir_s", "csim_gt", "gt_ssim", "gt_psnr")
_DEFAULT: dict[str, ImageEmbedder] = {}


def _float(img: np.ndarray) -> np.ndarray:
    return img.astype(np.float32) / 255.0


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR in dB of two uint8 images at data range 1, capped at PSNR_CAP."""
    mse = float(np.mean((_float(a) - _float(b)) ** 2, dtype=np.float64))
    if mse <= 10 ** (-PSNR_CAP / 10):
        return PSNR_CAP
    return float(min(PSNR_CAP, 10.0 * np.log10(1.0 / mse)))


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """SSIM at data range 1 with skimage's definition (uniform 7x7 window, sample covariance, K1=0.01,
    K2=0.03, reflected borders, the window's half-width cropped before the mean, colour channels averaged);
    a test holds it to `skimage.metrics.structural_similarity` within 1e-5.

    Why not call skimage: it filters each channel separately through scipy, about 8 ms per 256 px pair, and
    an evaluation computes two SSIMs per recovered output (four methods per sample); OpenCV's box filter
    does all three channels in well under a millisecond.
    """
    if a.shape != b.shape:
        raise ImageError(f"ssim needs images of one shape, got {a.shape} and {b.shape}")
    win = min(7, min(a.shape[:2]) // 2 * 2 - 1)
    if win < 3:
        raise ImageError(f"ssim needs images of at least 3x3 pixels, got {a.shape[:2]}")
    x, y = _float(a), _float(b)

    def mean(img: np.ndarray) -> np.ndarray:
        return cv2.boxFilter(img, -1, (win, win), normalize=True, borderType=cv2.BORDER_REFLECT)

    ux, uy = mean(x), mean(y)
    norm = win * win / (win * win - 1.0)  # sample covariance
    vx = norm * (mean(x * x) - ux * ux)
    vy = norm * (mean(y * y) - uy * uy)
    vxy = norm * (mean(x * y) - ux * uy)
    c1, c2 = 0.01**2, 0.03**2
    s = ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux * ux + uy * uy + c1) * (vx + vy + c2))
    pad = (win - 1) // 2
    s = s.reshape(*s.shape[:2], -1)[pad:s.shape[0] - pad, pad:s.shape[1] - pad]
    return float(s.astype(np.float64).mean(axis=(0, 1)).mean())


def _default_embedder() -> ImageEmbedder:
    if "classic" not in _DEFAULT:
        _DEFAULT["classic"] = create_image_embedder("classic")
    return _DEFAULT["classic"]


def recovery_metrics_batch(
    srcs: list[np.ndarray],
    src_edits: list[np.ndarray],
    surs: list[np.ndarray],
    sur_edits: list[np.ndarray],
    outs: list[np.ndarray],
    embedder: ImageEmbedder | None = None,
    input_features: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """The 8 metrics for N samples as float64 arrays; the 5N images are embedded in one call.

    `input_features` (shape (4, N, d), from `embed_inputs`) skips re-embedding the four inputs: an evaluation
    scores several recovery methods on the same samples, and only their outputs differ.
    """
    n = len(srcs)
    if not (len(src_edits) == len(surs) == len(sur_edits) == len(outs) == n):
        raise ImageError("recovery_metrics_batch needs equally long lists of the five images.")
    for i in range(n):
        quint = [srcs[i], src_edits[i], surs[i], sur_edits[i], outs[i]]
        check_images(quint)
        if len({im.shape for im in quint}) != 1:
            raise ImageError(f"sample {i}: the five images must share one shape, got {[im.shape for im in quint]}.")
    if n == 0:
        return {k: np.zeros(0) for k in RECOVERY_KEYS}
    emb = embedder if embedder is not None else _default_embedder()
    if input_features is None:
        input_features = embed_inputs(srcs, src_edits, surs, sur_edits, emb)
    if input_features.shape[:2] != (4, n):
        raise ImageError(f"input_features must have shape (4, {n}, d), got {input_features.shape}.")
    f_src, f_src_e, f_sur, f_sur_e = input_features.astype(np.float64)
    f_out = emb.embed(list(outs)).astype(np.float64)
    moved = f_out - f_src
    return {
        "csim_src": cosine_rows(f_out, f_src),
        "ssim": np.array([ssim(srcs[i], outs[i]) for i in range(n)]),
        "psnr": np.array([psnr(srcs[i], outs[i]) for i in range(n)]),
        "dir_i": direction_cosine(f_src_e - f_src, moved, DIR_EPS),
        "dir_s": direction_cosine(f_sur_e - f_sur, moved, DIR_EPS),
        "csim_gt": cosine_rows(f_out, f_src_e),
        "gt_ssim": np.array([ssim(outs[i], src_edits[i]) for i in range(n)]),
        "gt_psnr": np.array([psnr(outs[i], src_edits[i]) for i in range(n)]),
    }


def embed_inputs(srcs: list[np.ndarray], src_edits: list[np.ndarray], surs: list[np.ndarray],
                 sur_edits: list[np.ndarray], embedder: ImageEmbedder | None = None) -> np.ndarray:
    """Embeddings of the four inputs of N samples, shape (4, N, d), in one embedder call."""
    emb = embedder if embedder is not None else _default_embedder()
    n = len(srcs)
    f = emb.embed([*srcs, *src_edits, *surs, *sur_edits])
    return f.reshape(4, n, -1)


def recovery_metrics(
    src: np.ndarray,
    src_edit: np.ndarray,
    sur: np.ndarray,
    sur_edit: np.ndarray,
    out: np.ndarray,
    embedder: ImageEmbedder | None = None,
) -> dict[str, float]:
    """The 8 metrics of one recovered image ``out`` (keys in RECOVERY_KEYS)."""
    res = recovery_metrics_batch([src], [src_edit], [sur], [sur_edit], [out], embedder)
    return {k: float(v[0]) for k, v in res.items()}
