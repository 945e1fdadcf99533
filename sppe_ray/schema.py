"""The Arrow schemas of a benchmark row and of a result row (versioned), stable sample ids, and the checks
that a table matches its schema. How those tables live on disk (shards, manifest) is `sppe_ray.shards`.

Why a versioned schema of its own: every stage (build, train, evaluate, import) reads and writes these two
row shapes; one definition, checked on every write, keeps a column rename from silently producing a
benchmark that a later reader misinterprets.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Mapping
from typing import Any

import pyarrow as pa

from sppe_ray.errors import BenchmarkError

SCHEMA_VERSION = "1.0"


def _schema(*cols: tuple[str, pa.DataType, bool]) -> pa.Schema:
    return pa.schema([pa.field(name, typ, nullable=nullable) for name, typ, nullable in cols])


_S, _B, _F32 = pa.string(), pa.binary(), pa.float32()
BENCHMARK_SCHEMA = _schema(
    ("sample_id", _S, False), ("split", _S, False), ("category", _S, False), ("instruction_code", _S, False),
    ("instruction", _S, False), ("task_tag", _S, False), ("strategy", _S, False),
    ("source", _B, False), ("mask", _B, False), ("surrogate", _B, False),
    ("source_edit", _B, True), ("surrogate_edit", _B, True),
    ("editability", _F32, True), ("label_output", _F32, True), ("label_region", _F32, True),
    ("width", pa.int32(), False), ("height", pa.int32(), False),
    ("source_group", _S, False), ("provenance", _S, False),
)
RESULT_SCHEMA = _schema(
    ("sample_id", _S, False), ("split", _S, False), ("category", _S, False), ("instruction_code", _S, False),
    ("task_tag", _S, False), ("strategy", _S, False), ("task", _S, False), ("method", _S, False),
    ("score", pa.float64(), True), ("metrics", _S, True), ("output", _B, True), ("error", _S, True),
)
SCHEMAS: dict[str, pa.Schema] = {"benchmark": BENCHMARK_SCHEMA, "results": RESULT_SCHEMA}


def sample_id(*parts: object) -> str:
    """Stable 16-hex id of the inputs; parts are length-prefixed so ("ab", "c") != ("a", "bc")."""
    if not parts:
        raise ValueError("sample_id needs at least one part")
    h = hashlib.sha256()
    for part in parts:
        raw = bytes(part) if isinstance(part, (bytes, bytearray, memoryview)) else str(part).encode("utf-8")
        h.update(len(raw).to_bytes(8, "big"))
        h.update(raw)
    return h.hexdigest()[:16]


def schema_kind(schema: pa.Schema) -> str:
    """Name of one of the two known schemas ("benchmark" or "results")."""
    for kind, known in SCHEMAS.items():
        if schema.equals(known):
            return kind
    raise BenchmarkError("schema is neither BENCHMARK_SCHEMA nor RESULT_SCHEMA")


def schema_problems(actual: pa.Schema, expected: pa.Schema) -> list[str]:
    """Every duplicate, missing, unexpected or mistyped column of `actual` against `expected`."""
    names = actual.names
    problems = [f"duplicate column {n!r}" for n, c in Counter(names).items() if c > 1]
    problems += [f"missing column {f.name!r}" for f in expected if f.name not in names]
    problems += [f"unexpected column {n!r}" for n in names if expected.get_field_index(n) < 0]
    for f in expected:
        if f.name in names and names.count(f.name) == 1 and actual.field(f.name).type != f.type:
            problems.append(f"column {f.name!r} has type {actual.field(f.name).type}, expected {f.type}")
    return problems


def validate_table(table: pa.Table, schema: pa.Schema = BENCHMARK_SCHEMA) -> None:
    """Raise BenchmarkError naming the first missing, extra, mistyped or wrongly null column."""
    if not isinstance(table, pa.Table):
        raise BenchmarkError(f"expected a pyarrow Table, got {type(table).__name__}")
    problems = schema_problems(table.schema, schema)
    if not problems:  # only a well-formed table can be checked for nulls column by column
        problems = [f"column {f.name!r} has {table.column(f.name).null_count} null values"
                    for f in schema if not f.nullable and table.column(f.name).null_count]
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise BenchmarkError(f"table does not match the schema: {problems[0]}{more}")


def conform_table(table: pa.Table, schema: pa.Schema = BENCHMARK_SCHEMA) -> pa.Table:
    """Validate, then return the table with the schema's column order and nullability flags."""
    validate_table(table, schema)
    return table.select(schema.names).cast(schema)


def table_from_rows(rows: list[Mapping[str, Any]], schema: pa.Schema = BENCHMARK_SCHEMA) -> pa.Table:
    """Build a schema-exact table from dicts; a missing/extra key or bad value is a BenchmarkError."""
    for i, row in enumerate(rows):
        extra = set(row) - set(schema.names)
        missing = [n for n in schema.names if n not in row and not schema.field(n).nullable]
        if extra or missing:
            what = f"unexpected key {sorted(extra)[0]!r}" if extra else f"missing key {missing[0]!r}"
            raise BenchmarkError(f"row {i} has {what}")
    try:
        table = pa.Table.from_pylist(list(rows), schema=schema)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError) as exc:
        raise BenchmarkError(f"rows do not fit the schema: {exc}") from None
    validate_table(table, schema)
    return table
