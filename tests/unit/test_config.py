"""Configuration layers: defaults < YAML < environment < CLI, each validated."""

import os

import pytest

from sppe_ray.config import load_config, sppe_home
from sppe_ray.errors import ConfigError


def test_defaults_are_embedded():
    cfg = load_config(environ={})
    assert cfg.build.name == "sppe-mini"
    assert cfg.build.size == 256
    assert cfg.editor.name == "procedural"


def test_precedence_yaml_env_cli(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("build:\n  n_scenes: 11\n  size: 128\neditor:\n  name: http\n")
    cfg = load_config(path, environ={})
    assert (cfg.build.n_scenes, cfg.build.size, cfg.editor.name) == (11, 128, "http")
    env = {"SPPE__BUILD__N_SCENES": "22", "SPPE__BUILD__SIZE": "64"}
    cfg = load_config(path, environ=env)
    assert (cfg.build.n_scenes, cfg.build.size) == (22, 64)
    cfg = load_config(path, ["build.n_scenes=33"], environ=env)
    assert (cfg.build.n_scenes, cfg.build.size, cfg.editor.name) == (33, 64, "http")


def test_cli_values_parse_as_yaml():
    cfg = load_config(overrides=["eval.iqa_metrics=[ssim, psnr]", "erma.use_mask=false"], environ={})
    assert cfg.eval.iqa_metrics == ["ssim", "psnr"]
    assert cfg.erma.use_mask is False


@pytest.mark.parametrize("override, fragment", [
    ("build.n_scenez=3", "build.n_scenez"),
    ("build.size=huge", "build.size"),
    ("nosection", "section.key=value"),
    ("build=3", "section.key"),
])
def test_bad_overrides_name_the_key(override, fragment):
    with pytest.raises(ConfigError, match=fragment.replace(".", r"\.")):
        load_config(overrides=[override], environ={})


def test_missing_and_malformed_files(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yaml", environ={})
    bad = tmp_path / "bad.yaml"
    bad.write_text("build: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad, environ={})


def test_home_from_env(tmp_path, monkeypatch):
    monkeypatch.setenv("SPPE_HOME", str(tmp_path / "h"))
    assert sppe_home() == (tmp_path / "h").resolve()
    monkeypatch.delenv("SPPE_HOME")
    monkeypatch.chdir(tmp_path)
    assert sppe_home() == (tmp_path / ".sppe").resolve()


@pytest.mark.parametrize(("job", "command"), [("eval.py", ["eval"]), ("build_benchmark.py", ["build"]),
                                              ("train_erma.py", ["train", "erma"]),
                                              ("train_recovery.py", ["train", "recovery"])])
def test_each_job_script_takes_exactly_the_flags_of_its_sppe_command(job, command):
    import re
    import subprocess
    import sys
    from pathlib import Path

    from typer.testing import CliRunner

    from sppe_ray.cli import app

    script = Path(__file__).resolve().parents[2] / "jobs" / job
    done = subprocess.run([sys.executable, str(script), "--help"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    cli = CliRunner().invoke(app, [*command, "--help"])
    assert cli.exit_code == 0

    def flags(text: str) -> set[str]:
        return set(re.findall(r"(--[a-z][a-z-]+)", text))

    assert flags(done.stdout) == flags(cli.output) and {"--config", "--set"} <= flags(cli.output)


@pytest.mark.parametrize("job", ["train_erma.py", "train_recovery.py"])
def test_fitting_jobs_fail_in_one_line_on_a_missing_benchmark(tmp_path, job):
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[2] / "jobs" / job
    env = {**os.environ, "SPPE_HOME": str(tmp_path / "home")}
    done = subprocess.run([sys.executable, str(script), "--benchmark", str(tmp_path / "none")],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 2, done.stderr[-2000:]
    lines = [ln for ln in done.stderr.splitlines() if ln.strip()]
    assert lines[-1].startswith("error: ") and "none" in lines[-1]
    assert "Traceback" not in done.stderr and not (tmp_path / "home" / "ray_results").exists()


def test_training_commands_take_resume_and_no_register_flags():
    from typer.testing import CliRunner

    from sppe_ray.cli import app

    for command in (["train", "erma"], ["train", "recovery"]):
        out = CliRunner().invoke(app, [*command, "--help"]).output
        assert "--resume-from" in out and "--no-register" in out and "--benchmark" in out
    assert "--ablations" in CliRunner().invoke(app, ["train", "erma", "--help"]).output


@pytest.mark.parametrize("name, changes", [
    ("sppe_mini_b", {("build", "name"): "sppe-mini-b", ("editor", "name"): "procedural_b"}),
    ("sppe_mini_faces", {("build", "name"): "sppe-mini-faces",
                         ("build", "category_weights"): {"a105_face_all": 4, "a109_person_body": 4}}),
])
def test_variant_benchmarks_change_only_what_they_say(name, changes):
    """sppe-mini-b must hold sppe-mini's very samples (only the editor differs), and the face-rich variant only
    its category weights: anything else in those files would change the scenes."""
    from pathlib import Path

    base = load_config(environ={}).model_dump()
    variant = load_config(Path(__file__).parents[2] / "configs" / f"{name}.yaml", environ={}).model_dump()
    diff = {(s, k): variant[s][k] for s in base for k in base[s] if base[s][k] != variant[s][k]}
    assert diff == changes
