"""README's commands run as written, in the order README gives them: set-up command 1 (the quickstart,
leaving warehouse.duckdb), then every command of "From a terminal" and the block of "From Python",
each checked to succeed. They run in a folder holding the checkout's examples/, with the
installing part of set-up 1 (the venv and pip) done already by this test run's environment."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hang import HANG

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def blocks(section: str, language: str) -> list[str]:
    """The fenced ``language`` blocks of README's ``## section``."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index(f"\n## {section}\n")
    end = text.find("\n## ", start + 1)
    body = text[start : end if end > 0 else len(text)]
    return re.findall(rf"```{language}\n(.*?)```", body, re.DOTALL)


def command(line: str) -> list[str]:
    """A README command line as arguments: ``.venv/bin/x`` and a bare ``sqlml`` are this
    environment's."""
    args = shlex.split(line, comments=True)
    if args and args[0].startswith(".venv/bin/"):
        args[0] = str(BIN / args[0].removeprefix(".venv/bin/"))
    elif args and args[0] == "sqlml":
        args[0] = str(BIN / "sqlml")
    return args


def run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SQLML_DEBUG": ""}
    return subprocess.run(
        args, cwd=cwd, capture_output=True, text=True, timeout=HANG, env=env,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip


@pytest.mark.slow
def test_readme_commands_run_in_order(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    (setup,) = blocks("Set up", "sh")[:1]
    parts = [p.strip() for p in setup.strip().split("&&")]
    # python3 -m venv .venv && .venv/bin/pip install -q -e . && <the quickstart>
    assert parts[0] == "python3 -m venv .venv" and parts[1].startswith(".venv/bin/pip install")
    quickstart = run(command(parts[2]), tmp_path)
    assert quickstart.returncode == 0, quickstart.stderr
    assert (tmp_path / "warehouse.duckdb").exists()  # left for the sections below

    (terminal,) = blocks("From a terminal", "sh")
    lines = [line for line in terminal.splitlines() if line.strip()]
    assert len(lines) >= 5
    for line in lines:
        done = run(command(line), tmp_path)  # the shell line reads stdin: empty here
        assert done.returncode == 0, (line, done.stderr)
        assert "Error" not in done.stderr, (line, done.stderr)

    (python,) = blocks("From Python", "python")
    done = run([sys.executable, "-c", python], tmp_path)
    assert done.returncode == 0, done.stderr
