"""Protect one photo: find its private regions, replace them with a checked surrogate.

One implementation for the benchmark build (synthetic scenes and a user's photos) and the serving gateway,
so a surrogate served to a cloud editor has passed exactly the checks the benchmark measured.

Detection runs on a working copy whose long side is at most ``work_side`` (a 12-megapixel photo costs the
detector no more than needed); regions are then mapped back onto the photo at its own size with
``privacy.geometry``, boxes and quads included, so the checks read the face where it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sppe_ray.errors import ImageError, UnknownCategoryError
from sppe_ray.imageio import fit_within, resize_mask, validate_mask
from sppe_ray.privacy.geometry import AxisMap, map_region
from sppe_ray.privacy.region import Region
from sppe_ray.privacy.surrogates import SurrogateCheck, make_checked_surrogate
from sppe_ray.taxonomy import CATEGORIES

DEFAULT_WORK_SIDE = 1024
#: the category of a region given as a bare mask ("this is private"): most often a person.
DEFAULT_MASK_CATEGORY = "a109_person_body"


def resolve_strategy(strategy: str, category: str) -> str:
    """``default`` means the category's own surrogate (taxonomy); any other name is used as given."""
    return CATEGORIES[category].surrogate if strategy == "default" else strategy


def find_regions(image: np.ndarray, detector: Any, *, work_side: int = DEFAULT_WORK_SIDE) -> list[Region]:
    """Detect on a copy no larger than ``work_side`` and map every region (mask and coordinates) back."""
    work = fit_within(image, work_side)
    found = list(detector.detect(work))
    if work.shape == image.shape:
        return found
    amap = AxisMap.resize(work.shape[:2], image.shape[:2])
    moved = [map_region(r, amap, lambda m: resize_mask(m, image.shape[:2])) for r in found]
    return [r for r in moved if r.mask.any()]


def region_from_mask(mask: Any, shape_hw: tuple[int, int], category: str | None = None) -> Region:
    """A user's own mask as one region (of ``category``, default a person); ImageError when it cannot be."""
    category = category or DEFAULT_MASK_CATEGORY
    if category not in CATEGORIES:
        raise UnknownCategoryError(f"unknown category {category!r}; see `sppe info --json` for the 36 ids")
    m = validate_mask(mask)
    if m.shape != tuple(shape_hw):
        raise ImageError(f"mask is {m.shape[1]}x{m.shape[0]} but the image is {shape_hw[1]}x{shape_hw[0]}")
    if not m.any():
        raise ImageError("mask is empty: it marks no private pixel")
    return Region(category, m, 1.0, "given")


def keep_categories(regions: list[Region], categories: Sequence[str] | None) -> list[Region]:
    """Only the regions of ``categories`` (all when None); unknown ids are an error, not an empty result."""
    if not categories:
        return regions
    unknown = [c for c in categories if c not in CATEGORIES]
    if unknown:
        raise UnknownCategoryError(f"unknown categories {unknown}; see `sppe info --json` for the 36 ids")
    return [r for r in regions if r.category in set(categories)]


@dataclass
class Protected:
    """A surrogate of the whole image: every region replaced in turn, each replacement checked."""

    strategy: str
    image: np.ndarray
    strategies: list[str] = field(default_factory=list)
    checks: list[SurrogateCheck] = field(default_factory=list)
    attempts: list[int] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def reason(self) -> str:
        bad = [f"{s}: {c.reason}" for s, c in zip(self.strategies, self.checks, strict=True) if not c.ok]
        return "; ".join(bad) or "ok"


def protect(image: np.ndarray, regions: Sequence[Region], strategy: str, seed: int, attempts: int = 3) -> Protected:
    """Apply ``strategy`` (resolved per region's category) to every region, regenerating a failing surrogate up
    to ``attempts`` times. Regions are replaced one after the other on the running surrogate, and each is
    checked against the *original* pixels of its own region (with earlier replacements kept elsewhere): a
    person region that contains an already hidden face is judged against the real face, not the hidden one."""
    out = Protected(strategy, image)
    current = image
    for k, region in enumerate(regions):
        name = resolve_strategy(strategy, region.category)
        rng = np.random.default_rng(seed + 7919 * k)
        reference = current
        if current is not image:
            reference = current.copy()
            reference[region.mask] = image[region.mask]
        current, check, used = make_checked_surrogate(reference, region, name, rng, attempts=attempts)
        out.strategies.append(name)
        out.checks.append(check)
        out.attempts.append(used)
        if not check.ok:  # the whole surrogate is unusable: do not spend detector time on the other regions
            break
    out.image = current
    return out
