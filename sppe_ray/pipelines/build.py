"""Build a benchmark on Ray Data: plan → (actor pool) scenes → samples → Parquet shards → manifest.

Why shards are the unit of work: each actor writes its shard atomically and returns only a small
ShardInfo, so the driver never holds images (memory stays flat as N grows), a killed build keeps every
finished shard, and a re-run skips them (the plan is deterministic, so shard names mean the same scenes).
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np

from sppe_ray.config import SPPEConfig, sppe_home
from sppe_ray.environment import environment_record
from sppe_ray.errors import BenchmarkError
from sppe_ray.pipelines.build_plan import SceneTask, assign_split, group_into_shards, plan_scenes
from sppe_ray.privacy import fallbacks
from sppe_ray.schema import BENCHMARK_SCHEMA, table_from_rows
from sppe_ray.shards import ShardWriter, verify_benchmark, write_shard

log = logging.getLogger(__name__)

def plan_for(cfg: SPPEConfig) -> list[SceneTask]:
    """The scene tasks of a build: synthetic sppe-mini, or a user's folder of images."""
    b = cfg.build
    if b.images:
        return _plan_user_images(cfg)
    return plan_scenes(b.n_scenes, b.instructions_per_scene, b.strategies, b.strategies_per_scene,
                       b.splits, b.seed, b.category_weights)


def _plan_user_images(cfg: SPPEConfig) -> list[SceneTask]:
    """One scene per user image; instructions are drawn later from the detected category (see factory)."""
    from sppe_ray.datasets.images import list_user_images

    b = cfg.build
    folder = Path(b.images)
    if not folder.is_dir():
        raise BenchmarkError(f"--images folder not found: {folder}")
    entries = list_user_images(folder)
    if not entries:
        raise BenchmarkError(f"no images found under {folder}")
    rng = np.random.default_rng(b.seed)
    tasks = []
    for i, entry in enumerate(entries):
        tasks.append(SceneTask(i, "", int(rng.integers(0, 2**31 - 1)), ("default",) + tuple(
            s for s in b.strategies if s != "default")[: b.strategies_per_scene - 1], (),
            assign_split(entry.group, b.splits, b.seed), image_path=str(entry.path),
            extra={"entry": entry.to_dict(), "group": entry.group}))
    return tasks


def scenes_per_shard(cfg: SPPEConfig) -> int:
    per_scene = max(1, cfg.build.instructions_per_scene * cfg.build.strategies_per_scene)
    return max(1, math.ceil(cfg.build.shard_size / per_scene))


class ShardBuilder:
    """Ray Data actor: builds one shard per input row and writes it; returns the shard's summary."""

    def __init__(self, cfg_json: str, out_dir: str) -> None:
        _limit_threads()
        from sppe_ray.pipelines.build_samples import SampleFactory

        self.cfg = SPPEConfig.model_validate_json(cfg_json)
        self.out_dir = out_dir
        self.factory = SampleFactory(self.cfg)

    def __call__(self, batch: dict) -> dict:
        names, infos = [], []
        for name, tasks_json in zip(batch["shard"], batch["tasks"], strict=True):
            infos.append(json.dumps(self.build_one(str(name), json.loads(tasks_json))))
            names.append(str(name))
        return {"shard": np.array(names, dtype=object), "info": np.array(infos, dtype=object)}

    def build_one(self, name: str, task_dicts: list[dict]) -> dict:
        rows, skipped, started = [], Counter(), time.perf_counter()
        for d in task_dicts:
            task, scene = _task_from_dict(d), None
            if self.cfg.build.images:
                task, scene = self._with_instructions(task)
            result = self.factory.rows_for(task, scene)
            rows.extend(result.rows)
            skipped.update(result.skipped)
        skipped.update({fallbacks.PREFIX + k: v for k, v in fallbacks.take().items()})
        info = write_shard(table_from_rows(rows, BENCHMARK_SCHEMA), self.out_dir, name,
                           schema=BENCHMARK_SCHEMA, skipped=dict(skipped))
        return {"name": info.name, "rows": info.rows, "sha256": info.sha256, "bytes": info.bytes,
                "counts": info.counts, "skipped": info.skipped, "seconds": time.perf_counter() - started}

    def _with_instructions(self, task: SceneTask):
        """User images: the category is known only after detection, so pick instructions here."""
        from sppe_ray.errors import SPPEError
        from sppe_ray.taxonomy import applicable_instructions

        try:
            scene = self.factory.scene_for(task)
        except SPPEError:  # rows_for loads it again and records the reason as a skip
            return task, None
        if not scene.regions:
            return task, scene
        cat = scene.regions[0].category
        codes = applicable_instructions(cat)
        rng = np.random.default_rng(task.seed)
        k = min(self.cfg.build.instructions_per_scene, len(codes))
        picks = tuple(str(codes[int(i)]) for i in sorted(rng.choice(len(codes), size=k, replace=False)))
        return replace(task, category=cat, instructions=picks), scene


def _task_from_dict(d: dict) -> SceneTask:
    d = dict(d)
    d["strategies"] = tuple(d["strategies"])
    d["instructions"] = tuple(d["instructions"])
    return SceneTask(**d)


def _limit_threads() -> None:
    """One thread per library per actor: actors already run in parallel, oversubscription only slows."""
    try:
        import cv2

        cv2.setNumThreads(1)
    except ImportError:  # pragma: no cover
        pass
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:  # pragma: no cover
        pass


def build_benchmark(cfg: SPPEConfig, out_dir: str | Path, *, actors: int | None = None,
                    progress: bool = True) -> dict:
    """Build (or finish building) the benchmark at `out_dir`; returns the manifest plus timings."""
    import ray

    from sppe_ray.editors import EDITORS
    from sppe_ray.runtime import actor_cpus, actor_gpus, init_ray

    started = time.perf_counter()
    out = Path(out_dir)
    _claim_folder(out, cfg)
    tasks = plan_for(cfg)
    shards = group_into_shards(tasks, scenes_per_shard(cfg))
    writer = ShardWriter(out, schema=BENCHMARK_SCHEMA)
    existing = {s.name for s in writer.existing_shards()}
    todo = [(n, ts) for n, ts in shards.items() if writer.shard_name(int(n.split("-")[-1])) not in existing]
    log.info("build %s: %d scenes in %d shards, %d already done", out, len(tasks), len(shards),
             len(shards) - len(todo))
    if todo:
        init_ray(cfg.ray.num_cpus)
        n_actors = actors or max(1, min(cfg.ray.actors, len(todo), int(ray.cluster_resources().get("CPU", 1))))
        items = [{"shard": n, "tasks": json.dumps([t.to_dict() for t in ts])} for n, ts in todo]
        ds = ray.data.from_items(items, override_num_blocks=len(items))
        ds = ds.map_batches(ShardBuilder, fn_constructor_args=(cfg.model_dump_json(), str(out)), batch_size=1,
                            compute=ray.data.ActorPoolStrategy(size=n_actors),
                            num_cpus=actor_cpus(cfg.ray.actor_cpus),
                            num_gpus=actor_gpus(EDITORS.entry(cfg.editor.name).gpu != "no", n_actors,
                                                cfg.ray.actor_gpus))
        bar = _progress(len(todo), progress)
        for row in ds.iter_rows():
            info = json.loads(row["info"])
            bar.update(1)
            bar.set_postfix(rows=info["rows"], last=f"{info['seconds']:.1f}s")
        bar.close()
    writer = ShardWriter(out, schema=BENCHMARK_SCHEMA)
    found = writer.existing_shards()
    expected = {writer.shard_name(int(n.split("-")[-1])) for n in shards}
    if not expected <= {s.name for s in found}:
        raise BenchmarkError(f"build of {out} incomplete: {len(expected - {s.name for s in found})} shards missing")
    for info in found:
        if info.name not in expected:  # shards of another plan (config changed): not part of this build
            writer._infos.pop(info.name, None)
    skipped = Counter()
    for info in writer.shards:
        skipped.update(fallbacks.split(info.skipped)[0])
    by_strategy: Counter = Counter()
    for info in writer.shards:
        by_strategy.update(info.counts.get("by_strategy", {}))
    rates = surrogate_pass_rates(by_strategy, skipped)
    manifest = writer.finish(config=recorded_config(cfg),  # skips are summed from the shards (once)
                             extra={"name": benchmark_name(cfg), "scenes": len(tasks),
                                    "surrogate_pass_rate": rates, "environment": environment_record()})
    problems = verify_benchmark(out)
    if problems:
        raise BenchmarkError(f"built benchmark failed validation: {problems[0]}")
    if progress:
        report_pass_rates(rates, skipped)
    return {"path": str(out), "name": benchmark_name(cfg), "counts": manifest["counts"],
            "skipped": manifest.get("skipped", {}), "surrogate_pass_rate": rates,
            "shards": len(manifest["shards"]), "seconds": round(time.perf_counter() - started, 2)}


def recorded_config(cfg: SPPEConfig) -> dict:
    """The configuration a build records and fingerprints. Build keys added after a benchmark was published
    are left out while they hold their default, so the same settings keep the same fingerprint and an existing
    folder stays resumable (sppe-mini's is 0009400d). The manifest records the whole configuration, so a
    fresh build's manifest hash still moves when any section gains a key (docs/reproducibility.md)."""
    dump = cfg.model_dump()
    if not dump["build"].get("category_weights"):
        dump["build"].pop("category_weights", None)
    if dump["build"].get("strategies_per_scene") == 2:  # the value before it was a key
        dump["build"].pop("strategies_per_scene", None)
    return dump


#: The file that records which configuration a build folder belongs to (resume is by shard name only).
BUILD_RECORD = ".build.json"


def build_fingerprint(cfg: SPPEConfig) -> str:
    """Hash of everything that decides a benchmark's rows: the build, editor and embedder sections."""
    import hashlib

    ident = json.dumps({k: recorded_config(cfg)[k] for k in ("build", "editor", "embed")}, sort_keys=True)
    return hashlib.sha256(ident.encode()).hexdigest()[:16]


def _claim_folder(out: Path, cfg: SPPEConfig) -> None:
    """Refuse to resume into a folder started by another configuration: its shards would be mixed with ours
    under one manifest (e.g. `--out` pointed at sppe-mini, or two photo folders with the same name)."""
    record = out / BUILD_RECORD
    mine = build_fingerprint(cfg)
    if record.is_file():
        theirs = json.loads(record.read_text()).get("fingerprint")
        if theirs != mine:
            raise BenchmarkError(f"{out} holds a build of another configuration (fingerprint {theirs}, this one "
                                 f"{mine}); choose another --out or delete the folder")
    elif out.is_dir() and any(out.glob("*.parquet")):
        raise BenchmarkError(f"{out} already holds shards of a build this version did not record; choose another "
                             "--out or delete the folder")
    out.mkdir(parents=True, exist_ok=True)
    record.write_text(json.dumps({"fingerprint": mine, "build": recorded_config(cfg)["build"]}, sort_keys=True))


#: below this share of kept samples the build warns loudly (most candidates dropped).
LOW_KEEP_SHARE = 0.5


def surrogate_pass_rates(kept: Counter | dict, skipped: Counter | dict) -> dict[str, dict]:
    """Per surrogate strategy: samples kept, samples dropped because a surrogate failed its privacy check, and
    the kept share. Units are samples (scene x strategy x instruction). A kept sample counts under its own
    strategy (its first region's), a dropped one under the strategy of the region that failed."""
    failed: Counter = Counter()
    for reason, n in skipped.items():
        head, _, name = reason.partition(":")
        if head == "surrogate_check_failed" and name:
            failed[name] += n
    out = {}
    for name in sorted(set(kept) | set(failed)):
        k, f = int(kept.get(name, 0)), int(failed.get(name, 0))
        out[name] = {"kept": k, "failed": f, "rate": round(k / (k + f), 4) if k + f else None}
    return out


def report_pass_rates(rates: dict[str, dict], skipped: Counter | dict) -> None:
    """Print the pass rates at the end of a build, and say so loudly when most candidates were dropped."""
    import sys

    for name, r in rates.items():
        rate = "n/a" if r["rate"] is None else f"{r['rate']:.0%}"
        print(f"[build] surrogate {name:<18} kept {r['kept']:>6}  failed check {r['failed']:>6}  pass {rate}",
              file=sys.stderr)
    kept = sum(r["kept"] for r in rates.values())
    dropped = sum(int(n) for n in skipped.values())
    if kept + dropped and kept / (kept + dropped) < LOW_KEEP_SHARE:
        reason, n = max(skipped.items(), key=lambda kv: kv[1])
        print(f"[build] WARNING: only {kept} of {kept + dropped} candidate samples were kept "
              f"({kept / (kept + dropped):.0%}); most common reason: {reason} ({n}). See the manifest's "
              f"'skipped' and 'surrogate_pass_rate'.", file=sys.stderr)


def _progress(total: int, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="build shards", unit="shard", disable=not enabled)


def benchmark_name(cfg: SPPEConfig) -> str:
    """``build.name``; a build from a user's photos under the default name is named after their folder, so it
    never poses as (or overwrites) sppe-mini."""
    default = type(cfg.build).model_fields["name"].default
    if cfg.build.images and cfg.build.name == default:
        return f"images-{Path(cfg.build.images).resolve().name}"
    return cfg.build.name


def default_benchmark_dir(cfg: SPPEConfig) -> Path:
    return sppe_home() / "benchmarks" / benchmark_name(cfg)


def chosen_benchmark(cfg: SPPEConfig, given: str | Path | None = None) -> Path:
    """The benchmark a command reads: `given`, else `eval.benchmark`, else the default folder of this config."""
    return Path(given or cfg.eval.benchmark or default_benchmark_dir(cfg)).expanduser().resolve()


def ensure_benchmark(cfg: SPPEConfig, path: str | Path | None = None) -> Path:
    """The benchmark to use: `path` if given (must be valid), else the default one, built if missing."""
    if path is not None:
        p = Path(path)
        problems = verify_benchmark(p)
        if problems:
            raise BenchmarkError(f"benchmark {p} is not usable: {problems[0]}")
        return p
    p = default_benchmark_dir(cfg)
    if (p / "manifest.json").exists() and not verify_benchmark(p):
        return p
    build_benchmark(cfg, p)
    return p
