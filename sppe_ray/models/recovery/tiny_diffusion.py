"""A tiny, randomly initialised Stable Diffusion inpainting pipeline, built from configs on the spot.

Why it exists: no diffusion weights can be downloaded here, yet the `c2e_diffusion` path (grid layout, LoRA
training, save/load through `from_pretrained`, inference) must be exercised end to end in tests and demos.
Everything is tiny (32-channel UNet with 9 input channels, 2-level VAE, 2-layer CLIP text encoder) and the
tokenizer is written by hand: a character-level CLIP BPE vocabulary with no merges.
"""

from __future__ import annotations

import string
from pathlib import Path

SPECIALS = ("<|startoftext|>", "<|endoftext|>")


def char_vocab() -> dict[str, int]:
    """A character-level CLIP BPE vocabulary: every char with and without the end-of-word mark, + specials.

    With no merges, BPE spells each word letter by letter, so any prompt maps to known ids (lowercased).
    """
    chars = sorted(set(string.ascii_lowercase + string.digits + string.punctuation))
    tokens = [*chars, *(c + "</w>" for c in chars), *SPECIALS]
    return {t: i for i, t in enumerate(tokens)}


def char_tokenizer(max_length: int = 64):
    """The hand-written tokenizer (transformers CLIPTokenizer over `char_vocab`, no merges)."""
    from transformers import CLIPTokenizer

    return CLIPTokenizer(vocab=char_vocab(), merges=[], model_max_length=max_length,
                         bos_token=SPECIALS[0], eos_token=SPECIALS[1], pad_token=SPECIALS[1],
                         unk_token=SPECIALS[1])


def build_tiny_inpaint_pipeline(folder: str | Path, seed: int = 0) -> Path:
    """Create, save (`save_pretrained`) and return the folder of a tiny inpainting pipeline."""
    import torch
    from diffusers import AutoencoderKL, DDPMScheduler, StableDiffusionInpaintPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    folder = Path(folder)
    torch.manual_seed(seed)
    tokenizer = char_tokenizer()
    text = CLIPTextModel(CLIPTextConfig(
        hidden_size=32, intermediate_size=37, num_attention_heads=4, num_hidden_layers=2,
        vocab_size=len(tokenizer), max_position_embeddings=64,
        bos_token_id=tokenizer.convert_tokens_to_ids(SPECIALS[0]),
        eos_token_id=tokenizer.convert_tokens_to_ids(SPECIALS[1]),
        pad_token_id=tokenizer.convert_tokens_to_ids(SPECIALS[1])))
    unet = UNet2DConditionModel(
        sample_size=32, in_channels=9, out_channels=4, layers_per_block=1, block_out_channels=(32, 64),
        down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"), up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
        cross_attention_dim=32, attention_head_dim=8, norm_num_groups=32)
    vae = AutoencoderKL(
        in_channels=3, out_channels=3, latent_channels=4, block_out_channels=(32, 64), norm_num_groups=32,
        down_block_types=("DownEncoderBlock2D", "DownEncoderBlock2D"),
        up_block_types=("UpDecoderBlock2D", "UpDecoderBlock2D"), sample_size=64)
    pipe = StableDiffusionInpaintPipeline(
        vae=vae, text_encoder=text, tokenizer=tokenizer, unet=unet,
        scheduler=DDPMScheduler(num_train_timesteps=1000, beta_schedule="scaled_linear", steps_offset=1),
        safety_checker=None, feature_extractor=None, requires_safety_checker=False)
    pipe.save_pretrained(folder)
    return folder
