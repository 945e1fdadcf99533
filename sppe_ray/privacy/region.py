"""Private regions and scenes: the unit every detector returns and every surrogate strategy consumes."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Region:
    """One private region of an image.

    `mask` is the exact pixel set that must never leave the premises; `text` holds what a text-bearing
    region says (ground truth for synthetic content, OCR output for detected content) so surrogates can
    be checked against it.
    """

    category: str
    mask: np.ndarray
    score: float = 1.0
    detector: str = "given"
    text: str | None = None
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.mask = np.asarray(self.mask, dtype=bool)
        if self.mask.ndim != 2:
            raise ValueError(f"region mask must be 2-D, got shape {self.mask.shape}")
        self.known_box()  # a box from another image geometry fails here, where the region is made

    def known_box(self) -> tuple[int, int, int, int] | None:
        """The detector's box in ``meta["box"]`` (checked to lie on the mask), or None when there is none.

        Why checked: checks and face swap read the face at this box; one left in the coordinates of a resized
        copy silently compared pixels where no face is (see privacy.geometry)."""
        box = self.meta.get("box") if isinstance(self.meta, dict) else None
        if box is None or not self.mask.any():
            return None
        from sppe_ray.privacy.geometry import check_box

        return check_box(box, self.mask, f"region {self.category}")

    @property
    def bbox(self) -> tuple[int, int, int, int]:
        """(x0, y0, x1, y1), exclusive end; (0, 0, 0, 0) for an empty mask."""
        from sppe_ray.privacy.geometry import mask_box

        return mask_box(self.mask) or (0, 0, 0, 0)

    @property
    def area(self) -> int:
        return int(self.mask.sum())


@dataclass
class Scene:
    """A private source image with its regions; `source_group` keeps variants of one photo in one split."""

    image: np.ndarray
    regions: list[Region]
    source_group: str
    origin: str

    def union_mask(self) -> np.ndarray:
        out = np.zeros(self.image.shape[:2], dtype=bool)
        for region in self.regions:
            out |= region.mask
        return out
