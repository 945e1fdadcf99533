"""The editor contract and the registry that builds editors by name.

The rest of the project treats an editor as a black box: an RGB uint8 image, an SPPE instruction code and a seed
go in; an image of the same shape comes out. Keeping that boundary narrow is what lets the procedural stand-in,
a local diffusion pipeline and a remote cloud editor be swapped without touching models, metrics or pipelines.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

import numpy as np

from sppe_ray.errors import ImageError, SPPEError
from sppe_ray.imageio import validate_image
from sppe_ray.registry import Registry
from sppe_ray.taxonomy import normalize_code

MAX_EDIT_PIXELS = 16_000_000  # an editor is never asked to work on more than this (about 4k x 4k)
# The fields of config.EditorConfig: a whole config section may be passed to any backend.
CONFIG_KEYS = frozenset({"name", "model", "url", "inference_steps", "guidance", "image_guidance", "timeout_s",
                         "retries", "audit_log"})


class EditorError(SPPEError, RuntimeError):
    """An editor that was reachable but could not produce an edit (remote error, bad output)."""


class EditorTimeoutError(EditorError):
    """The editor did not answer within its timeout (every attempt timed out, or the last one did)."""


@runtime_checkable
class Editor(Protocol):
    """What every editor backend offers: a name and version for provenance, and one pure-looking edit call."""

    name: str
    version: str

    def edit(self, image: np.ndarray, instruction_code: str, seed: int) -> np.ndarray:
        """Return the edited image, same shape as ``image``, uint8 RGB."""
        ...


def check_request(image: object, instruction_code: str | int, seed: object) -> tuple[np.ndarray, str, int]:
    """Validate the three edit inputs once, so every backend rejects bad input with the same typed errors."""
    img = validate_image(image, max_pixels=MAX_EDIT_PIXELS, min_side=8)
    code = normalize_code(instruction_code)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ValueError(f"seed must be an int, got {type(seed).__name__}")
    return img, code, int(seed) & 0xFFFFFFFF


def check_output(out: object, like: np.ndarray, editor: str) -> np.ndarray:
    """A backend's result must match the input's shape; anything else is that backend's fault."""
    if not isinstance(out, np.ndarray) or out.dtype != np.uint8 or out.shape != like.shape:
        shape = getattr(out, "shape", None)
        raise EditorError(f"editor {editor!r} returned {type(out).__name__} {shape}, expected uint8 {like.shape}")
    return out


EDITORS = Registry("editor", "editor.name")
# Imported lazily: the diffusers and httpx stacks are heavy and most callers only need the procedural one.
EDITORS.add("procedural", "sppe_ray.editors.procedural:ProceduralEditor",
            "offline default: deterministic edits for all 65 instructions, no weights")
EDITORS.add("procedural_b", "sppe_ray.editors.procedural_b:ProceduralBEditor",
            "editor B: a second offline editor written independently of the first (own detectors and rules)")
EDITORS.add("instruct_pix2pix", "sppe_ray.editors.instruct_pix2pix:InstructPix2PixEditor",
            "InstructPix2Pix through diffusers from editor.model (a local folder or cached hub id)",
            needs_weights=True, gpu="optional")
EDITORS.add("http", "sppe_ray.editors.http_client:HTTPEditor",
            "any editor server speaking the HTTP editor protocol at editor.url (the cloud editor)")


def register_editor(name: str, factory: Callable[..., Editor], summary: str = "") -> None:
    """Add a backend under ``name``; later registrations replace earlier ones (handy in tests)."""
    EDITORS.add(name, factory, summary)


def available_editors() -> tuple[str, ...]:
    """Names ``create_editor`` accepts."""
    return tuple(sorted(EDITORS.names()))


def create_editor(name: str = "procedural", **kwargs: Any) -> Editor:
    """Build an editor by name. An unknown name is a ``ConfigError`` listing the choices.

    Keyword arguments are the backend's own settings (they mirror ``config.EditorConfig``: ``model``, ``url``,
    ``inference_steps``, ``guidance``, ``image_guidance``, ``timeout_s``, ``retries``, ``audit_log``); ``None``
    values are dropped so a config section can be splatted in whole.
    """
    factory = EDITORS.entry(name).load()
    return factory(**_settings_for(factory, {k: v for k, v in kwargs.items() if v is not None}))


def _settings_for(factory: Callable[..., Editor], settings: dict[str, Any]) -> dict[str, Any]:
    """Drop shared config keys a backend does not take; any other unexpected key still fails loudly."""
    try:
        params = inspect.signature(factory).parameters
    except (TypeError, ValueError):
        return settings
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return settings
    return {k: v for k, v in settings.items() if k in params or k not in CONFIG_KEYS}


__all__ = [
    "Editor",
    "EditorError",
    "EditorTimeoutError",
    "ImageError",
    "MAX_EDIT_PIXELS",
    "available_editors",
    "check_output",
    "check_request",
    "create_editor",
    "register_editor",
    "EDITORS",
]
