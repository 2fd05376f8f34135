"""The README's commands are the ones CI and users run, and the main job works."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    quick = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```bash\n(.+?)\n```", quick)


def test_ci_runs_the_readme_test_command_exactly() -> None:
    setup_and_demo, test_command = _readme_commands()[:2]
    ci_lines = (ROOT / ".ci" / "run").read_text().splitlines()
    assert test_command in ci_lines
    assert "pytest" in test_command and "campaign-sdk demo" in setup_and_demo


def test_main_job_runs_end_to_end_on_the_embedded_default(tmp_path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TWILIO_")}
    run = subprocess.run(
        [sys.executable, "-m", "campaign_sdk.cli", "demo"], cwd=tmp_path, env=env,
        capture_output=True, text=True, timeout=300,
    )
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "campaigns.db").exists()
    assert "reply_rate" in run.stdout and "Demo" in run.stdout
    rerun = subprocess.run(
        [sys.executable, "-m", "campaign_sdk.cli", "demo"], cwd=tmp_path, env=env,
        capture_output=True, text=True, timeout=300,
    )
    assert rerun.returncode == 0, rerun.stderr
    assert "inserted=0" in rerun.stdout  # re-running the job never duplicates leads


def test_ci_lints_and_type_checks_after_the_tests() -> None:
    ci_lines = (ROOT / ".ci" / "run").read_text().splitlines()
    assert ".venv/bin/ruff check ." in ci_lines and ".venv/bin/mypy" in ci_lines
    assert ci_lines.index(".venv/bin/mypy") > ci_lines.index(_readme_commands()[1])
