"""Stage 1 text: the published section format, its parser, and the offline template producer.

The published pipeline asks a VLM for three sections and parses them (FULL_VISUAL_DESCRIPTION becomes the
private caption, PRIVACY_PRESERVING_DESCRIPTION the public one, PRIVACY_FLAG a TRUE/FALSE found anywhere).
The template producer writes the same sections from the detections, so both producers go through one
parser and one manifest. Edit instructions are identity-neutral: they ask for *a different* face or text,
with attributes drawn by a seeded sampler, never for the original's attributes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from sppe_ray.privacy.region import Region
from sppe_ray.taxonomy import CATEGORIES

SECTIONS = ("PRIVACY_REVIEW", "FULL_VISUAL_DESCRIPTION", "PRIVACY_PRESERVING_DESCRIPTION", "PRIVACY_FLAG")
_SECTION_RE = re.compile(r"^\s*\**\s*(" + "|".join(SECTIONS) + r")\s*\**\s*:\s*", re.MULTILINE)
_FLAG_RE = re.compile(r"\b(TRUE|FALSE)\b", re.IGNORECASE)

# Public nouns per category kind: what the public caption may say is there.
_PUBLIC_NOUN = {"face": "a person", "person": "a person", "text": "a sign with text", "document": "a document",
                "object": "an object", "body": "a person", "location": "a building"}
_HAIR = ("short dark hair", "long blond hair", "curly red hair", "grey hair", "a shaved head", "wavy brown hair")
_AGE = ("in their twenties", "in their forties", "in their sixties", "in their thirties")
_EXPRESSION = ("a calm expression", "a smile", "a neutral expression", "a slight frown")
_SKIN = ("a lighter skin tone", "a darker skin tone", "freckles", "a tanned complexion")


@dataclass(frozen=True)
class Captions:
    """One image's stage 1 text, as the manifest stores it."""

    flag: bool
    private: str
    public: str
    instruction: str
    review: str

    @property
    def combined(self) -> str:
        """The caption for single-text editors: the public caption followed by the edit."""
        return f"{self.public.rstrip('.')}. {self.instruction}".strip() if self.instruction else self.public


def _kind(region: Region) -> str:
    cat = CATEGORIES.get(region.category)
    return cat.kind if cat is not None else "object"


def _private_item(region: Region) -> str:
    cat = CATEGORIES.get(region.category)
    what = cat.description[0].lower() + cat.description[1:] if cat else region.category
    text = " ".join((region.text or "").split())
    return f"{what} reading '{text[:60]}'" if text else what


def _reason(region: Region) -> str:
    cat = CATEGORIES.get(region.category)
    return cat.description if cat else "detected as private"


def _instruction_for(region: Region, rng: np.random.Generator) -> str:
    kind = _kind(region)
    pick = lambda options: options[int(rng.integers(0, len(options)))]  # noqa: E731
    if kind in ("face", "person", "body"):
        return (f"Replace the person's face with a different person's face: {pick(_HAIR)}, {pick(_AGE)}, "
                f"{pick(_EXPRESSION)}, {pick(_SKIN)}; keep the pose, size and position.")
    if region.category == "a108_license_plate_all":
        return "Replace the licence plate's characters with other characters in the same style."
    if kind == "document":
        return "Replace every printed name, number and date on the document with fictitious ones; keep the layout."
    if region.category in ("a301_qr_code", "a302_barcode"):
        return "Replace the code with one that encodes other content."
    if kind == "location":
        return "Replace the landmark with an ordinary building of the same size."
    return "Replace the text with different text of the same length, font and colour."


def template_captions(image_class: str, regions: Sequence[Region], seed: int) -> Captions:
    """Stage 1 text from the detections: private caption (what is there, text included), public caption
    (the class and neutral nouns only), one edit instruction per region, joined."""
    rng = np.random.default_rng(seed)
    scene = f"A photo of {image_class.replace('_', ' ')}" if image_class else "A photo"
    if not regions:
        plain = f"{scene}."
        return Captions(False, plain, plain, "", "none found in the covered criteria")
    private = f"{scene} showing " + "; ".join(_private_item(r) for r in regions) + "."
    nouns = sorted({_PUBLIC_NOUN.get(_kind(r), "an object") for r in regions})
    public = f"{scene} showing " + ", ".join(nouns) + "."
    steps, kinds = [], set()
    for r in regions:  # one instruction per kind of content: two faces get one "different face" request
        key = "person" if _kind(r) in ("face", "person", "body") else r.category
        if key not in kinds:
            kinds.add(key)
            steps.append(_instruction_for(r, rng))
    review = "; ".join(f"ITEM: {r.category} REASON: {_reason(r)}" for r in regions)
    return Captions(True, private, public, " ".join(steps), review)


def render_sections(c: Captions) -> str:
    """The captioning answer in the published format (what a VLM is asked to write)."""
    return (f"PRIVACY_REVIEW: {c.review}\nFULL_VISUAL_DESCRIPTION: {c.private}\n"
            f"PRIVACY_PRESERVING_DESCRIPTION: {c.public}\nPRIVACY_FLAG: {'TRUE' if c.flag else 'FALSE'}\n")


def parse_sections(text: str) -> dict[str, str]:
    """Split an answer into its sections (missing ones are absent; markdown bold is tolerated)."""
    marks = list(_SECTION_RE.finditer(text or ""))
    out: dict[str, str] = {}
    for i, m in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(text)
        out[m.group(1)] = " ".join(text[m.end():end].split())
    return out


def parse_flag(text: str) -> bool | None:
    """PRIVACY_FLAG's value, else the first TRUE/FALSE anywhere (the published rule), else None."""
    sections = parse_sections(text)
    for source in (sections.get("PRIVACY_FLAG", ""), text or ""):
        m = _FLAG_RE.search(source)
        if m:
            return m.group(1).upper() == "TRUE"
    return None
