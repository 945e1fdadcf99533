"""Classical recoverers: the references C2E-S2SER must beat.

- ``edited_surrogate``: return what the cloud sent back. Perfect edit, zero privacy restoration: the private
  region keeps the surrogate's content (another face, fake text).
- ``paste_back`` (SOER-style): composite the source region back into the edited surrogate with a feathered
  edge. Perfect restoration, but the edit is lost inside the region.
- ``local_transfer``: fit the surrogate -> edited-surrogate change and replay it on the source region: a
  per-channel affine colour/tone map fitted on a ring around the mask (where surrogate == source, so the fit
  sees how the editor treated source-like pixels), a high-pass detail residual for global (style) edits, and
  a soft copy of new content where the change is local and large (an added object over the region).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from sppe_ray.models.recovery.base import BatchByLoop, check_inputs


@dataclass
class EditedSurrogate(BatchByLoop):
    """Return the edited surrogate unchanged (upper bound on edit consistency, no restoration)."""

    name: str = "edited_surrogate"

    def recover(self, source, surrogate, surrogate_edit, mask, instruction_code) -> np.ndarray:
        _, _, sur_edit, _, _ = check_inputs(source, surrogate, surrogate_edit, mask, instruction_code)
        return sur_edit.copy()


def feather_alpha(mask: np.ndarray, feather: float) -> np.ndarray:
    """1 inside the mask, falling linearly to 0 over `feather` px outside it (float32, (H, W)).

    Feathering outward only keeps every private pixel exactly restored while hiding the seam.
    """
    mask = np.asarray(mask, bool)
    if not mask.any():
        return np.zeros(mask.shape, np.float32)
    if feather <= 0:
        return mask.astype(np.float32)
    dist = ndimage.distance_transform_edt(~mask)
    return np.clip(1.0 - dist / float(feather), 0.0, 1.0).astype(np.float32)


def blend(base: np.ndarray, top: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """alpha * top + (1 - alpha) * base, rounded back to uint8."""
    a = alpha[..., None].astype(np.float32)
    out = a * top.astype(np.float32) + (1.0 - a) * base.astype(np.float32)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


@dataclass
class PasteBack(BatchByLoop):
    """SOER-style baseline: source pixels inside the mask, edited surrogate outside, feathered seam."""

    feather: float = 4.0
    name: str = "paste_back"

    def recover(self, source, surrogate, surrogate_edit, mask, instruction_code) -> np.ndarray:
        src, _, sur_edit, m, _ = check_inputs(source, surrogate, surrogate_edit, mask, instruction_code)
        return blend(sur_edit, src, feather_alpha(m, self.feather))


def ring(mask: np.ndarray, width: int) -> np.ndarray:
    """Pixels within `width` px outside the mask."""
    return ndimage.binary_dilation(mask, iterations=max(1, width)) & ~mask


def fit_affine(x: np.ndarray, y: np.ndarray, ridge: float = 1e-3) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel y ≈ a * x + b by least squares, shrunk toward the identity (a=1, b=0) when x is flat.

    x, y: (N, 3) float in [0, 1]. Returns (a, b), each (3,). The ridge keeps a flat ring (a uniform
    background) from producing a huge gain that would blow up the source's texture.
    """
    mx, my = x.mean(0), y.mean(0)
    dx, dy = x - mx, y - my
    var = (dx * dx).mean(0)
    cov = (dx * dy).mean(0)
    a = np.clip((cov + ridge) / (var + ridge), 0.0, 3.0)
    return a, my - a * mx


@dataclass
class LocalTransfer(BatchByLoop):
    """Replay the surrogate's edit on the source region (see module docstring).

    Outside the mask the edited surrogate is already the edit of the source (surrogate == source there).
    Inside, `global_fraction` decides the regime: when most unmasked pixels changed the edit is a style;
    then tone + detail transfer. Otherwise the edit is local: large residual change (new content such as
    sunglasses) is copied softly, the rest keeps the tone-mapped source.
    """

    ring_width: int = 12
    change_threshold: float = 12.0 / 255
    global_fraction: float = 0.5
    local_low: float = 0.06
    local_high: float = 0.2
    detail_sigma: float = 2.0
    feather: float = 3.0
    name: str = "local_transfer"

    def recover(self, source, surrogate, surrogate_edit, mask, instruction_code) -> np.ndarray:
        src8, sur8, edit8, m, _ = check_inputs(source, surrogate, surrogate_edit, mask, instruction_code)
        return self.transfer(src8, sur8, edit8, m)

    def transfer(self, src8: np.ndarray, sur8: np.ndarray, edit8: np.ndarray, m: np.ndarray) -> np.ndarray:
        """The transfer on validated arrays (uint8 images, bool mask): no instruction needed.

        Separate from `recover` because c2e_net uses it as its starting point, on training crops' full
        images (Ray Data) and at inference, where the instruction plays no role.
        """
        if not m.any():
            return edit8.copy()
        src, sur, edit = (a.astype(np.float32) / 255 for a in (src8, sur8, edit8))
        fit_region = ring(m, self.ring_width)
        if fit_region.sum() < 16:  # the mask covers (almost) everything: fit on the region itself
            fit_region = m
        a, b = fit_affine(sur[fit_region], edit[fit_region])
        toned = src * a + b
        residual = edit - (sur * a + b)  # what the tone map does not explain
        change = np.abs(edit - sur).mean(-1)
        outside = ~m
        is_global = outside.any() and (change[outside] > self.change_threshold).mean() > self.global_fraction
        if is_global:
            detail = residual - ndimage.gaussian_filter(residual, sigma=(self.detail_sigma, self.detail_sigma, 0))
            inside = toned + detail
        else:
            strength = ndimage.gaussian_filter(np.abs(residual).mean(-1), sigma=2.0)
            copy = np.clip((strength - self.local_low) / (self.local_high - self.local_low), 0.0, 1.0)
            inside = copy[..., None] * edit + (1.0 - copy[..., None]) * toned
        inside8 = np.clip(np.rint(inside * 255), 0, 255).astype(np.uint8)
        return blend(edit8, inside8, feather_alpha(m, self.feather))
