"""Draw text into numpy images with DejaVu fonts, scaled to a box, and report exactly which pixels changed.

Synthetic scenes and text surrogates both need "put this string in that box" plus the mask of what was
drawn, so the mask can become (or be checked against) a private region.
"""

from __future__ import annotations

import functools
import math
import os
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from sppe_ray.errors import BackendUnavailableError, ImageError

_FONT_DIRS = ("/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/dejavu", "/usr/local/share/fonts")
_REF_SIZE = 64  # measure once at this size, then scale: glyph extents are close to linear in size


def _font_dirs() -> list[str]:
    env = os.environ.get("SPPE_FONT_DIR")
    return ([env] if env else []) + list(_FONT_DIRS)


@functools.lru_cache(maxsize=32)
def font_path(bold: bool = False, mono: bool = False, oblique: bool = False, serif: bool = False) -> str:
    """Path of the DejaVu face with these traits; BackendUnavailableError naming SPPE_FONT_DIR if absent."""
    family = "DejaVuSansMono" if mono else ("DejaVuSerif" if serif else "DejaVuSans")
    style = ("Bold" if bold else "") + (("Italic" if serif else "Oblique") if oblique else "")
    name = f"{family}-{style}.ttf" if style else f"{family}.ttf"
    for folder in _font_dirs():
        path = Path(folder) / name
        if path.is_file():
            return str(path)
    raise BackendUnavailableError(
        f"font {name} not found in {', '.join(_font_dirs())}; install fonts-dejavu or set SPPE_FONT_DIR "
        "to a folder holding the DejaVu .ttf files"
    )


@functools.lru_cache(maxsize=512)
def _font(path: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size)


_PROBE = ImageDraw.Draw(Image.new("L", (1, 1)))


def _measure(text: str, font: ImageFont.FreeTypeFont) -> tuple[int, int, int, int]:
    return _PROBE.multiline_textbbox((0, 0), text, font=font, spacing=max(1, font.size // 6))


def text_mask_size(text: str, font_size: int, bold: bool = False, mono: bool = False) -> tuple[int, int]:
    """(width, height) in pixels of `text` rendered at `font_size` (ink extent, multi-line aware)."""
    if font_size < 1:
        raise ValueError(f"font_size must be >= 1, got {font_size}")
    x0, y0, x1, y1 = _measure(text, _font(font_path(bold, mono), int(font_size)))
    return (x1 - x0, y1 - y0)


def _render_alpha(text: str, path: str, size: int) -> np.ndarray:
    font = _font(path, size)
    x0, y0, x1, y1 = _measure(text, font)
    layer = Image.new("L", (max(1, x1 - x0), max(1, y1 - y0)), 0)
    ImageDraw.Draw(layer).multiline_text((-x0, -y0), text, font=font, fill=255, spacing=max(1, size // 6))
    return np.asarray(layer, dtype=np.float32) / 255.0


def _rotated_extent(w: float, h: float, angle: float) -> tuple[float, float]:
    c, s = abs(math.cos(math.radians(angle))), abs(math.sin(math.radians(angle)))
    return (w * c + h * s, w * s + h * c)


def fit_font_size(text: str, box_w: int, box_h: int, path: str, angle: float = 0.0) -> int:
    """Largest font size whose (rotated) ink box fits box_w x box_h; 0 when even size 1 does not fit."""
    x0, y0, x1, y1 = _measure(text, _font(path, _REF_SIZE))
    rw, rh = _rotated_extent(max(1, x1 - x0), max(1, y1 - y0), angle)
    size = int(_REF_SIZE * min(box_w / rw, box_h / rh))
    while size >= 1:
        x0, y0, x1, y1 = _measure(text, _font(path, size))
        rw, rh = _rotated_extent(x1 - x0, y1 - y0, angle)
        if rw <= box_w and rh <= box_h:
            return size
        size -= max(1, size // 12)
    return 0


def _estimate_size(text: str, box_w: int, box_h: int, path: str, angle: float) -> int:
    """One measurement at the reference size, scaled linearly (the caller shrinks any small overshoot)."""
    x0, y0, x1, y1 = _measure(text, _font(path, _REF_SIZE))
    rw, rh = _rotated_extent(max(1, x1 - x0), max(1, y1 - y0), angle)
    return int(_REF_SIZE * min(box_w / rw, box_h / rh))


def render_text_alpha(
    text: str, box_w: int, box_h: int, path: str, angle: float = 0.0, max_size: int | None = None
) -> np.ndarray | None:
    """Float coverage (0..1) of `text` as large as fits box_w x box_h (rotated by `angle`), or None when
    it cannot be drawn legibly (below 1 px). Hinting can overshoot the linear estimate by a pixel or
    two; that is fixed by an area resize instead of a second measurement, to keep scenes fast."""
    size = _estimate_size(text, box_w, box_h, path, angle)
    if max_size is not None:
        size = min(size, int(max_size))
    if size < 1:
        return None
    alpha = _render_alpha(text, path, size)
    if angle:
        layer = Image.fromarray((alpha * 255).astype(np.uint8))
        layer = layer.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True)
        alpha = np.asarray(layer, dtype=np.float32) / 255.0
    ah, aw = alpha.shape
    if aw > box_w or ah > box_h:
        f = min(box_w / aw, box_h / ah)
        alpha = cv2.resize(alpha, (max(1, int(aw * f)), max(1, int(ah * f))), interpolation=cv2.INTER_AREA)
    return alpha


def _check_image(img: np.ndarray) -> None:
    if not isinstance(img, np.ndarray) or img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
        shape = getattr(img, "shape", None)
        raise ImageError(f"expected an RGB uint8 image of shape (H, W, 3), got {shape}")


def draw_text_fit(
    img: np.ndarray,
    box: tuple[int, int, int, int],
    text: str,
    color: tuple[int, int, int] = (0, 0, 0),
    angle: float = 0.0,
    bold: bool = False,
    mono: bool = False,
    *,
    align: str = "center",
    font_file: str | None = None,
    max_size: int | None = None,
) -> np.ndarray:
    """Draw `text` as large as fits inside `box` = (x0, y0, x1, y1), rotated by `angle` degrees
    (counter-clockwise), anti-aliased, in place on `img`.

    Returns the bool mask (image-sized) of every pixel the text touched, so the caller knows exactly
    what changed. `align` is "center" or "left" (left keeps a column of fields flush); `font_file`
    overrides the DejaVu face; `max_size` caps the font size so short values do not balloon.
    """
    _check_image(img)
    x0, y0, x1, y1 = (int(v) for v in box)
    if x1 <= x0 or y1 <= y0:
        raise ValueError(f"text box must have positive size, got {box}")
    mask = np.zeros(img.shape[:2], dtype=bool)
    if not text.strip():
        return mask
    alpha = render_text_alpha(text, x1 - x0, y1 - y0, font_file or font_path(bold, mono), angle, max_size)
    if alpha is None:
        return mask
    ah, aw = alpha.shape
    top = y0 + ((y1 - y0) - ah) // 2
    left = x0 + ((x1 - x0) - aw) // 2 if align == "center" else x0
    return blend_alpha(img, alpha, top, left, color, out_mask=mask)


def blend_alpha(
    img: np.ndarray,
    alpha: np.ndarray,
    top: int,
    left: int,
    color: tuple[int, int, int],
    out_mask: np.ndarray | None = None,
) -> np.ndarray:
    """Blend a solid `color` through the float `alpha` patch placed at (top, left), clipped to the image;
    returns (and fills `out_mask` with) the pixels where alpha > 0."""
    h, w = img.shape[:2]
    mask = out_mask if out_mask is not None else np.zeros((h, w), dtype=bool)
    ys0, xs0 = max(0, top), max(0, left)
    ys1, xs1 = min(h, top + alpha.shape[0]), min(w, left + alpha.shape[1])
    if ys1 <= ys0 or xs1 <= xs0:
        return mask
    a = alpha[ys0 - top:ys1 - top, xs0 - left:xs1 - left]
    region = img[ys0:ys1, xs0:xs1].astype(np.float32)
    col = np.asarray(color, dtype=np.float32)
    img[ys0:ys1, xs0:xs1] = np.clip(region + (col - region) * a[..., None] + 0.5, 0, 255).astype(np.uint8)
    mask[ys0:ys1, xs0:xs1] |= a > 0
    return mask
