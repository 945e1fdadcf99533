"""Turn untrusted bytes into the project's one image type, and back.

Every image enters through ``decode_image`` (HTTP uploads, benchmark PNG columns, files), so this is where
bad input is stopped with an ``ImageError`` that says what is wrong, and where every odd PIL mode becomes
RGB ``uint8`` ``(H, W, 3)``. Pixel limits are checked on the header, before any pixel is decoded, so a
decompression bomb costs nothing. PNG encoding is deterministic (no timestamps or text chunks) because
benchmark shards are checksummed and sample ids hash image bytes.
"""

from __future__ import annotations

import io
import os
import tempfile
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from sppe_ray.errors import ImageError, ImageTooLargeError, NotAnImageError

DEFAULT_MAX_PIXELS = 40_000_000
DEFAULT_MIN_SIDE = 8
# MPO is how PIL reports many phone JPEGs (multi-picture JPEG); it decodes as JPEG.
SUPPORTED_FORMATS = frozenset({"PNG", "JPEG", "MPO", "WEBP", "BMP", "TIFF"})
_WHITE = (255, 255, 255, 255)
_PNG_LEVEL = 1  # fast and still deterministic; benchmarks write ~15k PNGs, size matters less than time


def _open(data: object, max_pixels: int, min_side: int, what: str) -> Image.Image:
    """Open and fully load an image, checking type, format and size before decoding pixels."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ImageError(f"{what} must be bytes, got {type(data).__name__}")
    raw = bytes(data)
    if not raw:
        raise ImageError(f"{what} is empty (0 bytes)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # our own limit applies below
            im = Image.open(io.BytesIO(raw))
    except Image.DecompressionBombError as exc:
        raise ImageTooLargeError(f"{what} is too large to decode safely ({exc})") from None
    except UnidentifiedImageError:
        raise NotAnImageError(f"{what} is not a recognised image (corrupt or unsupported format)") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageError(f"{what} is not a readable image ({type(exc).__name__}: {exc})") from None
    if im.format not in SUPPORTED_FORMATS:
        raise NotAnImageError(f"{what} has unsupported format {im.format}; use PNG, JPEG, WebP, BMP or TIFF")
    width, height = im.size
    if width <= 0 or height <= 0:
        raise ImageError(f"{what} has zero size ({width}x{height})")
    if width * height > max_pixels:
        raise ImageTooLargeError(f"{what} is {width}x{height} pixels, above the limit of {max_pixels} pixels")
    if min(width, height) < min_side:
        raise ImageError(f"{what} is {width}x{height}; each side must be at least {min_side} pixels")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im.load()
    except Exception as exc:  # PIL raises many types for broken streams (OSError, SyntaxError, zlib.error...)
        raise ImageError(f"{what} is corrupt or truncated ({type(exc).__name__}: {exc})") from None
    try:
        return ImageOps.exif_transpose(im) or im
    except Exception:  # a broken EXIF block must not cost the picture; keep it unrotated
        return im


def _scale_to_uint8(arr: np.ndarray, full_scale: float | None) -> np.ndarray:
    """Map integer/float samples onto 0..255. ``full_scale`` None means the range must be guessed."""
    a = np.nan_to_num(arr.astype(np.float32), nan=0.0, posinf=0.0, neginf=0.0)
    if full_scale is None:
        lo, hi = float(a.min()), float(a.max())
        if lo >= 0.0 and hi <= 1.0 and arr.dtype.kind == "f":
            full_scale = 1.0  # float images are conventionally 0..1
        elif lo >= 0.0 and hi <= 255.0:
            full_scale = 255.0
        elif lo >= 0.0 and hi <= 65535.0:
            full_scale = 65535.0  # 16-bit data that PIL handed over as 32-bit "I"
        else:  # no declared range at all: stretch what is there
            a = (a - lo) / (hi - lo) if hi > lo else np.zeros_like(a)
            full_scale = 1.0
    out = np.clip(np.rint(a * (255.0 / full_scale)), 0, 255)
    return out.astype(np.uint8)


def _to_rgb(im: Image.Image) -> np.ndarray:
    """Convert any loaded PIL image to RGB uint8, compositing transparency onto white."""
    mode = im.mode
    if mode.startswith("I;16"):
        grey = _scale_to_uint8(np.asarray(im), 65535.0)
        return np.repeat(grey[:, :, None], 3, axis=2)
    if mode in ("I", "F"):
        grey = _scale_to_uint8(np.asarray(im), None)
        return np.repeat(grey[:, :, None], 3, axis=2)
    has_alpha = mode in ("RGBA", "LA", "PA", "RGBa", "La") or (mode == "P" and "transparency" in im.info)
    try:
        if has_alpha:
            rgba = im.convert("RGBA")
            base = Image.new("RGBA", rgba.size, _WHITE)
            im = Image.alpha_composite(base, rgba)
        rgb = im.convert("RGB")
    except (ValueError, OSError) as exc:
        raise ImageError(f"image mode {mode} cannot be converted to RGB ({exc})") from None
    return np.array(rgb, dtype=np.uint8)


def decode_image(
    data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS, min_side: int = DEFAULT_MIN_SIDE, what: str = "image"
) -> np.ndarray:
    """Decode PNG/JPEG/WebP/BMP/TIFF bytes to an upright (EXIF) RGB uint8 array (H, W, 3), else ImageError
    (``what`` names the input in the message, e.g. "surrogate")."""
    im = _open(data, max_pixels, min_side, what)
    return np.ascontiguousarray(_to_rgb(im))


def validate_image(img: object, *, max_pixels: int = DEFAULT_MAX_PIXELS, min_side: int = 1) -> np.ndarray:
    """Check an in-memory array is an RGB uint8 image within limits; returns it (C-contiguous)."""
    if not isinstance(img, np.ndarray):
        raise ImageError(f"image must be a numpy array, got {type(img).__name__}")
    if img.dtype != np.uint8:
        raise ImageError(f"image must be uint8, got {img.dtype}")
    if img.ndim != 3 or img.shape[2] != 3:
        raise ImageError(f"image must have shape (H, W, 3), got {img.shape}")
    height, width = img.shape[:2]
    if min(height, width) < max(min_side, 1):
        raise ImageError(f"image is {width}x{height}; each side must be at least {max(min_side, 1)} pixels")
    if height * width > max_pixels:
        raise ImageError(f"image is {width}x{height}, above the limit of {max_pixels} pixels")
    return np.ascontiguousarray(img)


def _png_bytes(im: Image.Image) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format="PNG", compress_level=_PNG_LEVEL, optimize=False)
    return buf.getvalue()


def encode_png(img: np.ndarray) -> bytes:
    """Encode an RGB uint8 array as PNG; the same array always gives the same bytes."""
    return _png_bytes(Image.fromarray(validate_image(img)))


def validate_mask(mask: object, shape: tuple[int, int] | None = None) -> np.ndarray:
    """Check a mask is a 2-D array (bool, or integers read as nonzero = True) of the expected shape."""
    if not isinstance(mask, np.ndarray):
        raise ImageError(f"mask must be a numpy array, got {type(mask).__name__}")
    if mask.ndim != 2:
        raise ImageError(f"mask must have shape (H, W), got {mask.shape}")
    if mask.dtype != np.bool_:
        if mask.dtype.kind not in "uif":
            raise ImageError(f"mask must be boolean or numeric, got {mask.dtype}")
        mask = mask != 0
    if shape is not None and tuple(mask.shape) != tuple(shape):
        raise ImageError(f"mask has shape {tuple(mask.shape)} but the image is {tuple(shape)}")
    if min(mask.shape) < 1:
        raise ImageError(f"mask has zero size {mask.shape}")
    return np.ascontiguousarray(mask)


def encode_mask(mask: np.ndarray) -> bytes:
    """Encode a mask as a 1-bit PNG (True = private)."""
    m = validate_mask(mask)
    return _png_bytes(Image.fromarray(m))  # a bool array becomes mode "1"


def decode_mask(
    data: bytes, shape: tuple[int, int] | None = None, *, max_pixels: int = DEFAULT_MAX_PIXELS
) -> np.ndarray:
    """Decode mask bytes of any mode to bool (H, W): nonzero for 1-bit, grey > 127 otherwise."""
    im = _open(data, max_pixels, 1, "mask")
    if im.mode == "1":
        mask = np.array(im, dtype=bool)
    else:
        if im.mode.startswith("I;16") or im.mode in ("I", "F"):
            grey = _to_rgb(im)[:, :, 0]
        else:  # alpha is ignored: a mask's meaning is in its grey level
            grey = np.asarray(im.convert("L"))
        mask = grey > 127
    return validate_mask(mask, shape)


def load_image(path: str | os.PathLike[str], **limits: int) -> np.ndarray:
    """Read and decode an image file; a missing or unreadable file is an ImageError naming it."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ImageError(f"cannot read image file {path}: {exc.strerror or exc}") from None
    try:
        return decode_image(data, **limits)
    except ImageError as exc:
        raise ImageError(f"{path}: {exc}") from None


def save_image(path: str | os.PathLike[str], img: np.ndarray, *, quality: int = 95) -> None:
    """Write an image atomically; format from the suffix (.png default, .jpg/.jpeg, .webp, .bmp, .tif)."""
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix in ("", ".png"):
        data = encode_png(img)
    else:
        fmt = {".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP", ".bmp": "BMP", ".tif": "TIFF",
               ".tiff": "TIFF"}
        if suffix not in fmt:
            raise ImageError(f"cannot save {target.name}: unknown image suffix {suffix}")
        buf = io.BytesIO()
        extra = {"quality": quality} if fmt[suffix] in ("JPEG", "WEBP") else {}
        Image.fromarray(validate_image(img)).save(buf, format=fmt[suffix], **extra)
        data = buf.getvalue()
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _hw(size: int | tuple[int, int]) -> tuple[int, int]:
    """A size is an int (square side) or (height, width), numpy order like every shape here."""
    if isinstance(size, (int, np.integer)) and not isinstance(size, bool):
        hw = (int(size), int(size))
    elif isinstance(size, (tuple, list)) and len(size) == 2:
        hw = (int(size[0]), int(size[1]))
    else:
        raise ImageError(f"size must be an int or (height, width), got {size!r}")
    if min(hw) < 1:
        raise ImageError(f"size must be positive, got {size!r}")
    return hw


def resize_image(img: np.ndarray, size: int | tuple[int, int]) -> np.ndarray:
    """Resize with LANCZOS to ``size`` (int = square, tuple = (height, width)); no-op if already that size."""
    arr = validate_image(img)
    height, width = _hw(size)
    if arr.shape[:2] == (height, width):
        return arr
    return np.asarray(Image.fromarray(arr).resize((width, height), Image.Resampling.LANCZOS))


def resize_mask(mask: np.ndarray, size: int | tuple[int, int]) -> np.ndarray:
    """Resize a mask with NEAREST so it stays exactly binary."""
    m = validate_mask(mask)
    height, width = _hw(size)
    if m.shape == (height, width):
        return m
    im = Image.fromarray(m.astype(np.uint8) * 255).resize((width, height), Image.Resampling.NEAREST)
    return np.asarray(im) > 127


def fit_within(img: np.ndarray, max_side: int) -> np.ndarray:
    """Shrink (never enlarge) so the longer side is at most ``max_side``, keeping the aspect ratio."""
    arr = validate_image(img)
    height, width = arr.shape[:2]
    if max(height, width) <= max_side:
        return arr
    scale = max_side / max(height, width)
    return resize_image(arr, (max(1, round(height * scale)), max(1, round(width * scale))))


def pixel_digest(*arrays: np.ndarray) -> str:
    """A digest of decoded images/masks (shape, dtype and pixels): equal arrays, equal key.

    Why one function: evaluation checks and ERMA's detector block both skip work on pixels they have already
    analysed, and both must key on everything the analysis reads.
    """
    import hashlib

    h = hashlib.sha1()
    for arr in arrays:
        a = np.ascontiguousarray(arr)
        h.update(repr((a.shape, a.dtype.str)).encode())
        h.update(a.tobytes())
    return h.hexdigest()
