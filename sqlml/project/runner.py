"""Build a project's nodes in order on a sqlml connection, and the ``sqlml run`` command.

Every node's SQL goes through sqlml's own cursor, so a table can be ``SELECT * FROM ML.PREDICT(...)``
and a model trains with ``CREATE OR REPLACE MODEL``. The first failure stops the run: the nodes after
it are reported as skipped (a later node may need what failed), and the command exits 1.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import sqlml
from sqlml.project.loader import Node, Project, ProjectError, load_project, read_settings
from sqlml.project.sqltext import create_model_sql, model_options, quote_identifier


@dataclass
class NodeResult:
    node: Node
    status: str  # OK | ERROR | SKIP
    seconds: float = 0.0
    error: BaseException | None = None


@dataclass
class RunResult:
    results: list[NodeResult]
    seconds: float

    @property
    def ok(self) -> bool:
        return all(r.status == "OK" for r in self.results)

    def count(self, status: str) -> int:
        return sum(r.status == status for r in self.results)


def run_project(
    connection: sqlml.Connection,
    project: Project,
    select: Iterable[str] | None = None,
    *,
    full_refresh: bool = False,
    out: TextIO | None = None,
) -> RunResult:
    """Build the selected nodes in dependency order; one line per node on ``out``."""
    out = out if out is not None else sys.stdout
    nodes = project.select(select)
    started = time.perf_counter()
    results: list[NodeResult] = []
    cursor = connection.cursor()
    failed = False
    width = len(str(len(nodes)))
    for index, node in enumerate(nodes, 1):
        notices: list[str] = []
        if failed:
            result = NodeResult(node, "SKIP")
        else:
            result, notices = _build_timed(cursor, connection, node, full_refresh)
            failed = result.status == "ERROR"
        results.append(result)
        timing = "" if result.status == "SKIP" else f" [{result.seconds:.2f}s]"
        out.write(
            f"{index:>{width}} of {len(nodes)} {result.status:<5} {node.kind:<6} {node.name}"
            f"{timing}\n"
        )
        if result.status == "OK":
            for notice in notices:
                out.write(f"    NOTICE: {notice}\n")
        elif result.error is not None:
            notes = "".join(f"\n    {n}" for n in getattr(result.error, "__notes__", []))
            out.write(f"    Error: {result.error}{notes}\n")
        out.flush()
    run = RunResult(results, time.perf_counter() - started)
    summary = f"{run.count('OK')} OK, {run.count('ERROR')} ERROR, {run.count('SKIP')} SKIP"
    out.write(f"Done: {summary} in {run.seconds:.2f}s.\n")
    return run


def _build_timed(
    cursor: sqlml.Cursor, connection: sqlml.Connection, node: Node, full_refresh: bool
) -> tuple[NodeResult, list[str]]:
    started = time.perf_counter()
    try:
        notices = build(cursor, connection, node, full_refresh)
    except sqlml.Error as exc:
        return NodeResult(node, "ERROR", time.perf_counter() - started, exc), []
    return NodeResult(node, "OK", time.perf_counter() - started), notices


def build(
    cursor: sqlml.Cursor, connection: sqlml.Connection, node: Node, full_refresh: bool = False
) -> list[str]:
    """Build one node; returns the notices its statements raised."""
    notices: list[str] = []

    def execute(sql: str, params: Sequence[Any] | None = None) -> None:
        cursor.execute(sql, params)
        notices.extend(text for _kind, text in cursor.messages)

    relation = node.relation.render()
    if node.kind in ("seed", "view", "table") and node.relation.schema:
        execute(f"CREATE SCHEMA IF NOT EXISTS {quote_identifier(node.relation.schema)}")
    if node.kind == "seed":
        _drop_other_kind(cursor, node, "BASE TABLE")
        execute(
            f"CREATE OR REPLACE TABLE {relation} AS SELECT * FROM read_csv(?)", [str(node.path)]
        )
    elif node.kind == "view":
        _check_view(connection, node)
        _drop_other_kind(cursor, node, "VIEW")
        execute(f"CREATE OR REPLACE VIEW {relation} AS\n{node.sql}")
    elif node.kind == "table":
        _drop_other_kind(cursor, node, "BASE TABLE")
        execute(f"CREATE OR REPLACE TABLE {relation} AS\n{node.sql}")
    elif node.kind == "model":
        options = model_options(node.config, node.name)
        if full_refresh:
            execute(f"DROP MODEL IF EXISTS {node.model_name}")
        execute(create_model_sql(node.model_name, options, node.sql))
    else:
        execute(node.sql)
    return notices


def _drop_other_kind(cursor: sqlml.Cursor, node: Node, wanted: str) -> None:
    """Drop a view where a table is wanted (or the reverse): CREATE OR REPLACE cannot switch kinds."""
    cursor.execute(
        "SELECT table_type FROM information_schema.tables WHERE table_catalog = current_database() "
        "AND table_schema = coalesce(?, current_schema()) AND lower(table_name) = lower(?)",
        [node.relation.schema, node.relation.identifier],
    )
    rows = cursor.fetchall()
    if rows and rows[0][0] != wanted:
        kind = "VIEW" if rows[0][0] == "VIEW" else "TABLE"
        cursor.execute(f"DROP {kind} {node.relation.render()}")


def _check_view(connection: sqlml.Connection, node: Node) -> None:
    """Refuse a view that calls a model's FUNCTION: the view would break outside sqlml.

    DuckDB stores the view in the file, but the function exists only on connections sqlml opened,
    so any other reader of the view would get "Scalar Function ... does not exist".
    """
    import sqlglot
    from sqlglot import exp

    functions: set[str] = set()
    for record in connection.executor.catalog.latest():
        if record.function_name:
            name = record.function_name.lower()
            functions |= {name, f"{name}_probabilities"}
    if not functions:
        return
    try:
        tree = sqlglot.parse_one(node.sql, read="duckdb")
    except sqlglot.errors.ParseError:
        return  # DuckDB will report the syntax itself
    called = {f.name.lower() for f in tree.find_all(exp.Anonymous)} & functions
    if called:
        name = sorted(called)[0]
        raise ProjectError(
            f"{node.path.name} is a view that calls the model function {name}(); views are stored "
            f"in the database but the function exists only on sqlml's connections, so other "
            f"readers of the view would fail. Set config(materialized='table')."
        )


# --- the command ----------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sqlml run",
        description="Build a folder of dbt-style model files (SQL with Jinja) in dependency order: "
        "SELECT files become views or tables, materialized='model' files become sqlml models.",
        epilog="Exit codes: 0 every node built, 1 a node or the project failed, 2 an internal "
        "error or bad usage.",
    )
    parser.add_argument("project_dir", metavar="PROJECT_DIR", help="the project folder")
    parser.add_argument(
        "-d",
        "--database",
        default=None,
        help="DuckDB database file, created if missing (default: the project file's 'database', "
        "else :memory:)",
    )
    parser.add_argument(
        "-s",
        "--select",
        nargs="+",
        action="extend",
        metavar="SELECTOR",
        help="build only these: NAME, NAME+ (and what is built from it), +NAME (and what it is "
        "built from)",
    )
    parser.add_argument(
        "--vars", default=None, metavar="JSON", help='values for var(), as \'{"key": "value"}\''
    )
    parser.add_argument(
        "--full-refresh",
        action="store_true",
        help="drop each selected model's earlier versions before training it again",
    )
    return parser


def parse_vars(text: str | None) -> dict[str, Any]:
    """``--vars`` as a mapping: JSON, or YAML's ``{key: value}`` shorthand as dbt accepts."""
    if not text:
        return {}
    import yaml

    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        value = None
    if not isinstance(value, dict):
        raise ProjectError(f'--vars must be a JSON object such as \'{{"k": "v"}}\'; got {text!r}.')
    return {str(k): v for k, v in value.items()}


def database_for(args_database: str | None, project_dir: Path) -> str:
    """-d, else the project file's ``database`` (relative to the project), else in-memory."""
    if args_database:
        return args_database
    settings, _ = read_settings(project_dir) if project_dir.is_dir() else ({}, None)
    value = settings.get("database")
    if isinstance(value, str) and value:
        return value if value == ":memory:" else str(project_dir / value)
    return ":memory:"


def main(argv: Sequence[str]) -> int:
    """``sqlml run PROJECT_DIR ...``; called by :func:`sqlml.cli.main`."""
    from sqlml.console import report

    parser = build_parser()
    try:
        args = parser.parse_args(list(argv))
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 2
    try:
        variables = parse_vars(args.vars)
        project = load_project(args.project_dir, variables)
        database = database_for(args.database, Path(args.project_dir))
        connection = sqlml.connect(database)
        try:
            result = run_project(connection, project, args.select, full_refresh=args.full_refresh)
        finally:
            connection.close()
        return 0 if result.ok else 1
    except KeyboardInterrupt:
        sys.stderr.write("Interrupted.\n")
        return 130
    except Exception as exc:
        return report(exc, sys.stderr)


def run(
    project_dir: str | Path,
    database: str = ":memory:",
    select: Iterable[str] | None = None,
    vars: Mapping[str, Any] | None = None,
    full_refresh: bool = False,
    out: TextIO | None = None,
) -> RunResult:
    """Python entry point: load ``project_dir`` and build it on ``database``."""
    project = load_project(project_dir, vars)
    connection = sqlml.connect(database)
    try:
        return run_project(connection, project, select, full_refresh=full_refresh, out=out)
    finally:
        connection.close()
