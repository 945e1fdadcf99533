"""Stage 2: rewrite only the flagged regions, by a method chosen by name (``anonymize.method``).

Every method returns a ``Rewritten``: the image and, per region, what was used and whether the privacy checks
of the surrogate module passed (face identity, OCR text, verbatim pixels). A region whose rewrite fails its
checks after ``surrogate_attempts`` draws is filled with its mean colour instead (recorded as a fallback), so
no image leaves with a check known to fail. Peers (deface) run their own detector and ignore stage 1.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sppe_ray.errors import BackendUnavailableError, SPPEError
from sppe_ray.privacy.protect import protect
from sppe_ray.privacy.region import Region
from sppe_ray.privacy.surrogates import check_surrogate
from sppe_ray.privacy.surrogates.masking import break_ties
from sppe_ray.registry import Registry

FALLBACK_STRATEGY = "fill"


@dataclass
class Rewritten:
    """One image after stage 2."""

    image: np.ndarray
    method: str
    strategies: list[str] = field(default_factory=list)
    checks: list[dict[str, Any]] = field(default_factory=list)
    fallback: bool = False
    note: str = ""

    def record(self) -> dict[str, Any]:
        return {"method": self.method, "strategies": self.strategies, "checks": self.checks,
                "fallback": self.fallback, "note": self.note}


def _check_dict(check: Any) -> dict[str, Any]:
    return {"ok": bool(check.ok), "identity_distance": check.identity_distance,
            "text_similarity": check.text_similarity, "pixel_leak": round(float(check.pixel_leak), 4),
            "reason": check.reason}


class SurrogateRewrite:
    """The project's surrogate strategies (``default``: each category's own) and the classical hiders."""

    def __init__(self, name: str, strategy: str, attempts: int = 3) -> None:
        self.name, self.strategy, self.attempts = name, strategy, attempts

    def rewrite(self, image: np.ndarray, regions: list[Region], instruction: str, seed: int) -> Rewritten:
        if not regions:
            return Rewritten(image, self.name, note="nothing flagged: image unchanged")
        done = protect(image, regions, self.strategy, seed, attempts=self.attempts)
        out = Rewritten(done.image, self.name, done.strategies, [_check_dict(c) for c in done.checks])
        if not done.ok:
            safe = protect(image, regions, FALLBACK_STRATEGY, seed, attempts=1)
            out = Rewritten(safe.image, self.name, safe.strategies, [_check_dict(c) for c in safe.checks],
                            fallback=True, note=f"{self.strategy} failed its checks ({done.reason}); filled")
        return out


class InstructionRewrite:
    """An instruction editor (InstructPix2Pix through diffusers) driven by stage 1's EDIT_INSTRUCTION; its
    output is kept only inside the flagged regions and checked like a surrogate."""

    name = "instruct_pix2pix"
    def __init__(self, model: str | None, steps: int = 20) -> None:
        from sppe_ray.editors.instruct_pix2pix import InstructPix2PixEditor

        if not model:
            raise BackendUnavailableError("instruct_pix2pix needs weights; set anonymize.editor_model to a local "
                                          "pipeline folder or a cached hub id (e.g. timbrooks/instruct-pix2pix)")
        self.editor = InstructPix2PixEditor(model=model, inference_steps=steps)

    def rewrite(self, image: np.ndarray, regions: list[Region], instruction: str, seed: int) -> Rewritten:
        if not regions:
            return Rewritten(image, self.name, note="nothing flagged: image unchanged")
        edited = self.editor.edit_text(image, instruction or "Replace the private content", seed)
        union = np.zeros(image.shape[:2], bool)
        for r in regions:
            union |= r.mask
        out = image.copy()
        out[union] = edited[union]
        out = break_ties(image, out, union)
        checks = [check_surrogate(image, np.where(r.mask[..., None], out, image), r) for r in regions]
        result = Rewritten(out, self.name, [self.name] * len(regions), [_check_dict(c) for c in checks])
        if not all(c.ok for c in checks):
            safe = SurrogateRewrite(self.name, FALLBACK_STRATEGY, 1).rewrite(image, regions, instruction, seed)
            safe.fallback, safe.note = True, "instruction edit failed its checks; filled"
            return safe
        return result


@functools.lru_cache(maxsize=1)
def _centerface() -> Any:
    from deface.centerface import CenterFace

    return CenterFace(backend="opencv")  # the model ships in the package; OpenCV DNN needs no extra runtime


class DefaceRewrite:
    """Peer baseline: the `deface` package (CenterFace detector shipped in it) with its command's defaults
    (threshold 0.2, boxes scaled by 1.3, elliptic blur, 20 px mosaic). It finds faces only and ignores stage 1."""

    THRESHOLD, MASK_SCALE, MOSAIC = 0.2, 1.3, 20

    def __init__(self, name: str, mode: str) -> None:
        try:
            import deface.deface  # noqa: F401
        except ImportError as exc:
            raise BackendUnavailableError(f"the deface package is not importable ({exc}); run cluster/install.sh "
                                          "or drop the deface methods from anonymize.methods") from None
        self.name, self.mode = name, mode

    def rewrite(self, image: np.ndarray, regions: list[Region], instruction: str, seed: int) -> Rewritten:
        from deface.deface import anonymize_frame

        dets, _ = _centerface()(np.ascontiguousarray(image), threshold=self.THRESHOLD)
        frame = np.ascontiguousarray(image.copy())
        anonymize_frame(dets, frame, self.MASK_SCALE, self.mode, True, False, None, self.MOSAIC)
        return Rewritten(frame, self.name, [f"deface:{self.mode}"] * len(dets),
                         note=f"deface found {len(dets)} face(s)")


def _surrogates(name: str, strategy: str) -> Any:
    return lambda cfg: SurrogateRewrite(name, strategy, cfg.surrogate_attempts)


ANONYMIZERS = Registry("anonymizer", "anonymize.method / anonymize.methods")
for _name, _strategy, _summary in (
    ("surrogate", "default", "each region replaced by its category's own checked surrogate (face swap, "
                             "re-rendered text, document fakes, ...)"),
    ("inpaint", "inpaint", "regions inpainted from their surroundings (cv2.inpaint)"),
    ("blur", "blur", "strong Gaussian blur of the regions"),
    ("pixelate", "pixelate", "coarse pixelation of the regions"),
    ("fill", "fill", "a solid fill of each region's mean colour"),
):
    ANONYMIZERS.add(_name, _surrogates(_name, _strategy), _summary)
ANONYMIZERS.add("learned", _surrogates("learned", "learned"), "the black-box anonymizer fitted against the editor "
                "(`sppe train anonymizer --setting 2`), checked like every surrogate", needs_weights=True)
ANONYMIZERS.add("instruct_pix2pix", lambda cfg: InstructionRewrite(cfg.editor_model),
                "InstructPix2Pix driven by EDIT_INSTRUCTION, kept inside the regions", needs_weights=True,
                gpu="optional")
ANONYMIZERS.add("deface_blur", lambda cfg: DefaceRewrite("deface_blur", "blur"),
                "peer: deface 1.5 (CenterFace) elliptic blur of every face it finds")
ANONYMIZERS.add("deface_mosaic", lambda cfg: DefaceRewrite("deface_mosaic", "mosaic"),
                "peer: deface 1.5 (CenterFace) 20 px mosaic of every face it finds")


def unavailable(name: str, cfg: Any) -> str | None:
    """Why method ``name`` cannot run here (missing weights setting or package), else None; cheap: loads no
    model, so the evaluation can list a method as skipped before any actor starts."""
    ANONYMIZERS.entry(name)  # unknown names are a ConfigError
    if name == "instruct_pix2pix" and not cfg.editor_model:
        return ("instruct_pix2pix needs weights; set anonymize.editor_model to a local pipeline folder or a cached "
                "hub id (e.g. timbrooks/instruct-pix2pix)")
    if name == "learned":
        from sppe_ray.blackbox.learned import model_folder

        try:
            model_folder()
        except SPPEError as exc:
            return str(exc)
    if name.startswith("deface_"):
        try:
            import deface.deface  # noqa: F401
        except ImportError as exc:
            return f"the deface package is not importable ({exc}); run cluster/install.sh"
    return None


def create_rewriter(name: str, cfg: Any) -> Any:
    """The stage 2 method ``name`` built from the ``anonymize`` config section."""
    return ANONYMIZERS.entry(name).load()(cfg)
