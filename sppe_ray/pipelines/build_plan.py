"""The build plan: which scenes, which instructions, which surrogate strategies, which split.

Pure and deterministic (no Ray, no images): the plan is what makes a build resumable and reproducible.
Scenes are grouped into shards by index, so a re-run knows from the shard name alone what is finished.
Coverage is by construction: each category walks its applicable instructions in a seeded order, so every
instruction applicable to a category appears once that category has enough instruction slots.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field

import numpy as np

from sppe_ray.errors import ConfigError
from sppe_ray.privacy.protect import resolve_strategy
from sppe_ray.taxonomy import CATEGORIES, SCENE, applicable_instructions

__all__ = ["SceneTask", "assign_split", "group_into_shards", "plan_scenes", "resolve_strategy", "stable_unit"]

GENERIC_STRATEGIES = ("blur", "pixelate", "fill", "inpaint")
#: Share of a scene's instructions drawn from those aimed at its content (person, text, card, ticket, laptop,
#: plate) rather than global scene styles: content-aimed edits are where surrogates succeed or fail, and
#: with uniform draws the 30 scene styles would make up ~80% of the benchmark.
TARGETED_SHARE = 0.6


@dataclass(frozen=True)
class SceneTask:
    """One private scene to render and the (strategy, instruction) samples to draw from it."""

    index: int
    category: str
    seed: int
    strategies: tuple[str, ...]
    instructions: tuple[str, ...]
    split: str
    image_path: str | None = None
    mask_path: str | None = None
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


def stable_unit(text: str) -> float:
    """A uniform number in [0, 1) from a string, stable across processes and Python versions."""
    return int(hashlib.sha256(text.encode()).hexdigest()[:12], 16) / float(16**12)


def assign_split(group: str, splits: dict[str, float], seed: int) -> str:
    """Split by source group: every sample of one source image lands in the same split."""
    total = sum(splits.values())
    u = stable_unit(f"{seed}:{group}") * total
    acc = 0.0
    for name, frac in sorted(splits.items()):
        acc += frac
        if u < acc:
            return name
    return sorted(splits)[-1]


def category_cycle(weights: dict[str, int] | None = None) -> list[str]:
    """One round of the round robin: every category once, then those weighted above 1 again, round after
    round, so a weight of 4 gives that category four scenes per round (a build of fewer scenes than one
    round's length sees only part of it). Unweighted, it is the sorted list (the order every earlier build
    used)."""
    weights = weights or {}
    cats = sorted(CATEGORIES)
    rounds = max([1, *weights.values()])
    cycle = [c for r in range(rounds) for c in cats if weights.get(c, 1) > r]
    if not cycle:
        raise ConfigError("build.category_weights leaves out every category")
    return cycle


def plan_scenes(n_scenes: int, instructions_per_scene: int, strategies: list[str], strategies_per_scene: int,
                splits: dict[str, float], seed: int, category_weights: dict[str, int] | None = None
                ) -> list[SceneTask]:
    """Round-robin over categories (`category_cycle`); per category, seeded walks over its content-aimed and
    its scene instructions (TARGETED_SHARE of each scene's instructions from the first).

    Each scene gets its default strategy plus `strategies_per_scene - 1` others drawn from `strategies`,
    so editability can be compared across strategies on the same source.
    """
    rng = np.random.default_rng(seed)
    cats = sorted(CATEGORIES)
    scene_codes = set(SCENE)
    walks = {}
    for c in cats:
        codes = applicable_instructions(c)
        walks[(c, "targeted")] = list(rng.permutation([x for x in codes if x not in scene_codes]))
        walks[(c, "scene")] = list(rng.permutation([x for x in codes if x in scene_codes]))
    cursor = dict.fromkeys(walks, 0)
    others = [s for s in strategies if s != "default"]
    tasks = []
    cycle = category_cycle(category_weights)
    for i in range(n_scenes):
        cat = cycle[i % len(cycle)]
        codes: list[str] = []
        n_targeted = min(len(walks[(cat, "targeted")]), round(TARGETED_SHARE * instructions_per_scene))
        for kind, count in (("targeted", n_targeted), ("scene", instructions_per_scene - n_targeted)):
            walk = walks[(cat, kind)]
            for _ in range(min(count, len(walk))):
                codes.append(str(walk[cursor[(cat, kind)] % len(walk)]))
                cursor[(cat, kind)] += 1
        chosen = ["default"] if "default" in strategies else []
        extra = [s for s in others if s != resolve_strategy("default", cat)]
        need = max(0, strategies_per_scene - len(chosen))
        if extra and need:
            picks = rng.choice(len(extra), size=min(need, len(extra)), replace=False)
            chosen += [extra[int(p)] for p in sorted(picks)]
        scene_seed = int(rng.integers(0, 2**31 - 1))
        group = f"scene-{seed}-{i}"
        tasks.append(SceneTask(i, cat, scene_seed, tuple(chosen), tuple(codes), assign_split(group, splits, seed)))
    return tasks


def shard_of(index: int, scenes_per_shard: int) -> int:
    return index // scenes_per_shard


def group_into_shards(tasks: list[SceneTask], scenes_per_shard: int) -> dict[str, list[SceneTask]]:
    """Shard name -> its scene tasks; names are stable for a given plan."""
    shards: dict[str, list[SceneTask]] = {}
    for t in tasks:
        shards.setdefault(f"part-{shard_of(t.index, scenes_per_shard):05d}", []).append(t)
    return shards
