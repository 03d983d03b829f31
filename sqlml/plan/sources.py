"""What a statement reads: DuckDB relations by name, and files through DuckDB's file readers
(``read_parquet('…')``, ``read_csv('…')``, ``FROM 'x.parquet'``; globs and lists), found in the
parsed statement. Pure: which engine reads them, and how large they are, is sqlml.core.routing's.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from sqlml.sql.nodes import MLFunction

if TYPE_CHECKING:
    pass


_READERS = {
    "read_parquet": "parquet",
    "parquet_scan": "parquet",
    "read_csv": "csv",
    "read_csv_auto": "csv",
}


_DUCKDB_ONLY_READERS = ("read_json", "read_json_auto", "read_ndjson", "read_text", "read_blob")


_EXTENSIONS = {".parquet": "parquet", ".parq": "parquet", ".csv": "csv"}


_FILE_LIKE = re.compile(r"[/\\*?]|\.(parquet|parq|csv|tsv|json|ndjson|jsonl)(\.\w+)?$", re.I)


@dataclass(frozen=True)
class FileSource:
    """Files a statement reads through a DuckDB file reader or a quoted path in FROM."""

    format: str | None  # "parquet" | "csv"; None when only DuckDB reads them as written
    patterns: tuple[str, ...]
    unsupported: str | None = None  # why Spark cannot read them as written


def file_source(table: exp.Expression) -> FileSource | None:
    """The files an ``exp.Table`` reads, or None when it names a table (or a table function)."""
    if not isinstance(table, exp.Table):
        return None
    this = table.this
    if isinstance(this, exp.ReadParquet):
        return _reader_source("read_parquet", this.expressions[:1], this.expressions[1:])
    if isinstance(this, exp.ReadCSV):
        return _reader_source("read_csv", [this.this], this.expressions)
    if isinstance(this, exp.Anonymous):
        name = this.name.lower()
        if name in _READERS:
            return _reader_source(name, this.expressions[:1], this.expressions[1:])
        if name in _DUCKDB_ONLY_READERS:
            return FileSource(None, (), f"{name}() reads files that only DuckDB's route reads")
        return None
    if isinstance(this, exp.Identifier) and this.quoted and not table.args.get("db"):
        name = this.name
        if not _FILE_LIKE.search(name):
            return None
        suffix = os.path.splitext(name.rstrip("*"))[1].lower()
        fmt = _EXTENSIONS.get(suffix)
        why = None if fmt else f"'{name}' is not a Parquet or CSV file by its name"
        return FileSource(fmt, (name,), why)
    return None


def _reader_source(
    name: str, paths: Sequence[exp.Expression], options: Sequence[exp.Expression]
) -> FileSource:
    fmt = _READERS[name]
    node = paths[0] if paths else None
    values = node.expressions if isinstance(node, exp.Array) else [node]
    if node is None or not all(isinstance(v, exp.Literal) and v.is_string for v in values):
        return FileSource(None, (), f"the paths of {name}() are not string literals")
    patterns = tuple(v.name for v in values)
    if options:
        written = ", ".join(o.sql("duckdb") for o in options)
        why = f"{name}() options ({written}) have no Spark translation"
        return FileSource(None, patterns, why)
    return FileSource(fmt, patterns)


@dataclass
class References:
    """What a statement reads: DuckDB relations by name, and file sources."""

    tables: list[str] = field(default_factory=list)
    files: list[FileSource] = field(default_factory=list)


def references(node: exp.Expression) -> References:
    """Tables and files read by ``node``; CTE names and ML.<FN>'s MODEL argument are not tables."""
    refs = References()
    ctes = {c.alias_or_name.lower() for c in node.find_all(exp.CTE)}
    models = {id(f.args.get("model")) for f in node.find_all(MLFunction)}
    for table in node.find_all(exp.Table):
        if id(table) in models:
            continue
        source = file_source(table)
        if source is not None:
            refs.files.append(source)
        elif isinstance(table.this, exp.Func):
            refs.tables.append(f"{table.this.sql('duckdb').split('(')[0].lower()}()")
        elif table.args.get("db") or table.name.lower() not in ctes:
            name = table.sql("duckdb").split(" AS ")[0]
            if name not in refs.tables:
                refs.tables.append(name)
    return refs


def parse(sql: str, read: str = "duckdb") -> exp.Expression | None:
    """A statement sqlml does not handle itself, parsed to see what it reads (None: unparsable)."""
    try:
        node = sqlglot.parse_one(sql, read=read)
    except SqlglotError:
        return None
    return None if isinstance(node, exp.Command) else node
