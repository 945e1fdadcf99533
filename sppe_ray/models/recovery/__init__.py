"""Surrogate-to-source edit recovery: the protocol, classical baselines, C2E-S2SER (compact net, diffusion).

Import torch-backed modules (`c2e_net`, `losses`, `diffusion`) explicitly; this package's root stays light so
the baselines run without torch.
"""

from sppe_ray.models.recovery.base import RECOVERERS, TAG_INDEX, Recoverer, check_inputs, create_recoverer

__all__ = ["RECOVERERS", "TAG_INDEX", "Recoverer", "check_inputs", "create_recoverer"]
