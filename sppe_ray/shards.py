"""Benchmark and results folders on disk: Parquet shards, ``manifest.json``, verification, resumable writing.

A benchmark is a folder of Parquet shards plus ``manifest.json``. Shards are written to a temp file in the
same folder and renamed, so a killed job leaves either a whole shard or none (plus a stray ``*.tmp`` that
readers ignore), and a re-run can list what is done and skip it. The manifest records each shard's sha256
and the row counts per split/category/instruction/strategy/task tag, so any later reader can tell a
complete, untouched benchmark from a corrupt one before trusting a single number computed on it.
Parquet files are written with fixed settings and no timestamps: the same rows give the same bytes, hence
the same manifest and ``manifest_hash`` after a resume as after an uninterrupted run. The row schemas
themselves are `sppe_ray.schema`.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from sppe_ray import __version__
from sppe_ray.errors import BenchmarkError
from sppe_ray.schema import (
    BENCHMARK_SCHEMA,
    RESULT_SCHEMA,
    SCHEMA_VERSION,
    SCHEMAS,
    conform_table,
    schema_kind,
    schema_problems,
)

MANIFEST_NAME = "manifest.json"
SHARD_SUFFIX = ".parquet"
_SKIPPED_KEY = b"sppe.skipped"  # per-shard skip counts travel inside the shard, so resume keeps them
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")

# manifest count key -> column it counts
COUNT_COLUMNS: dict[str, str] = {
    "by_split": "split", "by_category": "category", "by_instruction": "instruction_code",
    "by_strategy": "strategy", "by_task_tag": "task_tag",
}


@dataclass(frozen=True)
class ShardInfo:
    """One finished shard: what the manifest lists, plus its counts and skips for summing."""

    name: str
    rows: int
    sha256: str
    bytes: int
    counts: dict[str, dict[str, int]] = field(default_factory=dict, compare=False)
    skipped: dict[str, int] = field(default_factory=dict, compare=False)

    def to_manifest(self) -> dict[str, Any]:
        return {"name": self.name, "rows": self.rows, "sha256": self.sha256, "bytes": self.bytes}


def _counts(table: pa.Table) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for key, col in COUNT_COLUMNS.items():
        if col in table.column_names:
            vc = pc.value_counts(table.column(col)).to_pylist()
            out[key] = {str(d["values"]): int(d["counts"]) for d in vc if d["values"] is not None}
    return out


def _merge_counts(parts: Iterable[Mapping[str, int]]) -> dict[str, int]:
    total: Counter[str] = Counter()
    for part in parts:
        total.update(part)
    return dict(sorted(total.items()))


def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _shard_filename(name: str) -> str:
    if not isinstance(name, str) or not _NAME_RE.match(name) or name.endswith(".tmp"):
        raise BenchmarkError(f"bad shard name {name!r}: use letters, digits, '.', '_' or '-'")
    return name if name.endswith(SHARD_SUFFIX) else name + SHARD_SUFFIX


def _atomic_write(path: Path, writer) -> None:
    """Write through ``writer(tmp_path)`` then rename; on any failure nothing appears under ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    try:
        writer(tmp)
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_shard(
    table: pa.Table, folder: str | os.PathLike[str], name: str, *,
    schema: pa.Schema | None = None, skipped: Mapping[str, int] | None = None, row_group_size: int = 64,
) -> ShardInfo:
    """Write one shard atomically (temp file + rename). Schema defaults to results if the table has one."""
    filename = _shard_filename(name)
    if not isinstance(table, pa.Table):
        raise BenchmarkError(f"expected a pyarrow Table, got {type(table).__name__}")
    if schema is None:
        schema = RESULT_SCHEMA if {"task", "method"} <= set(table.column_names) else BENCHMARK_SCHEMA
    table = conform_table(table, schema)
    skips = {str(k): int(v) for k, v in (skipped or {}).items()}
    if skips:
        table = table.replace_schema_metadata({_SKIPPED_KEY: json.dumps(skips, sort_keys=True).encode()})
    strings = [f.name for f in schema if f.type == pa.string()]
    path = Path(folder) / filename
    _atomic_write(path, lambda tmp: pq.write_table(
        table, tmp, compression="zstd", row_group_size=row_group_size, use_dictionary=strings))
    return ShardInfo(filename, table.num_rows, _file_sha256(path), path.stat().st_size, _counts(table), skips)


def build_manifest(
    shards: Iterable[ShardInfo], *, kind: str = "benchmark", config: Mapping[str, Any] | None = None,
    skipped: Mapping[str, int] | None = None, extra: Mapping[str, Any] | None = None,
    created_by: str | None = None,
) -> dict[str, Any]:
    """Manifest dict: counts and skips are summed from the shards (plus ``skipped`` not tied to a shard)."""
    if kind not in SCHEMAS:
        raise BenchmarkError(f"unknown manifest kind {kind!r}; expected one of {sorted(SCHEMAS)}")
    infos = sorted(shards, key=lambda s: s.name)
    dupes = [n for n, c in Counter(s.name for s in infos).items() if c > 1]
    if dupes:
        raise BenchmarkError(f"shard {dupes[0]!r} listed twice")
    counts: dict[str, Any] = {"total": sum(s.rows for s in infos)}
    for key in COUNT_COLUMNS:
        counts[key] = _merge_counts(s.counts.get(key, {}) for s in infos)
    manifest: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION, "schema": kind,
        "created_by": created_by or f"sppe-ray {__version__}",
        "config": dict(config or {}), "counts": counts, "shards": [s.to_manifest() for s in infos],
    }
    merged = _merge_counts([*(s.skipped for s in infos), dict(skipped or {})])
    manifest["skipped"] = {k: v for k, v in merged.items() if not k.startswith("fallback:")}
    # Work done a simpler way because a backend was missing (privacy.fallbacks): said, never hidden.
    manifest["fallbacks"] = {k.removeprefix("fallback:"): v for k, v in merged.items() if k.startswith("fallback:")}
    for key, value in (extra or {}).items():
        if key in manifest:
            raise BenchmarkError(f"extra manifest key {key!r} would overwrite a reserved key")
        manifest[key] = value
    try:
        _canonical(manifest)
    except (TypeError, ValueError) as exc:
        raise BenchmarkError(f"manifest is not JSON-serialisable: {exc}") from None
    return manifest


def _canonical(manifest: Mapping[str, Any]) -> bytes:
    return json.dumps(manifest, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def write_manifest(folder: str | os.PathLike[str], manifest: Mapping[str, Any]) -> Path:
    """Write ``manifest.json`` atomically; it is the last thing a build writes, so its presence means done."""
    text = json.dumps(manifest, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
    path = Path(folder) / MANIFEST_NAME
    _atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    return path


def read_manifest(folder: str | os.PathLike[str]) -> dict[str, Any]:
    """Load the manifest; a missing or unparsable one is a BenchmarkError saying so."""
    path = Path(folder) / MANIFEST_NAME
    if not path.is_file():
        raise BenchmarkError(f"no {MANIFEST_NAME} in {folder}: the build did not finish (re-run to resume)")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BenchmarkError(f"{path} is not valid JSON: {exc}") from None
    if not isinstance(manifest, dict):
        raise BenchmarkError(f"{path} does not hold a JSON object")
    return manifest


#: Manifest keys that describe where a benchmark was made, not what it holds.
UNHASHED_KEYS = frozenset({"environment"})


def manifest_hash(folder: str | os.PathLike[str]) -> str:
    """sha256 of the canonical manifest JSON: identifies a benchmark's exact contents (shard checksums).

    `environment` (where it was built: versions, CPU features, sppe_ray.environment) is left out."""
    manifest = {k: v for k, v in read_manifest(folder).items() if k not in UNHASHED_KEYS}
    return hashlib.sha256(_canonical(manifest)).hexdigest()


def _check_shard(path: Path, entry: Mapping[str, Any], schema: pa.Schema, checksums: bool,
                 recount: dict[str, list[dict[str, int]]]) -> list[str]:
    name = entry["name"]
    if not path.is_file():
        return [f"shard {name} is missing"]
    if checksums and _file_sha256(path) != entry.get("sha256"):
        return [f"shard {name} fails its checksum (corrupt or modified)"]
    try:
        pf = pq.ParquetFile(path)
        problems = [f"shard {name}: {p}" for p in schema_problems(pf.schema_arrow, schema)]
        if pf.metadata.num_rows != entry.get("rows"):
            problems.append(f"shard {name} has {pf.metadata.num_rows} rows, the manifest {entry.get('rows')}")
        if not problems:
            cols = [c for c in COUNT_COLUMNS.values() if c in pf.schema_arrow.names]
            for key, value in _counts(pf.read(columns=cols)).items():
                recount.setdefault(key, []).append(value)
        return problems
    except (OSError, pa.ArrowException) as exc:
        return [f"shard {name} is not readable Parquet ({exc})"]


def verify_benchmark(folder: str | os.PathLike[str], *, checksums: bool = True) -> list[str]:
    """Every problem found with a benchmark or results folder; an empty list means it is valid."""
    root = Path(folder)
    if not root.is_dir():
        return [f"benchmark folder {root} does not exist"]
    try:
        manifest = read_manifest(root)
    except BenchmarkError as exc:
        return [str(exc)]
    version = manifest.get("schema_version")
    if version != SCHEMA_VERSION:
        return [f"manifest schema version {version!r} differs from this code's {SCHEMA_VERSION!r}"]
    schema = SCHEMAS.get(manifest.get("schema", "benchmark"))
    shards, counts = manifest.get("shards"), manifest.get("counts")
    if schema is None or not isinstance(shards, list) or not isinstance(counts, dict):
        return ["manifest lacks a known 'schema', a 'shards' list or a 'counts' object"]
    problems: list[str] = []
    recount: dict[str, list[dict[str, int]]] = {}
    seen: set[str] = set()
    for entry in shards:
        name = entry.get("name") if isinstance(entry, dict) else None
        if not isinstance(name, str) or not _NAME_RE.match(name) or name in seen:
            problems.append(f"manifest has a bad or repeated shard entry {entry!r}")
            continue
        seen.add(name)
        problems += _check_shard(root / name, entry, schema, checksums, recount)
    if problems:
        return problems
    total = sum(int(e["rows"]) for e in shards)
    if counts.get("total") != total:
        problems.append(f"manifest counts {counts.get('total')} rows in total, the shards hold {total}")
    for key in COUNT_COLUMNS:
        if key in counts and counts[key] != _merge_counts(recount.get(key, [])):
            problems.append(f"manifest counts.{key} disagree with the shards")
    return problems


def read_benchmark(
    folder: str | os.PathLike[str], split: str | None = None, columns: list[str] | None = None, *,
    checksums: bool = True,
) -> pa.Table:
    """Load a verified benchmark (or results) folder, optionally one split and some columns."""
    problems = verify_benchmark(folder, checksums=checksums)
    if problems:
        more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        raise BenchmarkError(f"invalid benchmark {folder}: {problems[0]}{more}")
    manifest = read_manifest(folder)
    schema = SCHEMAS[manifest.get("schema", "benchmark")]
    wanted = list(schema.names if columns is None else columns)
    unknown = [c for c in wanted if schema.get_field_index(c) < 0]
    if unknown:
        raise BenchmarkError(f"unknown column {unknown[0]!r}; columns are {', '.join(schema.names)}")
    out_schema = pa.schema([schema.field(c) for c in wanted])
    read_cols = wanted if split is None or "split" in wanted else [*wanted, "split"]
    tables = []
    for entry in manifest["shards"]:
        table = pq.read_table(Path(folder) / entry["name"], columns=read_cols)
        if split is not None:
            table = table.filter(pc.equal(table.column("split"), split))
        tables.append(table.select(wanted).cast(out_schema))
    return pa.concat_tables(tables) if tables else out_schema.empty_table()


class ShardWriter:
    """Collects the shards of one folder for a resumable job: skip what is done, then write the manifest.

    Ray tasks may call ``write_shard`` themselves and hand the returned ShardInfo to ``add``.
    """

    def __init__(self, folder: str | os.PathLike[str], *, schema: pa.Schema = BENCHMARK_SCHEMA,
                 prefix: str = "part") -> None:
        self.folder = Path(folder)
        self.schema = schema
        self.kind = schema_kind(schema)
        self.prefix = prefix
        self._infos: dict[str, ShardInfo] = {}

    def shard_name(self, index: int) -> str:
        return _shard_filename(f"{self.prefix}-{index:05d}")

    def existing_shards(self) -> list[ShardInfo]:
        """Complete, readable shards of this schema already on disk (temp files and broken files are not)."""
        found = []
        for path in sorted(self.folder.glob(f"*{SHARD_SUFFIX}")) if self.folder.is_dir() else []:
            if not _NAME_RE.match(path.name):
                continue
            try:
                pf = pq.ParquetFile(path)
                if schema_problems(pf.schema_arrow, self.schema):
                    continue
                cols = [c for c in COUNT_COLUMNS.values() if c in self.schema.names]
                meta = pf.schema_arrow.metadata or {}
                skips = json.loads(meta[_SKIPPED_KEY]) if _SKIPPED_KEY in meta else {}
                info = ShardInfo(path.name, pf.metadata.num_rows, _file_sha256(path), path.stat().st_size,
                                 _counts(pf.read(columns=cols)), skips)
            except (OSError, pa.ArrowException, ValueError):
                continue
            self._infos[info.name] = info
            found.append(info)
        return found

    def done(self, name: str) -> bool:
        return _shard_filename(name) in self._infos

    def write(self, table: pa.Table, name: str, *, skipped: Mapping[str, int] | None = None) -> ShardInfo:
        return self.add(write_shard(table, self.folder, name, schema=self.schema, skipped=skipped))

    def add(self, info: ShardInfo) -> ShardInfo:
        self._infos[info.name] = info
        return info

    @property
    def shards(self) -> list[ShardInfo]:
        return sorted(self._infos.values(), key=lambda s: s.name)

    def finish(self, *, config: Mapping[str, Any] | None = None, skipped: Mapping[str, int] | None = None,
               extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Write the manifest over every collected shard and return it."""
        manifest = build_manifest(self.shards, kind=self.kind, config=config, skipped=skipped, extra=extra)
        write_manifest(self.folder, manifest)
        return manifest
