"""README's two commands and .ci/run cannot drift: CI reads the test command from the README."""

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _blocks(text: str) -> list[str]:
    return re.findall(r"```bash\n(.+?)\n```", text, re.S)


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    m = re.search(r"<!-- sppe:test-command -->\s*```bash\n(.+?)\n```", readme, re.S)
    assert m, "README lacks the sppe:test-command block"
    test_cmd = m.group(1).strip()
    assert "\n" not in test_cmd and "pytest" in test_cmd
    ci = (ROOT / ".ci" / "run").read_text()
    assert "sppe:test-command" in ci and "README.md" in ci
    # extract exactly as CI does, then compare
    script = ci.split("cmd=$(python3 - <<'PY'\n", 1)[1].split("\nPY\n", 1)[0]
    extracted = subprocess.run(["python3", "-c", script], cwd=ROOT, capture_output=True, text=True, check=True)
    assert extracted.stdout.strip() == test_cmd


def test_readme_has_two_single_line_setup_commands():
    readme = (ROOT / "README.md").read_text()
    setup = readme.split("## Set up and run", 1)[1].split("\n## ", 1)[0]
    commands = _blocks(setup)
    assert len(commands) == 2
    assert all("\n" not in c.strip() for c in commands)
    assert "jobs/eval.py" in commands[0] and "pytest" in commands[1]
    assert all(c.startswith("bash cluster/install.sh && ") for c in commands)
