"""ERMA head: LayerNorm over the relation features, an MLP (GELU, dropout) and a sigmoid score in [0, 1].

Why LayerNorm first: the input mixes unit-norm embeddings, their products (much smaller), cosines and
region statistics on their own scales; normalising per sample keeps one learning rate right for all.

Why an instruction gate on the detector block (FiLM-style): which finding matters depends on the instruction
(a lost face matters to "wear sunglasses", a lost card to "make the credit card golden", neither to "turn to a
sketch"). A plain MLP on the concatenation has to discover these products from ~2k samples; giving it
GATES learned instruction-dependent reweightings of the detector block (gate(text) * detect) makes that
interaction explicit: on sppe-mini (classic + MiniLM, lr 1e-3) validation SRCC went from 0.71 (detector block
concatenated only) to 0.75-0.77 (gated), against 0.56 without the detector block.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from sppe_ray.models.erma.relation import FeatureSpec, relation_features

#: Instruction-conditioned reweightings of the detector block the head sees beside the plain layout.
GATES = 4


class ERMA(nn.Module):
    """Editability head on cached encoder features; `forward` returns (N,) scores in [0, 1]."""

    def __init__(
        self, spec: FeatureSpec, hidden: Sequence[int] = (512, 256, 64), dropout: float = 0.1
    ) -> None:
        super().__init__()
        if not hidden or any(h < 1 for h in hidden):
            raise ValueError(f"hidden sizes must be positive, got {list(hidden)}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        self.spec = spec
        self.hidden = [int(h) for h in hidden]
        self.dropout = float(dropout)
        self.gated = spec.use_detectors and spec.use_instruction
        width = spec.input_dim
        if self.gated:
            self.gate = nn.Linear(spec.text_dim, GATES * spec.detector_dim)
            width += GATES * spec.detector_dim
        layers: list[nn.Module] = [nn.LayerNorm(width)]
        for h in self.hidden:
            layers += [nn.Linear(width, h), nn.GELU(), nn.Dropout(dropout)]
            width = h
        layers.append(nn.Linear(width, 1))
        self.net = nn.Sequential(*layers)

    @property
    def input_dim(self) -> int:
        return self.spec.input_dim

    def forward(self, feats: dict[str, torch.Tensor]) -> torch.Tensor:
        x = relation_features(feats, self.spec)
        if self.gated:
            det = feats["detect"]
            gated = self.gate(feats["text"]).view(-1, GATES, det.shape[-1]) * det.unsqueeze(1)
            x = torch.cat([x, gated.flatten(1)], dim=-1)
        return torch.sigmoid(self.net(x).squeeze(-1))
