"""A statement routed to another engine than its dialect's: written in that engine's SQL, file
sources as temporary views (Spark), or transpiled for ``connect(dialect=...)``.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from sqlglot import exp
from sqlglot.errors import ErrorLevel, SqlglotError

from sqlml.errors import NotSupportedError
from sqlml.plan import Job
from sqlml.plan.jobs import (
    MLQuery,
    PassThrough,
    TrainJob,
)
from sqlml.sql import Statement

if TYPE_CHECKING:
    pass

from sqlml.core.routing.rules import Route
from sqlml.plan.slots import ml_query_from_tree, training_calls
from sqlml.plan.sources import FileSource, file_source, parse


def spark_tree(node: exp.Expression, views: dict[tuple[Any, ...], str]) -> exp.Expression:
    """A copy of ``node`` with each file source replaced by its temporary view, and the text
    of every query forgotten (plan() would otherwise reuse the DuckDB text as written)."""

    def swap(item: exp.Expression) -> exp.Expression:
        source = file_source(item)
        if source is None:
            return item
        table = exp.Table(this=exp.to_identifier(views[_key(source)], quoted=True))
        alias = item.args.get("alias")
        if alias is not None:
            table.set("alias", alias.copy())
        return table

    tree = node.transform(swap)
    for item in tree.walk():
        item.meta.pop("sql", None)
    return tree


def _key(source: FileSource) -> tuple[Any, ...]:
    return (source.format, source.patterns)


_SPARK_HINT = (
    "This statement reads files large enough for Spark (sqlml.spark_threshold), but sqlglot "
    "cannot write it in Spark SQL: {exc}. Rewrite it, or raise the threshold "
    "(SET sqlml.spark_threshold = '…') to run it on DuckDB."
)


def write_sql(node: exp.Expression, dialect: str, hint: str) -> str:
    """``node`` written in ``dialect``; what sqlglot cannot translate is an error, not a guess
    (``hint`` is the message, with ``{exc}`` for sqlglot's reason)."""
    try:
        return node.sql(dialect=dialect, unsupported_level=ErrorLevel.RAISE)
    except SqlglotError as exc:
        raise NotSupportedError(hint.format(exc=exc)) from exc


def spark_sql(node: exp.Expression) -> str:
    """``node`` written in Spark SQL, for a statement routed to Spark."""
    return write_sql(node, "spark", _SPARK_HINT)


def spark_job(statement: Statement, job: Job, route: Route) -> tuple[Job, dict[str, Any]]:
    """``job`` as it runs on Spark, with the temporary views it needs (name -> (source, paths))."""
    views: dict[tuple[Any, ...], str] = {}
    named: dict[str, Any] = {}
    for index, (source, paths) in enumerate(route.files, start=1):
        if _key(source) not in views:
            views[_key(source)] = f"__sqlml_file_{index}"
            named[views[_key(source)]] = (source, paths)
    node = statement.node if statement.node is not None else parse(statement.sql)
    assert node is not None
    return _rewritten(spark_tree(node, views), job, "spark", _SPARK_HINT), named


def transpile_job(statement: Statement, job: Job, read: str, write: str) -> Job:
    """``job`` (planned from ``statement``, written in the ``read`` dialect) with its SQL in the
    engine's ``write`` dialect: ``connect(dialect=...)`` on an engine of another dialect."""
    if not isinstance(job, (TrainJob, MLQuery, PassThrough)):
        return job  # DROP / EXPORT / SHOW MODEL, EXPLAIN: no engine SQL of the user's
    if isinstance(job, MLQuery) and job.parameters:
        raise NotSupportedError(
            f"Parameters in a statement with an ML call are not yet supported when the "
            f"connection's dialect ({read}) differs from the engine's ({write}); put the values "
            f"in the statement, or connect without dialect=."
        )
    node = statement.node if statement.node is not None else parse(statement.sql, read)
    if node is None:
        raise NotSupportedError(
            f"sqlglot cannot read this statement as {read} SQL, so sqlml cannot write it in "
            f"{write} SQL; write it in {write} SQL and connect without dialect=."
        )
    tree = spark_tree(node, {})
    if read == "bigquery" and write in ("duckdb", "spark"):
        tree = tree.transform(lambda item: _expanded_unnest(item, write))
    hint = (
        f"sqlglot cannot write this {read} statement in {write} SQL: {{exc}}. Write it in "
        f"{write} SQL and connect without dialect=."
    )
    return _rewritten(tree, job, write, hint)


def _expanded_unnest(node: exp.Expression, write: str) -> exp.Expression:
    """BigQuery's ``FROM UNNEST(array)`` gives one column per field of a STRUCT element (the
    element itself otherwise, named by the alias); DuckDB's and Spark's EXPLODE give the struct
    whole. DuckDB: ``FROM (SELECT UNNEST(array, recursive := TRUE) AS alias) AS alias``, which
    expands a struct's fields and keeps a scalar as one column (a field that is itself an array
    is unnested too). Spark, for an array read by a subquery (ML.WEIGHTS' category_weights, as
    BigQuery's examples do): ``FROM (SELECT INLINE((SELECT ...))) AS alias``; Spark's INLINE
    takes arrays of structs only, so other arrays are left to sqlglot's EXPLODE."""
    if not isinstance(node, exp.Unnest) or not isinstance(node.parent, exp.From | exp.Join):
        return node
    if node.args.get("offset") or len(node.expressions) != 1:
        return node  # WITH OFFSET, or several arrays zipped: left to sqlglot as written
    if write == "spark" and not isinstance(node.expressions[0], exp.Subquery):
        return node
    alias = node.args.get("alias")
    columns = alias.columns if alias is not None else []
    name = (columns[0] if columns else alias.this if alias is not None else None) or None
    array = node.expressions[0].copy()
    element: exp.Expression
    if write == "spark":
        element = exp.Anonymous(this="INLINE", expressions=[array])
    else:
        recursive = exp.PropertyEQ(this=exp.to_identifier("recursive"), expression=exp.true())
        element = exp.Explode(this=array, expressions=[recursive])
    if name is not None and write != "spark":  # INLINE's columns are the struct's fields
        element = exp.alias_(element, name.copy())
    table_alias = exp.TableAlias(this=name.copy()) if name is not None else None
    return exp.Subquery(this=exp.Select(expressions=[element]), alias=table_alias)


def _rewritten(tree: exp.Expression, job: Job, dialect: str, hint: str) -> Job:
    if isinstance(job, TrainJob):
        query = tree.args.get("query")
        if query is None:  # model_type = 'onnx': an import, no training query
            return job
        query = exp.select("*").from_(query) if isinstance(query, exp.Table) else query
        calls = training_calls(query, dialect, lambda node: write_sql(node, dialect, hint))
        if calls is not None:  # AS SELECT ... FROM ML.TRANSFORM(...)
            return dataclasses.replace(job, query_sql=calls.sql, calls=calls)
        return dataclasses.replace(job, query_sql=write_sql(query, dialect, hint))
    if isinstance(job, MLQuery):
        return ml_query_from_tree(tree, dialect, lambda node: write_sql(node, dialect, hint))
    return PassThrough(write_sql(tree, dialect, hint))
