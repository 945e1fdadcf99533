"""What crosses the HTTP boundary: uploads decoded under the server's limits, images encoded for JSON.

Pure functions, tested directly; the ingress maps their typed errors to status codes (ImageTooLargeError 413,
NotAnImageError 415, any other ImageError 422).
"""

from __future__ import annotations

import base64
import hashlib

import numpy as np

from sppe_ray.errors import ImageError, ImageTooLargeError
from sppe_ray.imageio import decode_image, decode_mask, encode_mask, encode_png


def image_from_upload(data: bytes, what: str, *, max_bytes: int, max_pixels: int) -> np.ndarray:
    """Decode one uploaded image file; the byte and pixel limits are checked before any pixel is decoded."""
    if len(data) > max_bytes:
        raise ImageTooLargeError(f"{what} is {len(data)} bytes, above the limit of {max_bytes} bytes")
    return decode_image(data, max_pixels=max_pixels, what=what)


def mask_from_upload(data: bytes | None, shape_hw: tuple[int, int], *, max_pixels: int) -> np.ndarray | None:
    """An optional mask (white = private) of exactly the image's size; None when not given."""
    if not data:
        return None
    mask = decode_mask(data, max_pixels=max_pixels)
    if mask.shape != tuple(shape_hw):
        raise ImageError(f"mask is {mask.shape[1]}x{mask.shape[0]} but the image is {shape_hw[1]}x{shape_hw[0]}")
    if not mask.any():
        raise ImageError("mask is empty: it marks no private pixel")
    return mask


def png_b64(img: np.ndarray) -> str:
    return base64.b64encode(encode_png(img)).decode("ascii")


def mask_b64(mask: np.ndarray) -> str:
    return base64.b64encode(encode_mask(mask)).decode("ascii")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def private_pixels_sent(sent_png: bytes, source: np.ndarray, mask: np.ndarray) -> int:
    """How many private pixels (mask) of the source appear unchanged in what was sent, read back from the exact
    bytes that leave: the gateway's proof that no private source pixel reached the editor (must be 0)."""
    sent = decode_image(sent_png, max_pixels=source.shape[0] * source.shape[1] + 1)
    if sent.shape != source.shape:
        raise ImageError(f"sent image {sent.shape} differs from the source {source.shape}")
    return int(np.all(sent[mask] == source[mask], axis=-1).sum())
