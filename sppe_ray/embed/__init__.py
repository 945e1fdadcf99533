"""Image and text embedders: ``classic``/``hashing`` offline defaults, ``clip``/``minilm`` real backends."""

from sppe_ray.embed.base import (
    IMAGE_EMBEDDERS,
    TEXT_EMBEDDERS,
    ImageEmbedder,
    TextEmbedder,
    create_image_embedder,
    create_text_embedder,
    l2_normalise,
)

__all__ = [
    "IMAGE_EMBEDDERS",
    "TEXT_EMBEDDERS",
    "ImageEmbedder",
    "TextEmbedder",
    "create_image_embedder",
    "create_text_embedder",
    "l2_normalise",
]
