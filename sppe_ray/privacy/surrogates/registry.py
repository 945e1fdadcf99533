"""The strategy table and make_surrogate, the one entry point that enforces the surrogate guarantees."""

from __future__ import annotations

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
from sppe_ray.registry import Registry

STRATEGIES = Registry("surrogate strategy", "build.strategies / serve.strategies")
for _name, _fn, _summary in (
    ("face_swap", face_swap, "a synthetic face of another identity, fitted to the face's pose and light"),
    ("text_rerender", text_rerender, "the same layout re-rendered with fake text"),
    ("document_fake", document_fake, "a fake document or card of the same kind and layout"),
    ("plate_fake", plate_fake, "a licence plate with fake characters"),
    ("handwriting_synth", handwriting_synth, "synthetic handwriting strokes"),
    ("signature_synth", signature_synth, "a synthetic signature"),
    ("fingerprint_synth", fingerprint_synth, "a synthetic ridge pattern"),
    ("code_fake", code_fake, "a QR code or barcode of other content"),
    ("blur", blur, "strong Gaussian blur of the region"),
    ("pixelate", pixelate, "coarse pixelation of the region"),
    ("fill", fill, "a solid fill of the region"),
    ("inpaint", inpaint, "the region inpainted from its surroundings"),
):
    STRATEGIES.add(_name, _fn, _summary)
# Fitted by the black-box anonymizer's setting 2 (docs/anonymizer.md); resolved by name, loaded on first use.
STRATEGIES.add("learned", "sppe_ray.blackbox.learned:learned", "the anonymizer fitted against the editor (setting 2: "
               "`sppe train anonymizer --setting 2`)", needs_weights=True)
#: Not a strategy of its own: each category's registered default (taxonomy `surrogate`).
DEFAULT_STRATEGY = "default"

# Strategies that put new content in place of the old (the rest only hide it). All strategies still get
# the no-verbatim-pixel guarantee; the distinction is reported in provenance and used by the checks.
REPLACING = frozenset({"face_swap", "text_rerender", "document_fake", "plate_fake", "handwriting_synth",
                       "signature_synth", "fingerprint_synth", "code_fake"})


def make_surrogate(image: np.ndarray, region: Region, strategy: str,
                   rng: np.random.Generator | int | None = None) -> np.ndarray:
    """A new image: `strategy`'s content inside region.mask, the source bit-exact outside it, and no
    masked pixel equal to its source pixel. ValueError (ImageError) for a bad image or mask, or an
    unknown strategy (ConfigError)."""
    validate(image, region)
    fn = STRATEGIES.entry(strategy).load()
    gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    generated = fn(image, region, gen)
    return break_ties(image, composite(image, generated, region.mask), region.mask)
