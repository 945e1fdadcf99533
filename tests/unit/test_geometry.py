"""Region coordinates move with their masks (privacy.geometry): resize, crop, pad, square framing."""

from __future__ import annotations

import numpy as np
import pytest

from sppe_ray.datasets.framing import frame_mask, frame_region, plan_framing
from sppe_ray.errors import ImageError
from sppe_ray.imageio import resize_mask
from sppe_ray.privacy.geometry import AxisMap, box_in_mask, check_box, map_meta, map_region
from sppe_ray.privacy.region import Region


def _box_mask(shape, box):
    m = np.zeros(shape, bool)
    x0, y0, x1, y1 = box
    m[y0:y1, x0:x1] = True
    return m


def test_axis_map_composes_and_inverts():
    a = AxisMap.crop_resize_pad((100, 50, 300, 250), (128, 128), (10, 20))
    assert a.points([(100, 50), (300, 250)]).tolist() == [[20, 10], [148, 138]]
    b = AxisMap.resize((200, 400), (100, 200))
    ab = a.then(b)
    assert np.allclose(ab.points([(300, 250)]), b.points(a.points([(300, 250)])))
    assert np.allclose(a.inverse().points(a.points([(123.0, 77.0)])), [(123.0, 77.0)])


def test_map_meta_moves_boxes_quads_landmarks_and_fields_and_keeps_the_rest():
    amap = AxisMap.resize((100, 200), (50, 100))  # halve
    meta = {"box": (20, 10, 60, 50), "quad": [[0, 0], [10, 0], [10, 10], [0, 10]],
            "landmarks": [[40, 20]], "fields": [{"box": (2, 4, 22, 14), "text": "x"}, {"quad": [[4, 4]] * 4}],
            "score_note": "kept", "instances": 3}
    out = map_meta(meta, amap)
    assert out["box"] == (10, 5, 30, 25)
    assert out["quad"][2] == [5.0, 5.0] and out["landmarks"] == [[20.0, 10.0]]
    assert out["fields"][0] == {"box": (1, 2, 11, 7), "text": "x"} and out["fields"][1]["quad"][0] == [2.0, 2.0]
    assert out["score_note"] == "kept" and out["instances"] == 3
    assert meta["box"] == (20, 10, 60, 50)  # the input is not changed


def test_a_box_off_its_mask_is_an_error_where_the_region_is_made():
    mask = _box_mask((400, 400), (200, 200, 300, 300))
    assert check_box((210, 210, 290, 290), mask) == (210, 210, 290, 290)
    with pytest.raises(ImageError, match="lies off its mask"):
        check_box((20, 20, 80, 80), mask)
    with pytest.raises(ImageError, match="lies off its mask"):
        Region("a105_face_all", mask, meta={"box": (20, 20, 80, 80)})
    assert Region("a105_face_all", mask, meta={"box": (210, 210, 290, 290)}).known_box() == (210, 210, 290, 290)
    assert Region("a105_face_all", mask).known_box() is None


def test_resizing_a_region_moves_its_box_onto_the_resized_mask():
    big = Region("a105_face_all", _box_mask((1200, 1600), (800, 300, 1000, 560)), meta={"box": (820, 320, 980, 540)})
    small = map_region(big, AxisMap.resize((1200, 1600), (300, 400)), lambda m: resize_mask(m, (300, 400)))
    assert small.meta["box"] == (205, 80, 245, 135)
    assert box_in_mask(small.meta["box"], small.mask) == 1.0


@pytest.mark.parametrize("shape, box", [((1000, 3000), (2300, 200, 2600, 600)),   # landscape, face right
                                        ((3000, 1000), (100, 2200, 500, 2700)),   # portrait, face low
                                        ((800, 800), (30, 30, 200, 200))])
def test_framing_moves_the_box_with_the_mask(shape, box):
    """The bug of issue 18: the mask was framed to the output square, the box stayed in the working copy."""
    x0, y0, x1, y1 = box
    mask = _box_mask(shape, (x0 - 20, y0 - 20, x1 + 20, y1 + 20))
    region = Region("a105_face_all", mask, meta={"box": box, "quad": [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]})
    framing = plan_framing(shape, region.bbox, 256)
    framed = frame_region(region, framing)
    assert framed.mask.shape == (256, 256)
    assert np.array_equal(framed.mask, frame_mask(mask, framing))
    assert box_in_mask(framed.meta["box"], framed.mask) > 0.9
    fx0, fy0, fx1, fy1 = framed.meta["box"]
    quad = np.asarray(framed.meta["quad"])
    assert abs(quad[0][0] - fx0) <= 1 and abs(quad[2][1] - fy1) <= 1
    assert framed.meta["framing"] == framing.mode
