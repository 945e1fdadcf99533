"""One image through both stages, as the Ray Data job and the tests run it.

Why a class: the detector, the captioner and the rewrite method load their models once per worker. A stage 1
taken from an earlier output folder (``stage1_from``) is reused as is, so the evaluation compares every
method on the same flags, captions and regions, and pays for detection once.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from pathlib import Path
from typing import Any

from sppe_ray.anonymize import manifest
from sppe_ray.anonymize.captions import Captions
from sppe_ray.anonymize.rewrite import create_rewriter
from sppe_ray.anonymize.stage1 import create_captioner, run_stage1
from sppe_ray.errors import BackendUnavailableError, ImageError
from sppe_ray.imageio import load_image, save_image

log = logging.getLogger(__name__)


def image_seed(seed: int, rel: str) -> int:
    """A per-image seed from the run's seed and the file's relative path (stable across runs and workers)."""
    return int.from_bytes(hashlib.sha256(f"{seed}:{rel}".encode()).digest()[:4], "little")


class ImageAnonymizer:
    """Anonymizes files of one input folder into one output folder with one method."""

    def __init__(self, cfg: Any, method: str, stage1_from: str | Path | None = None) -> None:
        self.cfg, self.method = cfg, method
        self.stage1_from = Path(stage1_from) if stage1_from else None
        self.rewriter = create_rewriter(method, cfg)
        self._detector = self._captioner = None

    def _stage1_tools(self) -> tuple[Any, Any]:
        if self._detector is None:
            from sppe_ray.privacy.detectors import create_detector

            self._detector, self._captioner = create_detector(self.cfg.detector), create_captioner(self.cfg)
        return self._detector, self._captioner

    def _stage1(self, image: Any, rel: str, seed: int) -> tuple[list, Captions, dict, str]:
        """(regions, captions, stage 1 record, raw answer): computed, or read from ``stage1_from``."""
        if self.stage1_from is not None:
            prior = manifest.read_record(self.stage1_from, rel)
            if prior is None or prior["status"] != "ok":
                raise ImageError(f"no stage 1 for {rel} in {self.stage1_from}")
            cols = prior["columns"]
            captions = Captions(cols["PRIVACY_FLAG"] == "TRUE", cols["PRIVATE_CAPTION"], cols["PUBLIC_CAPTION"],
                                cols["EDIT_INSTRUCTION"], prior["stage1"].get("review", ""))
            raw = json.loads(manifest.caption_path(self.stage1_from, rel).read_text())["caption"]
            return manifest.load_regions(self.stage1_from, rel), captions, prior["stage1"], raw
        detector, captioner = self._stage1_tools()
        s1 = run_stage1(image, manifest.image_class(rel), detector, captioner, seed, self.cfg.work_side)
        return s1.regions, s1.captions, {**s1.record(), "review": s1.captions.review}, s1.raw

    def process(self, root: Path, rel: str, out: Path) -> dict[str, Any]:
        """Anonymize ``root/rel`` into ``out``; a bad image gives a ``skipped`` record, never an exception."""
        started = time.perf_counter()
        seed = image_seed(self.cfg.seed, rel)
        record: dict[str, Any] = {"file": rel, "method": self.method, "seed": seed}
        try:
            image = load_image(root / rel, max_pixels=self.cfg.max_pixels)
            regions, captions, s1, raw = self._stage1(image, rel, seed)
            done = self.rewriter.rewrite(image, regions, captions.instruction, seed)
        except BackendUnavailableError:
            raise  # a missing model is the run's problem, not this image's: stop with its one message
        except Exception as exc:  # noqa: BLE001 - any failure on one image skips it, with its reason
            reason = f"{type(exc).__name__}: {str(exc)[:200]}"
            log.warning("skipped %s: %s", rel, reason)
            record.update(status="skipped", reason=reason, seconds=round(time.perf_counter() - started, 3))
            manifest.write_record(out, rel, record)
            return record
        target = manifest.output_path(out, rel)
        save_image(target, done.image)
        manifest.save_regions(out, rel, regions)
        manifest.write_caption(out, rel, raw)
        record.update(status="ok", reason="", output=str(target.relative_to(out)), height=int(image.shape[0]),
                      width=int(image.shape[1]), stage1=s1, stage2=done.record(),
                      columns=manifest.columns_of(rel, captions), seconds=round(time.perf_counter() - started, 3))
        manifest.write_record(out, rel, record)
        return record
