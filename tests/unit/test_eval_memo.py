"""The evaluation's memoisation: OCR and face descriptors are computed once per distinct pixels, pair scores
once per distinct (source, surrogate), and the 8 recovery metrics do not change when inputs are pre-embedded."""

from __future__ import annotations

import numpy as np
import pytest

from sppe_ray.metrics.recovery import embed_inputs, recovery_metrics_batch
from sppe_ray.pipelines.eval_checks import RegionChecks
from sppe_ray.pipelines.memo import Memo, content_key


class CountingLeakage:
    """Stands in for `privacy.leakage`: reads the mean grey level as 'text', counts every engine call."""

    def __init__(self) -> None:
        self.ocr_calls, self.face_calls, self.descriptor_calls = 0, 0, 0
        self.accurate: list[bool] = []

    def ocr_text(self, image, box, detail="full"):
        self.ocr_calls += 1
        x0, y0, x1, y1 = box
        return f"T{int(image[y0:y1, x0:x1].mean())}"

    @staticmethod
    def normalise_text(text):
        return text

    @staticmethod
    def text_similarity(a, b):
        return float(a == b)

    def find_face_box(self, image, box, accurate=True):
        self.face_calls += 1
        self.accurate.append(accurate)
        return box

    def descriptor_at(self, image, box):
        self.descriptor_calls += 1
        x0, y0, x1, y1 = box
        return np.array([image[y0:y1, x0:x1].mean() / 255.0, 0.0])


def _images():
    rng = np.random.default_rng(0)
    src = rng.integers(0, 255, (40, 40, 3), dtype=np.uint8)
    mask = np.zeros((40, 40), bool)
    mask[10:20, 10:20] = True
    return src, mask


def test_ocr_is_memoised_on_the_pixels_it_reads():
    src, mask = _images()
    checks = RegionChecks()
    fake = checks._leakage = CountingLeakage()
    same = src.copy()
    same[0, 0] = 255 - same[0, 0]  # a pixel outside the padded box: OCR would read the same crop
    changed = src.copy()
    changed[12:18, 12:18] = 0
    assert checks.text_similarity(src, same, mask) == 1.0
    assert fake.ocr_calls == 1  # source and `same` show identical crops
    assert checks.text_similarity(src, changed, mask) == 0.0
    assert fake.ocr_calls == 2
    edge = src.copy()
    edge[7, 7] = 255 - edge[7, 7]  # inside the 4-px pad: a different input to OCR, so a new call
    checks.text_similarity(src, edge, mask)
    assert fake.ocr_calls == 3


def test_source_face_is_found_once_per_source():
    src, mask = _images()
    checks = RegionChecks()
    fake = checks._leakage = CountingLeakage()
    other = np.zeros_like(src)
    d1 = checks.identity_distance(src, other, mask)
    d2 = checks.identity_distance(src, src, mask)
    assert d2 == 0.0 and d1 > 0.0
    assert fake.face_calls == 3  # the source once, each other image once
    assert fake.accurate == [True, False, False]  # the CNN fallback only for the source
    assert fake.descriptor_calls == 3
    with pytest.raises(ValueError, match="differ in shape"):
        checks.identity_distance(src, other[:20], mask)


def test_pair_cache_is_bounded_and_keys_depend_on_every_part():
    cache = Memo(capacity=2)
    cache.put("m", "a", 1)
    cache.put("m", "b", 2)
    assert cache.get("m", "a") == 1  # a is now the most recent
    cache.put("m", "c", 3)
    assert cache.get("m", "b") is None and cache.get("m", "a") == 1 and cache.get("m", "c") == 3
    assert content_key(b"ab", b"c") != content_key(b"a", b"bc")  # lengths are part of the key
    with pytest.raises(ValueError, match="None"):
        cache.put("m", "d", None)  # would read back as "absent" and be recomputed forever
    assert content_key(b"x", None) != content_key(b"x", b"")
    assert content_key(b"x", b"y") == content_key(b"x", b"y")


def test_pre_embedded_inputs_give_identical_recovery_metrics():
    rng = np.random.default_rng(1)
    imgs = [[rng.integers(0, 255, (48, 48, 3), dtype=np.uint8) for _ in range(3)] for _ in range(5)]
    srcs, src_e, surs, sur_e, outs = imgs
    plain = recovery_metrics_batch(srcs, src_e, surs, sur_e, outs)
    feats = embed_inputs(srcs, src_e, surs, sur_e)
    assert feats.shape[:2] == (4, 3)
    fast = recovery_metrics_batch(srcs, src_e, surs, sur_e, outs, input_features=feats)
    for key, value in plain.items():
        np.testing.assert_allclose(fast[key], value, rtol=1e-6, atol=1e-9)
    sub = recovery_metrics_batch(srcs[1:], src_e[1:], surs[1:], sur_e[1:], outs[1:], input_features=feats[:, 1:])
    np.testing.assert_allclose(sub["dir_i"], plain["dir_i"][1:], rtol=1e-6, atol=1e-9)
    from sppe_ray.errors import ImageError

    with pytest.raises(ImageError, match="input_features"):
        recovery_metrics_batch(srcs, src_e, surs, sur_e, outs, input_features=feats[:, :2])


def test_pair_chunks_cut_only_between_pairs():
    import pyarrow as pa

    from sppe_ray.pipelines.eval_compute import pair_chunks

    src = [b"a"] * 5 + [b"a"] * 5 + [b"b"] * 3 + [b"c"] * 6 + [b"d"]
    sur = [b"x"] * 5 + [b"y"] * 5 + [b"x"] * 3 + [b"x"] * 6 + [b"x"]
    table = pa.table({"source": src, "surrogate": sur})
    chunks = pair_chunks(table, rows=8)
    assert chunks == [(0, 10), (10, 19), (19, 20)]
    assert pair_chunks(table, rows=1) == [(0, 5), (5, 10), (10, 13), (13, 19), (19, 20)]
    assert pair_chunks(table, rows=100) == [(0, 20)]
    assert pair_chunks(table.slice(0, 0), rows=4) == []


def test_pixel_digest_keys_on_shape_dtype_and_pixels():
    from sppe_ray.imageio import pixel_digest

    a = np.zeros((4, 6), np.uint8)
    assert pixel_digest(a) == pixel_digest(a.copy())
    assert pixel_digest(a) != pixel_digest(a.reshape(6, 4))  # same bytes, other shape
    assert pixel_digest(a) != pixel_digest(a.astype(bool))  # same bytes, other dtype
    b = a.copy()
    b[1, 2] = 1
    assert pixel_digest(a) != pixel_digest(b)
    assert pixel_digest(a, b) != pixel_digest(b, a)
