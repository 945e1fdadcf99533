"""ERMA end to end on real Ray (Data + Train) and a real SQLite MLflow: fit, register, promotion rule, resume."""

from __future__ import annotations

import numpy as np
import pytest

from sppe_ray.config import ERMAConfig
from sppe_ray.imageio import encode_mask, encode_png
from sppe_ray.schema import table_from_rows
from sppe_ray.shards import build_manifest, write_manifest, write_shard

pytestmark = pytest.mark.slow
SIZE = 48


def _row(rng: np.random.Generator, i: int, split: str) -> dict:
    yy, xx = np.mgrid[0:SIZE, 0:SIZE] / SIZE
    src = np.stack(
        [yy * rng.uniform(60, 200), xx * rng.uniform(60, 200), np.full_like(xx, rng.uniform(40, 200))], 2
    )
    y0, x0 = rng.integers(4, SIZE // 2, size=2)
    side = int(rng.integers(14, SIZE // 2 - 2))
    checker = ((np.add.outer(np.arange(side), np.arange(side)) // 3) % 2) * 200.0 + 20
    src[y0 : y0 + side, x0 : x0 + side] = checker[..., None]
    mask = np.zeros((SIZE, SIZE), bool)
    mask[y0 : y0 + side, x0 : x0 + side] = True
    strength = float(rng.uniform(0, 1))
    sur = src.copy()
    sur[mask] = (1 - strength) * sur[mask] + strength * sur[mask].mean(axis=0)
    src, sur = src.clip(0, 255).astype(np.uint8), sur.clip(0, 255).astype(np.uint8)
    return {
        "sample_id": f"s{i:04d}",
        "split": split,
        "category": "a105_face_all",
        "instruction_code": "001",
        "instruction": "x",
        "task_tag": "ADD_REMOVE",
        "strategy": "blur",
        "source": encode_png(src),
        "mask": encode_mask(mask),
        "surrogate": encode_png(sur),
        "source_edit": None,
        "surrogate_edit": None,
        "editability": 1.0 - strength,
        "label_output": None,
        "label_region": None,
        "width": SIZE,
        "height": SIZE,
        "source_group": f"g{i}",
        "provenance": "{}",
    }


@pytest.fixture(scope="module")
def benchmark(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bench")
    rng = np.random.default_rng(0)
    rows = [_row(rng, i, "train" if i < 64 else "val" if i < 88 else "test") for i in range(100)]
    infos = [write_shard(table_from_rows(rows[a : a + 50]), folder, f"part-{a // 50:03d}") for a in (0, 50)]
    write_manifest(folder, build_manifest(infos))
    return folder


def _cfg(**over) -> ERMAConfig:
    base = {
        "text_encoder": "hashing",
        "hidden": [64, 32],
        "dropout": 0.0,
        "lr": 3e-3,
        "steps": 120,
        "warmup": 10,
        "batch_size": 32,
        "eval_every": 40,
        "seed": 0,
    }
    return ERMAConfig(**{**base, **over})


def test_fit_registers_champion_guards_it_and_resumes(ray_local, sppe_home, benchmark):
    from mlflow import MlflowClient

    from sppe_ray import tracking
    from sppe_ray.models.erma import ERMAPredictor
    from sppe_ray.train.erma import MODEL_NAME, fit_erma

    first = fit_erma(benchmark, _cfg(), sppe_home, image_kwargs={"size": 32}, actors=1)
    assert first["version"] == "1" and first["promoted"] is True
    assert first["steps"] == 120 and first["val_srcc"] > 0.6 and first["best_step"] in (40, 80, 120)
    assert np.isfinite(first["test_srcc"])
    tracking.configure(sppe_home)
    client = MlflowClient()
    assert str(client.get_model_version_by_alias(MODEL_NAME, "champion").version) == "1"
    history = client.get_metric_history(first["run_id"], "train/val_srcc")
    assert sorted(m.step for m in history) == [40, 80, 120]

    # A worse fit (a couple of tiny steps) is registered but must not take the alias.
    worse = fit_erma(
        benchmark,
        _cfg(steps=2, lr=1e-7, warmup=1, eval_every=1, seed=3),
        sppe_home,
        image_kwargs={"size": 32},
        actors=1,
        test_split=None,
    )
    assert worse["version"] == "2" and worse["promoted"] is False and worse["val_srcc"] < first["val_srcc"]
    assert str(client.get_model_version_by_alias(MODEL_NAME, "champion").version) == "1"

    # Resuming from the first fit's checkpoint continues its step count to the new total.
    resumed = fit_erma(
        benchmark,
        _cfg(steps=160),
        sppe_home,
        register=False,
        resume_from=first["checkpoint"],
        image_kwargs={"size": 32},
        actors=1,
        test_split=None,
    )
    assert resumed["start_step"] == 120 and resumed["steps"] == 160
    steps = sorted(m.step for m in client.get_metric_history(resumed["run_id"], "train/val_srcc"))
    assert steps == [160]
    assert resumed["val_srcc"] >= first["val_srcc"]  # the best score travels in the checkpoint

    folder, version = tracking.download_model(MODEL_NAME)
    assert version == "1"
    model = ERMAPredictor.load(folder)
    assert model.spec.use_mask and model.spec.use_detectors and model.encoders["image_kwargs"] == {"size": 32}


def _train_workers() -> list:
    """This process's Ray Train worker processes (Ray started here, so its workers are our descendants)."""
    import psutil

    found = []
    for proc in psutil.Process().children(recursive=True):
        try:
            if "RayTrainWorker" in " ".join(proc.cmdline()):
                found.append(proc)
        except psutil.Error:
            continue
    return found


def test_a_killed_train_worker_resumes_from_the_last_checkpoint(ray_local, sppe_home, benchmark):
    """SIGKILL the Ray Train worker once the fit has checkpointed: Ray Train restarts the worker group
    (`erma.max_failures`), the fit continues from its last checkpoint (`resumed_at_step` in the MLflow run)
    and finishes every step."""
    import json
    import os
    import signal
    import threading
    import time

    from mlflow import MlflowClient

    from sppe_ray.train.erma import fit_erma

    cfg = _cfg(steps=12000, eval_every=1000, max_failures=1)
    result: dict = {}
    fit = threading.Thread(target=lambda: result.update(fit_erma(benchmark, cfg, sppe_home, register=False)))
    fit.start()
    deadline = time.monotonic() + 300
    # two checkpoint folders on disk: the first one has surely been registered by Ray Train (a folder appears
    # before the controller records it, and a kill in between restarts from step 0)
    while len(list((sppe_home / "ray_results").glob("erma-*/checkpoint_*"))) < 2:
        assert fit.is_alive() and time.monotonic() < deadline, "the fit ended or stalled before two checkpoints"
        time.sleep(0.1)
    workers = _train_workers()
    assert len(workers) == 1, workers
    os.kill(workers[0].pid, signal.SIGKILL)
    fit.join(timeout=600)
    assert not fit.is_alive() and result, "the fit did not finish after its worker was killed"
    client = MlflowClient()
    resumed = [int(m.value) for m in client.get_metric_history(result["run_id"], "train/resumed_at_step")]
    evals = sorted(int(m.step) for m in client.get_metric_history(result["run_id"], "train/val_srcc"))
    redone = len(evals) - len(set(evals))  # evaluations run twice: done before the kill, again after the resume
    print(json.dumps({"resumed_at_step": resumed, "evaluations": len(evals), "evaluations_redone": redone,
                      "steps": result["steps"]}))
    assert len(resumed) == 1 and cfg.eval_every <= resumed[0] < cfg.steps  # resumed from a checkpoint, not step 0
    assert result["steps"] == cfg.steps and sorted(set(evals)) == list(range(1000, 12001, 1000))
