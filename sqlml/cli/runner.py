"""Running scripts on one connection and printing what each statement returns (progress on the
terminal: :mod:`sqlml.cli.progress`)."""

from __future__ import annotations

import sys
from typing import Any, TextIO

import sqlml
from sqlml.cli.progress import showing
from sqlml.cli.render import write_csv, write_json, write_table
from sqlml.console import UserError


class Runner:
    """Runs scripts on one connection and prints what each statement returns."""

    def __init__(
        self,
        connection: sqlml.Connection,
        fmt: str = "table",
        quiet: bool = False,
        max_rows: int = 1000,
        out: TextIO | None = None,
        err: TextIO | None = None,
        progress: bool | None = None,
    ) -> None:
        self.connection = connection
        self.cursor = connection.cursor()
        self.format = fmt
        self.quiet = quiet
        self.max_rows = max_rows
        self.out = out if out is not None else sys.stdout
        self.err = err if err is not None else sys.stderr
        #: progress on ``err``: None when it is a terminal, True / False forced (quiet: never)
        self.progress = False if quiet and progress is None else progress

    def run_script(self, script: str, source: str | None = None) -> None:
        """Run every statement of ``script`` in order; the first error propagates.

        ``source`` names the script (a file) so an error can say where its statement starts.
        """
        from sqlml.sql import split_statements

        statements = split_statements(
            script, dialect=self.connection.dialect, limits=self.connection.limits
        )
        for index, statement in enumerate(statements):
            try:
                self.run_statement(statement.sql)
            except sqlml.Error as exc:
                if source is not None or len(statements) > 1:
                    where = f" of {source}" if source else ""
                    exc.add_note(f"in the statement at line {statement.line}{where}")
                skipped = len(statements) - index - 1
                if skipped:
                    exc.add_note(
                        f"the {skipped} statements after it were skipped"
                        if skipped > 1
                        else "the statement after it was skipped"
                    )
                raise

    def run_statement(self, sql: str) -> None:
        cursor = self.cursor
        with showing(self.connection, self.err, self.progress):
            cursor.execute(sql)
        for _kind, text in cursor.messages:
            self.err.write(f"NOTICE: {text}\n")
        if cursor.description is not None:
            result = _unless_housekeeping(cursor)
            if result is not None:
                self.write_result(result)
        elif not self.quiet:
            self.out.write(self.status(cursor) + "\n")
        self.out.flush()

    def write_result(self, cursor: Any) -> None:
        if self.format == "csv":
            write_csv(cursor, self.out)
        elif self.format == "json":
            write_json(cursor, self.out)
        else:
            write_table(cursor, self.out, self.max_rows)

    @staticmethod
    def status(cursor: sqlml.Cursor) -> str:
        status = cursor.statusmessage or "OK"
        if cursor.rowcount >= 0 and status in ("INSERT", "UPDATE", "DELETE", "MERGE", "COPY"):
            return f"{status} {cursor.rowcount}"
        return status


class _Peeked:
    """A cursor whose first rows were read already: they come first."""

    def __init__(self, cursor: sqlml.Cursor, rows: list[tuple[Any, ...]]) -> None:
        self.description = cursor.description
        self.cursor, self.rows = cursor, rows

    def fetchmany(self, size: int) -> list[tuple[Any, ...]]:
        if self.rows:
            head, self.rows = self.rows[:size], self.rows[size:]
            return head + (self.cursor.fetchmany(size - len(head)) if len(head) < size else [])
        return self.cursor.fetchmany(size)


def _unless_housekeeping(cursor: sqlml.Cursor) -> Any:
    """The result to print, or None for a call made for its effect: one row whose every column
    has DuckDB's NULL type, as ``SELECT setseed(0.42)`` returns (a script's housekeeping, not
    a table a reader must skip)."""
    description = cursor.description or []
    if not description or any(d[1] != '"NULL"' for d in description):
        return cursor
    rows = cursor.fetchmany(2)
    return None if len(rows) == 1 else _Peeked(cursor, rows)


def read_source(path: str) -> tuple[str, str]:
    """The text of a script file (``-`` is stdin) and a name for it in error messages."""
    if path == "-":
        return sys.stdin.read(), "<stdin>"
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read(), path
    except FileNotFoundError:
        raise UserError(f"File not found: {path}") from None
    except IsADirectoryError:
        raise UserError(f"Cannot read {path}: it is a directory") from None
    except UnicodeDecodeError as exc:
        raise UserError(f"Cannot read {path}: not UTF-8 text ({exc.reason})") from None
    except OSError as exc:
        raise UserError(f"Cannot read {path}: {exc.strerror or exc}") from None
