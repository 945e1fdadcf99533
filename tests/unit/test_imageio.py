"""imageio: real files of every odd PIL mode, broken inputs, masks, determinism and resizing."""

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from sppe_ray import imageio as iio
from sppe_ray.errors import ImageError


def _save(im: Image.Image, tmp_path, name: str, **kw) -> bytes:
    path = tmp_path / name
    im.save(path, **kw)
    return path.read_bytes()


def _png_header_only(width: int, height: int, idat: bytes = b"") -> bytes:
    """A syntactically valid PNG that declares a size but carries (almost) no pixel data."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    out = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
    if idat:
        out += chunk(b"IDAT", idat)
    return out + chunk(b"IEND", b"")


@pytest.fixture
def rgb():
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, size=(24, 32, 3), dtype=np.uint8)


def _check(arr, shape):
    assert arr.dtype == np.uint8 and arr.shape == shape and arr.flags.c_contiguous


@pytest.mark.parametrize("fmt,suffix,kw", [("PNG", "png", {}), ("BMP", "bmp", {}), ("TIFF", "tif", {}),
                                          ("WEBP", "webp", {"lossless": True})])
def test_lossless_formats_round_trip(tmp_path, rgb, fmt, suffix, kw):
    data = _save(Image.fromarray(rgb), tmp_path, f"x.{suffix}", format=fmt, **kw)
    out = iio.decode_image(data)
    _check(out, rgb.shape)
    assert np.array_equal(out, rgb)


def test_jpeg_close(tmp_path):
    img = np.full((32, 32, 3), (200, 60, 30), np.uint8)
    out = iio.decode_image(_save(Image.fromarray(img), tmp_path, "x.jpg", quality=95))
    _check(out, img.shape)
    assert np.abs(out.astype(int) - img).max() < 8


def test_palette_with_and_without_transparency(tmp_path):
    pal = Image.new("P", (16, 16), 0)
    pal.putpalette([10, 20, 30, 200, 100, 50] + [0] * 762)
    pal.paste(1, (0, 0, 8, 16))
    out = iio.decode_image(_save(pal, tmp_path, "p.png"))
    assert tuple(out[0, 0]) == (200, 100, 50) and tuple(out[0, 15]) == (10, 20, 30)
    out_t = iio.decode_image(_save(pal, tmp_path, "pt.png", transparency=0))
    assert tuple(out_t[0, 15]) == (255, 255, 255)  # transparent index composited on white
    assert tuple(out_t[0, 0]) == (200, 100, 50)


def test_rgba_and_la_composite_on_white(tmp_path):
    rgba = np.zeros((8, 8, 4), np.uint8)
    rgba[..., 0] = 255
    rgba[:, :4, 3] = 255
    rgba[:, 4:6, 3] = 0
    rgba[:, 6:, 3] = 128
    out = iio.decode_image(_save(Image.fromarray(rgba), tmp_path, "a.png"))
    assert tuple(out[0, 0]) == (255, 0, 0)
    assert tuple(out[0, 4]) == (255, 255, 255)
    assert 120 <= out[0, 7, 1] <= 135 and out[0, 7, 0] == 255
    la = Image.merge("LA", [Image.new("L", (8, 8), 0), Image.new("L", (8, 8), 0)])  # black, fully transparent
    la.paste((0, 255), (0, 0, 4, 8))
    out = iio.decode_image(_save(la, tmp_path, "la.png"))
    assert tuple(out[0, 0]) == (0, 0, 0) and tuple(out[0, 7]) == (255, 255, 255)


def test_cmyk_jpeg(tmp_path):
    im = Image.new("CMYK", (16, 16), (0, 0, 0, 0))
    im.paste((255, 0, 0, 0), (0, 0, 8, 16))  # full cyan on the left
    data = _save(im, tmp_path, "c.jpg", quality=95)
    assert Image.open(io.BytesIO(data)).mode == "CMYK"
    out = iio.decode_image(data)
    _check(out, (16, 16, 3))
    assert out[4, 12].min() > 240  # white
    assert out[4, 2, 0] < 30 and out[4, 2, 1] > 220 and out[4, 2, 2] > 220  # cyan


@pytest.mark.parametrize("fmt", ["PNG", "TIFF"])
def test_sixteen_bit(tmp_path, fmt):
    arr = np.zeros((8, 12), np.uint16)
    arr[:, 4:8] = 32896
    arr[:, 8:] = 65535
    data = _save(Image.fromarray(arr), tmp_path, "g16." + fmt.lower(), format=fmt)
    assert Image.open(io.BytesIO(data)).mode.startswith("I")
    out = iio.decode_image(data)
    assert out[0, 0].tolist() == [0, 0, 0] and out[0, 5].tolist() == [128] * 3
    assert out[0, 9].tolist() == [255] * 3


def test_int32_and_float(tmp_path):
    small = np.tile(np.arange(0, 200, 25, dtype=np.int32), (8, 1))  # fits 8 bits: kept as is
    out = iio.decode_image(_save(Image.fromarray(small), tmp_path, "i.tif"))
    assert Image.open(tmp_path / "i.tif").mode == "I"
    assert out[0, :, 0].tolist() == small[0].tolist()
    wide = np.tile(np.array([0, 65535] * 4, dtype=np.int32), (8, 1))  # 16-bit range
    assert iio.decode_image(_save(Image.fromarray(wide), tmp_path, "w.tif"))[0, :2, 0].tolist() == [0, 255]
    f = np.tile(np.linspace(0, 1, 8, dtype=np.float32), (8, 1))
    f[0, 0] = np.nan
    out = iio.decode_image(_save(Image.fromarray(f), tmp_path, "f.tif"))
    assert Image.open(tmp_path / "f.tif").mode == "F"
    assert out[1, 0, 0] == 0 and out[1, -1, 0] == 255 and out[0, 0, 0] == 0
    assert np.all(np.diff(out[1, :, 0].astype(int)) > 0)


def test_grey_and_bilevel(tmp_path):
    grey = np.tile(np.arange(0, 256, 32, dtype=np.uint8), (8, 1))
    out = iio.decode_image(_save(Image.fromarray(grey), tmp_path, "l.png"))
    assert np.array_equal(out[..., 0], grey) and np.array_equal(out[..., 2], grey)
    bits = np.zeros((8, 8), bool)
    bits[:, 3:] = True
    out = iio.decode_image(_save(Image.fromarray(bits), tmp_path, "b.png"))
    assert Image.open(tmp_path / "b.png").mode == "1"
    assert out[0, 0].tolist() == [0, 0, 0] and out[0, 5].tolist() == [255, 255, 255]


def test_exif_orientation_applied(tmp_path):
    img = np.zeros((20, 40, 3), np.uint8)
    img[:, :20] = (255, 0, 0)
    img[:, 20:] = (0, 0, 255)
    exif = Image.Exif()
    exif[0x0112] = 6  # display = rotate 90 degrees clockwise
    data = _save(Image.fromarray(img), tmp_path, "r.jpg", exif=exif, quality=95)
    out = iio.decode_image(data)
    assert out.shape == (40, 20, 3)
    assert out[5, 10, 0] > 200 and out[5, 10, 2] < 50  # left half (red) is now on top
    assert out[35, 10, 2] > 200 and out[35, 10, 0] < 50


def test_broken_inputs(tmp_path):
    noise = np.random.default_rng(1).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    good = _save(Image.fromarray(noise), tmp_path, "n.png")
    cases = {
        "truncated": good[: len(good) // 2],
        "random": np.random.default_rng(2).bytes(500),
        "empty": b"",
        "zero-size": _png_header_only(0, 10),
    }
    for name, data in cases.items():
        with pytest.raises(ImageError):
            iio.decode_image(data)
            pytest.fail(f"{name} decoded")
    with pytest.raises(ImageError, match="empty"):
        iio.decode_image(b"")
    for bad in ["not bytes", None, noise]:
        with pytest.raises(ImageError, match="must be bytes"):
            iio.decode_image(bad)
    with pytest.raises(ImageError, match="unsupported format GIF"):
        iio.decode_image(_save(Image.fromarray(noise), tmp_path, "g.gif"))
    with pytest.raises(ImageError, match="at least 8"):
        iio.decode_image(_save(Image.new("RGB", (4, 30)), tmp_path, "tiny.png"))
    tiny = _save(Image.new("RGB", (4, 30)), tmp_path, "tiny.png")
    assert iio.decode_image(tiny, min_side=4).shape == (30, 4, 3)


def test_pixel_limit_checked_before_decoding():
    huge = _png_header_only(8000, 8000, zlib.compress(b"\0" * 64))  # 64 Mpx declared, ~100 bytes of data
    with pytest.raises(ImageError, match="above the limit"):
        iio.decode_image(huge)
    bomb = _png_header_only(100_000, 100_000, b"x")
    with pytest.raises(ImageError):
        iio.decode_image(bomb)
    with pytest.raises(ImageError, match="above the limit of 100"):
        iio.decode_image(iio.encode_png(np.zeros((20, 20, 3), np.uint8)), max_pixels=100)


def test_encode_png_deterministic(rgb):
    a, b = iio.encode_png(rgb), iio.encode_png(rgb.copy())
    assert a == b
    assert np.array_equal(iio.decode_image(a), rgb)
    assert iio.encode_png(rgb[::-1]) != a
    assert np.array_equal(iio.decode_image(iio.encode_png(rgb[:, ::2])), rgb[:, ::2])  # non-contiguous input


def test_validate_image_rejects():
    for bad, msg in [([[1]], "numpy"), (np.zeros((8, 8, 3), np.float32), "uint8"),
                     (np.zeros((8, 8), np.uint8), "shape"), (np.zeros((8, 8, 4), np.uint8), "shape"),
                     (np.zeros((0, 8, 3), np.uint8), "at least")]:
        with pytest.raises(ImageError, match=msg):
            iio.validate_image(bad)
        with pytest.raises(ImageError):
            iio.encode_png(bad)
    with pytest.raises(ImageError, match="limit"):
        iio.validate_image(np.zeros((20, 20, 3), np.uint8), max_pixels=399)


def test_masks(tmp_path):
    m = np.zeros((12, 10), bool)
    m[2:6, 3:9] = True
    data = iio.encode_mask(m)
    assert Image.open(io.BytesIO(data)).mode == "1"
    assert np.array_equal(iio.decode_mask(data), m)
    assert np.array_equal(iio.decode_mask(data, (12, 10)), m)
    with pytest.raises(ImageError, match="shape"):
        iio.decode_mask(data, (10, 12))
    grey = np.where(m, 128, 127).astype(np.uint8)  # the threshold sits exactly between these
    out = iio.decode_mask(_save(Image.fromarray(grey), tmp_path, "m.png"))
    assert out.dtype == bool and np.array_equal(out, m)
    rgbm = np.repeat(np.where(m, 255, 0).astype(np.uint8)[..., None], 3, axis=2)
    assert np.array_equal(iio.decode_mask(_save(Image.fromarray(rgbm), tmp_path, "m3.png")), m)
    m16 = np.where(m, 65535, 0).astype(np.uint16)
    assert np.array_equal(iio.decode_mask(_save(Image.fromarray(m16), tmp_path, "m16.png")), m)
    assert np.array_equal(iio.decode_mask(iio.encode_mask(m.astype(np.uint8))), m)  # 0/1 ints accepted
    for bad in [np.zeros((3, 3, 3), bool), "x", np.array([["a"]])]:
        with pytest.raises(ImageError):
            iio.encode_mask(bad)
    with pytest.raises(ImageError):
        iio.decode_mask(b"garbage")


def test_resize(rgb):
    out = iio.resize_image(rgb, (10, 20))
    _check(out, (10, 20, 3))
    assert iio.resize_image(rgb, 16).shape == (16, 16, 3)
    assert np.array_equal(iio.resize_image(rgb, rgb.shape[:2]), rgb)
    flat = np.full((30, 30, 3), 77, np.uint8)
    assert np.all(iio.resize_image(flat, 13) == 77)  # LANCZOS keeps a constant image constant
    m = np.zeros((30, 40), bool)
    m[5:20, 10:30] = True
    small = iio.resize_mask(m, (15, 20))
    assert small.dtype == bool and small.shape == (15, 20)
    assert small[6, 10] and not small[0, 0]
    assert abs(small.mean() - m.mean()) < 0.05
    for bad in [0, (0, 5), "12", (1, 2, 3), True]:
        with pytest.raises(ImageError):
            iio.resize_image(rgb, bad)
    big = np.zeros((100, 50, 3), np.uint8)
    assert iio.fit_within(big, 40).shape == (40, 20, 3)
    assert iio.fit_within(big, 400).shape == big.shape


def test_load_and_save(tmp_path, rgb):
    iio.save_image(tmp_path / "a.png", rgb)
    assert np.array_equal(iio.load_image(tmp_path / "a.png"), rgb)
    iio.save_image(tmp_path / "sub" / "b.jpg", rgb)
    assert iio.load_image(tmp_path / "sub" / "b.jpg").shape == rgb.shape
    assert not list(tmp_path.rglob("*.tmp"))
    with pytest.raises(ImageError, match="cannot read"):
        iio.load_image(tmp_path / "missing.png")
    (tmp_path / "bad.png").write_bytes(b"nope")
    with pytest.raises(ImageError, match="bad.png"):
        iio.load_image(tmp_path / "bad.png")
    with pytest.raises(ImageError, match="suffix"):
        iio.save_image(tmp_path / "x.xyz", rgb)
