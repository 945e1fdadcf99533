"""The Ray Data graph of an evaluation, with resume: one result shard per benchmark shard.

Why per-shard results: a killed evaluation must keep what it finished. The driver streams the mapped batches,
groups rows by the benchmark shard they came from, and writes a shard's results (atomically) as soon as all of
its samples are in; a re-run skips every result shard already on disk. Rows are sorted before writing, so a
resumed shard is byte-identical to an uninterrupted one.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from sppe_ray.config import SPPEConfig
from sppe_ray.pipelines.eval_plan import EvalPlan
from sppe_ray.pipelines.eval_stages import (
    EVAL_NODE_COLUMN,
    INPUT_COLUMNS,
    PATH_COLUMN,
    READ_NODE_COLUMN,
    SampleEvaluator,
    current_node,
)
from sppe_ray.schema import RESULT_SCHEMA
from sppe_ray.shards import ShardWriter, read_manifest

log = logging.getLogger(__name__)
RESULT_PREFIX = "res"


def result_shard_name(benchmark_shard: str) -> str:
    """Result shard named after its benchmark shard, so resume maps one to the other without a table."""
    stem = benchmark_shard[:-len(".parquet")] if benchmark_shard.endswith(".parquet") else benchmark_shard
    return f"{RESULT_PREFIX}-{stem}"


def split_counts(benchmark: Path, split: str | None) -> dict[str, int]:
    """Benchmark shard file name -> number of its rows in `split` (reads only the split column)."""
    out = {}
    for entry in read_manifest(benchmark)["shards"]:
        col = pq.read_table(benchmark / entry["name"], columns=["split"]).column("split")
        out[entry["name"]] = int(len(col) if split is None else pc.sum(pc.equal(col, split)).as_py() or 0)
    return out


def pool_size(cfg: SPPEConfig, cluster_cpus: float) -> int:
    """Actors that fit beside the read tasks: at most `ray.actors`, at least one."""
    from sppe_ray.runtime import actor_cpus

    share = actor_cpus(cfg.ray.actor_cpus)
    return max(1, min(cfg.ray.actors, int((cluster_cpus - 0.25) / share)))


def compute_results(benchmark: Path, results_dir: Path, plan: EvalPlan, cfg: SPPEConfig, *,
                    on_shard: Callable[[str, int], None] | None = None) -> dict[str, Any]:
    """Evaluate every benchmark shard lacking a result shard; write the results manifest; return stats."""
    writer = ShardWriter(results_dir, schema=RESULT_SCHEMA, prefix=RESULT_PREFIX)
    writer.existing_shards()
    expected = split_counts(benchmark, cfg.eval.split)
    todo: dict[str, int] = {}
    skipped = 0
    for name, n in sorted(expected.items()):
        rname = result_shard_name(name)
        if writer.done(rname):
            skipped += 1
            continue
        if n == 0:  # nothing of this split in the shard: an empty result shard marks it done
            writer.write(RESULT_SCHEMA.empty_table(), rname)
            continue
        todo[name] = n * plan.rows_per_sample
    stats = {"shards_total": len(expected), "shards_skipped": skipped, "shards_computed": 0,
             "samples_computed": 0, "placement": {"read": {}, "evaluate": {}}}
    if todo:
        _run_graph(benchmark, writer, todo, plan, cfg, stats, on_shard)
    writer.finish(extra={"evaluation": {"split": cfg.eval.split, "plan": plan.describe()}})
    return stats


def _run_graph(benchmark: Path, writer: ShardWriter, todo: dict[str, int], plan: EvalPlan, cfg: SPPEConfig,
               stats: dict[str, Any], on_shard: Callable[[str, int], None] | None) -> None:
    import ray

    from sppe_ray.runtime import actor_cpus, actor_gpus, init_ray

    resources = init_ray(cfg.ray.num_cpus)
    size = min(pool_size(cfg, float(resources.get("CPU", 1))), len(todo))  # an idle actor only costs start-up
    # One block per benchmark shard, read by a small task: Ray Data's own file listing runs as a 1-CPU task,
    # which deadlocks a 1-CPU cluster once the actor holds its share (seen under `ray start --num-cpus=1`).
    items = [{PATH_COLUMN: str(benchmark / name)} for name in todo]
    ds = ray.data.from_items(items, override_num_blocks=len(items))
    ds = ds.map_batches(read_shards, fn_kwargs={"split": cfg.eval.split, "rows": cfg.eval.batch_size}, batch_size=1,
                        batch_format="pyarrow", num_cpus=0.1)
    # One batch in flight per actor: with Ray Data's default queue of several, the first actor to finish
    # starting (imports take ~20 s) was handed every block and the others idled (measured ratio 1.02 at 2 CPUs).
    gpus = actor_gpus(plan.uses_gpu, size, cfg.ray.actor_gpus)
    # read_shards already cut blocks to size, so its blocks are the batches. Ray Data insists on a batch size
    # when GPUs are requested; batches may then split a pair between actors: a repeated check, same numbers.
    ds = ds.map_batches(SampleEvaluator, fn_constructor_args=(plan, cfg.eval.split),
                        batch_size=cfg.eval.batch_size if gpus else None, batch_format="pandas",
                        compute=ray.data.ActorPoolStrategy(size=size, max_tasks_in_flight_per_actor=1),
                        num_cpus=actor_cpus(cfg.ray.actor_cpus), num_gpus=gpus)
    pending: dict[str, list[pa.Table]] = {name: [] for name in todo}
    counts = dict.fromkeys(todo, 0)
    for batch in ds.iter_batches(batch_format="pyarrow", batch_size=None):
        if batch.num_rows == 0:
            continue
        _count_placement(batch, stats["placement"])
        for path in pc.unique(batch.column(PATH_COLUMN)).to_pylist():
            name = os.path.basename(str(path))
            part = batch.filter(pc.equal(batch.column(PATH_COLUMN), path))
            if name not in pending:
                log.warning("rows from unexpected shard %s ignored", path)
                continue
            pending[name].append(part)
            counts[name] += part.num_rows
            if counts[name] >= todo[name]:
                _flush(writer, name, pending.pop(name), todo[name] // plan.rows_per_sample, stats, on_shard)
    for name in pending:  # only reachable if a shard came back short: keep nothing half-done
        log.error("shard %s produced %d of %d result rows; not written", name, counts[name], todo[name])
    if pending:
        from sppe_ray.errors import BenchmarkError

        raise BenchmarkError(f"{len(pending)} benchmark shard(s) produced incomplete results; re-run to resume")


def _count_placement(batch: pa.Table, placement: dict[str, dict[str, int]]) -> None:
    """Result rows per Ray node that read and that evaluated them: where the work really ran."""
    for key, column in (("read", READ_NODE_COLUMN), ("evaluate", EVAL_NODE_COLUMN)):
        for node, n in zip(*pc.value_counts(batch.column(column)).flatten(), strict=True):
            placement[key][str(node)] = placement[key].get(str(node), 0) + n.as_py()


def read_shards(batch: pa.Table, split: str | None, rows: int = 16) -> Iterator[pa.Table]:
    """Benchmark shard paths -> those shards' rows of one split (plus the path column), in blocks of about
    `rows` rows cut only between (source, surrogate) pairs.

    Why blocks: one block per shard left the last actor working alone on a whole shard while the others
    idled; why pair boundaries: the samples of one pair then meet in one actor, which scores the pair once.
    """
    for path in batch.column(PATH_COLUMN).to_pylist():
        filters = None if split is None else [("split", "=", split)]
        t = pq.read_table(path, columns=INPUT_COLUMNS, filters=filters)
        t = t.append_column(PATH_COLUMN, pa.array([path] * t.num_rows, pa.string()))
        t = t.append_column(READ_NODE_COLUMN, pa.array([current_node()] * t.num_rows, pa.string()))
        for start, stop in pair_chunks(t, rows):
            yield t.slice(start, stop - start)


def pair_chunks(table: pa.Table, rows: int) -> list[tuple[int, int]]:
    """(start, stop) row ranges of about `rows` rows that never split a run of equal (source, surrogate)."""
    if table.num_rows == 0:
        return []
    src, sur = table.column("source").to_pylist(), table.column("surrogate").to_pylist()
    cuts = [i for i in range(1, table.num_rows) if src[i] != src[i - 1] or sur[i] != sur[i - 1]]
    out, start = [], 0
    for cut in cuts:
        if cut - start >= rows:
            out.append((start, cut))
            start = cut
    out.append((start, table.num_rows))
    return out


def _flush(writer: ShardWriter, name: str, parts: list[pa.Table], samples: int, stats: dict[str, Any],
           on_shard: Callable[[str, int], None] | None) -> None:
    table = pa.concat_tables(parts).drop_columns([PATH_COLUMN, READ_NODE_COLUMN, EVAL_NODE_COLUMN])
    order = pc.sort_indices(table, sort_keys=[("sample_id", "ascending"), ("task", "ascending"),
                                              ("method", "ascending")])
    writer.write(table.take(order).cast(RESULT_SCHEMA), result_shard_name(name))
    stats["shards_computed"] += 1
    stats["samples_computed"] += samples
    log.info("results for %s written (%d samples, %d rows)", name, samples, table.num_rows)
    if on_shard is not None:
        on_shard(name, samples)
