"""Text surrogates: re-render a fake value of the same format where the private text was.

The look of the original (ink and paper colour, slant, size) is estimated from the region so an editor
sees "a line of text like that one" and edits it the same way, while the value itself is fake.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from sppe_ray.errors import UnknownCategoryError
from sppe_ray.privacy import fakes
from sppe_ray.privacy.region import Region
from sppe_ray.privacy.surrogates.classic import background_fill
from sppe_ray.privacy.surrogates.masking import bbox_of
from sppe_ray.privacy.textrender import draw_text_fit

_MONO_KINDS = {"card_number", "phone"}


@dataclass(frozen=True)
class InkStyle:
    """What a line of text looks like: ink and paper colours, baseline angle (degrees, counter-clockwise)."""

    ink: tuple[int, int, int]
    paper: tuple[int, int, int]
    angle: float
    ink_mask: np.ndarray


def estimate_style(image: np.ndarray, mask: np.ndarray) -> InkStyle:
    """Otsu-split the masked pixels into two tones; the minority tone is the ink (text covers less area
    than its background); the ink's principal axis gives the angle when the ink is clearly elongated."""
    gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    vals = gray[mask].reshape(-1, 1)
    thr, _ = cv2.threshold(vals, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    dark = mask & (gray <= thr)
    light = mask & (gray > thr)
    ink_mask, paper_mask = (dark, light) if dark.sum() <= light.sum() else (light, dark)
    if not ink_mask.any() or not paper_mask.any():  # a flat region: dark text on its colour
        paper = tuple(int(v) for v in np.median(image[mask], axis=0))
        ink = (20, 20, 20) if np.mean(paper) > 110 else (235, 235, 235)
        return InkStyle(ink, paper, 0.0, np.zeros_like(mask))
    ink = tuple(int(v) for v in np.median(image[ink_mask], axis=0))
    paper = tuple(int(v) for v in np.median(image[paper_mask], axis=0))
    return InkStyle(ink, paper, _principal_angle(ink_mask), ink_mask)


def _principal_angle(points_mask: np.ndarray, min_elongation: float = 4.0) -> float:
    ys, xs = np.nonzero(points_mask)
    if len(xs) < 10:
        return 0.0
    cov = np.cov(np.stack([xs, ys]).astype(np.float64))
    evals, evecs = np.linalg.eigh(cov)
    if evals[0] <= 0 or evals[1] / max(evals[0], 1e-9) < min_elongation:
        return 0.0
    vx, vy = evecs[:, 1]
    angle = float(np.degrees(np.arctan2(-vy, vx)))  # image y points down; PIL angles are counter-clockwise
    angle = (angle + 90) % 180 - 90
    if abs(angle) > 45:  # a vertical principal axis means a short block of lines, not rotated text
        return 0.0
    return angle if abs(angle) >= 2 else 0.0


def region_angle(mask: np.ndarray) -> float:
    """Angle (degrees, counter-clockwise) of a region's minimum-area rectangle, within [-45, 45]."""
    ys, xs = np.nonzero(mask)
    (_, _), (w, h), ang = cv2.minAreaRect(np.stack([xs, ys], axis=1).astype(np.float32))
    if w < h:
        ang -= 90
    ang = -((ang + 90) % 180 - 90)
    return float(ang) if 2 <= abs(ang) <= 45 else 0.0


def kind_for(region: Region) -> str:
    """fake_text kind for the region's category, generic text when the category has none."""
    try:
        return fakes.text_kind_for_category(region.category)
    except (UnknownCategoryError, KeyError, ValueError):
        return "generic"


def source_text(image: np.ndarray, region: Region) -> str | None:
    """The private string: Region.text when known, else what OCR reads in the region (None if nothing)."""
    if region.text and any(ch.isalnum() for ch in region.text):
        return region.text
    from sppe_ray.privacy.detectors.text import rapidocr_lines

    lines = rapidocr_lines(image, bbox_of(region.mask))
    text = "\n".join(t for _, t, _ in sorted(lines, key=lambda ln: float(ln[0][:, 1].mean())))
    return text if any(ch.isalnum() for ch in text) else None


def fake_value(image: np.ndarray, region: Region, rng: np.random.Generator) -> str:
    """A fake value shaped like the private one, or of the category's kind when it cannot be read."""
    original = source_text(image, region)
    if original is not None:
        return fakes.fake_like(original, rng)
    return fakes.fake_text(kind_for(region), rng)


def text_rerender(image: np.ndarray, region: Region, rng: np.random.Generator) -> np.ndarray:
    """Inpaint the whole text box, then draw a same-format fake value in the estimated ink, size and angle."""
    style = estimate_style(image, region.mask)
    text = fake_value(image, region, rng)
    out = background_fill(image, region.mask, rng)
    x0, y0, x1, y1 = bbox_of(region.mask)
    pad = max(1, (y1 - y0) // 12)
    box = (x0 + pad, y0 + pad, max(x0 + pad + 1, x1 - pad), max(y0 + pad + 1, y1 - pad))
    draw_text_fit(out, box, text, color=style.ink, angle=style.angle or region_angle(region.mask),
                  mono=kind_for(region) in _MONO_KINDS)
    return out


def plate_fake(image: np.ndarray, region: Region, rng: np.random.Generator) -> np.ndarray:
    """A blank plate in the estimated paper colour with a thin border and a fake plate number in bold."""
    style = estimate_style(image, region.mask)
    original = source_text(image, region)
    text = fakes.fake_like(original, rng) if original else fakes.fake_text("plate", rng)
    text = " ".join(text.split())  # plates are one line
    out = image.copy()
    paper = np.asarray(style.paper, dtype=np.float32)
    noise = rng.normal(0.0, 2.0, size=(int(region.mask.sum()), 3))
    out[region.mask] = np.clip(paper + noise + 0.5, 0, 255).astype(np.uint8)
    border = cv2.morphologyEx(region.mask.astype(np.uint8), cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8))
    out[(border > 0) & region.mask] = style.ink
    x0, y0, x1, y1 = bbox_of(region.mask)
    px, py = max(2, (x1 - x0) // 14), max(2, (y1 - y0) // 6)
    draw_text_fit(out, (x0 + px, y0 + py, max(x0 + px + 1, x1 - px), max(y0 + py + 1, y1 - py)), text,
                  color=style.ink, angle=region_angle(region.mask), bold=True)
    return out
