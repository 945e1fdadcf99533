"""End to end: the evaluation job on a tiny real benchmark, with Ray Data, MLflow, the report, resume,
typed errors, per-sample failures, `sppe compare`, and `ray job submit` against a `ray start --head` cluster."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from skimage import data as skdata

from sppe_ray.config import load_config
from sppe_ray.errors import BenchmarkError
from sppe_ray.imageio import encode_mask, encode_png, resize_image
from sppe_ray.schema import sample_id, table_from_rows
from sppe_ray.shards import ShardWriter
from sppe_ray.taxonomy import get_instruction

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
FAST = ["eval.iqa_metrics=[psnr,gmsd,piqe]", "eval.recovery_methods=[edited_surrogate,paste_back,c2e_s2ser]",
        "eval.bootstrap=100", "eval.batch_size=4", "ray.actors=2", "eval.report_grid_rows=2"]
RECOVERY_KEYS = {"csim_src", "ssim", "psnr", "dir_i", "dir_s", "csim_gt", "gt_ssim", "gt_psnr",
                 "identity_recovered", "text_recovered", "ci", "n"}


# -- a tiny but real benchmark: skimage photos, masks, two surrogate kinds, numpy stand-in edits -------------
# Written straight through shards.ShardWriter, so these tests neither wait for nor depend on the builder.
PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "camera", "immunohistochemistry")
CATEGORIES = ("a105_face_all", "a111_name_all", "a30_credit_card", "a49_phone")
CODES = ("007", "032", "048", "019")


def _photo(name: str, size: int) -> np.ndarray:
    img = getattr(skdata, name)()
    if img.ndim == 2:
        img = np.repeat(img[:, :, None], 3, axis=2)
    return resize_image(np.ascontiguousarray(img[:, :, :3]), size)


def _edit(img: np.ndarray, code: str, strength: float) -> np.ndarray:
    """Deterministic stand-in edits: a tint, a posterised 'painting', a stain, a vintage fade."""
    f = img.astype(np.float32)
    if code == "007":
        f[..., 0] = f[..., 0] * (1 + strength) + 30 * strength
    elif code == "032":
        f = np.round(f / 64) * 64
    elif code == "048":
        h, w = img.shape[:2]
        yy, xx = np.mgrid[:h, :w]
        stain = ((yy - h / 3) ** 2 + (xx - w / 2) ** 2) < (h / 4) ** 2
        f[stain] = f[stain] * 0.6 + 60
    else:
        f = f * 0.7 + np.array([60, 40, 10], np.float32) * strength
    return np.clip(f, 0, 255).astype(np.uint8)


def build_tiny_benchmark(folder: Path, *, n_samples: int = 12, per_shard: int = 4, size: int = 72,
                         seed: int = 0) -> Path:
    """Write `n_samples` test-split samples (plus 2 train rows) in shards of `per_shard`; returns the folder."""
    rng = np.random.default_rng(seed)
    writer = ShardWriter(folder)
    rows = []
    for i in range(n_samples + 2):
        photo = PHOTOS[i % len(PHOTOS)]
        src = _photo(photo, size)
        mask = np.zeros((size, size), bool)
        y0, x0 = rng.integers(4, size // 2, size=2)
        mask[y0:y0 + size // 3, x0:x0 + size // 3] = True
        sur = src.copy()
        if i % 2:  # fill
            sur[mask] = np.array([128, 128, 128], np.uint8)
        else:  # noise: a different kind of surrogate
            sur[mask] = rng.integers(0, 256, size=(int(mask.sum()), 3), dtype=np.uint8)
        code = CODES[i % len(CODES)]
        strength = float(rng.uniform(0.1, 0.6))
        src_edit, sur_edit = _edit(src, code, strength), _edit(sur, code, strength)
        agree = 1.0 - float(np.abs(src_edit.astype(float) - sur_edit.astype(float)).mean()) / 255.0
        ins = get_instruction(code)
        rows.append({
            "sample_id": sample_id(photo, i, code), "split": "train" if i >= n_samples else "test",
            "category": CATEGORIES[i % len(CATEGORIES)], "instruction_code": code, "instruction": ins.text,
            "task_tag": ins.task_tag, "strategy": "fill" if i % 2 else "noise",
            "source": encode_png(src), "mask": encode_mask(mask), "surrogate": encode_png(sur),
            "source_edit": encode_png(src_edit), "surrogate_edit": encode_png(sur_edit),
            "editability": agree, "label_output": agree, "label_region": agree, "width": size, "height": size,
            "source_group": photo, "provenance": json.dumps({"photo": photo}),
        })
    for k in range(0, len(rows), per_shard):
        writer.write(table_from_rows(rows[k:k + per_shard]), writer.shard_name(k // per_shard))
    writer.finish(config={"tiny": True})
    return folder


@pytest.fixture(scope="module")
def tiny_bench(tmp_path_factory) -> Path:
    return build_tiny_benchmark(tmp_path_factory.mktemp("bench") / "tiny", n_samples=12, per_shard=4)


def _numbers(summary: dict) -> tuple:
    return json.dumps(summary["editability"], sort_keys=True), json.dumps(summary["recovery"], sort_keys=True)


def test_evaluation_run_resume_and_compare(ray_local, sppe_home, tiny_bench, tmp_path):
    from mlflow import MlflowClient
    from typer.testing import CliRunner

    from sppe_ray.cli import app
    from sppe_ray.pipelines.evaluate import run_evaluation

    _register_untrained_erma(tmp_path / "erma")
    out = tmp_path / "out"
    cfg = load_config(None, [*FAST, f"eval.output={out}"])
    copy = tmp_path / "copy" / "summary.json"
    summary = run_evaluation(cfg, benchmark=tiny_bench, summary_json=copy)

    # summary.json shape (the interface scripts rely on)
    assert summary["benchmark"]["manifest_hash"] and summary["benchmark"]["evaluated"] == 12
    assert set(summary["editability"]) == {"pyiqa:psnr", "pyiqa:gmsd", "pyiqa:piqe", "embed:classic", "erma"}
    for s in summary["editability"].values():
        assert {"srcc", "plcc", "plcc_logistic", "krcc", "srcc_ci", "n"} <= set(s) and s["n"] == 12
        assert -1 <= s["srcc"] <= 1 and len(s["srcc_ci"]) == 2
    assert set(summary["recovery"]) == {"edited_surrogate", "paste_back"}
    for s in summary["recovery"].values():
        assert RECOVERY_KEYS <= set(s) and s["n"] == 12
    # paste_back puts the source region back, so it keeps more of the source than the raw edited surrogate
    assert summary["recovery"]["paste_back"]["psnr"] > summary["recovery"]["edited_surrogate"]["psnr"]
    assert summary["privacy"]["pixel_leak"] is not None and summary["privacy"]["n"] == 12
    assert "erma" not in summary["skipped"]  # picked up from the registry's champion
    comp = summary["comparisons"]["editability"]  # erma against the best other method, paired
    assert comp["learned"] == "erma" and comp["baseline"] in summary["editability"]
    assert comp["srcc"]["diff"] == pytest.approx(summary["editability"]["erma"]["srcc"]
                                                 - summary["editability"][comp["baseline"]]["srcc"])
    assert summary["comparisons"]["recovery"] == {}  # no learned recoverer in this run
    assert summary["skipped"]["c2e_s2ser"] == "no champion registered"
    assert {"verify", "plan", "compute", "aggregate", "report", "mlflow"} <= set(summary["timings_s"])
    on_disk = json.loads((out / "summary.json").read_text())
    assert on_disk["editability"] == summary["editability"]
    assert json.loads(copy.read_text())["benchmark"] == summary["benchmark"]
    assert json.loads((sppe_home / "eval" / "latest" / "summary.json").read_text())["output"] == str(out)
    assert (out / "tables" / "editability_by_category.csv").exists()

    # report: self-contained, with plots and the image grid; the public copy has no sample images
    report = (out / "report.html").read_text()
    assert report.count("data:image/png;base64,") >= 4 + 2 * 5  # 4 plots + 2 grid rows of 5 images
    assert "Best recoveries" in report and "pyiqa:gmsd" in report
    public = (out / "report_public.html").read_text()
    assert "Best recoveries" not in public and public.count("data:image/png;base64,") < report.count("data:image")

    # MLflow run: params, flattened metrics, artifacts (no private report unless opted in)
    client = MlflowClient()
    run = client.get_run(summary["mlflow_run_id"])
    assert run.data.params["benchmark_manifest_hash"] == summary["benchmark"]["manifest_hash"]
    srcc = summary["editability"]["pyiqa:psnr"]["srcc"]
    assert run.data.metrics["editability/pyiqa_psnr/srcc"] == pytest.approx(srcc)
    assert "recovery/paste_back/gt_ssim" in run.data.metrics
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"summary.json", "report_public.html", "tables"} <= artifacts and "report.html" not in artifacts

    # killed and resumed: drop one result shard; only it is recomputed, with the same numbers
    shards = sorted((out / "results").glob("res-*.parquet"))
    assert len(shards) == 4
    shards[1].unlink()
    (out / "summary.json").unlink()
    again = run_evaluation(cfg, benchmark=tiny_bench)
    assert again["resume"]["shards_computed"] == 1 and again["resume"]["shards_skipped"] == 3
    assert _numbers(again) == _numbers(summary)

    # sppe compare prints the metric differences of the two runs
    res = CliRunner().invoke(app, ["compare", summary["mlflow_run_id"], again["mlflow_run_id"]])
    assert res.exit_code == 0, res.output
    assert "editability/pyiqa_psnr/srcc" in res.output and "+0.0000" in res.output


def _register_untrained_erma(folder: Path) -> None:
    """A real (untrained, offline-encoder) ERMA registered as champion, as `sppe train erma` would leave it."""
    from sppe_ray import tracking
    from sppe_ray.models.erma import ERMAPredictor

    ERMAPredictor.build({"image_encoder": "classic", "text_encoder": "hashing"}).save(folder)
    with tracking.start_run("sppe-erma-test"):
        tracking.register_model(folder, "sppe-erma", score=0.1)


def test_missing_and_corrupt_benchmark_give_one_clear_error(sppe_home, tiny_bench, tmp_path):
    from sppe_ray.pipelines.evaluate import run_evaluation

    cfg = load_config(None, [*FAST, f"eval.output={tmp_path / 'out'}"])
    with pytest.raises(BenchmarkError, match="does not exist"):
        run_evaluation(cfg, benchmark=tmp_path / "nowhere")
    broken = tmp_path / "broken"
    shutil.copytree(tiny_bench, broken)
    shard = sorted(broken.glob("*.parquet"))[0]
    shard.write_bytes(shard.read_bytes()[:-100])
    with pytest.raises(BenchmarkError, match="not usable"):
        run_evaluation(cfg, benchmark=broken)


def test_a_metric_failing_on_one_sample_is_recorded_for_that_sample(tiny_bench):
    from sppe_ray.pipelines.eval_plan import make_plan
    from sppe_ray.pipelines.eval_stages import SampleEvaluator
    from sppe_ray.shards import read_benchmark

    cfg = load_config(None, FAST)
    ev = SampleEvaluator(make_plan(cfg, use_registry=False), "test")
    real = ev.metrics["pyiqa:psnr"]
    df = read_benchmark(tiny_bench, split="test").to_pandas().head(4)
    victim = df["sample_id"].iloc[2]

    import numpy as np

    from sppe_ray.imageio import decode_image

    bad = decode_image(df["surrogate"].iloc[2])

    class Flaky:
        kind, lower_better = real.kind, real.lower_better

        def batch(self, refs, imgs):
            if any(img.shape == bad.shape and np.array_equal(img, bad) for img in imgs):
                raise RuntimeError("metric exploded on this image")
            return real.batch(refs, imgs)

    ev.metrics["pyiqa:psnr"] = Flaky()
    rows = ev(df).to_pandas()
    psnr = rows[(rows["method"] == "pyiqa:psnr")].set_index("sample_id")
    assert psnr.loc[victim, "error"].startswith("RuntimeError: metric exploded")
    assert psnr["error"].notna().sum() == 1 and psnr["score"].notna().sum() == 3
    others = rows[(rows["sample_id"] == victim) & (rows["method"] != "pyiqa:psnr")]
    assert others["error"].isna().all()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_ray_job_submit_path(tiny_bench, tmp_path):
    """`ray job submit -- python jobs/eval.py` against a local `ray start --head` cluster."""
    venv_bin = Path(sys.executable).parent
    env = {**os.environ, "RAY_AUTH_MODE": "disabled", "PATH": f"{venv_bin}{os.pathsep}{os.environ['PATH']}",
           "SPPE_HOME": str(tmp_path / "home"), "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}"}
    env.pop("RAY_ADDRESS", None)
    dash = _free_port()
    ray = str(venv_bin / "ray")
    summary = tmp_path / "job_summary.json"
    started = time.perf_counter()
    # --block keeps `ray start` in the foreground: ending its process group stops exactly this cluster
    # (`ray stop` would also stop every other Ray instance on the machine). A private --temp-dir keeps its
    # address out of /tmp/ray/ray_current_cluster, where any other process's plain ray.init() would join it.
    temp_dir = tempfile.mkdtemp(prefix="rt", dir="/tmp")
    head = subprocess.Popen([ray, "start", "--head", "--block", "--port=0", "--num-cpus=1", f"--temp-dir={temp_dir}",
                             "--include-dashboard=true", f"--dashboard-port={dash}", "--dashboard-host=127.0.0.1",
                             # free agent/metrics ports: the defaults clash with any other Ray on this machine
                             # (e.g. the session's `ray_local`), and then no job agent ever comes up
                             f"--dashboard-agent-listen-port={_free_port()}",
                             f"--dashboard-agent-grpc-port={_free_port()}", f"--metrics-export-port={_free_port()}",
                             "--disable-usage-stats"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        address = f"http://127.0.0.1:{dash}"
        _wait_for_dashboard(ray, address, env)
        sets = [a for s in FAST for a in ("--set", s)] + ["--set", "ray.actors=1"]
        env_vars = json.dumps({"env_vars": {k: env[k] for k in ("SPPE_HOME", "MLFLOW_TRACKING_URI")}})
        submit = [ray, "job", "submit", "--address", address, "--working-dir", str(ROOT), "--no-wait",
                  "--runtime-env-json", env_vars, "--", "python", "jobs/eval.py",
                  "--benchmark", str(tiny_bench), "--summary-json", str(summary), *sets]
        for _ in range(40):  # the job agent may come up a while after the dashboard answers
            sub = subprocess.run(submit, env=env, capture_output=True, text=True, timeout=180)
            if sub.returncode == 0 or "No available agent" not in sub.stderr:
                break
            time.sleep(3)
        assert sub.returncode == 0, (sub.stdout + sub.stderr)[-3000:]
        job_id = re.search(r"raysubmit_[A-Za-z0-9]+", sub.stdout + sub.stderr).group(0)
        status = ""
        deadline = time.time() + 540
        while time.time() < deadline:
            res = subprocess.run([ray, "job", "status", "--address", address, job_id], env=env,
                                 capture_output=True, text=True, timeout=60)
            status = (res.stdout + res.stderr).lower()  # e.g. "Job 'raysubmit_...' succeeded", on stderr
            if any(s in status for s in ("succeeded", "failed", "stopped")):
                break
            time.sleep(3)
        logs = subprocess.run([ray, "job", "logs", "--address", address, job_id], env=env,
                              capture_output=True, text=True, timeout=60)
        logs = logs.stdout + logs.stderr
        assert "succeeded" in status, logs[-3000:]
        data = json.loads(summary.read_text())
        assert data["benchmark"]["evaluated"] == 12 and "paste_back" in data["recovery"]
        assert Path(data["output"], "report.html").exists()
        print(f"ray job submit path took {time.perf_counter() - started:.1f} s")
    finally:
        import signal

        os.killpg(head.pid, signal.SIGTERM)
        try:
            head.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(head.pid, signal.SIGKILL)
        shutil.rmtree(temp_dir, ignore_errors=True)


def _wait_for_dashboard(ray: str, address: str, env: dict, timeout: float = 120) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        res = subprocess.run([ray, "job", "list", "--address", address], env=env, capture_output=True, timeout=60)
        if res.returncode == 0:
            return
        time.sleep(2)
    raise AssertionError(f"Ray dashboard at {address} did not come up in {timeout} s")


def test_pair_cache_gives_the_numbers_of_scoring_each_sample_alone(tiny_bench):
    """Samples sharing (source, surrogate) reuse the pair's baseline scores; the numbers must not change."""
    from sppe_ray.pipelines.eval_plan import make_plan
    from sppe_ray.pipelines.eval_stages import SampleEvaluator
    from sppe_ray.shards import read_benchmark

    cfg = load_config(None, FAST)
    plan = make_plan(cfg, use_registry=False)
    df = read_benchmark(tiny_bench, split="test").to_pandas().head(3)
    twin = df.iloc[[0]].copy()
    twin["sample_id"], twin["instruction_code"] = "twin-of-first", "035"  # same images, another instruction
    both = pd.concat([df, twin], ignore_index=True)
    ev = SampleEvaluator(plan, "test")
    rows = ev(both).to_pandas()
    assert ev.cache.hits > 0
    edit = rows[rows["task"] == "editability"].set_index(["sample_id", "method"])["score"]
    for _, one in both.iterrows():
        alone = SampleEvaluator(plan, "test")(one.to_frame().T).to_pandas()
        alone = alone[alone["task"] == "editability"].set_index(["sample_id", "method"])["score"]
        for key, value in alone.items():
            assert edit[key] == pytest.approx(value, rel=1e-5, abs=1e-9), key  # float32 batches differ ~1e-7
    first = df["sample_id"].iloc[0]
    assert (edit.xs("twin-of-first").sort_index() == edit.xs(first).sort_index()).all()
