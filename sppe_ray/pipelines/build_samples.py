"""Turn one planned scene into benchmark rows: render/load → surrogate per strategy → edit both → label.

No Ray here: the Ray stage (`pipelines.build`) only calls `SampleFactory.rows_for(task)` inside actors, so
this logic is tested directly. Expensive tools (editor, embedder, detector) are created once per factory.
The editor sees the surrogate only; the source edit exists to compute the label, as in SPPE.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from sppe_ray.config import SPPEConfig
from sppe_ray.errors import SPPEError
from sppe_ray.imageio import encode_mask, encode_png
from sppe_ray.pipelines.build_plan import SceneTask, assign_split, resolve_strategy, stable_unit
from sppe_ray.privacy.region import Region, Scene
from sppe_ray.schema import sample_id
from sppe_ray.taxonomy import CATEGORIES, get_instruction

log = logging.getLogger(__name__)

BASE_KINDS_NEEDING_PEOPLE = ("face", "person")


@dataclass
class SceneResult:
    rows: list[dict] = field(default_factory=list)
    skipped: Counter = field(default_factory=Counter)


def _strategy_seed(task_seed: int, strategy: str, attempt_base: int = 0) -> int:
    return (task_seed * 1_000_003 + int(stable_unit(strategy) * 1e9) + attempt_base) % (2**31 - 1)


class SampleFactory:
    """Holds the per-process tools; `rows_for` is deterministic in (config, task)."""

    def __init__(self, cfg: SPPEConfig) -> None:
        from sppe_ray.editors import create_editor
        from sppe_ray.embed import create_image_embedder

        self.cfg = cfg
        ed = cfg.editor
        self.editor = create_editor(ed.name, **ed.model_dump(exclude={"name"}))  # each backend takes its keys
        embed_kw = {"model": cfg.embed.model} if cfg.embed.image == "clip" else {}
        self.embedder = create_image_embedder(cfg.embed.image, **embed_kw)
        self._detector = None
        if cfg.blackbox.learned_model:
            from sppe_ray.blackbox import learned

            learned.use(cfg.blackbox.learned_model)

    # -- scenes ---------------------------------------------------------------------------------------
    def scene_for(self, task: SceneTask) -> Scene:
        if task.image_path:
            from sppe_ray.datasets.images import ImageEntry, scene_from_entry

            entry = ImageEntry.from_dict(task.extra["entry"]) if "entry" in task.extra else ImageEntry(
                path=task.image_path, group=task.extra.get("group", task.image_path), mask_paths={}, regions=[])
            needs_detector = not (entry.mask_paths or entry.regions)
            return scene_from_entry(entry, self.cfg.build.size,
                                    detector=self.detector() if needs_detector else None,
                                    default_category=self.cfg.build.default_category)
        return self._synthetic_scene(task)

    def detector(self):
        if self._detector is None:
            from sppe_ray.privacy.detectors import create_detector

            self._detector = create_detector(self.cfg.build.detector)
        return self._detector

    def _synthetic_scene(self, task: SceneTask) -> Scene:
        from sppe_ray.privacy import photos
        from sppe_ray.privacy.synthetic import render_scene

        rng = np.random.default_rng(task.seed)
        kind = CATEGORIES[task.category].kind
        pool = photos.face_photos() if kind in BASE_KINDS_NEEDING_PEOPLE else photos.background_photos()
        name, base = pool[int(rng.integers(len(pool)))]
        group = f"{name}" if kind in BASE_KINDS_NEEDING_PEOPLE else f"scene-{task.index}"
        return render_scene(task.category, base, rng, size=self.cfg.build.size, source_group=group,
                            origin=f"synthetic:{name}")

    # -- samples --------------------------------------------------------------------------------------
    def surrogate(self, scene: Scene, strategy: str, seed: int) -> tuple[np.ndarray, list[dict]]:
        """Apply `strategy` to every region (checked, regenerated on failure); SPPEError when it cannot."""
        from sppe_ray.privacy.protect import protect

        done = protect(scene.image, scene.regions, strategy, seed, attempts=self.cfg.build.surrogate_attempts)
        checks = [{"region": k, "strategy": name, "attempts": used, **_check_dict(check)}
                  for k, (name, check, used) in enumerate(zip(done.strategies, done.checks, done.attempts,
                                                              strict=True))]
        failed = next((name for name, check in zip(done.strategies, done.checks, strict=True) if not check.ok), None)
        if failed is not None:
            raise SPPEError(f"surrogate_check_failed:{failed}")
        return done.image, checks

    def rows_for(self, task: SceneTask, scene: Scene | None = None) -> SceneResult:
        """Rows of one scene (rendered or loaded here unless given); failures become skip counts."""
        result = SceneResult()
        try:
            scene = scene if scene is not None else self.scene_for(task)
        except SPPEError as exc:
            result.skipped[_reason(exc, "scene_error")] += 1
            return result
        if not scene.regions:
            result.skipped["no_private_region"] += len(task.strategies) * len(task.instructions)
            return result
        # The split follows the source image: a scene drawn on a shared photo (people categories reuse a small
        # pool of real photos) takes that photo's split, so no photo is trained on and tested on.
        split = task.split if scene.source_group.startswith("scene-") or task.image_path else assign_split(
            scene.source_group, self.cfg.build.splits, self.cfg.build.seed)
        src = scene.image
        mask = scene.union_mask()
        src_png, mask_png = encode_png(src), encode_mask(mask)
        category = task.category if not task.image_path else scene.regions[0].category
        src_edits = {code: self.editor.edit(src, code, task.seed) for code in task.instructions}
        src_edit_png = {code: encode_png(img) for code, img in src_edits.items()}
        for strategy in task.strategies:
            try:
                sur, checks = self.surrogate(scene, strategy, _strategy_seed(task.seed, strategy))
            except SPPEError as exc:
                result.skipped[_reason(exc, "surrogate_error")] += len(task.instructions)
                continue
            sur_png = encode_png(sur)
            sur_edits = [self.editor.edit(sur, code, task.seed) for code in task.instructions]
            labels = self._labels(src, sur, [src_edits[c] for c in task.instructions], sur_edits, mask)
            for j, code in enumerate(task.instructions):
                instr = get_instruction(code)
                resolved = resolve_strategy(strategy, category)
                result.rows.append({
                    "sample_id": sample_id(self.cfg.build.seed, task.index, task.image_path or "", resolved, code),
                    "split": split, "category": category, "instruction_code": code,
                    "instruction": instr.text, "task_tag": instr.task_tag, "strategy": resolved,
                    "source": src_png, "mask": mask_png, "surrogate": sur_png,
                    "source_edit": src_edit_png[code], "surrogate_edit": encode_png(sur_edits[j]),
                    "editability": float(labels["editability"][j]),
                    "label_output": float(labels["label_output"][j]),
                    "label_region": float(labels["label_region"][j]),
                    "width": int(src.shape[1]), "height": int(src.shape[0]),
                    "source_group": scene.source_group,
                    "provenance": json.dumps({
                        "origin": scene.origin, "detector": sorted({r.detector for r in scene.regions}),
                        "regions": [r.category for r in scene.regions], "strategy": resolved,
                        "surrogate_checks": checks, "editor": self.editor.name,
                        "editor_version": getattr(self.editor, "version", "?"),
                        "embedder": self.embedder.name, "seed": task.seed, "scene_index": task.index,
                    }, sort_keys=True),
                })
        return result

    def _labels(self, src, sur, src_edits, sur_edits, mask) -> dict:
        from sppe_ray.labels import label_batch

        n = len(src_edits)
        return label_batch([src] * n, [sur] * n, src_edits, sur_edits, self.embedder, masks=[mask] * n)


def _check_dict(check) -> dict:
    keys = ("ok", "identity_distance", "text_similarity", "pixel_leak", "reason")
    return {k: _jsonable(getattr(check, k, None)) for k in keys}


def _jsonable(v):
    if isinstance(v, (np.floating, np.integer)):
        return v.item()
    return v


def _reason(exc: Exception, default: str) -> str:
    text = str(exc)
    head = text.split(" ", 1)[0].rstrip(":")
    if head.startswith("surrogate_check_failed"):
        return head
    return f"{default}:{type(exc).__name__}"


def region_summary(regions: list[Region]) -> list[str]:
    return [r.category for r in regions]
