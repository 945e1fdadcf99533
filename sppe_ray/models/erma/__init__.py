"""ERMA editability prediction: frozen encoders, relation (and mask-region) features, an MLP head.

Modules: `features` (per-sample cached arrays), `relation` (the head's input layout and ablation flags),
`model` (the nn.Module), `predictor` (encoders + head, save/load), `fitting` (the training recipe).
"""

from sppe_ray.models.erma.features import FeatureExtractor, code_index, text_table
from sppe_ray.models.erma.model import ERMA
from sppe_ray.models.erma.predictor import ERMAPredictor
from sppe_ray.models.erma.relation import FeatureSpec, relation_features

__all__ = [
    "ERMA",
    "ERMAPredictor",
    "FeatureExtractor",
    "FeatureSpec",
    "code_index",
    "relation_features",
    "text_table",
]
