"""The strategy table and make_surrogate, the one entry point that enforces the surrogate guarantees."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from sppe_ray.privacy.region import Region
from sppe_ray.privacy.surrogates.classic import blur, fill, inpaint, pixelate
from sppe_ray.privacy.surrogates.codes import code_fake
from sppe_ray.privacy.surrogates.documents import document_fake
from sppe_ray.privacy.surrogates.faces import face_swap
from sppe_ray.privacy.surrogates.fingerprint import fingerprint_synth
from sppe_ray.privacy.surrogates.masking import break_ties, composite, validate
from sppe_ray.privacy.surrogates.strokes import handwriting_synth, signature_synth
from sppe_ray.privacy.surrogates.text import plate_fake, text_rerender

Strategy = Callable[[np.ndarray, Region, np.random.Generator], np.ndarray]

STRATEGIES: dict[str, Strategy] = {
    "face_swap": face_swap,
    "text_rerender": text_rerender,
    "document_fake": document_fake,
    "plate_fake": plate_fake,
    "handwriting_synth": handwriting_synth,
    "signature_synth": signature_synth,
    "fingerprint_synth": fingerprint_synth,
    "code_fake": code_fake,
    "blur": blur,
    "pixelate": pixelate,
    "fill": fill,
    "inpaint": inpaint,
}

# Strategies that put new content in place of the old (the rest only hide it). All strategies still get
# the no-verbatim-pixel guarantee; the distinction is reported in provenance and used by the checks.
REPLACING = frozenset({"face_swap", "text_rerender", "document_fake", "plate_fake", "handwriting_synth",
                       "signature_synth", "fingerprint_synth", "code_fake"})


def make_surrogate(image: np.ndarray, region: Region, strategy: str,
                   rng: np.random.Generator | int | None = None) -> np.ndarray:
    """A new image: `strategy`'s content inside region.mask, the source bit-exact outside it, and no
    masked pixel equal to its source pixel. ValueError (ImageError) for a bad image or mask, or an
    unknown strategy."""
    validate(image, region)
    try:
        fn = STRATEGIES[strategy]
    except (KeyError, TypeError):
        raise ValueError(f"unknown surrogate strategy {strategy!r}; choose one of {', '.join(STRATEGIES)}") from None
    gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    generated = fn(image, region, gen)
    return break_ties(image, composite(image, generated, region.mask), region.mask)
