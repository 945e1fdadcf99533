"""Put a flat Canvas into a photo the way a camera would see it: scale, perspective, lighting, defocus,
sensor noise; and carry the private alpha and field boxes through the same warp so masks stay exact."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from sppe_ray.privacy.synthetic.canvas import Canvas


@dataclass
class Placement:
    """Where a canvas landed: final image, exact private mask, canvas->image homography, field geometry."""

    image: np.ndarray
    mask: np.ndarray
    homography: np.ndarray
    fields: dict[str, dict]


def prepare_background(photo: np.ndarray, rng: np.random.Generator, size: int) -> np.ndarray:
    """A random square crop (55-100 % of the short side), maybe mirrored, resized to size x size."""
    h, w = photo.shape[:2]
    side = int(min(h, w) * rng.uniform(0.55, 1.0))
    y0 = int(rng.integers(0, h - side + 1))
    x0 = int(rng.integers(0, w - side + 1))
    crop = photo[y0:y0 + side, x0:x0 + side]
    if rng.random() < 0.5:
        crop = crop[:, ::-1]
    interp = cv2.INTER_AREA if side > size else cv2.INTER_LINEAR
    return cv2.resize(np.ascontiguousarray(crop), (size, size), interpolation=interp)


def apply_lighting(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Overall exposure times a linear shading ramp in a random direction (window light, lamp)."""
    h, w = rgb.shape[:2]
    theta = rng.uniform(0, 2 * np.pi)
    xs = np.linspace(-0.5, 0.5, w, dtype=np.float32)[None, :]
    ys = np.linspace(-0.5, 0.5, h, dtype=np.float32)[:, None]
    ramp = np.float32(np.cos(theta)) * xs + np.float32(np.sin(theta)) * ys
    gain = np.float32(rng.uniform(0.78, 1.1)) * (1.0 + np.float32(rng.uniform(0.0, 0.35)) * ramp)
    return cv2.convertScaleAbs(rgb.astype(np.float32) * gain[..., None])


def _destination_quad(w: float, h: float, size: int, rng: np.random.Generator, tilt: float,
                      persp: float, center: tuple[float, float] | None) -> np.ndarray:
    angle = np.deg2rad(rng.uniform(-tilt, tilt))
    c, s = np.cos(angle), np.sin(angle)
    corners = np.array([[-w / 2, -h / 2], [w / 2, -h / 2], [w / 2, h / 2], [-w / 2, h / 2]], np.float32)
    corners += rng.uniform(-persp, persp, (4, 2)).astype(np.float32) * np.array([w, h], np.float32)
    # A perspective "lean": one edge shrinks as if that side were further away.
    lean = rng.uniform(0.0, persp * 1.5)
    side = int(rng.integers(0, 4))
    pairs = ((0, 1), (1, 2), (2, 3), (3, 0))[side]
    mid = corners[list(pairs)].mean(axis=0)
    corners[list(pairs)] += (mid - corners[list(pairs)]) * lean
    quad = corners @ np.array([[c, s], [-s, c]], np.float32)
    span = quad.max(axis=0) - quad.min(axis=0)
    fit = min(1.0, 0.96 * size / float(span.max()))
    quad *= fit
    lo, hi = -quad.min(axis=0), size - quad.max(axis=0)
    if center is None:
        offset = np.array([rng.uniform(lo[0], max(lo[0], hi[0])), rng.uniform(lo[1], max(lo[1], hi[1]))])
    else:
        offset = np.clip(np.array(center, np.float32) * size, lo, np.maximum(lo, hi))
    return (quad + offset.astype(np.float32)).astype(np.float32)


def place(
    background: np.ndarray,
    canvas: Canvas,
    rng: np.random.Generator,
    scale: tuple[float, float] = (0.45, 0.8),
    tilt: float = 12.0,
    persp: float = 0.06,
    center: tuple[float, float] | None = None,
    blur: float = 0.8,
) -> Placement:
    """Composite `canvas` onto `background` (square) with a random similarity + perspective warp.

    `scale` is the canvas's longer side as a fraction of the image side; `center` (fractions) pins the
    position; `blur` is the largest defocus sigma in final pixels. The mask is where the warped private
    alpha and paste alpha both exceed 0.5.
    """
    size = background.shape[0]
    cw, ch = canvas.size
    factor = rng.uniform(*scale) * size / max(cw, ch)
    sw, sh = max(2, int(round(cw * factor))), max(2, int(round(ch * factor)))
    interp = cv2.INTER_AREA if factor < 1 else cv2.INTER_LINEAR
    packed = np.dstack([canvas.rgb, (canvas.alpha * 255).astype(np.uint8)])
    small = cv2.resize(packed, (sw, sh), interpolation=interp)
    private = cv2.resize(canvas.private, (sw, sh), interpolation=interp)
    rgb = apply_lighting(small[..., :3], rng)
    sigma = rng.uniform(0.0, blur)
    if sigma > 0.3:
        rgb = cv2.GaussianBlur(rgb, (0, 0), sigma)
    src = np.array([[0, 0], [sw, 0], [sw, sh], [0, sh]], np.float32)
    dst = _destination_quad(sw, sh, size, rng, tilt, persp, center)
    warp = cv2.getPerspectiveTransform(src, dst)
    fg = cv2.warpPerspective(np.dstack([rgb, small[..., 3]]), warp, (size, size), flags=cv2.INTER_LINEAR,
                             borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    priv = cv2.warpPerspective(private, warp, (size, size), flags=cv2.INTER_LINEAR, borderValue=0)
    alpha = fg[..., 3].astype(np.float32) / 255.0
    out = background.astype(np.float32)
    out += (fg[..., :3].astype(np.float32) - out) * alpha[..., None]
    image = np.clip(out + 0.5, 0, 255).astype(np.uint8)
    mask = (priv > 0.5) & (alpha > 0.5)
    total = warp @ np.diag([factor, factor, 1.0])
    return Placement(image, mask, total, _warp_fields(canvas, total, size))


def _warp_fields(canvas: Canvas, homography: np.ndarray, size: int) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for f in canvas.fields:
        x0, y0, x1, y1 = f.box
        pts = np.array([[[x0, y0], [x1, y0], [x1, y1], [x0, y1]]], np.float32)
        quad = cv2.perspectiveTransform(pts, homography)[0]
        lo = np.clip(np.floor(quad.min(axis=0)), 0, size).astype(int)
        hi = np.clip(np.ceil(quad.max(axis=0)), 0, size).astype(int)
        out[f.name] = {
            "kind": f.kind, "text": f.text, "quad": quad.round(2).tolist(),
            "bbox": [int(lo[0]), int(lo[1]), int(hi[0]), int(hi[1])], "canvas_box": list(f.box), **f.style,
        }
    return out


def add_noise(image: np.ndarray, rng: np.random.Generator, max_sigma: float = 3.0) -> np.ndarray:
    """Sensor noise over the whole frame, so pasted content and photo share one noise level."""
    sigma = rng.uniform(0.0, max_sigma)
    if sigma < 0.5:
        return image
    noise = rng.standard_normal(image.shape, dtype=np.float32) * np.float32(sigma)
    return cv2.convertScaleAbs(image.astype(np.float32) + noise)
