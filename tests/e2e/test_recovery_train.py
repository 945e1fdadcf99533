"""C2E-S2SER fitting end to end: real Ray Data + Train, real SQLite MLflow, registry alias, checkpoint resume."""

from __future__ import annotations

import numpy as np
import pytest

from sppe_ray.config import RecoveryConfig
from sppe_ray.imageio import encode_mask, encode_png
from sppe_ray.schema import table_from_rows
from sppe_ray.shards import build_manifest, write_manifest, write_shard

pytestmark = pytest.mark.slow
SIZE = 64


def _row(rng: np.random.Generator, i: int, split: str) -> dict:
    """Source with a textured square 'face'; noise surrogate there; a tint edit applied to both images."""
    yy, xx = np.mgrid[0:SIZE, 0:SIZE] / SIZE
    src = np.stack([yy * 180 + 30, xx * 160 + 40, np.full_like(xx, rng.uniform(40, 200))], 2)
    y0, x0 = rng.integers(4, SIZE // 2, size=2)
    side = 20
    checker = ((np.add.outer(np.arange(side), np.arange(side)) // 3) % 2) * 150.0 + 50
    src[y0:y0 + side, x0:x0 + side] = checker[..., None]
    mask = np.zeros((SIZE, SIZE), bool)
    mask[y0:y0 + side, x0:x0 + side] = True
    sur = src.copy()
    sur[mask] = rng.uniform(0, 255, (int(mask.sum()), 3))
    gain = np.array([1.0 + rng.uniform(0.1, 0.4), 0.9, 0.8])

    def edit(img):
        return np.clip(img * gain + 10, 0, 255).astype(np.uint8)

    src8, sur8 = src.clip(0, 255).astype(np.uint8), sur.clip(0, 255).astype(np.uint8)
    return {"sample_id": f"r{i:04d}", "split": split, "category": "a105_face_all", "instruction_code": "019",
            "instruction": "Turn to be vintage", "task_tag": "STYLE", "strategy": "noise",
            "source": encode_png(src8), "mask": encode_mask(mask), "surrogate": encode_png(sur8),
            "source_edit": encode_png(edit(src)), "surrogate_edit": encode_png(edit(sur)), "editability": 0.5,
            "label_output": 0.5, "label_region": 0.5, "width": SIZE, "height": SIZE, "source_group": f"g{i}",
            "provenance": "{}"}


@pytest.fixture(scope="module")
def benchmark(tmp_path_factory):
    folder = tmp_path_factory.mktemp("recovery-bench")
    rng = np.random.default_rng(0)
    rows = [_row(rng, i, "train" if i < 24 else "val") for i in range(32)]
    infos = [write_shard(table_from_rows(rows[a:a + 16]), folder, f"part-{a // 16:03d}") for a in (0, 16)]
    write_manifest(folder, build_manifest(infos))
    return folder


def _cfg(**over) -> RecoveryConfig:
    base = {"width": 8, "lr": 3e-3, "steps": 6, "batch_size": 8, "crop": 32, "eval_every": 3, "seed": 0}
    return RecoveryConfig(**{**base, **over})


def test_fit_registers_champion_and_resumes(ray_local, sppe_home, benchmark):
    from mlflow import MlflowClient

    from sppe_ray import tracking
    from sppe_ray.models.recovery import create_recoverer
    from sppe_ray.models.recovery.c2e_net import REGISTERED_NAME
    from sppe_ray.train.recovery import fit_recovery

    first = fit_recovery(benchmark, _cfg(), sppe_home, val_crop=SIZE)
    assert first["version"] == "1" and first["promoted"] is True
    assert first["step"] == 6 and first["start_step"] == 0
    assert np.isfinite(first["val_gt_psnr"]) and first["val_gt_psnr"] > 5
    champion = MlflowClient().get_model_version_by_alias(REGISTERED_NAME, tracking.CHAMPION)
    assert str(champion.version) == "1"
    folder, version = tracking.download_model(REGISTERED_NAME)
    assert version == "1"
    rec = create_recoverer("c2e_net", model=str(folder), device="cpu")
    img = np.full((SIZE, SIZE, 3), 90, np.uint8)
    np.testing.assert_array_equal(rec.recover(img, img, img, np.ones((SIZE, SIZE), bool), "019"), img)

    resumed = fit_recovery(benchmark, _cfg(steps=9), sppe_home, val_crop=SIZE, resume_from=first["checkpoint"])
    assert resumed["start_step"] == 6 and resumed["step"] == 9
    assert resumed["version"] == "2"
    current = str(MlflowClient().get_model_version_by_alias(REGISTERED_NAME, tracking.CHAMPION).version)
    assert current == ("2" if resumed["val_gt_psnr"] > first["val_gt_psnr"] else "1")
    assert resumed["promoted"] is (current == "2")


def test_fit_diffusion_lora_on_a_tiny_pipeline(ray_local, sppe_home, benchmark, tmp_path):
    from sppe_ray.models.recovery import create_recoverer
    from sppe_ray.train.recovery import fit_recovery
    from sppe_ray.train.recovery_diffusion import REGISTERED_NAME, SCORE
    from tests.fixtures.tiny_pipelines import build_tiny_inpaint_pipeline

    pipe_dir = build_tiny_inpaint_pipeline(tmp_path / "tiny")
    cfg = _cfg(backend="c2e_diffusion", pipeline=str(pipe_dir), steps=2, eval_every=2, batch_size=4, lora_rank=2,
               lr=1e-3)
    out = fit_recovery(benchmark, cfg, sppe_home, max_val=4)
    assert out["registered_name"] == REGISTERED_NAME and out["version"] == "1" and out["promoted"] is True
    assert np.isfinite(out[SCORE]) and out["step"] == 2
    rec = create_recoverer("c2e_diffusion", model=str(pipe_dir), lora=out["model_dir"], device="cpu", steps=2,
                           panel=32)
    img = np.full((SIZE, SIZE, 3), 90, np.uint8)
    assert rec.recover(img, img, img, np.ones((SIZE, SIZE), bool), "019").shape == img.shape
