"""c2e_diffusion end to end on a tiny inpainting pipeline built here: load, LoRA-train, save, load, infer."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from sppe_ray.errors import BackendUnavailableError
from sppe_ray.models.recovery import create_recoverer
from sppe_ray.models.recovery.diffusion import DiffusionLoRA, load_pipeline, make_grid, prompt_for, target_mask
from tests.fixtures.tiny_pipelines import build_tiny_inpaint_pipeline, char_tokenizer


@pytest.fixture(scope="module")
def tiny_pipeline(tmp_path_factory):
    return build_tiny_inpaint_pipeline(tmp_path_factory.mktemp("tiny-inpaint"))


def test_grid_layout_prompt_and_tokenizer():
    p = [torch.full((1, 3, 4, 4), v) for v in (0.1, 0.2, 0.3, 0.4)]
    g = make_grid(*p)
    assert g.shape == (1, 3, 8, 8)
    assert float(g[0, 0, 0, 0]) == pytest.approx(0.1) and float(g[0, 0, 0, 7]) == pytest.approx(0.2)
    assert float(g[0, 0, 7, 0]) == pytest.approx(0.3) and float(g[0, 0, 7, 7]) == pytest.approx(0.4)
    assert float(make_grid(*p[:3])[0, 0, 7, 7]) == 0.0
    m = target_mask(1, 4)
    assert float(m.sum()) == 16 and float(m[0, 0, 7, 7]) == 1 and float(m[0, 0, 0, 7]) == 0
    assert prompt_for("019", "a105_face_all") == "Turn to be vintage [SPLIT] a105_face_all"
    ids = char_tokenizer()("ab [split]").input_ids
    assert len(set(ids)) > 4  # characters map to distinct known ids, not all to unk


def test_missing_pipeline_names_the_setting(tmp_path):
    with pytest.raises(BackendUnavailableError, match="recovery.pipeline"):
        load_pipeline(None)
    with pytest.raises(BackendUnavailableError, match="recovery.pipeline"):
        create_recoverer("c2e_diffusion", model=str(tmp_path / "nothing-here"), device="cpu")


def test_train_save_load_and_infer(tiny_pipeline, tmp_path):
    pipe = load_pipeline(tiny_pipeline, "cpu")
    trainer = DiffusionLoRA(pipe, rank=2, lr=1e-2, seed=0)
    lora = trainer.lora_parameters()
    assert lora and all(p.requires_grad for p in lora)
    assert not any(p.requires_grad for p in pipe.vae.parameters())
    before = [p.detach().clone() for p in lora]
    g = torch.Generator().manual_seed(0)
    batch = {k: torch.rand(2, 3, 32, 32, generator=g) for k in ("source", "surrogate", "surrogate_edit",
                                                                  "source_edit")}
    batch["mask"] = torch.ones(2, 1, 32, 32)
    batch["tag"] = torch.tensor([0, 2])
    for _ in range(2):
        parts = trainer.train_step(batch, [prompt_for("001"), prompt_for("032")])
    assert np.isfinite(parts["loss"]) and parts["loss_cycle"] > 0 and parts["loss_tag"] > 0
    assert any(not torch.equal(a, b) for a, b in zip(before, lora, strict=True))
    folder = trainer.save(tmp_path / "lora")

    rec = create_recoverer("c2e_diffusion", model=str(tiny_pipeline), lora=str(folder), device="cpu", steps=2,
                           panel=32)
    def lora_by_layer(unet):  # adapter names differ ("default" when trained, "default_0" when loaded)
        return {re.sub(r"\.default(_\d+)?\.", ".", n): p for n, p in unet.named_parameters() if "lora" in n}

    loaded, trained = lora_by_layer(rec.pipe.unet), lora_by_layer(pipe.unet)
    assert loaded and set(loaded) == set(trained), "LoRA layers were not attached on load"
    for name in list(trained)[:4]:
        torch.testing.assert_close(loaded[name].float(), trained[name].detach().float())

    rng = np.random.default_rng(0)
    src = rng.integers(0, 255, (40, 40, 3), dtype=np.uint8)
    out = rec.recover(src, src, src, np.ones((40, 40), bool), "019")
    assert out.shape == src.shape and out.dtype == np.uint8
    with pytest.raises(BackendUnavailableError):
        create_recoverer("c2e_diffusion", model=str(tiny_pipeline), lora=str(tmp_path), device="cpu")
