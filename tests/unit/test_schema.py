"""schema: table validation, atomic shards, manifest checksums and counts, reading back, resume listing."""

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sppe_ray import schema as sc
from sppe_ray import shards as sh
from sppe_ray.errors import BenchmarkError
from sppe_ray.imageio import decode_image, encode_mask, encode_png


def _rows(n: int, split: str = "train", start: int = 0) -> list[dict]:
    rng = np.random.default_rng(start)
    rows = []
    for i in range(start, start + n):
        img = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
        png = encode_png(img)
        rows.append({
            "sample_id": sc.sample_id("photo", i), "split": split,
            "category": "a105_face_all" if i % 2 else "a90_email", "instruction_code": f"{i % 3 + 19:03d}",
            "instruction": "Turn to be vintage", "task_tag": "STYLE" if i % 4 else "EDIT", "strategy": "blur",
            "source": png, "mask": encode_mask(np.eye(8, dtype=bool)), "surrogate": png,
            "source_edit": png, "surrogate_edit": None if i == start else png,
            "editability": 0.5 + i / 1000, "label_output": None, "label_region": 0.25,
            "width": 8, "height": 8, "source_group": f"g{i}", "provenance": json.dumps({"seed": i}),
        })
    return rows


def _table(n=5, split="train", start=0):
    return sc.table_from_rows(_rows(n, split, start))


def _build(folder, parts=(("train", 5), ("test", 3))):
    w = sh.ShardWriter(folder)
    start = 0
    for i, (split, n) in enumerate(parts):
        w.write(_table(n, split, start), w.shard_name(i), skipped={"no_face": i + 1})
        start += n
    return w.finish(config={"seed": 7}, skipped={"editor_error": 2}, extra={"editor": "procedural"})


def test_sample_id_stable_and_unambiguous():
    assert sc.sample_id("a", 1, b"xy") == sc.sample_id("a", "1", b"xy")
    assert len(sc.sample_id("a")) == 16 and int(sc.sample_id("a"), 16) >= 0
    assert sc.sample_id("ab", "c") != sc.sample_id("a", "bc")
    assert sc.sample_id("a") != sc.sample_id("b")
    with pytest.raises(ValueError):
        sc.sample_id()


def test_schemas_have_the_contract_columns():
    assert sc.BENCHMARK_SCHEMA.names == (
        "sample_id split category instruction_code instruction task_tag strategy source mask surrogate "
        "source_edit surrogate_edit editability label_output label_region width height source_group "
        "provenance").split()
    assert sc.RESULT_SCHEMA.names == (
        "sample_id split category instruction_code task_tag strategy task method score metrics output "
        "error").split()
    assert sc.BENCHMARK_SCHEMA.field("source").type == pa.binary()
    assert sc.BENCHMARK_SCHEMA.field("height").type == pa.int32()
    assert sc.BENCHMARK_SCHEMA.field("editability").type == pa.float32()
    assert sc.RESULT_SCHEMA.field("score").type == pa.float64()
    assert sc.schema_kind(sc.RESULT_SCHEMA) == "results"


def test_validator_names_the_column():
    t = _table(3)
    sc.validate_table(t)
    with pytest.raises(BenchmarkError, match="missing column 'mask'"):
        sc.validate_table(t.drop_columns(["mask"]))
    with pytest.raises(BenchmarkError, match="unexpected column 'bonus'"):
        sc.validate_table(t.append_column("bonus", pa.array([1, 2, 3])))
    wrong = t.set_column(t.schema.get_field_index("width"), "width", pa.array([8, 8, 8], pa.int64()))
    with pytest.raises(BenchmarkError, match="'width' has type int64"):
        sc.validate_table(wrong)
    nulls = t.set_column(t.schema.get_field_index("split"), "split", pa.array([None, "a", "b"], pa.string()))
    with pytest.raises(BenchmarkError, match="'split' has 1 null"):
        sc.validate_table(nulls)
    with pytest.raises(BenchmarkError, match="pyarrow Table"):
        sc.validate_table({"a": 1})
    with pytest.raises(BenchmarkError, match="missing key 'category'"):
        sc.table_from_rows([{k: v for k, v in _rows(1)[0].items() if k != "category"}])
    with pytest.raises(BenchmarkError, match="unexpected key 'x'"):
        sc.table_from_rows([{**_rows(1)[0], "x": 1}])
    with pytest.raises(BenchmarkError):
        sc.table_from_rows([{**_rows(1)[0], "width": "wide"}])


def test_round_trip(tmp_path):
    manifest = _build(tmp_path)
    assert sh.verify_benchmark(tmp_path) == []
    assert manifest["counts"]["total"] == 8
    assert manifest["counts"]["by_split"] == {"test": 3, "train": 5}
    assert sum(manifest["counts"]["by_category"].values()) == 8
    assert sum(manifest["counts"]["by_task_tag"].values()) == 8
    assert manifest["skipped"] == {"editor_error": 2, "no_face": 3}
    assert manifest["editor"] == "procedural" and manifest["config"] == {"seed": 7}
    assert [s["name"] for s in manifest["shards"]] == ["part-00000.parquet", "part-00001.parquet"]
    assert sh.read_manifest(tmp_path) == manifest
    full = sh.read_benchmark(tmp_path)
    assert full.schema.equals(sc.BENCHMARK_SCHEMA) and full.num_rows == 8
    expected = _rows(5) + _rows(3, "test", 5)
    assert full.column("sample_id").to_pylist() == [r["sample_id"] for r in expected]
    first = full.slice(0, 1).to_pylist()[0]
    assert first["surrogate_edit"] is None and first["label_output"] is None
    assert decode_image(first["source"]).shape == (8, 8, 3)
    test = sh.read_benchmark(tmp_path, split="test", columns=["sample_id", "editability"])
    assert test.column_names == ["sample_id", "editability"] and test.num_rows == 3
    assert sh.read_benchmark(tmp_path, split="nope").num_rows == 0
    with pytest.raises(BenchmarkError, match="unknown column 'pixels'"):
        sh.read_benchmark(tmp_path, columns=["pixels"])


def test_deterministic_bytes_and_hash(tmp_path):
    _build(tmp_path / "a")
    _build(tmp_path / "b")
    assert sh.manifest_hash(tmp_path / "a") == sh.manifest_hash(tmp_path / "b")
    shard = "part-00000.parquet"
    assert (tmp_path / "a" / shard).read_bytes() == (tmp_path / "b" / shard).read_bytes()
    w = sh.ShardWriter(tmp_path / "c")
    w.write(_table(5), "part-00000")
    w.finish()
    assert sh.manifest_hash(tmp_path / "c") != sh.manifest_hash(tmp_path / "a")


def test_corrupted_shard_is_caught(tmp_path):
    _build(tmp_path)
    path = tmp_path / "part-00001.parquet"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    problems = sh.verify_benchmark(tmp_path)
    assert len(problems) == 1 and "part-00001.parquet" in problems[0] and "checksum" in problems[0]
    with pytest.raises(BenchmarkError, match="checksum") as err:
        sh.read_benchmark(tmp_path)
    assert "\n" not in str(err.value)


def test_missing_shard_and_manifest_problems(tmp_path):
    assert "does not exist" in sh.verify_benchmark(tmp_path / "nowhere")[0]
    assert "no manifest.json" in sh.verify_benchmark(tmp_path)[0]
    _build(tmp_path)
    (tmp_path / "part-00000.parquet").unlink()
    assert sh.verify_benchmark(tmp_path) == ["shard part-00000.parquet is missing"]
    (tmp_path / "manifest.json").write_text("{not json")
    assert "not valid JSON" in sh.verify_benchmark(tmp_path)[0]
    with pytest.raises(BenchmarkError):
        sh.manifest_hash(tmp_path)


def _edit_manifest(folder, fn):
    m = json.loads((folder / "manifest.json").read_text())
    fn(m)
    (folder / "manifest.json").write_text(json.dumps(m))


def test_manifest_disagreements(tmp_path):
    _build(tmp_path)
    _edit_manifest(tmp_path, lambda m: m.update(schema_version="0.9"))
    assert "schema version '0.9'" in sh.verify_benchmark(tmp_path)[0]
    _edit_manifest(tmp_path, lambda m: m.update(schema_version=sc.SCHEMA_VERSION))
    assert sh.verify_benchmark(tmp_path) == []
    _edit_manifest(tmp_path, lambda m: m["shards"][0].update(rows=99))
    assert "rows" in sh.verify_benchmark(tmp_path)[0]
    _edit_manifest(tmp_path, lambda m: m["shards"][0].update(rows=5))
    _edit_manifest(tmp_path, lambda m: m["counts"].update(total=9))
    assert "9 rows in total" in sh.verify_benchmark(tmp_path)[0]
    _edit_manifest(tmp_path, lambda m: m["counts"].update(total=8))
    _edit_manifest(tmp_path, lambda m: m["counts"]["by_split"].update(test=4))
    assert sh.verify_benchmark(tmp_path) == ["manifest counts.by_split disagree with the shards"]
    _edit_manifest(tmp_path, lambda m: m["counts"]["by_split"].update(test=3))
    _edit_manifest(tmp_path, lambda m: m["shards"].append(dict(m["shards"][0])))
    assert "repeated" in sh.verify_benchmark(tmp_path)[0]


def test_unreadable_and_wrong_schema_shards(tmp_path):
    _build(tmp_path)
    bad = tmp_path / "part-00000.parquet"
    bad.write_bytes(b"PAR1 not really parquet")
    _edit_manifest(tmp_path, lambda m: m["shards"][0].update(sha256=sh._file_sha256(bad)))
    assert "not readable Parquet" in sh.verify_benchmark(tmp_path)[0]
    pq.write_table(_table(5).drop_columns(["provenance"]), bad)
    _edit_manifest(tmp_path, lambda m: m["shards"][0].update(sha256=sh._file_sha256(bad)))
    assert "missing column 'provenance'" in sh.verify_benchmark(tmp_path)[0]


def test_stray_tmp_files_are_ignored(tmp_path):
    _build(tmp_path)
    (tmp_path / ".part-00002.parquet.123.ab.tmp").write_bytes(b"half a shard")
    assert sh.verify_benchmark(tmp_path) == []
    assert sh.read_benchmark(tmp_path).num_rows == 8
    assert [s.name for s in sh.ShardWriter(tmp_path).existing_shards()] == ["part-00000.parquet",
                                                                             "part-00001.parquet"]


def test_atomic_write_leaves_nothing_when_writer_fails(tmp_path, monkeypatch):
    real = pq.write_table

    def half_then_fail(table, where, **kw):
        real(table.slice(0, 1), where, **kw)  # something reaches the temp file...
        raise OSError("disk full")  # ...then the writer dies

    monkeypatch.setattr(pq, "write_table", half_then_fail)
    with pytest.raises(OSError, match="disk full"):
        sh.write_shard(_table(4), tmp_path, "part-00000")
    assert list(tmp_path.iterdir()) == []
    monkeypatch.setattr(pq, "write_table", real)
    with pytest.raises(BenchmarkError):  # invalid table: refused before any file is created
        sh.write_shard(_table(4).drop_columns(["mask"]), tmp_path, "part-00000")
    with pytest.raises(BenchmarkError, match="bad shard name"):
        sh.write_shard(_table(4), tmp_path, "../escape")
    assert list(tmp_path.iterdir()) == []


def test_resume_listing(tmp_path):
    w = sh.ShardWriter(tmp_path)
    w.write(_table(5, "train", 0), w.shard_name(0), skipped={"no_face": 1})
    (tmp_path / "part-00001.parquet").write_bytes(b"broken from a foreign writer")
    (tmp_path / ".part-00001.parquet.1.x.tmp").write_bytes(b"partial")
    resumed = sh.ShardWriter(tmp_path)
    found = resumed.existing_shards()
    assert [s.name for s in found] == ["part-00000.parquet"]
    assert found[0] == w.shards[0]  # same name, rows, sha256, size
    assert found[0].counts == w.shards[0].counts and found[0].skipped == {"no_face": 1}
    assert resumed.done("part-00000") and not resumed.done("part-00001")
    resumed.write(_table(3, "test", 5), resumed.shard_name(1), skipped={"no_face": 2})
    manifest = resumed.finish(config={"seed": 7}, skipped={"editor_error": 2}, extra={"editor": "procedural"})
    assert sh.verify_benchmark(tmp_path) == []
    assert manifest["skipped"] == {"editor_error": 2, "no_face": 3}
    _build(tmp_path / "straight")
    assert sh.manifest_hash(tmp_path) == sh.manifest_hash(tmp_path / "straight")


def test_results_folder(tmp_path):
    rows = [{"sample_id": "s1", "split": "test", "category": "a90_email", "instruction_code": "047",
             "task_tag": "ADD_REMOVE", "strategy": "blur", "task": "recovery", "method": "paste_back",
             "score": None, "metrics": json.dumps({"psnr": 30.0}), "output": b"png", "error": None}]
    w = sh.ShardWriter(tmp_path, schema=sc.RESULT_SCHEMA)
    w.write(sc.table_from_rows(rows, sc.RESULT_SCHEMA), "r-0")
    m = w.finish()
    assert m["schema"] == "results" and m["counts"]["by_task_tag"] == {"ADD_REMOVE": 1}
    back = sh.read_benchmark(tmp_path)
    assert back.schema.equals(sc.RESULT_SCHEMA) and back.column("method").to_pylist() == ["paste_back"]
    info = sh.write_shard(sc.table_from_rows(rows, sc.RESULT_SCHEMA), tmp_path / "auto", "x")
    assert pq.read_schema(tmp_path / "auto" / info.name).names == sc.RESULT_SCHEMA.names


def test_build_manifest_refusals():
    info = sh.ShardInfo("a.parquet", 1, "0" * 64, 10)
    with pytest.raises(BenchmarkError, match="twice"):
        sh.build_manifest([info, info])
    with pytest.raises(BenchmarkError, match="reserved"):
        sh.build_manifest([info], extra={"counts": {}})
    with pytest.raises(BenchmarkError, match="JSON"):
        sh.build_manifest([info], config={"x": object()})
    with pytest.raises(BenchmarkError, match="kind"):
        sh.build_manifest([info], kind="other")
