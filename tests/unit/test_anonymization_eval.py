"""The evaluation's aggregation on constructed per-image tables: rates, intervals, masks, MLflow keys."""

import math

import numpy as np
import pandas as pd
import pytest

from sppe_ray.config import load_config
from sppe_ray.imageio import save_image
from sppe_ray.pipelines import eval_anonymization as ev


def test_ratio_interval_ignores_images_with_nothing_to_count():
    r = ev._ratio_ci(np.array([0, 1, 1] + [0] * 60), np.array([0, 1, 1] + [0] * 60), n_boot=200)
    assert r["mean"] == 1.0 and r["ci"] == (1.0, 1.0) and r["n"] == 2
    assert math.isnan(ev._ratio_ci(np.zeros(5), np.zeros(5), n_boot=100)["mean"])


def test_entropy_interval_contains_its_estimate_and_is_nan_without_faces():
    tones = [["tan"], ["brown"], ["light"], ["dark"]] + [[]] * 60
    r = ev._entropy_ci(tones, n_boot=300)
    assert r["n"] == 4 and r["ci"][0] <= r["mean"] <= r["ci"][1]
    assert math.isnan(ev._entropy_ci([[], [None]], n_boot=100)["mean"])


def _per(method: str, n: int, **cols) -> pd.DataFrame:
    base = {"method": method, "file": [f"{i}.png" for i in range(n)], "flagged": True, "near_copy": False,
            "outside_change": 0.0, "faces_orig": 0, "faces_reidentified": 0, "faces_without_counterpart": 0,
            "text_tokens": 0, "text_tokens_reidentified": 0, "skin_tones": [[] for _ in range(n)]}
    base.update({k: 0.5 for k in ev.MEAN_METRICS})
    base.update(cols)
    return pd.DataFrame(base)


def test_aggregate_rates_and_means_per_method():
    cfg = load_config(environ={}, overrides=["anonymize.n_boot=100"])
    per = pd.concat([_per("original", 4, near_copy=True, ssim=1.0),
                     _per("fill", 4, near_copy=[True, False, False, False], outside_change=[0, 0, 0.2, np.nan])])
    agg = ev.aggregate(per, cfg)
    assert agg["original"]["near_copy_rate"]["mean"] == 1.0 and agg["original"]["ssim"]["mean"] == 1.0
    assert agg["fill"]["near_copy_rate"]["mean"] == 0.25
    assert agg["fill"]["overreach_rate"]["mean"] == pytest.approx(1 / 3)  # NaN rows (regions cover all) left out
    flat = ev.flat_metrics({"methods": agg})
    assert flat["fill.near_copy_rate"] == 0.25 and "fill.ssim_lo" in flat and "fill.faces_orig" in flat


def test_evaluation_mask_prefers_ground_truth_and_checks_its_size(tmp_path):
    from sppe_ray.anonymize import manifest
    from sppe_ray.errors import ImageError
    from sppe_ray.privacy.region import Region

    data, stage1 = tmp_path / "data", tmp_path / "s1"
    m = np.zeros((16, 16), bool)
    m[2:6, 2:6] = True
    manifest.save_regions(stage1, "c/a.png", [Region("a111_name_all", ~m)])
    assert ev.evaluation_mask(data, stage1, "c/a.png", (16, 16)).sum() == (~m).sum()  # no truth: stage 1
    save_image(data / ".truth" / "c" / "a.mask.png", np.repeat(m[..., None], 3, 2).astype(np.uint8) * 255)
    assert np.array_equal(ev.evaluation_mask(data, stage1, "c/a.png", (16, 16)), m)
    assert ev.evaluation_mask(data, stage1, "c/other.png", (16, 16)) is None  # labelled: not private
    with pytest.raises(ImageError):
        ev.evaluation_mask(data, stage1, "c/a.png", (20, 16))
