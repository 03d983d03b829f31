"""The rule that picks an engine for a statement of a connection with both (see sqlml.core.routing)."""

from __future__ import annotations

import dataclasses
import glob
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlglot import exp

from sqlml.errors import NotSupportedError
from sqlml.plan import Job
from sqlml.plan.jobs import (
    AlterModelJob,
    DropModelJob,
    ExportModelJob,
    ShowModelJob,
    TrainJob,
)
from sqlml.sql import Statement
from sqlml.sql.nodes import CreateModel

if TYPE_CHECKING:
    pass

from sqlml.core.routing.settings import format_size
from sqlml.plan.sources import FileSource, parse, references


def _size(paths: Sequence[str]) -> int:
    total = 0
    for path in paths:
        if os.path.isdir(path):
            for folder, _dirs, files in os.walk(path):
                total += sum(os.stat(os.path.join(folder, f)).st_size for f in files)
        else:
            total += os.stat(path).st_size
    return total


@dataclass(frozen=True)
class Route:
    """Where a statement runs and why; for Spark, the files it reads (matched paths per source)."""

    engine: str  # "duckdb" | "spark"
    reason: str
    files: tuple[tuple[FileSource, tuple[str, ...]], ...] = ()


def route_query(node: exp.Expression, threshold: int) -> Route:
    """The engine for a query by what it reads (see the module docstring)."""
    refs = references(node)
    if refs.tables:
        named = [f"table function {t}" if t.endswith("()") else f"table {t}" for t in refs.tables]
        reason = f"reads DuckDB {', '.join(named)}"
        if refs.files:
            reason += (
                " as well as files; a statement runs on one engine, and only DuckDB reads both"
            )
        return Route("duckdb", reason)
    if not refs.files:
        return Route("duckdb", "reads no table or file")
    for source in refs.files:
        if source.unsupported:
            return Route("duckdb", source.unsupported)
        remote = [p for p in source.patterns if "://" in p]
        if remote:
            return Route("duckdb", f"the size of {remote[0]} is not known here (not a local path)")
    matched = [(s, tuple(matched_paths(s))) for s in refs.files]
    for source, paths in matched:
        if not paths:
            return Route("duckdb", f"no file matches {source.patterns[0]!r}")
    size = sum(_size(paths) for _, paths in matched)
    count = sum(len(paths) for _, paths in matched)
    kinds = " and ".join(
        sorted({"Parquet" if s.format == "parquet" else "CSV" for s in refs.files})
    )
    what = f"reads {count} {kinds} file{'s' if count != 1 else ''} of {format_size(size)}"
    limit = f"the threshold of {format_size(threshold)} (sqlml.spark_threshold)"
    if size >= threshold:
        return Route("spark", f"{what}, at or above {limit}", tuple(matched))
    return Route("duckdb", f"{what}, below {limit}")


def route_statement(statement: Statement, job: Job, threshold: int) -> Route:
    """The engine for one statement of an auto connection (``job`` is its DuckDB plan)."""
    if isinstance(job, (AlterModelJob, DropModelJob, ExportModelJob, ShowModelJob)):
        return Route("duckdb", "works on the model catalog, sqlml.models in the DuckDB database")
    node = statement.node if statement.node is not None else parse(statement.sql)
    if node is None:
        return Route("duckdb", "not a statement sqlml reads; DuckDB runs it as written")
    if isinstance(node, CreateModel):
        return _route_training(node, job, threshold)
    if isinstance(node, (exp.Insert, exp.Update, exp.Delete, exp.Merge, exp.Create)):
        target = node.this.find(exp.Table) if node.this is not None else None
        what = node.args.get("kind", "table") if isinstance(node, exp.Create) else "table"
        name = target.sql("duckdb") if target is not None else ""
        return Route("duckdb", f"writes DuckDB {str(what).lower()} {name}".rstrip())
    if not isinstance(node, exp.Query):
        return Route("duckdb", "not a query; DuckDB runs it as written")
    return route_query(node, threshold)


def _route_training(node: CreateModel, job: Job, threshold: int) -> Route:
    query = node.args.get("query")
    if query is None or not isinstance(job, TrainJob):
        return Route("duckdb", "imports an ONNX file: there is no training query")
    forced = str(job.options.get("engine") or "").lower()
    if isinstance(query, exp.Table):
        query = exp.select("*").from_(query.copy())
    found = route_query(query, threshold)
    if job.transform is not None and found.engine == "spark" and forced != "spark":
        return Route("duckdb", found.reason + "; but TRANSFORM is not yet supported on Spark")
    if forced == "duckdb" and found.engine == "spark":
        return Route("duckdb", "OPTIONS (engine = 'duckdb') of CREATE MODEL; " + found.reason)
    if forced == "spark" and found.engine == "duckdb":
        spark = route_query(query, 0)
        if spark.engine != "spark":
            raise NotSupportedError(
                f"OPTIONS (engine = 'spark') of CREATE MODEL {job.name}: the training query "
                f"cannot run on Spark ({spark.reason}); Spark reads Parquet and CSV files only. "
                f"Remove the option to train on DuckDB."
            )
        return dataclasses.replace(
            spark, reason="OPTIONS (engine = 'spark') of CREATE MODEL; " + spark.reason
        )
    return found


def matched_paths(source: FileSource) -> list[str]:
    """The paths a file source's patterns match (globs expanded, '**' recursive), in order."""
    found: list[str] = []
    for pattern in source.patterns:
        if glob.has_magic(pattern):
            found.extend(sorted(glob.glob(os.path.expanduser(pattern), recursive=True)))
        elif os.path.exists(os.path.expanduser(pattern)):
            found.append(os.path.expanduser(pattern))
    return found
