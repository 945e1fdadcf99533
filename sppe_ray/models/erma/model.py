"""ERMA head: LayerNorm over the relation features, an MLP (GELU, dropout) and a sigmoid score in [0, 1].

Why LayerNorm first: the input mixes unit-norm embeddings, their products (much smaller), cosines and
region statistics on their own scales; normalising per sample keeps one learning rate right for all.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from sppe_ray.models.erma.relation import FeatureSpec, relation_features


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
        layers: list[nn.Module] = [nn.LayerNorm(spec.input_dim)]
        width = spec.input_dim
        for h in self.hidden:
            layers += [nn.Linear(width, h), nn.GELU(), nn.Dropout(dropout)]
            width = h
        layers.append(nn.Linear(width, 1))
        self.net = nn.Sequential(*layers)

    @property
    def input_dim(self) -> int:
        return self.spec.input_dim

    def forward(self, feats: dict[str, torch.Tensor]) -> torch.Tensor:
        return torch.sigmoid(self.net(relation_features(feats, self.spec)).squeeze(-1))
