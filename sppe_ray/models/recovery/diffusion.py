"""C2E-S2SER, published form: an inpainting diffusion model with a LoRA on a 2x2 grid.

Grid (each panel `panel` px): top row the edit evidence (surrogate | edited surrogate), bottom row
source | target; the inpainting mask covers the bottom-right panel, whose generation is the recovered image.
Prompt: "<instruction> [SPLIT] <category>". Training (`DiffusionLoRA.train_step`) follows the published loss:
denoising MSE weighted per latent location by how much the surrogate changed (the change map is placed in the
target panel), a swap loss on the role-exchanged grid (top: source | edited source, bottom: surrogate | ?,
target: edited surrogate) and a 3-way task-tag cross-entropy on the UNet's mid-block features.

The pipeline loads from a local folder or a cached hub id with `local_files_only=True`: nothing downloads.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from sppe_ray.errors import BackendUnavailableError
from sppe_ray.models.recovery.base import check_batch_lengths, check_inputs
from sppe_ray.models.recovery.losses import change_weight
from sppe_ray.taxonomy import instruction_text

LORA_TARGETS = ["to_q", "to_k", "to_v", "to_out.0"]
TAG_HEAD_FILE = "tag_head.pt"
META_FILE = "c2e_lora.json"
DEFAULT_CATEGORY = "private content"


def prompt_for(instruction_code: str, category: str | None = None) -> str:
    """The published prompt layout."""
    return f"{instruction_text(instruction_code)} [SPLIT] {category or DEFAULT_CATEGORY}"


def make_grid(top_left: torch.Tensor, top_right: torch.Tensor, bottom_left: torch.Tensor,
              bottom_right: torch.Tensor | None = None) -> torch.Tensor:
    """(N,3,P,P) panels -> (N,3,2P,2P); a missing bottom-right panel is left black (the inpainting hole)."""
    br = torch.zeros_like(bottom_left) if bottom_right is None else bottom_right
    return torch.cat([torch.cat([top_left, top_right], -1), torch.cat([bottom_left, br], -1)], -2)


def target_mask(n: int, panel: int, device: Any = "cpu") -> torch.Tensor:
    """(N,1,2P,2P) inpainting mask: 1 on the bottom-right panel only."""
    m = torch.zeros(n, 1, 2 * panel, 2 * panel, device=device)
    m[..., panel:, panel:] = 1.0
    return m


def load_pipeline(model: str | Path | None, device: str = "cpu", dtype: torch.dtype = torch.float32) -> Any:
    """StableDiffusionInpaintPipeline from a local folder / cached id; BackendUnavailableError when missing."""
    if not model:
        raise BackendUnavailableError("c2e_diffusion needs an inpainting pipeline: set recovery.pipeline to a local "
                                      "folder or a cached hub id")
    from diffusers import StableDiffusionInpaintPipeline

    extra = {} if dtype == torch.float32 else {"torch_dtype": dtype}  # the kwarg's name moves across versions
    try:
        pipe = StableDiffusionInpaintPipeline.from_pretrained(
            str(model), local_files_only=True, safety_checker=None, requires_safety_checker=False, **extra)
    except (OSError, ValueError) as exc:
        raise BackendUnavailableError(
            f"cannot load the inpainting pipeline {model!r} offline ({type(exc).__name__}): set recovery.pipeline to "
            "a local pipeline folder or a hub id already in the cache") from None
    pipe.set_progress_bar_config(disable=True)
    return pipe.to(device)


class DiffusionLoRA:
    """LoRA fine-tuning of the pipeline's UNet on grids, plus the tag head; `save`/`load_into` a folder."""

    def __init__(self, pipe: Any, rank: int = 4, lr: float = 1e-4, alpha: float = 4.0, lambda_cycle: float = 0.5,
                 lambda_tag: float = 0.1, seed: int = 0) -> None:
        from peft import LoraConfig

        self.pipe, self.rank, self.alpha = pipe, rank, alpha
        self.lambda_cycle, self.lambda_tag = lambda_cycle, lambda_tag
        unet = pipe.unet
        for module in (pipe.vae, pipe.text_encoder, unet):
            module.requires_grad_(False)
        unet.add_adapter(LoraConfig(r=rank, lora_alpha=rank, init_lora_weights="gaussian",
                                    target_modules=LORA_TARGETS))
        self.device = unet.device
        self.tag_head = torch.nn.Linear(unet.config.block_out_channels[-1], 3).to(self.device)
        self._mid: list[torch.Tensor] = []
        unet.mid_block.register_forward_hook(lambda _m, _i, out: self._mid.append(out))
        self.opt = torch.optim.AdamW(self.trainable_parameters(), lr=lr)
        self.gen = torch.Generator(device="cpu").manual_seed(seed)

    def lora_parameters(self) -> list[torch.Tensor]:
        return [p for n, p in self.pipe.unet.named_parameters() if "lora" in n and p.requires_grad]

    def _encode(self, images: torch.Tensor, sample: bool) -> torch.Tensor:
        dist = self.pipe.vae.encode(images * 2 - 1).latent_dist
        lat = dist.sample(generator=self.gen) if sample else dist.mode()
        return lat * self.pipe.vae.config.scaling_factor

    def loss(self, batch: dict[str, torch.Tensor], prompts: Sequence[str]) -> tuple[torch.Tensor, dict[str, float]]:
        """The published loss on a batch of NCHW [0,1] panels (source, surrogate, *_edit, mask, tag)."""
        pipe, unet = self.pipe, self.pipe.unet
        b = {k: v.to(self.device) for k, v in batch.items()}
        n, panel = b["source"].shape[0], b["source"].shape[-1]
        # forward grids, then role-swapped grids (source <-> surrogate), as one batch
        target = torch.cat([make_grid(b["surrogate"], b["surrogate_edit"], b["source"], b["source_edit"]),
                            make_grid(b["source"], b["source_edit"], b["surrogate"], b["surrogate_edit"])])
        change = torch.cat([change_weight(b["surrogate"], b["surrogate_edit"], self.alpha),
                            change_weight(b["source"], b["source_edit"], self.alpha)])
        weight = torch.ones(2 * n, 1, 2 * panel, 2 * panel, device=self.device)
        weight[..., panel:, panel:] = change
        hole = target_mask(2 * n, panel, self.device)
        dtype = unet.dtype
        with torch.no_grad():
            latents = self._encode(target.to(dtype), sample=True)
            masked = self._encode((target * (1 - hole)).to(dtype), sample=False)
            ids = pipe.tokenizer(list(prompts) * 2, padding="max_length", truncation=True,
                                 max_length=pipe.tokenizer.model_max_length, return_tensors="pt").input_ids
            text = pipe.text_encoder(ids.to(self.device))[0]
        size = latents.shape[-2:]
        noise = torch.randn(latents.shape, generator=self.gen).to(self.device, dtype)
        t = torch.randint(0, pipe.scheduler.config.num_train_timesteps, (2 * n,), generator=self.gen).to(self.device)
        noisy = pipe.scheduler.add_noise(latents, noise, t)
        unet_in = torch.cat([noisy, F.interpolate(hole, size=size).to(dtype), masked], 1)
        self._mid.clear()
        pred = unet(unet_in, t, encoder_hidden_states=text).sample
        goal = noise if pipe.scheduler.config.prediction_type == "epsilon" else \
            pipe.scheduler.get_velocity(latents, noise, t)
        w = F.interpolate(weight, size=size, mode="area")
        per = ((pred.float() - goal.float()) ** 2).mean(1, keepdim=True) * w
        per = per.sum((1, 2, 3)) / w.sum((1, 2, 3))
        rec, cyc = per[:n].mean(), per[n:].mean()
        logits = self.tag_head(self._mid[-1].float().mean((2, 3)))
        tag = F.cross_entropy(logits, b["tag"].long().repeat(2))
        total = rec + self.lambda_cycle * cyc + self.lambda_tag * tag
        parts = {"loss": total, "loss_rec": rec, "loss_cycle": cyc, "loss_tag": tag}
        return total, {k: float(v.detach()) for k, v in parts.items()}

    def train_step(self, batch: dict[str, torch.Tensor], prompts: Sequence[str],
                   grad_hook: Any = None) -> dict[str, float]:
        """One optimiser step; `grad_hook(params)` runs between backward and step (data-parallel all-reduce)."""
        total, parts = self.loss(batch, prompts)
        self.opt.zero_grad(set_to_none=True)
        total.backward()
        if grad_hook is not None:
            grad_hook(self.trainable_parameters())
        self.opt.step()
        return parts

    def trainable_parameters(self) -> list[torch.Tensor]:
        return self.lora_parameters() + list(self.tag_head.parameters())

    def save(self, folder: str | Path) -> Path:
        """LoRA weights in the diffusers format (`load_lora_weights` reads them) + tag head + meta."""
        from diffusers import StableDiffusionInpaintPipeline
        from diffusers.utils import convert_state_dict_to_diffusers
        from peft.utils import get_peft_model_state_dict

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        layers = convert_state_dict_to_diffusers(get_peft_model_state_dict(self.pipe.unet))
        StableDiffusionInpaintPipeline.save_lora_weights(folder, unet_lora_layers=layers)
        torch.save(self.tag_head.state_dict(), folder / TAG_HEAD_FILE)
        (folder / META_FILE).write_text(json.dumps({"arch": "c2e_diffusion_lora", "rank": self.rank}))
        return folder


class C2EDiffusionRecoverer:
    """The `c2e_diffusion` recoverer: grid in, bottom-right panel out, resized back to the source."""

    name = "c2e_diffusion"

    def __init__(self, pipe: Any, steps: int = 20, guidance: float = 3.0, panel: int = 256, seed: int = 0,
                 category: str | None = None) -> None:
        self.pipe, self.steps, self.guidance, self.panel, self.seed = pipe, steps, guidance, panel, seed
        self.category = category

    @classmethod
    def from_setting(cls, model: str | Path | None = None, lora: str | Path | None = None, device: str | None = None,
                     **kwargs: Any) -> C2EDiffusionRecoverer:
        """`model` = recovery.pipeline (pipeline folder or cached id); `lora` = a folder written by DiffusionLoRA."""
        device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        dtype = torch.float16 if device.startswith("cuda") else torch.float32
        pipe = load_pipeline(model, device, dtype)
        if lora is not None:
            if not (Path(lora) / META_FILE).is_file():
                raise BackendUnavailableError(
                    f"no c2e_diffusion LoRA in {lora}: point it at a folder written by DiffusionLoRA.save")
            pipe.load_lora_weights(str(lora))
        return cls(pipe, **kwargs)

    def recover(self, source, surrogate, surrogate_edit, mask, instruction_code) -> np.ndarray:
        return self.recover_batch([source], [surrogate], [surrogate_edit], [mask], [instruction_code])[0]

    def recover_batch(self, sources, surrogates, surrogate_edits, masks, instruction_codes,
                      categories: Sequence[str | None] | None = None) -> list[np.ndarray]:
        from PIL import Image

        n = check_batch_lengths(sources, surrogates, surrogate_edits, masks, instruction_codes)
        rows = [check_inputs(*r) for r in zip(sources, surrogates, surrogate_edits, masks, instruction_codes,
                                              strict=True)]
        cats = list(categories) if categories is not None else [self.category] * n
        p = self.panel

        def panel(img: np.ndarray) -> torch.Tensor:
            pil = Image.fromarray(img).resize((p, p), Image.Resampling.BICUBIC)
            return torch.from_numpy(np.asarray(pil, np.float32) / 255).permute(2, 0, 1)[None]

        grids = [make_grid(panel(r[1]), panel(r[2]), panel(r[0]))[0] for r in rows]
        images = [Image.fromarray((g.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)) for g in grids]
        hole = Image.fromarray((target_mask(1, p)[0, 0].numpy() * 255).astype(np.uint8))
        out = self.pipe(prompt=[prompt_for(r[4], c) for r, c in zip(rows, cats, strict=True)], image=images,
                        mask_image=[hole] * n, height=2 * p, width=2 * p, num_inference_steps=self.steps,
                        guidance_scale=self.guidance, output_type="np",
                        generator=torch.Generator().manual_seed(self.seed)).images
        results = []
        for r, img in zip(rows, out, strict=True):
            corner = (np.clip(img[p:, p:], 0, 1) * 255).round().astype(np.uint8)
            h, w = r[0].shape[:2]
            results.append(np.asarray(Image.fromarray(corner).resize((w, h), Image.Resampling.BICUBIC)))
        return results
