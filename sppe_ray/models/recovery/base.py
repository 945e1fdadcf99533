"""The recovery protocol: turn (source, surrogate, edited surrogate, mask, instruction) into the edited source.

Why one protocol: the evaluation job, the Serve deployment and the benchmark compare classical baselines,
the compact C2E network and the diffusion backend side by side; they must all take the same five inputs
and return an image of the source's shape, so every caller validates inputs here once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np

from sppe_ray.errors import ImageError
from sppe_ray.registry import Registry
from sppe_ray.taxonomy import TASK_TAGS, normalize_code

#: Recoverers by name, in the order reports list them; backends import lazily (the baselines need no torch).
RECOVERERS = Registry("recovery method", "eval.recovery_methods / serve.recovery_method")
RECOVERERS.add("edited_surrogate", "sppe_ray.models.recovery.baselines:EditedSurrogate",
               "the edited surrogate as is (the private region stays replaced)")
RECOVERERS.add("paste_back", "sppe_ray.models.recovery.baselines:PasteBack",
               "the edited surrogate with the source pasted back inside the mask")
RECOVERERS.add("local_transfer", "sppe_ray.models.recovery.baselines:LocalTransfer",
               "the edit's change outside and its colour/lighting shift inside the mask carried onto the source")
RECOVERERS.add("c2e_net", "sppe_ray.models.recovery.c2e_net:C2ENetRecoverer.from_setting",
               "C2E-S2SER compact network (registry sppe-c2e-s2ser or recovery.model)", needs_weights=True,
               gpu="optional")
RECOVERERS.add("c2e_diffusion", "sppe_ray.models.recovery.diffusion:C2EDiffusionRecoverer.from_setting",
               "C2E-S2SER diffusion backend: an inpainting pipeline (recovery.pipeline) + a fitted LoRA",
               needs_weights=True, gpu="optional")
#: Index of each task tag in the 3-way tag head (ADD_REMOVE / EDIT / STYLE).
TAG_INDEX: dict[str, int] = {tag: i for i, tag in enumerate(TASK_TAGS)}


@runtime_checkable
class Recoverer(Protocol):
    """Anything that transfers an edit from the surrogate onto the private source."""

    name: str

    def recover(self, source: np.ndarray, surrogate: np.ndarray, surrogate_edit: np.ndarray,
                mask: np.ndarray, instruction_code: str) -> np.ndarray: ...

    def recover_batch(self, sources: Sequence[np.ndarray], surrogates: Sequence[np.ndarray],
                      surrogate_edits: Sequence[np.ndarray], masks: Sequence[np.ndarray],
                      instruction_codes: Sequence[str]) -> list[np.ndarray]: ...


def check_inputs(source: Any, surrogate: Any, surrogate_edit: Any, mask: Any,
                 instruction_code: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, str]:
    """Validate one sample; return (source, surrogate, surrogate_edit, mask as bool, normalised code).

    A shape mismatch raises ImageError (the caller sent images of different samples); an unknown code raises
    UnknownInstructionError. The editor may return a slightly different size: callers resize before this.
    """
    images = []
    for label, img in (("source", source), ("surrogate", surrogate), ("surrogate_edit", surrogate_edit)):
        arr = np.asarray(img)
        if arr.dtype != np.uint8 or arr.ndim != 3 or arr.shape[2] != 3:
            raise ImageError(f"{label} must be a uint8 RGB array of shape (H, W, 3), got {arr.dtype} {arr.shape}")
        if arr.shape[0] < 8 or arr.shape[1] < 8:
            raise ImageError(f"{label} is too small ({arr.shape[1]}x{arr.shape[0]}); need at least 8x8")
        images.append(arr)
    shape = images[0].shape
    for label, arr in zip(("surrogate", "surrogate_edit"), images[1:], strict=True):
        if arr.shape != shape:
            raise ImageError(f"{label} shape {arr.shape} differs from source shape {shape}")
    m = np.asarray(mask)
    if m.ndim == 3 and m.shape[2] == 1:
        m = m[..., 0]
    if m.shape != shape[:2]:
        raise ImageError(f"mask shape {m.shape} differs from image size {shape[:2]}")
    return images[0], images[1], images[2], m.astype(bool), normalize_code(instruction_code)


class BatchByLoop:
    """Mixin: `recover_batch` as a loop over `recover`, for recoverers with no batched fast path."""

    def recover_batch(self, sources: Sequence[np.ndarray], surrogates: Sequence[np.ndarray],
                      surrogate_edits: Sequence[np.ndarray], masks: Sequence[np.ndarray],
                      instruction_codes: Sequence[str]) -> list[np.ndarray]:
        check_batch_lengths(sources, surrogates, surrogate_edits, masks, instruction_codes)
        return [self.recover(*row) for row in zip(sources, surrogates, surrogate_edits, masks,  # type: ignore
                                                  instruction_codes, strict=True)]


def check_batch_lengths(*columns: Sequence[Any]) -> int:
    """All batch columns must have the same length; returns it."""
    lengths = {len(c) for c in columns}
    if len(lengths) != 1:
        raise ImageError(f"batch columns have different lengths: {sorted(lengths)}")
    return lengths.pop()


def create_recoverer(name: str, **kwargs: Any) -> Recoverer:
    """Build a recoverer by name; an unknown name is a ConfigError listing the choices."""
    return RECOVERERS.create(name, **kwargs)
