"""``classic``: a fixed, weight-free image descriptor that reacts to what image edits change.

Why not a learned embedding: the offline default must run on a fresh machine with no weights, and labels
and metrics computed with it must be reproducible bit for bit. Why these blocks: instruction edits change
colour (hair colour, sunsets, golden/marble/wooden restyles), structure (accessories, removals, sketches),
texture (stains, scratches, paintings, paper) and layout; one block per kind keeps each visible in the
cosine. Every block is centred and scaled with fixed analytic constants (no data-fitted statistics), weighted,
concatenated and the row L2-normalised. See docs/labels.md for the table of blocks.
"""

from __future__ import annotations

import cv2
import numpy as np

from sppe_ray.embed.base import check_images, l2_normalise

SIZE = 128  # working resolution: edits of interest survive it and it keeps a 256 px image under ~5 ms
_CHUNK = 64  # images per vectorised chunk, bounds memory at ~64 x 128 x 128 x 3 floats


def _riu2_table() -> np.ndarray:
    """Rotation-invariant uniform LBP mapping of the 256 8-bit codes to 10 bins (0..8 ones, 9 = non-uniform)."""
    table = np.empty(256, dtype=np.int64)
    for code in range(256):
        bits = [(code >> k) & 1 for k in range(8)]
        transitions = sum(bits[k] != bits[(k + 1) % 8] for k in range(8))
        table[code] = sum(bits) if transitions <= 2 else 9
    return table


_RIU2 = _riu2_table()
# Block weights: relative importance after each block is scaled to unit expected contribution per dimension.
WEIGHTS = {
    "colour_moments": 1.0,
    "colour_hist": 1.0,
    "hog": 1.0,
    "grad_energy": 0.6,
    "lbp": 0.7,
    "local_var": 0.6,
    "thumbnail": 1.0,
}


def _cell_mean(x: np.ndarray, g: int) -> np.ndarray:
    """Mean of float32 (N, S, S[, C]) over each cell of a g x g grid -> (N, g*g[, C]).

    cv2's area resize computes exactly the cell means when S is a multiple of g, several times faster than a
    numpy reduction over a reshaped view.
    """
    n = x.shape[0]
    out = np.stack([cv2.resize(im, (g, g), interpolation=cv2.INTER_AREA) for im in x])
    return out.reshape(n, g * g, *x.shape[3:])


def _cell_map(s: int, g: int) -> np.ndarray:
    """(S, S) map of the g x g grid cell each pixel falls in (row-major cell ids)."""
    idx = np.arange(s) * g // s
    return idx[:, None] * g + idx[None, :]


def _pyramid(per_cell: np.ndarray) -> np.ndarray:
    """Append the global cell (sum of the 2x2 cells) to a (N, 4, B) array of counts -> (N, 5, B)."""
    return np.concatenate([per_cell, per_cell.sum(axis=1, keepdims=True)], axis=1)


def _hist(idx: np.ndarray, weights: np.ndarray | None, n_bins: int, g: int) -> np.ndarray:
    """Per-image, per-cell histogram of integer bins (N, S, S) over a g x g grid -> (N, g*g, n_bins).

    One bincount over combined (image, cell, bin) ids: the fastest histogram numpy offers for many small ones.
    """
    n, s = idx.shape[0], idx.shape[1]
    cells = (np.arange(n).reshape(n, 1, 1) * (g * g) + _cell_map(s, g)) * n_bins
    h = np.bincount((cells + idx).ravel(), weights=None if weights is None else weights.ravel(),
                    minlength=n * g * g * n_bins)
    return h.reshape(n, g * g, n_bins)


def _hellinger(counts: np.ndarray, total: np.ndarray | float, centre: float) -> np.ndarray:
    """sqrt of a normalised histogram, centred: Euclidean distance on it is the Hellinger distance."""
    return np.sqrt(counts / total) - centre


def _colour_blocks(lab: np.ndarray, hsv: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lab mean/std/skew and HSV histograms on the 2x2 cells plus the whole image."""
    n, s = lab.shape[0], lab.shape[1]
    x = lab - np.array([50.0, 0.0, 0.0], dtype=np.float32)  # centre first: raw third moments stay small
    x2 = x * x
    raw = [_pyramid(_cell_mean(v, 2)) / np.array([1, 1, 1, 1, 4.0]).reshape(1, 5, 1) for v in (x, x2, x2 * x)]
    m, e2, e3 = (r.astype(np.float64) for r in raw)
    var = np.maximum(e2 - m * m, 0.0)
    sd = np.sqrt(var)
    skew = np.clip((e3 - 3 * m * e2 + 2 * m**3) / (sd**3 + 1e-3), -4, 4) / 2
    m_std = m / np.array([25.0, 20.0, 20.0])
    s_std = (sd - np.array([20.0, 8.0, 8.0])) / np.array([10.0, 6.0, 6.0])
    moments = np.concatenate([m_std, s_std, skew], axis=-1).reshape(n, -1)  # (N, 45)

    p = (s // 2) ** 2
    h_idx = np.minimum((hsv[..., 0] * (1 / 30.0)).astype(np.int64), 11)
    s_idx = np.minimum((hsv[..., 1] * 4).astype(np.int64), 3)
    v_idx = np.minimum((hsv[..., 2] * 8).astype(np.int64), 7)
    hue = _pyramid(_hist(h_idx, hsv[..., 1], 12, 2))  # saturation-weighted: grey pixels carry no hue
    sat = _pyramid(_hist(s_idx, None, 4, 2))
    val = _pyramid(_hist(v_idx, None, 8, 2))
    tot = np.array([p, p, p, p, 4 * p], dtype=np.float64).reshape(1, 5, 1)
    hist = np.concatenate(
        [_hellinger(hue, tot, np.sqrt(0.25 / 12)), _hellinger(sat, tot, 0.5), _hellinger(val, tot, np.sqrt(1 / 8))],
        axis=-1,
    ).reshape(n, -1)  # (N, 120)
    return moments, hist


def _structure_texture(lum: np.ndarray) -> dict[str, np.ndarray]:
    """Gradient-orientation, gradient-energy, LBP and local-variance blocks from lightness in [0, 1]."""
    n, s = lum.shape[0], lum.shape[1]
    pad = np.pad(lum, ((0, 0), (1, 1), (1, 1)), mode="edge")
    gx = (pad[:, 1:-1, 2:] - pad[:, 1:-1, :-2]) * 0.5
    gy = (pad[:, 2:, 1:-1] - pad[:, :-2, 1:-1]) * 0.5
    mag = np.hypot(gx, gy)
    ang = np.mod(np.arctan2(gy, gx), np.pi) * (9 / np.pi)  # unsigned orientation in bins
    lo = np.floor(ang).astype(np.int64)
    frac = ang - lo
    hog = _hist(lo % 9, mag * (1 - frac), 9, 4) + _hist((lo + 1) % 9, mag * frac, 9, 4)  # soft binning
    p = (s // 4) ** 2
    energy = hog.sum(axis=-1, keepdims=True)
    hog_f = _hellinger(hog, energy + 0.01 * p, np.sqrt(1 / 9)).reshape(n, -1)  # flat cells -> near-zero hist
    grad_energy = (np.log(energy[..., 0] / p + 1e-3) - np.log(0.03)) / 1.5  # (N, 16)

    centre = lum + 0.004  # small margin: sensor noise is not texture
    code = np.zeros(lum.shape, dtype=np.uint8)
    for k, (dy, dx) in enumerate(((-1, -1), (-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1))):
        nb = pad[:, 1 + dy : 1 + dy + s, 1 + dx : 1 + dx + s]
        code |= (nb >= centre).astype(np.uint8) << k
    pl = (s // 2) ** 2
    lbp = _pyramid(_hist(_RIU2[code], None, 10, 2))
    tot = np.array([pl, pl, pl, pl, 4 * pl], dtype=np.float64).reshape(1, 5, 1)
    lbp_f = _hellinger(lbp, tot, np.sqrt(0.1)).reshape(n, -1)  # (N, 50)

    mean = np.stack([cv2.blur(x, (5, 5)) for x in lum])
    sq = np.stack([cv2.blur(x * x, (5, 5)) for x in lum])
    log_std = np.log(np.sqrt(np.maximum(sq - mean * mean, 0)) + 1e-3)
    cell_var = (_cell_mean(log_std, 4) - np.log(0.03)) / 1.5  # (N, 16)
    v_idx = np.clip(((log_std - np.log(1e-3)) * (8 / (np.log(0.3) - np.log(1e-3)))).astype(np.int64), 0, 7)
    var_hist = _hellinger(_hist(v_idx, None, 8, 1), s * s, np.sqrt(1 / 8)).reshape(n, -1)
    return {
        "hog": hog_f,
        "grad_energy": grad_energy,
        "lbp": lbp_f,
        "local_var": np.concatenate([cell_var, var_hist], axis=1),
    }


class ClassicEmbedder:
    """Deterministic colour/structure/texture/layout descriptor; 591-d, L2-normalised float32 rows."""

    name = "classic"

    def __init__(self, size: int = SIZE, weights: dict[str, float] | None = None) -> None:
        if size % 8 or size < 32:
            raise ValueError(f"classic embedder size must be a multiple of 8 and >= 32, got {size}")
        self.size = size
        self.weights = dict(WEIGHTS, **(weights or {}))
        self.dim = 45 + 120 + 144 + 16 + 50 + 24 + 192

    def embed(self, images: list[np.ndarray]) -> np.ndarray:
        """Embed a batch; identical inputs give identical rows on any machine (no randomness, no weights)."""
        imgs = check_images(images)
        if not imgs:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.concatenate([self._embed_chunk(imgs[i : i + _CHUNK]) for i in range(0, len(imgs), _CHUNK)])

    def _embed_chunk(self, imgs: list[np.ndarray]) -> np.ndarray:
        s = self.size
        rgb = [cv2.resize(im, (s, s), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0 for im in imgs]
        lab = np.stack([cv2.cvtColor(x, cv2.COLOR_RGB2Lab) for x in rgb])
        hsv = np.stack([cv2.cvtColor(x, cv2.COLOR_RGB2HSV) for x in rgb])
        moments, hist = _colour_blocks(lab, hsv)
        blocks = {"colour_moments": moments, "colour_hist": hist}
        blocks.update(_structure_texture(np.ascontiguousarray(lab[..., 0]) * np.float32(0.01)))
        n = lab.shape[0]
        thumb = _cell_mean(lab, 8).astype(np.float64)  # (N, 64, 3): 8x8 layout thumbnail
        blocks["thumbnail"] = ((thumb - np.array([50.0, 0, 0])) / np.array([25.0, 20.0, 20.0])).reshape(n, -1)
        parts = [self.weights[k] * blocks[k] / np.sqrt(blocks[k].shape[1]) for k in WEIGHTS]
        return l2_normalise(np.concatenate(parts, axis=1))
