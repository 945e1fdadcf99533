"""The ERMA input layout: which relation features the head sees, as a function of the ablation flags.

Why it lives apart from the cache: relation features are cheap tensor arithmetic on cached embeddings, so
the ablations (no relation / no instruction / no mask) change only this layout and reuse one extraction.

Published layout (CLIP, shared image-text space): [f_src, f_sur, |f_src-f_sur|, f_src*f_sur, f_sur-f_src,
f_text, cos(src,sur), cos(src,text), cos(sur,text)]. When image and text embeddings live in different spaces
(the offline classic + MiniLM pair) the two image-text cosines are meaningless and are left out; the head
still sees f_text and can learn the interaction. The mask block (ours) repeats the relation on the region
crops and appends the region statistics. The detector block (ours, `detectors.py`) appends whether each of
the editor's findings survives the surrogate; the head also sees it gated by the instruction (`model.py`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F

from sppe_ray.models.erma.detectors import DETECTOR_STATS
from sppe_ray.models.erma.features import REGION_STATS


@dataclass(frozen=True)
class FeatureSpec:
    """Dimensions and flags that fix the head's input; saved with the model."""

    image_dim: int
    text_dim: int
    shared_space: bool = False
    use_relation: bool = True
    use_instruction: bool = True
    use_mask: bool = True
    region_dim: int = len(REGION_STATS)
    use_detectors: bool = False
    detector_dim: int = len(DETECTOR_STATS)

    @property
    def text_cosines(self) -> bool:
        return (
            self.shared_space
            and self.use_instruction
            and self.use_relation
            and self.image_dim == self.text_dim
        )

    @property
    def input_dim(self) -> int:
        d = self.image_dim
        n = (5 * d + 1) if self.use_relation else 2 * d
        if self.use_instruction:
            n += self.text_dim + (2 if self.text_cosines else 0)
        if self.use_mask:
            n += ((4 * d + 1) if self.use_relation else 2 * d) + self.region_dim
            n += 2 if self.text_cosines else 0
        if self.use_detectors:
            n += self.detector_dim
        return n

    def to_dict(self) -> dict:
        return asdict(self)


def _cos(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return F.cosine_similarity(a, b, dim=-1, eps=1e-8).unsqueeze(-1)


def relation_features(feats: dict[str, torch.Tensor], spec: FeatureSpec) -> torch.Tensor:
    """Concatenate the layout of `spec` from cached arrays (keys f_src, f_sur, text, c_src, c_sur, region,
    detect)."""
    src, sur = feats["f_src"], feats["f_sur"]
    parts = [src, sur]
    if spec.use_relation:
        parts += [(src - sur).abs(), src * sur, sur - src]
    if spec.use_instruction:
        parts.append(feats["text"])
    if spec.use_relation:
        parts.append(_cos(src, sur))
        if spec.text_cosines:
            parts += [_cos(src, feats["text"]), _cos(sur, feats["text"])]
    if spec.use_mask:
        cs, cu = feats["c_src"], feats["c_sur"]
        parts += [cs, cu]
        if spec.use_relation:
            parts += [(cs - cu).abs(), cs * cu, _cos(cs, cu)]
            if spec.text_cosines:
                parts += [_cos(cs, feats["text"]), _cos(cu, feats["text"])]
        parts.append(feats["region"])
    if spec.use_detectors:
        parts.append(feats["detect"])
    out = torch.cat(parts, dim=-1)
    if out.shape[-1] != spec.input_dim:  # a guard against the two formulas drifting apart
        raise ValueError(f"relation features have {out.shape[-1]} columns, spec says {spec.input_dim}")
    return out
