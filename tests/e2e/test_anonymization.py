"""Dataset anonymization and its evaluation on a real local Ray: the published manifest, skipped bad images,
determinism, resume after a kill, both jobs from the command line with an MLflow run and a report."""

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from sppe_ray.anonymize import manifest
from sppe_ray.config import load_config
from sppe_ray.errors import ConfigError
from sppe_ray.imageio import load_image

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """A small anon-mini (8 images) plus the bad inputs a real folder holds."""
    from sppe_ray.datasets.anon_mini import build_anon_mini

    root = build_anon_mini(tmp_path_factory.mktemp("anon") / "anon-mini", n=8, seed=0)
    (root / "bad").mkdir()
    (root / "bad" / "truncated.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 20)
    (root / "bad" / "empty.jpg").write_bytes(b"")
    return root


@pytest.fixture(scope="module")
def anonymized(ray_local, data, tmp_path_factory):
    from sppe_ray.pipelines.anonymize import anonymize_folder

    out = tmp_path_factory.mktemp("anon-out") / "fill"
    cfg = load_config(environ={}, overrides=["ray.actors=2"])
    return out, anonymize_folder(cfg, data, out, method="fill", progress=False)


def test_manifest_has_the_published_columns_and_every_good_image(anonymized, data):
    out, summary = anonymized
    with (out / "manifest.csv").open() as fh:
        reader = csv.DictReader(fh)
        rows = list(reader)
    assert reader.fieldnames[:6] == list(manifest.COLUMNS)
    assert len(rows) == 8 and {r["PRIVACY_FLAG"] for r in rows} <= {"TRUE", "FALSE"}
    assert summary["anonymized"] == 8 and summary["skipped"] == 2
    for row in rows:
        assert (out / Path(row["file"]).with_suffix(".png")).is_file()
        assert manifest.caption_path(out, row["file"]).is_file()
        if row["PRIVACY_FLAG"] == "TRUE":
            assert row["PUBLIC_CAPTION"] and row["EDIT_INSTRUCTION"]


def test_bad_images_are_skipped_with_a_reason_and_counted(anonymized):
    out, summary = anonymized
    recs = [json.loads(line) for line in (out / "records.jsonl").read_text().splitlines()]
    bad = {r["file"]: r for r in recs if r["status"] == "skipped"}
    assert set(bad) == {"bad/truncated.png", "bad/empty.jpg"} and all(r["reason"] for r in bad.values())
    assert summary["skip_reasons"] == {"ImageError": 2}


def test_only_flagged_regions_change(anonymized, data):
    out, _ = anonymized
    for rel in manifest.list_inputs(data):
        rec = manifest.read_record(out, rel)
        if rec["status"] != "ok":
            continue
        regions = manifest.load_regions(out, rel)
        keep = ~np.any([r.mask for r in regions], axis=0) if regions else np.ones(rec_shape(rec), bool)
        assert np.array_equal(load_image(data / rel)[keep], load_image(manifest.output_path(out, rel))[keep])


def rec_shape(rec: dict) -> tuple[int, int]:
    return rec["height"], rec["width"]


def test_reused_stage1_gives_the_same_bytes_and_folders_are_never_mixed(anonymized, data, tmp_path):
    """A method run on a reused stage 1 writes exactly what a fresh run writes (face swaps read the detector's
    face box, which the stored regions keep); a folder refuses another method's or input's run."""
    from sppe_ray.pipelines.anonymize import anonymize_folder

    out, _ = anonymized
    cfg = load_config(environ={}, overrides=["ray.actors=2"])
    fresh, reused = tmp_path / "fresh", tmp_path / "reused"
    anonymize_folder(cfg, data, fresh, method="surrogate", progress=False)
    anonymize_folder(cfg, data, reused, method="surrogate", stage1_from=out, progress=False)
    compared = 0
    for rel in manifest.list_inputs(data):
        if manifest.read_record(out, rel)["status"] == "ok":
            assert manifest.output_path(reused, rel).read_bytes() == manifest.output_path(fresh, rel).read_bytes()
            compared += 1
    assert compared == 8
    with pytest.raises(ConfigError, match="differs in: method"):
        anonymize_folder(cfg, data, out, method="blur", progress=False)
    with pytest.raises(ConfigError, match="not an anonymization output folder"):
        anonymize_folder(cfg, data, tmp_path / "x", method="fill", stage1_from=tmp_path / "nowhere", progress=False)


def test_killed_run_finishes_on_rerun(data, tmp_path):
    out = tmp_path / "killed"
    env = {**os.environ, "SPPE_HOME": str(tmp_path / "home"), "RAY_AUTH_MODE": "disabled", "TQDM_DISABLE": "1"}
    env.pop("RAY_ADDRESS", None)
    cmd = [sys.executable, str(ROOT / "jobs" / "anonymize_dataset.py"), str(data), str(out), "--method", "blur",
           "--set", "ray.num_cpus=1", "--set", "ray.actors=1"]
    log = tmp_path / "first-run.log"
    with open(log, "wb") as sink:
        proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + 600
        while time.time() < deadline and proc.poll() is None and len(list(out.glob(".records/**/*.json"))) < 2:
            time.sleep(0.3)
        finished_early = proc.poll() is not None
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    kept = {p: p.read_bytes() for p in out.glob(".records/**/*.json") if json.loads(p.read_text())["status"] == "ok"}
    assert kept and not finished_early, log.read_text()[-3000:]
    assert not (out / "manifest.csv").exists()
    done = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["done"] == 10 and summary["processed_now"] == 10 - len(kept)  # skipped ones are tried again
    for path, data_bytes in kept.items():  # finished images were kept as they were
        assert path.read_bytes() == data_bytes


def test_evaluation_job_from_the_command_line(data, tmp_path):
    home = tmp_path / "home"
    env = {**os.environ, "SPPE_HOME": str(home), "RAY_AUTH_MODE": "disabled", "TQDM_DISABLE": "1",
           "MLFLOW_TRACKING_URI": f"sqlite:///{home / 'mlflow.db'}"}
    env.pop("RAY_ADDRESS", None)
    home.mkdir()
    cmd = [sys.executable, str(ROOT / "jobs" / "eval_anonymization.py"), "--data", str(data), "--out",
           str(tmp_path / "report"), "--set", "anonymize.methods=[surrogate,fill,deface_mosaic,instruct_pix2pix]",
           "--set", "anonymize.n_boot=200", "--set", "ray.num_cpus=2"]
    done = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads((tmp_path / "report" / "summary.json").read_text())
    methods = summary["methods"]
    assert set(methods) == {"original", "surrogate", "fill", "deface_mosaic"}
    assert "anonymize.editor_model" in summary["skipped_methods"]["instruct_pix2pix"]
    orig = methods["original"]
    assert orig["ssim"]["mean"] == pytest.approx(1.0) and orig["near_copy_rate"]["mean"] == 1.0
    assert orig["rubric_score"]["mean"] == 0.0
    assert methods["fill"]["near_copy_rate"]["mean"] < 0.5 and methods["fill"]["ssim"]["mean"] < 1.0
    assert "accuracy" in methods["fill"]["utility"] and summary["stage1"]["flags"]["n"] == 8
    assert (tmp_path / "report" / "report.html").read_text().count("<img") >= 2
    import mlflow

    mlflow.set_tracking_uri(env["MLFLOW_TRACKING_URI"])
    run = mlflow.get_run(summary["mlflow_run_id"])
    assert run.data.metrics["fill.ssim"] == pytest.approx(methods["fill"]["ssim"]["mean"])
