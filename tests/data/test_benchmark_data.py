"""Checks of a built benchmark's data (not of the code that built it), in the spirit of Made-With-ML's data
tests. Run on any benchmark: `pytest tests/data --benchmark ~/.sppe/benchmarks/sppe-mini`; CI runs them on a
small benchmark built for the run.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from sppe_ray import taxonomy
from sppe_ray.config import SPLITS
from sppe_ray.shards import read_benchmark, read_manifest, verify_benchmark

pytestmark = pytest.mark.slow
COLUMNS = ["sample_id", "split", "category", "instruction_code", "strategy", "source", "editability",
           "source_group", "provenance"]


@pytest.fixture(scope="module")
def bench(request) -> Path:
    given = request.config.getoption("--benchmark")
    if given:
        return Path(given).expanduser().resolve()
    return request.getfixturevalue("small_benchmark")[0]


@pytest.fixture(scope="module")
def rows(bench):
    return read_benchmark(bench, columns=COLUMNS, checksums=False).to_pandas()


def test_manifest_and_shards_verify(bench):
    assert verify_benchmark(bench) == []


def test_manifest_counts_match_the_rows(bench, rows):
    counts = read_manifest(bench)["counts"]
    assert counts["total"] == len(rows) > 0
    assert counts["by_split"] == dict(Counter(rows["split"]))
    assert counts["by_category"] == dict(Counter(rows["category"]))


def test_every_name_is_known(rows):
    assert set(rows["split"]) <= set(SPLITS)
    assert set(rows["category"]) <= set(taxonomy.CATEGORIES)
    assert set(rows["instruction_code"]) <= set(taxonomy.INSTRUCTIONS)
    assert rows["sample_id"].is_unique


def test_no_source_image_in_two_splits(rows):
    """A source seen in training must never be scored in test: by group and by the exact image bytes."""
    assert (rows.groupby("source_group")["split"].nunique() == 1).all()
    by_pixels = rows.assign(digest=rows["source"].map(lambda b: hash(bytes(b)))).groupby("digest")["split"]
    assert (by_pixels.nunique() == 1).all()


def test_labels_are_in_range_and_spread(rows):
    labels = rows["editability"].to_numpy(float)
    assert np.isfinite(labels).all() and ((labels >= 0) & (labels <= 1)).all()
    # A benchmark whose labels barely move, or sit on a few values, cannot rank editability methods. (At three
    # decimals there are at most 1001 values, so the distinct count is bounded, not proportional to the rows.)
    assert labels.std() > 0.05 and len(np.unique(np.round(labels, 3))) > min(len(labels) // 4, 100)
    for split, part in rows.groupby("split"):
        if len(part) >= 10:
            assert part["editability"].std() > 0.02, split


def test_each_source_has_several_strategies_and_instructions(rows):
    per_group = rows.groupby("source_group").agg(strategies=("strategy", "nunique"),
                                                 instructions=("instruction_code", "nunique"))
    assert (per_group["strategies"] >= 1).all() and (per_group["instructions"] >= 1).all()
    assert per_group["strategies"].max() >= 2


def test_surrogate_checks_are_recorded_and_passed(bench, rows):
    manifest = read_manifest(bench)
    if manifest.get("config", {}).get("source") == "sppe":
        pytest.skip("an imported SPPE benchmark carries the published surrogates, not our checks")
    for raw in rows["provenance"]:
        prov = json.loads(raw)
        checks = prov.get("surrogate_checks")
        assert checks, f"no surrogate checks recorded: {prov}"
        assert all(c["ok"] for c in checks), checks


def test_pass_rates_and_fallbacks_are_in_the_manifest(bench):
    manifest = read_manifest(bench)
    assert "fallbacks" in manifest  # {} when every backend was present: said, not omitted
    for name, rate in manifest.get("surrogate_pass_rate", {}).items():
        assert rate["kept"] + rate["failed"] > 0, name
