"""InstructPix2Pix backend: a tiny random pipeline built here, saved, and loaded back through create_editor."""

from __future__ import annotations

import json
import string

import numpy as np
import pytest

pytest.importorskip("diffusers")
torch = pytest.importorskip("torch")

from sppe_ray.editors import create_editor  # noqa: E402
from sppe_ray.errors import BackendUnavailableError, UnknownInstructionError  # noqa: E402


def _tokenizer(folder):
    """A CLIP BPE tokenizer over single characters: enough to tokenise the instruction texts."""
    from transformers import CLIPTokenizer

    chars = sorted(set(string.ascii_lowercase + string.digits + "'-,."))
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for ch in chars:
        vocab[ch] = len(vocab)
        vocab[ch + "</w>"] = len(vocab)
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("#version: 0.2\n")
    return CLIPTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"), pad_token="<|endoftext|>",
                         model_max_length=77)


@pytest.fixture(scope="module")
def tiny_pipeline(tmp_path_factory):
    from diffusers import (
        AutoencoderKL,
        EulerAncestralDiscreteScheduler,
        StableDiffusionInstructPix2PixPipeline,
        UNet2DConditionModel,
    )
    from transformers import CLIPTextConfig, CLIPTextModel

    root = tmp_path_factory.mktemp("ip2p")
    tok_dir = root / "tok"
    tok_dir.mkdir()
    tokenizer = _tokenizer(tok_dir)
    torch.manual_seed(0)
    unet = UNet2DConditionModel(
        block_out_channels=(8, 16), layers_per_block=1, sample_size=8, in_channels=8, out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"), up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=16, attention_head_dim=2, norm_num_groups=4)
    vae = AutoencoderKL(block_out_channels=(8, 16), in_channels=3, out_channels=3, latent_channels=4,
                        down_block_types=("DownEncoderBlock2D",) * 2, up_block_types=("UpDecoderBlock2D",) * 2,
                        norm_num_groups=4, sample_size=64)
    text = CLIPTextModel(CLIPTextConfig(vocab_size=len(tokenizer), hidden_size=16, intermediate_size=32,
                                        num_hidden_layers=1, num_attention_heads=2, max_position_embeddings=77,
                                        bos_token_id=0, eos_token_id=1, pad_token_id=1))
    pipe = StableDiffusionInstructPix2PixPipeline(
        vae=vae, text_encoder=text, tokenizer=tokenizer, unet=unet, scheduler=EulerAncestralDiscreteScheduler(),
        safety_checker=None, feature_extractor=None, requires_safety_checker=False)
    folder = root / "pipe"
    pipe.save_pretrained(folder)
    return folder


def test_tiny_pipeline_edits_with_right_shape_and_is_deterministic(tiny_pipeline):
    editor = create_editor("instruct_pix2pix", model=str(tiny_pipeline), steps=2, guidance=3.0, image_guidance=1.2)
    assert editor.name == "instruct_pix2pix" and editor.work_size == 64
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (48, 80, 3), dtype=np.uint8)  # odd size: output must come back at this size
    a = editor.edit(img, "001", seed=3)
    b = editor.edit(img, "001", seed=3)
    c = editor.edit(img, "001", seed=4)
    assert a.shape == img.shape and a.dtype == np.uint8
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)  # the seed drives the diffusion noise


def test_unknown_code_is_rejected_before_running(tiny_pipeline):
    editor = create_editor("instruct_pix2pix", model=str(tiny_pipeline), steps=1)
    with pytest.raises(UnknownInstructionError):
        editor.edit(np.zeros((64, 64, 3), np.uint8), "099", 0)


def test_missing_weights_name_the_setting(tmp_path):
    with pytest.raises(BackendUnavailableError, match="editor.model"):
        create_editor("instruct_pix2pix", model=str(tmp_path / "nowhere"))
    with pytest.raises(BackendUnavailableError, match="editor.model"):
        create_editor("instruct_pix2pix")
