"""Benchmark build on a real local Ray: valid output, determinism, resume after a kill, user images."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from sppe_ray.config import load_config
from sppe_ray.shards import read_benchmark, read_manifest, verify_benchmark

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
SMALL = ["build.n_scenes=4", "build.size=96", "build.instructions_per_scene=2", "build.shard_size=4",
         "ray.actors=2"]


@pytest.fixture(scope="module")
def built(ray_local, tmp_path_factory):
    from sppe_ray.pipelines.build import build_benchmark

    out = tmp_path_factory.mktemp("bench") / "mini"
    summary = build_benchmark(load_config(overrides=SMALL, environ={}), out, progress=False)
    return out, summary


def test_build_is_valid_and_counted(built):
    out, summary = built
    assert verify_benchmark(out) == []
    m = read_manifest(out)
    total = m["counts"]["total"]
    skipped = sum(m.get("skipped", {}).values())
    assert total + skipped == 4 * 2 * 2  # scenes x strategies x instructions
    assert total > 0 and summary["counts"]["total"] == total
    t = read_benchmark(out).to_pandas()
    assert t.sample_id.is_unique
    assert t.groupby("source_group").split.nunique().max() == 1  # no source in two splits
    assert ((t.editability >= 0) & (t.editability <= 1)).all()
    prov = json.loads(t.provenance.iloc[0])
    assert prov["editor"] == "procedural" and "surrogate_checks" in prov


def test_editor_never_sees_private_source_pixels(built):
    from sppe_ray.imageio import decode_image, decode_mask

    out, _ = built
    for row in read_benchmark(out).to_pylist():
        src, sur, m = decode_image(row["source"]), decode_image(row["surrogate"]), decode_mask(row["mask"])
        same = np.all(src[m] == sur[m], axis=-1)
        assert same.mean() <= 0.05, row["sample_id"]
        assert np.array_equal(src[~m], sur[~m])


def test_same_config_same_shards_and_resume(built, tmp_path):
    from sppe_ray.pipelines.build import build_benchmark

    out, _ = built
    first = {s["name"]: s["sha256"] for s in read_manifest(out)["shards"]}
    victim = sorted(first)[0]
    (out / victim).unlink()
    (out / (victim + ".tmp")).write_bytes(b"half a shard")  # what a killed writer may leave
    build_benchmark(load_config(overrides=SMALL, environ={}), out, progress=False)
    again = {s["name"]: s["sha256"] for s in read_manifest(out)["shards"]}
    assert again == first
    assert verify_benchmark(out) == []


def test_killed_build_finishes_on_rerun(tmp_path):
    out = tmp_path / "killed"
    env = {**os.environ, "SPPE_HOME": str(tmp_path / "home"), "RAY_AUTH_MODE": "disabled", "TQDM_DISABLE": "1"}
    env.pop("RAY_ADDRESS", None)
    cmd = [sys.executable, str(ROOT / "jobs" / "build_benchmark.py"), "--out", str(out)]
    for s in SMALL + ["ray.num_cpus=1", "ray.actors=1"]:
        cmd += ["--set", s]
    log = tmp_path / "first-run.log"
    with open(log, "wb") as sink:
        proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=sink, stderr=subprocess.STDOUT,
                                start_new_session=True)
        deadline = time.time() + 600
        while time.time() < deadline and proc.poll() is None and not list(out.glob("*.parquet")):
            time.sleep(0.5)
        finished_early = proc.poll() is not None
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    kept = {p.name: p.read_bytes() for p in out.glob("*.parquet")}
    assert kept and not finished_early, log.read_text()[-3000:]
    assert not (out / "manifest.json").exists()
    done = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert verify_benchmark(out) == []
    for name, data in kept.items():  # finished shards were kept as they were
        assert (out / name).read_bytes() == data


def test_user_images_with_a_corrupt_file(ray_local, tmp_path):
    from skimage import data as skdata

    from sppe_ray.pipelines.build import build_benchmark

    imgs = tmp_path / "photos"
    imgs.mkdir()
    Image.fromarray(skdata.astronaut()).save(imgs / "astro.jpg")
    coffee = skdata.coffee()
    Image.fromarray(coffee).save(imgs / "coffee.png")
    mask = np.zeros(coffee.shape[:2], np.uint8)
    mask[100:220, 150:330] = 255
    Image.fromarray(mask).save(imgs / "coffee.a30_credit_card.mask.png")
    (imgs / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    cfg = load_config(overrides=["build.size=128", "build.instructions_per_scene=2", f"build.images={imgs}"],
                      environ={})
    out = tmp_path / "mine"
    summary = build_benchmark(cfg, out, progress=False)
    assert verify_benchmark(out) == []
    t = read_benchmark(out).to_pandas()
    assert "a30_credit_card" in set(t.category)
    assert any(k.startswith("scene_error") for k in summary["skipped"]), summary["skipped"]
