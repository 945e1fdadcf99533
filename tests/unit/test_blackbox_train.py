"""The anonymizer fit on a small setting 1: evaluation rows, call counts, and an exact resume."""

import numpy as np
import pytest

from sppe_ray.blackbox.train import FitSettings, fit, prepare_setting1, raw_reference


@pytest.fixture(scope="module")
def setting():
    return prepare_setting1(n_train=64, n_test=32, steps=40)


def test_fit_reports_utility_privacy_and_calls(setting):
    out = fit(setting, FitSettings(steps=6, batch=8, eval_every=3))
    rows = out["history"]
    assert [r["step"] for r in rows] == [3, 6]
    assert all(0 <= r["top1"] <= 1 and 0 <= r["cmap"] <= 1 for r in rows)
    assert rows[-1]["calls"] == 6 * 2 * 8  # two queries per step for each of the 8 samples of a batch
    raw = raw_reference(setting)
    assert 0 <= raw["top1"] <= 1 and 0 <= raw["cmap"] <= 1


@pytest.mark.parametrize("optimizer", ["critical_history_spsa", "spsa_gc", "policy_search"])
def test_a_resumed_fit_continues_exactly(setting, tmp_path, optimizer):
    s = FitSettings(optimizer=optimizer, steps=6, batch=8, eval_every=3,
                    options={"samples": 2} if optimizer == "policy_search" else {})
    whole = fit(setting, s)
    first = FitSettings(**{**s.__dict__, "steps": 3})
    fit(setting, first, checkpoint=tmp_path)  # "killed" after step 3: its checkpoint is on disk
    resumed = fit(setting, s, checkpoint=tmp_path)
    assert np.array_equal(resumed["theta"], whole["theta"])
    assert resumed["history"] == whole["history"]
