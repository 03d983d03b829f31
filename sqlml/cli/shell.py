"""The interactive shell: statements over several lines, dot commands, history; on a terminal the
prompt_toolkit editor of :mod:`sqlml.cli.completion` (highlighting, Tab completion)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable
from typing import Any, TextIO

import sqlml
from sqlml.cli.render import FORMATS
from sqlml.cli.runner import Runner, read_source
from sqlml.console import UserError, report

BANNER = "sqlml {version} on {database} — end statements with ';', .help for help"
PROMPT = "sqlml> "
CONTINUATION = "   ...> "

SHELL_HELP = """\
Statements end with ';' and may span several lines. Commands:
  .help                 this help
  .quit, .exit          leave the shell (Ctrl-D works too)
  .format [FORMAT]      show or set the output format: table, csv or json
  .tables               list the tables (SHOW TABLES)
  .models               list the models (SHOW MODEL ALL)
  .read FILE            run the SQL script in FILE
Ctrl-C cancels the statement being typed."""


def is_complete(text: str) -> bool:
    """Whether ``text`` ends with ``;`` outside strings, quoted names and comments."""
    i, n, last = 0, len(text), ""
    while i < n:
        ch = text[i]
        if ch in "'\"":
            end = text.find(ch, i + 1)
            while end != -1 and text.startswith(ch, end + 1):  # a doubled quote is an escape
                end = text.find(ch, end + 2)
            if end == -1:
                return False
            i, last = end + 1, ch
        elif text.startswith("--", i):
            end = text.find("\n", i)
            i = n if end == -1 else end + 1
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            if end == -1:
                return False
            i = end + 2
        elif text.startswith("$$", i):
            end = text.find("$$", i + 2)
            if end == -1:
                return False
            i, last = end + 2, "$"
        else:
            if not ch.isspace():
                last = ch
            i += 1
    return last == ";"


class Shell:
    """The interactive shell's logic, fed one input line at a time (so it can be tested)."""

    def __init__(self, runner: Runner, database: str = ":memory:") -> None:
        self.runner = runner
        self.database = database
        self.buffer: list[str] = []
        self.done = False

    @property
    def prompt(self) -> str:
        return CONTINUATION if self.buffer else PROMPT

    def feed(self, lines: Iterable[str]) -> bool:
        """Run each line; False once a line asks to quit."""
        return all(self.run_line(line) for line in lines)

    def run_line(self, line: str) -> bool:
        """Take one line of input; run the statement it completes. False when the shell should end."""
        line = line.rstrip("\r\n")
        if not self.buffer and line.strip().startswith("."):
            self.command(line.strip())
            return not self.done
        if not self.buffer and not line.strip():
            return True
        self.buffer.append(line)
        text = "\n".join(self.buffer)
        if is_complete(text):
            self.buffer = []
            self.execute(text)
        return True

    def cancel(self) -> None:
        """Drop the statement being typed (Ctrl-C)."""
        self.buffer = []

    def finish(self) -> None:
        """Run what is left in the buffer (a last statement without ``;``)."""
        text = "\n".join(self.buffer)
        self.buffer = []
        if text.strip():
            self.execute(text)

    def execute(self, script: str, source: str | None = None) -> None:
        try:
            self.runner.run_script(script, source)
        except KeyboardInterrupt:
            self.runner.err.write("Cancelled.\n")
        except Exception as exc:  # the shell reports every error and keeps going
            report(exc, self.runner.err)

    def command(self, line: str) -> None:
        name, _, arg = line.partition(" ")
        arg = arg.strip()
        err = self.runner.err
        if name in (".quit", ".exit", ".q"):
            self.done = True
        elif name == ".help":
            self.runner.out.write(SHELL_HELP + "\n")
        elif name == ".format":
            self.set_format(arg)
        elif name == ".tables":
            self.execute("SHOW TABLES")
        elif name == ".models":
            self.execute("SHOW MODEL ALL")
        elif name == ".read":
            self.read(arg)
        else:
            err.write(f"Error: unknown command {name}; .help lists the commands\n")

    def set_format(self, arg: str) -> None:
        if not arg:
            self.runner.out.write(self.runner.format + "\n")
        elif arg in FORMATS:
            self.runner.format = arg
        else:
            self.runner.err.write(f"Error: unknown format {arg!r}; use table, csv or json\n")

    def read(self, path: str) -> None:
        if not path:
            self.runner.err.write("Error: .read needs a file name\n")
            return
        try:
            text, source = read_source(os.path.expanduser(path))
        except UserError as exc:
            report(exc, self.runner.err)
            return
        self.execute(text, source)

    def loop(self, stdin: TextIO | None = None) -> int:
        """Read statements until .quit or Ctrl-D: on a terminal with prompt_toolkit's editor
        (multi-line, highlighting, completion: :mod:`sqlml.cli.completion`), else with
        ``input()`` (readline editing and history)."""
        out = self.runner.out
        out.write(BANNER.format(version=sqlml.__version__, database=self.database) + "\n")
        if _terminal() and os.environ.get("SQLML_SHELL", "") != "basic":
            with contextlib.suppress(ImportError):
                return self._edit_loop()
        with _history():
            while not self.done:
                try:
                    line = input(self.prompt)
                except EOFError:
                    out.write("\n")
                    break
                except KeyboardInterrupt:
                    out.write("^C\n")
                    self.cancel()
                    continue
                if not self.run_line(line):
                    break
        return 0

    def _edit_loop(self) -> int:
        from sqlml.cli.completion import prompt_session

        path = os.environ.get("SQLML_HISTORY", os.path.join("~", ".sqlml_history"))
        session = prompt_session(
            self.runner.connection, os.path.expanduser(path) if path else None, is_complete
        )
        while not self.done:
            try:
                text = session.prompt(PROMPT)
            except EOFError:
                self.runner.out.write("\n")
                break
            except KeyboardInterrupt:  # Ctrl-C drops what is being typed
                continue
            if not self.feed(text.splitlines() or [""]):
                break
            self.finish()  # a statement the editor accepted is complete; run any rest
        return 0


def _terminal() -> bool:
    import sys

    return sys.stdin.isatty() and sys.stdout.isatty()


class _history:  # noqa: N801 - used as a context manager like a function
    """readline history in ``~/.sqlml_history`` (or ``$SQLML_HISTORY``; empty turns it off)."""

    def __init__(self) -> None:
        self.path = os.environ.get("SQLML_HISTORY", os.path.join("~", ".sqlml_history"))
        self.readline: Any = None
        try:
            import readline

            self.readline = readline
        except ImportError:  # Windows, or Python built without it
            pass

    def __enter__(self) -> None:
        if self.readline is None or not self.path:
            return
        self.readline.set_history_length(1000)
        with contextlib.suppress(OSError):
            self.readline.read_history_file(os.path.expanduser(self.path))

    def __exit__(self, *exc: Any) -> None:
        if self.readline is None or not self.path:
            return
        with contextlib.suppress(OSError):
            self.readline.write_history_file(os.path.expanduser(self.path))
