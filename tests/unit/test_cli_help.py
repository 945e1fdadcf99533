"""`--help` of every `sppe` command (and of every job script) runs, exits 0 and is written for users."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from sppe_ray.cli import app

ROOT = Path(__file__).resolve().parents[2]


def _commands(group: typer.Typer, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command path of the app, sub-groups included (`train erma`, ...)."""
    out = [(*prefix, c.name or c.callback.__name__.replace("_", "-")) for c in group.registered_commands]
    for sub in group.registered_groups:
        out += _commands(sub.typer_instance, (*prefix, sub.name))
    return out


COMMANDS = _commands(app)


def test_the_command_list_is_complete():
    names = {" ".join(c) for c in COMMANDS}
    assert {"info", "build", "validate", "eval", "train erma", "train recovery", "config", "list", "serve",
            "edit", "compare", "import-sppe"} <= names


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_help_runs(command):
    result = CliRunner().invoke(app, [*command, "--help"], terminal_width=120)
    assert result.exit_code == 0, result.output
    text = result.output
    assert text.startswith("Usage: ") and "--help" in text
    summary = text.split("\n\n")[1].strip()
    assert summary and not summary.startswith(('"""', "Args:", "Parameters")), text  # prose, not a docstring


@pytest.mark.parametrize("job", sorted(p.name for p in (ROOT / "jobs").glob("*.py")))
def test_job_help_runs_without_ray(job):
    """The job scripts `ray job submit` runs answer --help in the same words as the command they wrap."""
    out = subprocess.run([sys.executable, str(ROOT / "jobs" / job), "--help"], capture_output=True, text=True,
                         timeout=120, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.startswith(f"Usage: jobs/{job} [OPTIONS]") and "--set" in out.stdout
    assert "Started a local Ray instance" not in out.stderr
