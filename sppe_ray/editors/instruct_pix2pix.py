"""InstructPix2Pix through diffusers, loaded only from a local folder or an already-cached hub id.

Nothing is downloaded at run time (``local_files_only=True``); missing weights raise BackendUnavailableError
naming ``editor.model``. The output is resized back to the input size so the Editor contract holds whatever
resolution the pipeline works at.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from sppe_ray.editors.base import EditorError, check_output, check_request
from sppe_ray.errors import BackendUnavailableError
from sppe_ray.taxonomy import get_instruction


def _load_pipeline(model: str, device: str, dtype: Any) -> Any:
    try:
        from diffusers import StableDiffusionInstructPix2PixPipeline
    except ImportError as exc:  # pragma: no cover - diffusers is a declared dependency
        raise BackendUnavailableError(f"diffusers is not installed ({exc}); install it or set editor.name.") from None
    from diffusers.pipelines import pipeline_utils

    # Newer diffusers renamed torch_dtype to dtype (the old name warns); older ones only know torch_dtype.
    dtype_kw = {"dtype": dtype} if hasattr(pipeline_utils, "_resolve_dtype") else {"torch_dtype": dtype}
    try:
        pipe = StableDiffusionInstructPix2PixPipeline.from_pretrained(
            model, local_files_only=True, safety_checker=None, requires_safety_checker=False, **dtype_kw)
    except (OSError, ValueError) as exc:
        raise BackendUnavailableError(
            f"no InstructPix2Pix weights at {model!r} ({type(exc).__name__}); set editor.model to a local "
            "pipeline folder or a hub id already in the local cache.") from None
    pipe = pipe.to(device)
    pipe.set_progress_bar_config(disable=True)
    return pipe


class InstructPix2PixEditor:
    """Editor protocol over ``StableDiffusionInstructPix2PixPipeline`` (GPU when present, else CPU)."""

    name = "instruct_pix2pix"

    def __init__(self, model: str | None = None, inference_steps: int = 20, guidance: float = 7.5,
                 image_guidance: float = 1.5, device: str | None = None, work_size: int | None = None) -> None:
        if not model:
            raise BackendUnavailableError("instruct_pix2pix needs weights; set editor.model to a local pipeline "
                                          "folder or a cached hub id (e.g. timbrooks/instruct-pix2pix).")
        if inference_steps < 1:
            raise ValueError(f"inference_steps must be >= 1, got {inference_steps}")
        import torch

        self.model = str(model)
        self.steps, self.guidance = int(inference_steps), float(guidance)
        self.image_guidance = float(image_guidance)
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        dtype = torch.float16 if self.device.startswith("cuda") else torch.float32
        self.pipe = _load_pipeline(self.model, self.device, dtype)
        # The UNet works on multiples of 8 in pixel space (VAE downsampling); default to the VAE's sample size.
        cfg_size = getattr(getattr(self.pipe, "vae", None), "config", None)
        self.work_size = int(work_size or getattr(cfg_size, "sample_size", 512) or 512)
        self.version = f"{self.model.rstrip('/').split('/')[-1]}:{self.steps}:{self.guidance}:{self.image_guidance}"

    def _work_shape(self, h: int, w: int) -> tuple[int, int]:
        scale = self.work_size / max(h, w)
        return max(8, int(round(h * scale / 8)) * 8), max(8, int(round(w * scale / 8)) * 8)

    def edit(self, image: np.ndarray, instruction_code: str, seed: int) -> np.ndarray:
        img, code, seed32 = check_request(image, instruction_code, seed)
        return self.edit_text(img, get_instruction(code).text, seed32)

    def edit_text(self, img: np.ndarray, prompt: str, seed: int) -> np.ndarray:
        """Edit by a free-text instruction (dataset anonymization's EDIT_INSTRUCTION); `img` RGB uint8."""
        import torch
        from PIL import Image

        seed32 = int(seed) % 2**32
        h, w = img.shape[:2]
        wh, ww = self._work_shape(h, w)
        src = Image.fromarray(cv2.resize(img, (ww, wh), interpolation=cv2.INTER_AREA))
        generator = torch.Generator(device="cpu").manual_seed(seed32)
        try:
            result = self.pipe(prompt=prompt, image=src, num_inference_steps=self.steps,
                               guidance_scale=self.guidance, image_guidance_scale=self.image_guidance,
                               generator=generator, output_type="np")
        except RuntimeError as exc:
            raise EditorError(f"instruct_pix2pix failed: {exc}") from exc
        arr = np.asarray(result.images[0])
        out = np.clip(np.nan_to_num(arr) * 255 + 0.5, 0, 255).astype(np.uint8)
        out = cv2.resize(out, (w, h), interpolation=cv2.INTER_CUBIC if (ww < w) else cv2.INTER_AREA)
        return check_output(np.ascontiguousarray(out), img, self.name)
