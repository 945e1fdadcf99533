"""Surrogate generators: replace a private region with plausible other content (or hide it).

`make_surrogate(image, region, strategy, rng)` is the entry point; `STRATEGIES` names the families (one
module each); `check_surrogate` / `make_checked_surrogate` verify that nothing private leaks.
"""

from sppe_ray.privacy.surrogates.checks import (
    FACE_SAME_PERSON,
    PIXEL_LEAK_MAX,
    TEXT_MAX_SIMILARITY,
    SurrogateCheck,
    check_surrogate,
    make_checked_surrogate,
)
from sppe_ray.privacy.surrogates.registry import REPLACING, STRATEGIES, make_surrogate

__all__ = [
    "FACE_SAME_PERSON", "PIXEL_LEAK_MAX", "REPLACING", "STRATEGIES", "TEXT_MAX_SIMILARITY", "SurrogateCheck",
    "check_surrogate", "make_checked_surrogate", "make_surrogate",
]
