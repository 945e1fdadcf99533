"""document_fake: the same document with every private field replaced by a fake value of its kind.

Synthetic documents carry their field layout in Region.meta["fields"]; real ones are read by OCR and
each line re-rendered. The paper itself is reprinted (faint tone shift and grain), so no source pixel
of the document passes through verbatim either.
"""

from __future__ import annotations

import numpy as np

from sppe_ray.privacy import fakes
from sppe_ray.privacy.region import Region
from sppe_ray.privacy.surrogates.classic import background_fill
from sppe_ray.privacy.surrogates.masking import bbox_of
from sppe_ray.privacy.surrogates.text import estimate_style
from sppe_ray.privacy.textrender import draw_text_fit

Field = tuple[tuple[int, int, int, int], str, str | None]  # (box, kind, text)


def _field_box(field: dict, shape: tuple[int, int]) -> tuple[int, int, int, int] | None:
    box = field.get("box") or field.get("bbox")
    if box is None and field.get("quad") is not None:
        quad = np.asarray(field["quad"], dtype=np.float64).reshape(-1, 2)
        box = (*np.floor(quad.min(axis=0)), *np.ceil(quad.max(axis=0)))
    if box is None or len(box) != 4:
        return None
    h, w = shape
    x0, y0, x1, y1 = (int(round(float(v))) for v in box)
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
    return (x0, y0, x1, y1) if x1 - x0 >= 2 and y1 - y0 >= 2 else None


def document_fields(image: np.ndarray, region: Region) -> list[Field]:
    """The fields to replace: from meta["fields"] (list or name->field dict) or OCR lines of the region."""
    raw = region.meta.get("fields") if isinstance(region.meta, dict) else None
    if isinstance(raw, dict):
        raw = list(raw.values())
    if raw:
        fields = []
        for f in raw:
            box = _field_box(f, image.shape[:2]) if isinstance(f, dict) else None
            if box is not None:
                fields.append((box, str(f.get("kind") or "generic"), f.get("text")))
        return fields
    from sppe_ray.privacy.detectors.text import rapidocr_lines

    words = []
    for quad, text, _ in rapidocr_lines(image, bbox_of(region.mask), pad=16):
        box = _field_box({"quad": quad}, image.shape[:2])
        if box is not None:
            words.append((box, text))
    return [(box, "generic", text) for box, text in merge_lines(words)]


def merge_lines(words: list[tuple[tuple[int, int, int, int], str]]) -> list[tuple[tuple[int, int, int, int], str]]:
    """Join OCR pieces that share a line (vertical overlap over half the smaller height), left to right,
    so a value split into words is replaced as one field instead of overlapping boxes."""
    lines: list[list[tuple[tuple[int, int, int, int], str]]] = []
    for box, text in sorted(words, key=lambda w: (w[0][1], w[0][0])):
        for line in lines:
            lb = line[0][0]
            overlap = min(lb[3], box[3]) - max(lb[1], box[1])
            if overlap > 0.5 * min(lb[3] - lb[1], box[3] - box[1]):
                line.append((box, text))
                break
        else:
            lines.append([(box, text)])
    out = []
    for line in lines:
        line.sort(key=lambda w: w[0][0])
        xs0, ys0, xs1, ys1 = zip(*(b for b, _ in line), strict=True)
        out.append(((min(xs0), min(ys0), max(xs1), max(ys1)), " ".join(t for _, t in line)))
    return out


def _fake_for(kind: str, text: str | None, rng: np.random.Generator) -> str:
    if text and any(ch.isalnum() for ch in text):
        return fakes.fake_like(text, rng)
    return fakes.fake_text(kind if kind in fakes.TEXT_KINDS else "generic", rng)


def reprint(image: np.ndarray, mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A faint global tone change plus grain inside the mask: the look of the same document reprinted."""
    out = image.astype(np.float32)
    gain = rng.uniform(0.97, 1.03, size=3).astype(np.float32)
    offset = rng.uniform(-4, 4, size=3).astype(np.float32)
    px = out[mask] * gain + offset + rng.normal(0, 1.5, size=(int(mask.sum()), 3)).astype(np.float32)
    out[mask] = px
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def document_fake(image: np.ndarray, region: Region, rng: np.random.Generator) -> np.ndarray:
    """Reprint the document, then inpaint each field and draw a fake value in the field's own ink."""
    out = reprint(image, region.mask, rng)
    for (x0, y0, x1, y1), kind, text in document_fields(image, region):
        fmask = np.zeros(region.mask.shape, dtype=bool)
        fmask[y0:y1, x0:x1] = True
        fmask &= region.mask
        if fmask.sum() < 4:
            continue
        style = estimate_style(image, fmask)
        out = background_fill(out, fmask, rng)
        draw_text_fit(out, (x0, y0, x1, y1), _fake_for(kind, text, rng), color=style.ink, align="left",
                      mono=kind == "card_number")
    return out
