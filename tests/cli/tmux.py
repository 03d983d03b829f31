"""A private tmux server running a command in one pane: the real terminal for the shell's tests."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from hang import HANG

TMUX = shutil.which("tmux")
SQLML = str(Path(sys.executable).with_name("sqlml"))


class Tmux:
    """A private tmux server running the sqlml shell in one pane."""

    def __init__(self, tmp_path: Path, command: str) -> None:
        assert TMUX is not None
        self.base = [TMUX, "-L", f"sqlml-test-{os.getpid()}-{tmp_path.name}", "-f", os.devnull]
        env = {**os.environ, "SQLML_DEBUG": "", "TERM": "xterm-256color"}
        env.pop("TMUX", None)
        self.env = env
        self.run("new-session", "-d", "-x", "200", "-y", "40", command)

    def run(self, *args: str) -> str:
        done = subprocess.run(
            [*self.base, *args], capture_output=True, text=True, timeout=60, env=self.env
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    @classmethod
    def shell(cls, tmp_path: Path, database: Path, env: str = "") -> Tmux:
        """The real ``sqlml`` shell on ``database`` (``env``: ``NAME=value ...`` for it), once
        its prompt is on screen."""
        prefix = f"env {env} " if env else ""
        tmux = cls(tmp_path, f"{prefix}{SQLML} -d {database}")
        tmux.wait_for(r"sqlml>", timeout=120)
        return tmux

    def keys(self, text: str, *keys: str) -> None:
        """Type ``text`` as it is (no Enter), then press ``keys`` (Tab, Enter, C-u, ...)."""
        if text:
            self.run("send-keys", "-t", "0", "-l", text)
        if keys:
            self.run("send-keys", "-t", "0", *keys)

    def type(self, text: str) -> None:
        """Type ``text`` and Enter, once the pane shows it was read (readline may drop what is
        typed while it sets the terminal up)."""
        for _ in range(5):
            # tmux reads an argument ending in ';' as its command separator: "\\;" is the key
            body, end = (text[:-1], ["\\;"]) if text.endswith(";") else (text, [])
            self.run("send-keys", "-t", "0", "-l", body)
            if end:
                self.run("send-keys", "-t", "0", *end)
            try:
                self.wait_for(re.escape(text[-30:]), timeout=10)
                break
            except AssertionError:
                self.run("send-keys", "-t", "0", "C-u")  # clear the line and type it again
        self.run("send-keys", "-t", "0", "Enter")

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", "0")

    def wait_for(self, pattern: str, timeout: float = HANG) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.screen()
            if re.search(pattern, text):
                return text
            time.sleep(0.1)
        raise AssertionError(f"{pattern!r} never appeared; the screen:\n{self.screen()}")

    def close(self) -> None:
        subprocess.run([*self.base, "kill-server"], capture_output=True, timeout=60)

    def wait_gone(self, timeout: float = HANG) -> None:
        """Wait until the pane's command has exited (its session ends with it)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            done = subprocess.run(
                [*self.base, "has-session"], capture_output=True, timeout=60, env=self.env
            )
            if done.returncode != 0:
                return
            time.sleep(0.1)
        raise AssertionError("the shell did not exit")
