"""A flat drawing surface for one piece of private content (card, label, screen...) before it is warped
into a photo: colour, paste alpha, private alpha, and the boxes of the text fields drawn on it.

Keeping "what gets pasted" (alpha) apart from "what is private" (private) lets a name tag paste the whole
tag while only the name is masked, and keeps every mask exact after the perspective warp.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from sppe_ray.privacy.textrender import font_path, render_text_alpha

Color = tuple[int, int, int]


@dataclass
class Field:
    """One text field: its value, fake-value kind, box on the canvas and drawing style (for re-rendering)."""

    name: str
    kind: str
    text: str
    box: tuple[int, int, int, int]
    style: dict = field(default_factory=dict)


class Canvas:
    """RGB + paste alpha + private alpha, drawn with cv2 shapes and DejaVu text."""

    def __init__(self, width: int, height: int, bg: Color = (255, 255, 255), family: str = "") -> None:
        self.rgb = np.empty((height, width, 3), dtype=np.uint8)
        self.rgb[:] = bg
        self.alpha = np.ones((height, width), dtype=np.float32)
        self.private = np.zeros((height, width), dtype=np.float32)
        self.fields: list[Field] = []
        self.family = family
        self.bg = bg

    @property
    def size(self) -> tuple[int, int]:
        return self.rgb.shape[1], self.rgb.shape[0]

    def round_corners(self, radius: int) -> None:
        """Paste alpha becomes a rounded rectangle (cards, phones)."""
        w, h = self.size
        shape = np.zeros((h, w), dtype=np.uint8)
        rounded_rect(shape, (0, 0, w, h), radius, 255)
        self.alpha = shape.astype(np.float32) / 255.0

    def mark_all_private(self) -> None:
        self.private = self.alpha.copy()

    def mark_private(self, box: tuple[int, int, int, int], pad: int = 2) -> None:
        w, h = self.size
        x0, y0, x1, y1 = box
        self.private[max(0, y0 - pad):min(h, y1 + pad), max(0, x0 - pad):min(w, x1 + pad)] = 1.0

    def gradient(self, c0: Color, c1: Color, vertical: bool = False) -> None:
        w, h = self.size
        t = np.linspace(0.0, 1.0, h if vertical else w, dtype=np.float32)
        t = t[:, None, None] if vertical else t[None, :, None]
        self.rgb[:] = (np.asarray(c0, np.float32) * (1 - t) + np.asarray(c1, np.float32) * t).astype(np.uint8)

    def rect(self, box: tuple[int, int, int, int], color: Color, radius: int = 0, thickness: int = -1) -> None:
        if radius > 0 and thickness < 0:
            rounded_rect(self.rgb, box, radius, color)
        else:
            cv2.rectangle(self.rgb, box[:2], (box[2] - 1, box[3] - 1), color, thickness, cv2.LINE_AA)

    def text(
        self,
        box: tuple[int, int, int, int],
        text: str,
        color: Color = (20, 20, 20),
        *,
        name: str = "",
        kind: str = "generic",
        private: bool = False,
        bold: bool = False,
        mono: bool = False,
        align: str = "left",
        angle: float = 0.0,
        max_size: int | None = None,
        oblique: bool = False,
    ) -> tuple[int, int, int, int]:
        """Draw text fitted to `box`; a named text becomes a Field, a private one joins the private alpha.
        Returns the ink box (x0, y0, x1, y1), or `box` itself when nothing was drawn."""
        font_file = font_path(bold=bold, mono=mono, oblique=oblique)
        ink = self._draw(box, text, color, font_file, angle, align, max_size)
        drawn = ink is not None
        ink = ink or box
        if name:
            style = {"color": list(color), "bold": bold, "mono": mono, "oblique": oblique, "angle": angle,
                     "bg": [int(v) for v in self.rgb[min(ink[3], self.size[1] - 1), ink[0]]],
                     "layout_box": [int(v) for v in box], "align": align}
            self.fields.append(Field(name, kind, text, ink, style))
        if private and drawn:
            self.mark_private(ink)
        return ink

    def _draw(self, box: tuple[int, int, int, int], text: str, color: Color, font_file: str, angle: float,
              align: str, max_size: int | None) -> tuple[int, int, int, int] | None:
        """Blend fitted text into the canvas; the ink box (clipped) or None when nothing was drawn."""
        x0, y0, x1, y1 = box
        if x1 <= x0 or y1 <= y0 or not text.strip():
            return None
        alpha = render_text_alpha(text, x1 - x0, y1 - y0, font_file, angle, max_size)
        if alpha is None:
            return None
        ah, aw = alpha.shape
        top = y0 + ((y1 - y0) - ah) // 2
        left = x0 + ((x1 - x0) - aw) // 2 if align == "center" else x0
        w, h = self.size
        ys0, xs0, ys1, xs1 = max(0, top), max(0, left), min(h, top + ah), min(w, left + aw)
        if ys1 <= ys0 or xs1 <= xs0:
            return None
        a = alpha[ys0 - top:ys1 - top, xs0 - left:xs1 - left]
        region = self.rgb[ys0:ys1, xs0:xs1].astype(np.float32)
        region += (np.asarray(color, np.float32) - region) * a[..., None]
        self.rgb[ys0:ys1, xs0:xs1] = np.clip(region + 0.5, 0, 255).astype(np.uint8)
        rows, cols = np.nonzero(a.max(axis=1) > 0)[0], np.nonzero(a.max(axis=0) > 0)[0]
        if len(rows) == 0:
            return None
        return (xs0 + int(cols[0]), ys0 + int(rows[0]), xs0 + int(cols[-1]) + 1, ys0 + int(rows[-1]) + 1)

    def private_text(self) -> str:
        """Ground-truth text of the private fields, newlines flattened, in drawing order."""
        return " ".join(f.text.replace("\n", " ") for f in self.fields if self._is_private(f))

    def _is_private(self, f: Field) -> bool:
        x0, y0, x1, y1 = f.box
        return bool(self.private[y0:y1, x0:x1].mean() > 0.5) if x1 > x0 and y1 > y0 else False


def rounded_rect(img: np.ndarray, box: tuple[int, int, int, int], radius: int, color) -> None:  # noqa: ANN001
    """Filled anti-aliased rounded rectangle (cv2 has none)."""
    x0, y0, x1, y1 = box
    x1, y1 = x1 - 1, y1 - 1
    r = int(max(0, min(radius, (x1 - x0) // 2, (y1 - y0) // 2)))
    cv2.rectangle(img, (x0 + r, y0), (x1 - r, y1), color, -1)
    cv2.rectangle(img, (x0, y0 + r), (x1, y1 - r), color, -1)
    for cx, cy in ((x0 + r, y0 + r), (x1 - r, y0 + r), (x0 + r, y1 - r), (x1 - r, y1 - r)):
        cv2.circle(img, (cx, cy), r, color, -1, cv2.LINE_AA)


def draw_portrait(img: np.ndarray, box: tuple[int, int, int, int], rng: np.random.Generator) -> None:
    """A head-and-shoulders silhouette in a photo box (ID cards, badges, passports)."""
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    bg = tuple(int(v) for v in rng.integers(150, 230, 3))
    cv2.rectangle(img, (x0, y0), (x1 - 1, y1 - 1), bg, -1)
    skin = SKIN_TONES[int(rng.integers(0, len(SKIN_TONES)))]
    shirt = tuple(int(v) for v in rng.integers(20, 160, 3))
    cv2.ellipse(img, (x0 + w // 2, y1), (int(w * 0.48), int(h * 0.3)), 0, 180, 360, shirt, -1, cv2.LINE_AA)
    cv2.rectangle(img, (x0 + int(w * 0.42), y0 + int(h * 0.55)), (x0 + int(w * 0.58), y0 + int(h * 0.75)),
                  skin, -1)
    cv2.ellipse(img, (x0 + w // 2, y0 + int(h * 0.42)), (int(w * 0.22), int(h * 0.24)), 0, 0, 360, skin, -1,
                cv2.LINE_AA)
    hair = tuple(int(v) for v in rng.integers(10, 90, 3))
    cv2.ellipse(img, (x0 + w // 2, y0 + int(h * 0.33)), (int(w * 0.23), int(h * 0.16)), 0, 180, 360, hair, -1,
                cv2.LINE_AA)
    cv2.rectangle(img, (x0, y0), (x1 - 1, y1 - 1), (90, 90, 90), 1)


SKIN_TONES: tuple[Color, ...] = (
    (241, 194, 167), (224, 172, 138), (198, 134, 103), (161, 102, 72), (120, 76, 52), (90, 56, 38),
)


def random_color(rng: np.random.Generator, lo: int = 0, hi: int = 256) -> Color:
    return tuple(int(v) for v in rng.integers(lo, hi, 3))  # type: ignore[return-value]
