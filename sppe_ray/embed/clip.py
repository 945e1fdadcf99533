"""``clip``: CLIP image and text embeddings through transformers, from a local folder or a cached hub id.

Loading never touches the network (``local_files_only=True``); a missing model raises
BackendUnavailableError naming ``embed.model``. The image and text embedders of one model share a single
loaded copy (process-wide cache), because ERMA uses both towers of the same CLIP.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np

from sppe_ray.embed.base import embed_in_batches, l2_normalise
from sppe_ray.embed.text import _check_texts
from sppe_ray.errors import BackendUnavailableError

_LOADED: dict[tuple[str, str], tuple[Any, Any, Any]] = {}
_LOCK = threading.Lock()


def _features(out: Any) -> Any:
    """transformers 4 returns the projected tensor, 5 a model output whose pooler_output holds it."""
    return out if hasattr(out, "shape") else out.pooler_output


def load_clip(model: str | Path | None, device: str = "cpu") -> tuple[Any, Any, Any]:
    """(CLIPModel, CLIPImageProcessor, CLIPTokenizer or None) for ``model``, loaded once per process."""
    if model is None or str(model) == "":
        raise BackendUnavailableError("no CLIP model configured; set embed.model to a local CLIP folder or hub id.")
    key = (str(model), device)
    with _LOCK:
        if key in _LOADED:
            return _LOADED[key]
        from transformers import CLIPImageProcessor, CLIPModel, CLIPTokenizer

        try:
            net = CLIPModel.from_pretrained(str(model), local_files_only=True).to(device).eval()
            proc = CLIPImageProcessor.from_pretrained(str(model), local_files_only=True)
        except OSError as exc:
            raise BackendUnavailableError(
                f"CLIP weights for {model!s} are not available locally; set embed.model to a folder holding a "
                "saved CLIPModel (or a hub id already in the cache)."
            ) from exc
        try:
            tok = CLIPTokenizer.from_pretrained(str(model), local_files_only=True)
        except (OSError, TypeError, ValueError):
            tok = None  # an image-only export is fine for the image embedder
        _LOADED[key] = (net, proc, tok)
        return _LOADED[key]


class CLIPImageEmbedder:
    """L2-normalised CLIP image embeddings (projection dim), batched under torch.no_grad."""

    name = "clip"

    def __init__(self, model: str | Path | None = None, device: str = "cpu", batch_size: int = 32) -> None:
        self.model, self.processor, _ = load_clip(model, device)
        self.device = device
        self.batch_size = batch_size
        self.dim = int(self.model.config.projection_dim)

    def embed(self, images: list[np.ndarray]) -> np.ndarray:
        """(N, dim) float32 rows; images are resized/cropped/normalised by the model's own processor."""
        import torch

        def rows(batch: list[np.ndarray]) -> np.ndarray:
            px = self.processor(images=batch, return_tensors="pt")["pixel_values"]
            with torch.no_grad():
                return _features(self.model.get_image_features(pixel_values=px.to(self.device))).float().cpu().numpy()

        return embed_in_batches(images, self.dim, self.batch_size, rows)


class CLIPTextEmbedder:
    """L2-normalised CLIP text embeddings, cached per string (instructions repeat)."""

    name = "clip"

    def __init__(self, model: str | Path | None = None, device: str = "cpu", batch_size: int = 64) -> None:
        self.model, _, self.tokenizer = load_clip(model, device)
        if self.tokenizer is None:
            raise BackendUnavailableError(f"CLIP model {model!s} has no tokenizer files; set embed.model to a "
                                          "folder saved with its CLIPTokenizer.")
        self.device = device
        self.batch_size = batch_size
        self.dim = int(self.model.config.projection_dim)
        self.max_length = int(self.model.config.text_config.max_position_embeddings)
        self._cache: dict[str, np.ndarray] = {}

    def embed_text(self, texts: list[str]) -> np.ndarray:
        import torch

        texts = _check_texts(texts)
        new = list(dict.fromkeys(t for t in texts if t not in self._cache))
        for i in range(0, len(new), self.batch_size):
            chunk = new[i : i + self.batch_size]
            tok = self.tokenizer(chunk, padding=True, truncation=True, max_length=self.max_length,
                                 return_tensors="pt").to(self.device)
            with torch.no_grad():
                feats = _features(self.model.get_text_features(**tok))
            for t, v in zip(chunk, l2_normalise(feats.float().cpu().numpy()), strict=True):
                self._cache[t] = v
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self._cache[t] for t in texts]).astype(np.float32)
