"""The same config builds the same benchmark in two fresh processes with different thread settings, time zones
and hash seeds (the manifest hash identifies contents; the `environment` record says where each was made)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
# 12 scenes cycle through the first 12 categories: faces, addresses, dates, names, documents, receipts.
SMALL = ["build.n_scenes=12", "build.size=96", "build.instructions_per_scene=1", "build.shard_size=6",
         "ray.actors=1", "ray.num_cpus=1"]


def _build(out: Path, env_extra: dict[str, str], home: Path) -> dict:
    env = {**os.environ, "SPPE_HOME": str(home), "RAY_ADDRESS": "", "TQDM_DISABLE": "1", **env_extra}
    cmd = [sys.executable, str(ROOT / "jobs" / "build_benchmark.py"), "--out", str(out)]
    for item in SMALL:
        cmd += ["--set", item]
    done = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads((out / "manifest.json").read_text())


def test_two_processes_with_different_threads_and_clocks_build_identical_benchmarks(tmp_path):
    from sppe_ray.shards import manifest_hash

    a = _build(tmp_path / "a", {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "TZ": "UTC",
                                "PYTHONHASHSEED": "1"}, tmp_path / "home-a")
    b = _build(tmp_path / "b", {"OMP_NUM_THREADS": "2", "OPENBLAS_NUM_THREADS": "2", "TZ": "Asia/Tokyo",
                                "PYTHONHASHSEED": "2"}, tmp_path / "home-b")
    assert [s["sha256"] for s in a["shards"]] == [s["sha256"] for s in b["shards"]]
    assert manifest_hash(tmp_path / "a") == manifest_hash(tmp_path / "b")
    assert a["environment"]["env"]["TZ"] == "UTC" and b["environment"]["env"]["TZ"] == "Asia/Tokyo"


def test_generated_dates_never_read_the_clock(monkeypatch):
    """Dates are drawn around a fixed day: Faker's clock-relative helpers are never called."""
    import faker.providers.date_time as dt

    from sppe_ray.privacy.fakes import REFERENCE_DAY, fake_text

    for name in ("date_between", "date_time_between", "date_of_birth", "date_time"):
        monkeypatch.setattr(dt.Provider, name, lambda *a, **k: pytest.fail("a date from the clock"))
    first = [fake_text(k, np.random.default_rng(5)) for k in ("date", "birth_date", "datetime")]
    again = [fake_text(k, np.random.default_rng(5)) for k in ("date", "birth_date", "datetime")]
    assert first == again and all(first) and REFERENCE_DAY.year == 2026
