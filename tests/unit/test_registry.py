"""One registry pattern: every name in a config is checked at load (one line, exit 2, before Ray starts)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sppe_ray.cli import app
from sppe_ray.config import SPPEConfig, explain_config, load_config
from sppe_ray.config_names import registries
from sppe_ray.errors import ConfigError
from sppe_ray.registry import Registry

ROOT = Path(__file__).resolve().parents[2]

#: One wrong name per registry-checked key, and what the one-line error must name.
WRONG = [
    ("editor.name=procedurl", "editor.name"),
    ("embed.image=clipp", "embed.image"),
    ("erma.image_encoder=resnet", "erma.image_encoder"),
    ("erma.text_encoder=bert", "erma.text_encoder"),
    ("build.strategies=[default, blurr]", "build.strategies"),
    ("serve.strategies=[pixelat]", "serve.strategies"),
    ("build.detector=yolo", "build.detector"),
    ("serve.detector=yolo", "serve.detector"),
    ("eval.iqa_metrics=[ssim, ssimm]", "eval.iqa_metrics"),
    ("eval.slow_iqa_metrics=[madd]", "eval.slow_iqa_metrics"),
    ("eval.recovery_methods=[paste]", "eval.recovery_methods"),
    ("eval.recovery_methods=[c2e_net]", "eval.recovery_methods"),
    ("serve.recovery_method=c2e_diffusion", "serve.recovery_method"),
    ("eval.split=tset", "eval.split"),
    ("build.splits={train: 0.8, tset: 0.2}", "build.splits"),
    ("build.default_category=a999_nothing", "build.default_category"),
    ("recovery.backend=c2e_gan", "recovery.backend"),
    ("erma.face_detector=yolo", "erma.face_detector"),
    ("eval.ocr_detail=medium", "eval.ocr_detail"),
    ("anonymize.method=deface", "anonymize.method"),
    ("anonymize.methods=[surrogate, learnd]", "anonymize.methods"),
    ("anonymize.detector=yolo", "anonymize.detector"),
    ("anonymize.captioner=gpt", "anonymize.captioner"),
]


@pytest.mark.parametrize(("override", "key"), WRONG)
def test_a_wrong_name_fails_at_load_naming_its_key(override, key):
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        load_config(overrides=[override], environ={})


def test_the_defaults_and_every_example_config_load():
    load_config(environ={})
    examples = sorted((ROOT / "configs").glob("*.yaml"))
    assert len(examples) >= 4
    for path in examples:
        load_config(path, environ={})


def test_registry_lists_known_names_and_rejects_unknown_ones():
    reg = Registry("widget", "section.widget")
    reg.add("a", "json:dumps", "dumps JSON")

    @reg.register("b", lower_better=True)
    def make_b(x=1):
        return ("b", x)

    assert reg.names() == ("a", "b") and "a" in reg and len(reg) == 2
    assert reg.create("a", [1]) == "[1]" and reg.create("b", x=3) == ("b", 3)
    assert reg.entry("b").lower_better is True
    with pytest.raises(ConfigError, match=r"unknown widget 'c' \(set by section.widget\); known: a, b"):
        reg.create("c")


def test_every_registry_entry_resolves_to_a_callable():
    """A registered target that does not import is a bug found here, not by a user's run."""
    for reg in registries().values():
        assert len(reg) > 0
        for name in reg.names():
            assert callable(reg.entry(name).load()), name


def test_iqa_orientation_declared_here_matches_pyiqa():
    pytest.importorskip("pyiqa")
    from pyiqa.default_model_configs import DEFAULT_CONFIGS

    from sppe_ray.metrics.iqa import METRICS

    for name in METRICS.names():
        entry = METRICS.entry(name)
        pyiqa_name = entry.options["pyiqa_name"] or name
        if entry.options["backend"].startswith("pyiqa"):
            assert bool(DEFAULT_CONFIGS[pyiqa_name]["metric_opts"].get("lower_better", False)
                        or DEFAULT_CONFIGS[pyiqa_name].get("lower_better", False)) == entry.lower_better, name


def test_a_built_pyiqa_metric_takes_its_orientation_from_the_library():
    pytest.importorskip("pyiqa")
    from sppe_ray.metrics.iqa import create_metric

    assert create_metric("gmsd").lower_better is True and create_metric("psnr").lower_better is False


def test_every_config_key_is_described_and_explained():
    for section, sfield in SPPEConfig.model_fields.items():
        for key, field in sfield.annotation.model_fields.items():
            assert field.description, f"{section}.{key} has no description"
    text = explain_config()
    assert "eval.recovery_methods" in text and "serve.batch_wait_s" in text


def test_docs_configuration_matches_the_code():
    doc = (ROOT / "docs" / "configuration.md").read_text()
    assert explain_config(markdown=True).strip() in doc, "regenerate: sppe config --explain --markdown"


@pytest.mark.parametrize("command", [["eval"], ["build"], ["train", "erma"], ["train", "recovery"], ["info"],
                                     ["config"]])
def test_cli_wrong_name_is_one_line_exit_2(command, tmp_path, monkeypatch):
    monkeypatch.setenv("SPPE_HOME", str(tmp_path / "home"))
    res = CliRunner().invoke(app, [*command, "--set", "build.strategies=[blurr]"])
    assert res.exit_code == 2
    lines = [ln for ln in res.output.strip().splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: build.strategies: unknown surrogate strategy 'blurr'")
    assert not (tmp_path / "home" / "benchmarks").exists()


def test_a_job_with_a_wrong_name_exits_2_before_ray_starts(tmp_path):
    env = {"SPPE_HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin", "RAY_ADDRESS": ""}
    done = subprocess.run([sys.executable, str(ROOT / "jobs" / "eval.py"), "--set", "editor.name=procedurl"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 2, done.stderr[-2000:]
    lines = [ln for ln in done.stderr.splitlines() if ln.strip()]
    assert lines == ["error: editor.name: unknown editor 'procedurl'; known: procedural, procedural_b, "
                     "instruct_pix2pix, http"]
    assert not (tmp_path / "home").exists() or not any((tmp_path / "home").rglob("session_*"))


@pytest.mark.parametrize("kind", list(registries()))
def test_sppe_list_shows_each_registry(kind):
    res = CliRunner().invoke(app, ["list", kind, "--json"])
    assert res.exit_code == 0
    import json

    names = [e["name"] for e in json.loads(res.output)[kind]]
    assert names == list(registries()[kind].names())
