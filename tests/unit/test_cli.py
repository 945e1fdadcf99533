"""The `sppe` command as scripts use it: `info --json` and `validate PATH` exit codes and one-line errors."""

import json
import subprocess
import sys

import numpy as np
import pytest
from typer.testing import CliRunner

from sppe_ray.cli import app
from sppe_ray.imageio import encode_mask, encode_png
from sppe_ray.schema import BENCHMARK_SCHEMA, table_from_rows
from sppe_ray.shards import ShardWriter

runner = CliRunner()


def _tiny_benchmark(folder, n=4):
    rng = np.random.default_rng(0)
    img = encode_png(rng.integers(0, 255, (16, 16, 3), dtype=np.uint8))
    mask = encode_mask(np.eye(16, dtype=bool))
    rows = [{
        "sample_id": f"s{i}", "split": "test", "category": "a105_face_all", "instruction_code": "001",
        "instruction": "Let the person wear sunglasses", "task_tag": "ADD_REMOVE", "strategy": "blur",
        "source": img, "mask": mask, "surrogate": img, "source_edit": img, "surrogate_edit": img,
        "editability": 0.5, "label_output": 0.5, "label_region": 0.5, "width": 16, "height": 16,
        "source_group": "g", "provenance": "{}",
    } for i in range(n)]
    writer = ShardWriter(folder, schema=BENCHMARK_SCHEMA)
    writer.write(table_from_rows(rows, BENCHMARK_SCHEMA), "part-00000")
    writer.finish(config={})
    return folder


def test_info_json_interface(tmp_path, monkeypatch):
    monkeypatch.setenv("SPPE_HOME", str(tmp_path))
    out = subprocess.run([sys.executable, "-m", "sppe_ray.cli", "info", "--json"], capture_output=True,
                         text=True, timeout=120, check=True).stdout
    data = json.loads(out)
    assert data["categories"] == 36 and data["instructions"] == 65
    assert data["home"] == str(tmp_path.resolve())
    assert data["version"]
    for name, st in data["backends"].items():
        assert isinstance(st["available"], bool) and isinstance(st["reason"], str), name
    assert data["backends"]["editor:procedural"]["available"]
    assert not data["backends"]["embed:clip"]["available"]
    assert "embed.model" in data["backends"]["embed:clip"]["reason"]


def test_validate_ok_and_corrupt(tmp_path):
    bench = _tiny_benchmark(tmp_path / "b")
    ok = runner.invoke(app, ["validate", str(bench)])
    assert ok.exit_code == 0, ok.output
    shard = next(bench.glob("*.parquet"))
    data = bytearray(shard.read_bytes())
    data[len(data) // 2] ^= 0xFF
    shard.write_bytes(bytes(data))
    bad = runner.invoke(app, ["validate", str(bench)])
    assert bad.exit_code != 0
    assert "checksum" in bad.output.lower() or "sha256" in bad.output.lower()
    assert len(bad.output.strip().splitlines()) == 1


def test_validate_missing_folder(tmp_path):
    res = runner.invoke(app, ["validate", str(tmp_path / "nope")])
    assert res.exit_code != 0 and len(res.output.strip().splitlines()) == 1


@pytest.mark.parametrize("args", [["info", "--set", "build.size=huge"], ["info", "--config", "/nope.yaml"]])
def test_bad_config_is_one_line_exit_2(args):
    res = runner.invoke(app, args)
    assert res.exit_code == 2
    assert res.output.strip().startswith("error:") and len(res.output.strip().splitlines()) == 1


def test_sppe_serve_without_a_champion_says_so_in_one_line(sppe_home):
    from typer.testing import CliRunner

    from sppe_ray.cli import app

    res = CliRunner().invoke(app, ["serve", "--port", "8765"])
    assert res.exit_code == 2
    lines = [ln for ln in res.output.splitlines() if ln.startswith("error:")]  # (MLflow logs its new tables)
    assert len(lines) == 1 and "no 'champion' version of sppe-erma" in lines[0] and "sppe train erma" in lines[0]


def test_serve_and_edit_help_list_their_options():
    from typer.testing import CliRunner

    from sppe_ray.cli import app

    serve_help = CliRunner().invoke(app, ["serve", "--help"]).output
    for option in ("--host", "--port", "--token", "--editor-url", "--config", "--set"):
        assert option in serve_help
    assert "--url" in CliRunner().invoke(app, ["edit", "--help"]).output
