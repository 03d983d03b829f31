"""The ``sqlml`` command: run SQL (ML statements included) against a DuckDB file, or a shell.

    sqlml -d shop.db -c "SELECT * FROM ML.PREDICT(MODEL churn, TABLE customers)"
    sqlml -d shop.db -f train.sql --format csv > out.csv
    sqlml -d shop.db                  # interactive shell when stdin is a terminal
    sqlml run my_project -d shop.db   # build a folder of dbt-style model files (sqlml.project)

Exit codes: 0 success, 1 an SQL or user error (the first one stops a script), 2 an internal error
or bad usage. Errors print as one ``Error: ...`` message, never a traceback unless ``SQLML_DEBUG=1``.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import datetime as _dt
import decimal
import json
import logging
import math
import os
import shutil
import sys
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, TextIO

import sqlml
from sqlml.console import UserError, report

FORMATS = ("table", "csv", "json")
CHUNK = 1000  # rows per fetchmany()
MAX_CELL = 60  # characters of one value shown in table format
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


# --- value rendering --------------------------------------------------------------------------------


def _jsonable(value: Any) -> Any:
    """``value`` with nested containers made JSON-friendly (str keys, no NaN)."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if isinstance(value, decimal.Decimal) and value.is_finite():
        as_float = float(value)
        return as_float if decimal.Decimal(repr(as_float)) == value else str(value)
    return value


def _compact_json(value: Any) -> str:
    return json.dumps(_jsonable(value), default=str, separators=(",", ":"), ensure_ascii=False)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | decimal.Decimal) and not isinstance(value, bool)


def _scalar_text(value: Any) -> str:
    """Text of a non-null scalar, shared by the table and csv formats."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        text = repr(value)
        return f"{value:.12g}" if len(text) > 16 else text
    if isinstance(value, dict | list | tuple):
        return _compact_json(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return "\\x" + bytes(value).hex()
    if isinstance(value, _dt.datetime | _dt.date | _dt.time):
        return value.isoformat(sep=" ") if isinstance(value, _dt.datetime) else value.isoformat()
    return str(value)


def _cell(value: Any) -> str:
    """A value as shown in a table cell: one line, at most MAX_CELL characters."""
    if value is None:
        return "NULL"
    text = _scalar_text(value).replace("\r", "\\r").replace("\n", "\\n").replace("\t", "\\t")
    if len(text) > MAX_CELL:
        text = text[: MAX_CELL - 3] + "..."
    return text


def _width(text: str) -> int:
    """Columns ``text`` takes on a terminal (wide East Asian characters take two)."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int, right: bool) -> str:
    fill = " " * (width - _width(text))
    return fill + text if right else text + fill


# --- result writers ---------------------------------------------------------------------------------


def _fetch_chunks(cursor: sqlml.Cursor) -> Iterable[list[tuple[Any, ...]]]:
    while True:
        rows = cursor.fetchmany(CHUNK)
        if rows:
            yield rows
        if len(rows) < CHUNK:
            return


def write_table(cursor: sqlml.Cursor, out: TextIO, max_rows: int) -> None:
    """Aligned columns, a header and a ``(N rows)`` footer; at most ``max_rows`` rows (0: all)."""
    names = [str(d[0]) for d in cursor.description or []]
    shown: list[tuple[Any, ...]] = []
    total = 0
    for rows in _fetch_chunks(cursor):
        total += len(rows)
        room = len(rows) if max_rows <= 0 else max(0, max_rows - len(shown))
        shown.extend(rows[:room])
    cells = [[_cell(v) for v in row] for row in shown]
    numeric = [
        any(row[i] is not None for row in shown)
        and all(row[i] is None or _is_number(row[i]) for row in shown)
        for i in range(len(names))
    ]
    widths = [max([_width(n)] + [_width(r[i]) for r in cells]) for i, n in enumerate(names)]
    out.write(" | ".join(_pad(n, w, False) for n, w in zip(names, widths, strict=True)).rstrip())
    out.write("\n" + "-+-".join("-" * w for w in widths) + "\n")
    for row in cells:
        parts = (_pad(c, w, r) for c, w, r in zip(row, widths, numeric, strict=True))
        out.write(" | ".join(parts).rstrip() + "\n")
    footer = f"({total} row{'' if total == 1 else 's'}"
    if len(shown) < total:
        footer += f", showing first {len(shown)}"
    out.write(footer + ")\n")


def write_csv(cursor: sqlml.Cursor, out: TextIO) -> None:
    """A header line then the rows; NULL is an empty field, nested values are JSON."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([d[0] for d in cursor.description or []])
    for rows in _fetch_chunks(cursor):
        writer.writerows([["" if v is None else _scalar_text(v) for v in row] for row in rows])


def write_json(cursor: sqlml.Cursor, out: TextIO) -> None:
    """One JSON array of objects, an object per line, streamed."""
    names = [str(d[0]) for d in cursor.description or []]
    out.write("[")
    first = True
    for rows in _fetch_chunks(cursor):
        for row in rows:
            record = _jsonable(dict(zip(names, row, strict=True)))
            out.write(("\n" if first else ",\n") + json.dumps(record, default=str))
            first = False
    out.write("\n]\n" if not first else "]\n")


# --- running SQL ------------------------------------------------------------------------------------


class ProgressLine(logging.Handler):
    """Training progress (the ``sqlml.progress`` log) as one terminal line, rewritten with ``\r``.

    A record with ``progress=(done, total)`` gets a bar; :meth:`clear` blanks the line, so what the
    statement prints next starts on a clean line.
    """

    BAR = 20

    def __init__(self, stream: TextIO) -> None:
        super().__init__(logging.INFO)
        self.stream = stream
        self.width = 0

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage()
            done_total = getattr(record, "progress", None)
            if done_total:
                done, total = done_total
                filled = min(self.BAR, round(self.BAR * done / total)) if total else self.BAR
                text = f"[{'#' * filled}{'.' * (self.BAR - filled)}] {text}"
            text = text[: max(20, shutil.get_terminal_size().columns - 1)]
            self.stream.write("\r" + text + " " * max(0, self.width - len(text)))
            self.stream.flush()
            self.width = len(text)
        except Exception:
            self.handleError(record)

    def clear(self) -> None:
        if self.width:
            self.stream.write("\r" + " " * self.width + "\r")
            self.stream.flush()
            self.width = 0


@contextlib.contextmanager
def progress_on(stream: TextIO) -> Iterator[None]:
    """Show training progress on ``stream`` while the block runs, if it is a terminal."""
    isatty = getattr(stream, "isatty", None)
    if isatty is None or not isatty():
        yield
        return
    logger = logging.getLogger("sqlml.progress")
    handler, level = ProgressLine(stream), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        handler.clear()


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
    ) -> None:
        self.connection = connection
        self.cursor = connection.cursor()
        self.format = fmt
        self.quiet = quiet
        self.max_rows = max_rows
        self.out = out if out is not None else sys.stdout
        self.err = err if err is not None else sys.stderr

    def run_script(self, script: str, source: str | None = None) -> None:
        """Run every statement of ``script`` in order; the first error propagates.

        ``source`` names the script (a file) so an error can say where its statement starts.
        """
        from sqlml.sql import split_statements

        statements = split_statements(
            script, dialect=self.connection.dialect, limits=self.connection.limits
        )
        for statement in statements:
            try:
                self.run_statement(statement.sql)
            except sqlml.Error as exc:
                if source is not None or len(statements) > 1:
                    where = f" of {source}" if source else ""
                    exc.add_note(f"in the statement at line {statement.line}{where}")
                raise

    def run_statement(self, sql: str) -> None:
        cursor = self.cursor
        with progress_on(self.err):
            cursor.execute(sql)
        for _kind, text in cursor.messages:
            self.err.write(f"NOTICE: {text}\n")
        if cursor.description is not None:
            self.write_result(cursor)
        elif not self.quiet:
            self.out.write(self.status(cursor) + "\n")
        self.out.flush()

    def write_result(self, cursor: sqlml.Cursor) -> None:
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


# --- the interactive shell --------------------------------------------------------------------------


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
        """Read lines with ``input()`` (readline editing and history) until .quit or Ctrl-D."""
        out = self.runner.out
        out.write(BANNER.format(version=sqlml.__version__, database=self.database) + "\n")
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


# --- the command ------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sqlml",
        description="Run SQL, with BigQuery ML and Redshift ML statements, on a DuckDB database.",
        epilog="With neither -c nor -f: a shell when stdin is a terminal, else stdin runs as a "
        "script. Exit codes: 0 success, 1 SQL or user error, 2 internal error or bad usage. "
        "'sqlml run PROJECT_DIR' builds a folder of dbt-style model files (see sqlml run --help); "
        "'sqlml serve' answers PostgreSQL clients such as psql (see sqlml serve --help).",
    )
    parser.add_argument(
        "-d",
        "--database",
        default=":memory:",
        help="DuckDB database file, created if missing (default: :memory:)",
    )
    parser.add_argument(
        "-c",
        "--command",
        dest="sources",
        action="append",
        type=lambda s: ("sql", s),
        metavar="SQL",
        help="run SQL (one or more statements); may be repeated",
    )
    parser.add_argument(
        "-f",
        "--file",
        dest="sources",
        action="append",
        type=lambda s: ("file", s),
        metavar="FILE",
        help="run the SQL script in FILE ('-' for stdin); may be repeated",
    )
    parser.add_argument("--format", choices=FORMATS, default="table", help="output format")
    parser.add_argument("--read-only", action="store_true", help="open the database read-only")
    parser.add_argument(
        "--spark-master",
        metavar="URL",
        help="also use Spark (local[2], spark://host:7077): with -d FILE, each statement runs "
        "where its data is (engine 'auto'); without, everything runs on Spark",
    )
    parser.add_argument(
        "--spark-threshold",
        metavar="SIZE",
        help="with -d and --spark-master: Parquet/CSV files from this total size run on Spark "
        "(e.g. 512MB, 4GiB; default 1GiB)",
    )
    parser.add_argument(
        "--dialect",
        choices=("duckdb", "spark", "bigquery"),
        help="the SQL dialect you write, when it is not the engine's: sqlml transpiles it",
    )
    parser.add_argument(
        "--max-rows",
        type=int,
        default=1000,
        metavar="N",
        help="rows shown per result in table format (0: all; default 1000)",
    )
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="do not print status lines such as 'INSERT 3'"
    )
    parser.add_argument("--version", action="version", version=f"sqlml {sqlml.__version__}")
    return parser


def run_sources(runner: Runner, sources: Sequence[tuple[str, str]]) -> None:
    for kind, value in sources:
        if kind == "sql":
            runner.run_script(value)
        else:
            text, name = read_source(value)
            runner.run_script(text, name)


def _run(args: argparse.Namespace) -> int:
    options: dict[str, Any] = {}
    if args.spark_master:
        options["spark_master"] = args.spark_master
    if args.spark_threshold is not None:
        options["spark_threshold"] = args.spark_threshold
    if args.dialect is not None:
        options["dialect"] = args.dialect
    connection = sqlml.connect(args.database, read_only=args.read_only, **options)
    try:
        runner = Runner(connection, args.format, args.quiet, args.max_rows)
        if args.sources:
            run_sources(runner, args.sources)
        elif sys.stdin.isatty():
            return Shell(runner, args.database).loop()
        else:
            runner.run_script(sys.stdin.read(), "<stdin>")
        return 0
    finally:
        connection.close()


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["run"]:  # sqlml run PROJECT_DIR ...: a folder of dbt-style model files
        from sqlml.project import main as run_project_command

        return run_project_command(argv[1:])
    if argv[:1] == ["serve"]:  # sqlml serve ...: the PostgreSQL wire-protocol server
        from sqlml.server.command import main as serve_command

        return serve_command(argv[1:])
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or bad usage (argparse printed why)
        return exc.code if isinstance(exc.code, int) else 2
    try:
        return _run(args)
    except KeyboardInterrupt:
        sys.stderr.write("Interrupted.\n")
        return 130
    except BrokenPipeError:  # the reader went away (sqlml ... | head): stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except Exception as exc:
        return report(exc, sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
