"""The ``sqlml`` command line: its arguments, and :func:`main` (also ``sqlml run`` and ``sqlml
serve``, handed to their own modules). Exit codes: 0 success, 1 an SQL or user error, 2 an internal
error or bad usage."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any

import sqlml
from sqlml.cli.render import FORMATS
from sqlml.cli.runner import Runner, read_source
from sqlml.cli.shell import Shell
from sqlml.console import report


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
        choices=("duckdb", "spark", "bigquery", "redshift"),
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
        "-q",
        "--quiet",
        action="store_true",
        help="do not print status lines such as 'INSERT 3', nor progress",
    )
    parser.add_argument(
        "--progress",
        action="store_true",
        default=None,
        help="show the progress of long statements (a bar on a terminal, else a line per "
        "stage) even when stderr is not a terminal; by default only on a terminal",
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
        runner = Runner(connection, args.format, args.quiet, args.max_rows, progress=args.progress)
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
