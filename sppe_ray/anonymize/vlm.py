"""Stage 1 real backend: a vision-language model writes the sections, a language model the edit instruction.

Both load through transformers from a local folder or an already-cached hub id (``local_files_only``), so
nothing is downloaded; missing weights raise one BackendUnavailableError naming the setting. The answer goes
through the same parser as the template producer's (captions.parse_sections). A model that does not write
the sections leaves the captions empty and the record says so (``parsed: false``); the flag then rests on
the detections alone.
"""

from __future__ import annotations

import numpy as np

from sppe_ray.anonymize.captions import Captions, parse_flag, parse_sections
from sppe_ray.errors import BackendUnavailableError
from sppe_ray.privacy.region import Region

CAPTION_PROMPT = (
    "You review a photo of class '{image_class}' for privacy. Answer in three sections. PRIVACY_REVIEW: up to "
    "five ITEM/REASON pairs for faces, bodies, text, documents, plates, screens, settings or symbols that could "
    "identify someone. FULL_VISUAL_DESCRIPTION: at most 50 words on everything visible. "
    "PRIVACY_PRESERVING_DESCRIPTION: at most 50 words centred on the {image_class}, without the reviewed items, "
    "keeping pose, size and position. PRIVACY_FLAG: TRUE or FALSE (TRUE when unsure)."
)
INSTRUCTION_PROMPT = (
    "Public caption: {public_caption}\nWrite one edit instruction that changes the identity of every person "
    "and every piece of private text (realistic, significant changes; layout and actions unchanged), at most "
    "45 words.\nInstruction:"
)


def _load(kind: str, name: str | None, setting: str):  # noqa: ANN202 - (processor or tokenizer, model)
    if not name:
        raise BackendUnavailableError(f"anonymize.captioner=vlm needs {setting}: a local model folder or a hub id "
                                      "already in the local cache")
    from transformers import AutoModelForCausalLM, AutoModelForImageTextToText, AutoProcessor, AutoTokenizer

    pre, model = (AutoProcessor, AutoModelForImageTextToText) if kind == "vlm" else (AutoTokenizer,
                                                                                    AutoModelForCausalLM)
    try:
        return (pre.from_pretrained(name, local_files_only=True),
                model.from_pretrained(name, local_files_only=True).eval())
    except (OSError, ValueError) as exc:
        raise BackendUnavailableError(f"cannot load {setting}={name!r} ({type(exc).__name__}: "
                                      f"{str(exc).splitlines()[0][:160]}); set {setting} to a local folder or "
                                      "a cached hub id") from None


def _new_tokens(ids, prompt_ids):  # noqa: ANN001, ANN202 - torch tensors
    """Only what the model wrote: captioners and decoder-only models return the prompt first (BLIP swaps its
    first token for its decoder's start token, so the prompt is matched from the second token on)."""
    n = prompt_ids.shape[1]
    if ids.shape[1] >= n and bool((ids[:, 1:n] == prompt_ids[:, 1:n]).all()):
        return ids[:, n:]
    return ids


class VLMCaptioner:
    """Published stage 1 with our prompts: VLM sections, then an LM instruction from the public caption."""

    name = "vlm"

    def __init__(self, vlm_model: str | None, lm_model: str | None, max_new_tokens: int = 96) -> None:
        self.processor, self.vlm = _load("vlm", vlm_model, "anonymize.vlm_model")
        self.tokenizer, self.lm = _load("lm", lm_model, "anonymize.lm_model")
        self.max_new_tokens = int(max_new_tokens)

    def _generate_caption(self, image: np.ndarray, image_class: str) -> str:
        import torch
        from PIL import Image

        prompt = CAPTION_PROMPT.format(image_class=image_class or "photo")
        inputs = self.processor(images=Image.fromarray(image), text=prompt, return_tensors="pt")
        with torch.no_grad():
            ids = self.vlm.generate(**inputs, max_new_tokens=self.max_new_tokens, do_sample=False)
        return self.processor.batch_decode(_new_tokens(ids, inputs["input_ids"]), skip_special_tokens=True)[0]

    def _generate_instruction(self, public: str) -> str:
        import torch

        prompt = INSTRUCTION_PROMPT.format(public_caption=public)
        inputs = self.tokenizer(prompt, return_tensors="pt")
        with torch.no_grad():
            ids = self.lm.generate(**inputs, max_new_tokens=self.max_new_tokens, do_sample=False)
        text = self.tokenizer.decode(_new_tokens(ids, inputs["input_ids"])[0], skip_special_tokens=True)
        return " ".join(text.split())

    def caption(self, image: np.ndarray, image_class: str, regions: list[Region], seed: int) -> tuple[Captions, str]:
        raw = self._generate_caption(image, image_class)
        sections = parse_sections(raw)
        flag = parse_flag(raw) if sections else None  # no sections: the answer is not the asked format
        public = sections.get("PRIVACY_PRESERVING_DESCRIPTION", "")
        instruction = self._generate_instruction(public) if public else ""
        captions = Captions(bool(flag) or bool(regions), sections.get("FULL_VISUAL_DESCRIPTION", ""), public,
                            instruction, sections.get("PRIVACY_REVIEW", ""))
        return captions, raw
