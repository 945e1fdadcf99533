"""The build plan: coverage of categories and instructions, determinism, splits grouped by source."""

from collections import Counter, defaultdict

from sppe_ray.pipelines.build_plan import assign_split, group_into_shards, plan_scenes, resolve_strategy
from sppe_ray.taxonomy import CATEGORIES, INSTRUCTIONS, applicable_instructions

STRATS = ["default", "blur", "pixelate", "fill", "inpaint"]
SPLITS = {"train": 0.7, "val": 0.1, "test": 0.2}


def test_default_plan_covers_every_category_and_instruction():
    tasks = plan_scenes(320, 5, STRATS, 2, SPLITS, seed=0)
    assert {t.category for t in tasks} == set(CATEGORIES)
    codes = Counter(c for t in tasks for c in t.instructions)
    assert set(codes) == set(INSTRUCTIONS)
    for t in tasks:
        assert set(t.instructions) <= set(applicable_instructions(t.category))
        assert len(set(t.instructions)) == len(t.instructions)
        assert t.strategies[0] == "default" and len(t.strategies) == 2
        assert resolve_strategy(t.strategies[1], t.category) != resolve_strategy("default", t.category)
    assert 320 * 5 * 2 >= 3000


def test_plan_is_deterministic_and_seed_dependent():
    a = plan_scenes(40, 3, STRATS, 2, SPLITS, seed=1)
    b = plan_scenes(40, 3, STRATS, 2, SPLITS, seed=1)
    c = plan_scenes(40, 3, STRATS, 2, SPLITS, seed=2)
    assert a == b
    assert a != c


def test_split_depends_only_on_group():
    splits = defaultdict(set)
    for i in range(200):
        g = f"photo-{i % 17}"
        splits[g].add(assign_split(g, SPLITS, 0))
    assert all(len(s) == 1 for s in splits.values())
    counts = Counter(assign_split(f"g{i}", SPLITS, 0) for i in range(5000))
    assert abs(counts["train"] / 5000 - 0.7) < 0.03 and abs(counts["test"] / 5000 - 0.2) < 0.03


def test_shards_partition_the_plan():
    tasks = plan_scenes(50, 3, STRATS, 2, SPLITS, seed=0)
    shards = group_into_shards(tasks, 8)
    assert sorted(t.index for ts in shards.values() for t in ts) == list(range(50))
    assert len(shards) == 7 and all(len(ts) <= 8 for ts in shards.values())


def test_category_weights_scale_a_category_and_default_to_the_old_order():
    import pytest

    from sppe_ray.config import load_config
    from sppe_ray.errors import ConfigError
    from sppe_ray.pipelines.build import build_fingerprint, recorded_config
    from sppe_ray.pipelines.build_plan import category_cycle

    assert category_cycle() == sorted(CATEGORIES) == category_cycle({"a105_face_all": 1})
    weighted = plan_scenes(320, 5, STRATS, 2, SPLITS, seed=0, category_weights={"a105_face_all": 4,
                                                                               "a30_credit_card": 0})
    count = Counter(t.category for t in weighted)
    assert 3.5 <= count["a105_face_all"] / count["a106_address_current_all"] <= 4.5 and "a30_credit_card" not in count
    with pytest.raises(ConfigError):
        category_cycle({c: 0 for c in CATEGORIES})
    with pytest.raises(ConfigError, match="unknown categories"):
        load_config(overrides=["build.category_weights={faces: 2}"], environ={})
    # A weight left at its default changes neither the fingerprint nor the recorded config of a build.
    plain = load_config(environ={})
    assert "category_weights" not in recorded_config(plain)["build"]
    faces = load_config(overrides=["build.category_weights={a105_face_all: 4}"], environ={})
    assert build_fingerprint(faces) != build_fingerprint(plain)
    assert recorded_config(faces)["build"]["category_weights"] == {"a105_face_all": 4}
