"""Stage 1: find an image's private regions, flag it, and write its captions and edit instruction.

Regions always come from the detector (stage 2 needs pixels, which no caption gives); the captioner writes
the text. With a VLM the flag is the VLM's answer *or* a detection: a detector hit is never overruled to
"not private" by a model's text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from sppe_ray.anonymize import criteria
from sppe_ray.anonymize.captions import Captions, parse_sections, render_sections, template_captions
from sppe_ray.privacy.protect import find_regions
from sppe_ray.privacy.region import Region


class Captioner(Protocol):
    """Writes stage 1 text for one image; ``raw`` is the answer in the published section format."""

    name: str

    def caption(self, image: np.ndarray, image_class: str, regions: list[Region], seed: int) -> tuple[Captions, str]:
        ...


class TemplateCaptioner:
    """Offline default: captions and instructions from the detections (captions.template_captions)."""

    name = "templates"

    def caption(self, image: np.ndarray, image_class: str, regions: list[Region], seed: int) -> tuple[Captions, str]:
        c = template_captions(image_class, regions, seed)
        return c, render_sections(c)


@dataclass
class Stage1:
    """What stage 1 knows of one image."""

    regions: list[Region]
    captions: Captions
    criteria: dict[str, str]
    captioner: str
    raw: str

    def record(self) -> dict[str, Any]:
        """JSON-able summary for the per-image record (masks are stored apart, see manifest)."""
        return {"captioner": self.captioner, "flag": self.captions.flag, "criteria": self.criteria,
                "parsed": bool(parse_sections(self.raw)),
                "coverage": criteria.coverage_note(self.criteria),
                "regions": [{"category": r.category, "detector": r.detector, "score": round(float(r.score), 4),
                             "box": list(r.bbox), "area": r.area} for r in self.regions]}


def run_stage1(image: np.ndarray, image_class: str, detector: Any, captioner: Captioner, seed: int,
               work_side: int = 1024) -> Stage1:
    """Detect, then caption; ``image_class`` is the parent folder's name (the published {image_class})."""
    regions = find_regions(image, detector, work_side=work_side)
    captions, raw = captioner.caption(image, image_class, regions, seed)
    status = criteria.review(r.category for r in regions)
    return Stage1(regions, captions, status, captioner.name, raw)


def create_captioner(cfg: Any) -> Captioner:
    """The configured producer (``anonymize.captioner``); vlm loads its two models now."""
    if cfg.captioner == "templates":
        return TemplateCaptioner()
    from sppe_ray.anonymize.vlm import VLMCaptioner

    return VLMCaptioner(cfg.vlm_model, cfg.lm_model, max_new_tokens=cfg.max_new_tokens)
