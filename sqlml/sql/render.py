"""sqlml's nodes written back as SQL, through sqlglot's ``Generator.TRANSFORMS`` extension point.

:func:`sqlml.sql.dialects.dialect_for` adds :data:`TRANSFORMS` to each dialect's own generator, so
``node.sql(dialect=dialect_for(name))`` renders a whole statement: the engine's SQL by the dialect,
sqlml's nodes by the functions here. What they write parses back to the same tree (tests/sql's
round-trip test holds them to it), which is why sqlml's own pieces (STRUCT arguments, threshold
lists, option keys) are written in the one spelling the grammar reads in every dialect rather than
in the dialect's preferred one (DuckDB would write a STRUCT as ``{...}``, Spark an array as
``ARRAY(...)``).

Only the generator's public methods are used here (``sql``, ``expressions``, ``seg``, ``wrap``,
``maybe_comment``): comments on nodes written here directly, not through ``sql``, are written too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlglot import exp
from sqlglot.generator import Generator

from sqlml.sql.nodes import (
    AlterModel,
    CreateModel,
    DropModel,
    Explain,
    ExportModel,
    MLFunction,
    Option,
    ShowModel,
)


def _name(option: Option) -> str:
    """An option's key as the grammar read it: the raw word, never quoted (it cannot be)."""
    return option.this.name


def _option_sql(self: Generator, node: Option) -> str:
    """``key = value``, as inside OPTIONS (...); Redshift clauses are written by CREATE MODEL."""
    return f"{_name(node)} = {self.sql(node, 'expression')}"


def _options_sql(self: Generator, node: exp.Expr) -> str:
    """An ``OPTIONS (...)`` clause when the statement had one (even empty), else nothing."""
    options = node.args.get("options")
    if options is None:
        return ""
    return self.seg(f"OPTIONS ({', '.join(self.sql(option) for option in options)})")


def _create_model_sql(self: Generator, node: CreateModel) -> str:
    replace = " OR REPLACE" if node.args.get("replace") else ""
    exists = " IF NOT EXISTS" if node.args.get("exists") else ""
    head = f"CREATE{replace} MODEL{exists} {self.sql(node, 'this')}"
    form = node.args.get("form")
    if form is not None and form.name == "redshift":
        return head + _redshift_sql(self, node)
    return head + _bigquery_sql(self, node)


def _bigquery_sql(self: Generator, node: CreateModel) -> str:
    """The clauses in one fixed order; the grammar takes them in any, and each is one arg."""
    sql = ""
    if node.args.get("partition_by"):  # never empty: the grammar wants a column
        sql += self.seg(f"PARTITION BY {self.expressions(node, key='partition_by', flat=True)}")
    if node.args.get("transform") is not None:  # TRANSFORM () is an empty list, kept as written
        sql += self.seg(f"TRANSFORM ({self.expressions(node, key='transform', flat=True)})")
    sql += _options_sql(self, node)
    if node.args.get("query") is not None:
        sql += self.seg(f"AS {self.sql(node, 'query')}")
    return sql


def _redshift_sql(self: Generator, node: CreateModel) -> str:
    """``FROM source`` and the clauses in the order of ``options``, which the grammar keeps.

    ``RETURNS`` is an option but is written as part of ``FUNCTION f RETURNS type`` at its own
    place, so that the re-parsed options come in the same order.
    """
    source = node.args.get("query")
    source_sql = self.sql(source) if isinstance(source, exp.Table) else _wrap(self, source)
    sql = self.seg(f"FROM {source_sql}")
    if node.args.get("partition_by"):
        sql += self.seg(f"PARTITION BY {self.expressions(node, key='partition_by', flat=True)}")
    if node.args.get("target") is not None:
        sql += self.seg(f"TARGET {self.sql(node, 'target')}")
    options = node.args.get("options") or []
    function = self.sql(node, "function")
    if function and not any(_name(option) == "RETURNS" for option in options):
        sql += self.seg(f"FUNCTION {function}")
    for option in options:
        key, value = _name(option), option.expression
        if key == "RETURNS":
            clause = f"FUNCTION {function} RETURNS {self.sql(value)}"
        elif key == "SETTINGS" or (key == "HYPERPARAMETERS" and isinstance(value, exp.Tuple)):
            default = " DEFAULT EXCEPT" if key == "HYPERPARAMETERS" else ""
            clause = f"{key}{default} {_pairs_sql(self, value)}"
        else:
            clause = f"{key} {self.sql(value)}"
        sql += self.seg(self.maybe_comment(clause, option))
    return sql


def _pairs_sql(self: Generator, pairs: exp.Tuple) -> str:
    """``(KEY value, ...)`` of HYPERPARAMETERS DEFAULT EXCEPT and SETTINGS."""
    items = (
        self.maybe_comment(f"{_name(pair)} {self.sql(pair, 'expression')}", pair)
        for pair in pairs.expressions
    )
    return f"({', '.join(items)})"


def _wrap(self: Generator, query: exp.Expr | None) -> str:
    """``(query)``, keeping the query's own parentheses (``wrap(query)`` would drop a
    Subquery's): the grammar stores the query inside the outer ones, so they are written back."""
    return self.wrap(self.sql(query))


def _drop_model_sql(self: Generator, node: DropModel) -> str:
    exists = " IF EXISTS" if node.args.get("exists") else ""
    return f"DROP MODEL{exists} {self.sql(node, 'this')}"


def _alter_model_sql(self: Generator, node: AlterModel) -> str:
    exists = " IF EXISTS" if node.args.get("exists") else ""
    options = ", ".join(self.sql(option) for option in node.args.get("options") or [])
    return f"ALTER MODEL{exists} {self.sql(node, 'this')} SET OPTIONS ({options})"


def _export_model_sql(self: Generator, node: ExportModel) -> str:
    return f"EXPORT MODEL {self.sql(node, 'this')}{_options_sql(self, node)}"


def _show_model_sql(self: Generator, node: ShowModel) -> str:
    """``SHOW MODEL name``, or ``SHOW MODEL ALL`` for every model (``SHOW MODELS`` parses the same)."""
    return f"SHOW MODEL {self.sql(node, 'this') or 'ALL'}"


def _ml_function_sql(self: Generator, node: MLFunction) -> str:
    """``ML.NAME(MODEL m[, TABLE t | (query)][, STRUCT(...) | thresholds])`` and what follows it
    in FROM (alias, TABLESAMPLE, ...).

    The arguments come in one order (BigQuery's ML.DETECT_ANOMALIES also takes the STRUCT first:
    the tree is the same). STRUCT fields are written ``value AS name`` and thresholds as ``[...]``
    or ``GENERATE_ARRAY(...)``: the only spellings the grammar reads, whatever the dialect.
    """
    args = [f"MODEL {self.sql(node, 'model')}"]
    source = node.args.get("input")
    if isinstance(source, exp.Table):
        args.append(f"TABLE {self.sql(source)}")
    elif source is not None:
        args.append(_wrap(self, source))
    params = node.args.get("params")
    if params is not None:
        fields = (
            f"{self.sql(f, 'expression')} AS {self.sql(f, 'this')}" for f in params.expressions
        )
        args.append(f"STRUCT({', '.join(fields)})")
    thresholds = node.args.get("thresholds")
    if isinstance(thresholds, exp.Array):
        args.append(f"[{self.expressions(thresholds, flat=True)}]")
    elif thresholds is not None:
        args.append(f"GENERATE_ARRAY({self.expressions(thresholds, flat=True)})")
    only = "ONLY " if node.args.get("only") else ""
    return f"{only}ML.{node.function}({', '.join(args)}){_table_suffix_sql(self, node)}"


def _table_suffix_sql(self: Generator, node: MLFunction) -> str:
    """What sqlglot's FROM parsing may attach to a table-valued call, in the places sqlglot's own
    ``table_sql`` writes it for a table (the grammar returns the call where a table would be)."""
    alias = self.sql(node, "alias")
    alias = f" AS {alias}" if alias else ""
    sample = self.sql(node, "sample")
    version = self.sql(node, "version")
    version = f" {version}" if version else ""
    pre_alias = sample if self.dialect.ALIAS_POST_TABLESAMPLE else ""
    post_alias = "" if self.dialect.ALIAS_POST_TABLESAMPLE else sample
    if self.dialect.ALIAS_POST_VERSION:
        pre_alias += version
    else:
        post_alias += version
    hints = self.expressions(node, key="hints", sep=" ")
    hints = f" {hints}" if hints and self.TABLE_HINTS else ""
    pivots = self.expressions(node, key="pivots", sep="", flat=True)
    joins = self.indent(self.expressions(node, key="joins", sep="", flat=True), skip_first=True)
    if node.args.get("ordinality"):
        return f"{pre_alias}{hints}{pivots}{post_alias}{joins} WITH ORDINALITY{alias}"
    return f"{pre_alias}{alias}{hints}{pivots}{post_alias}{joins}"


def _explain_sql(self: Generator, node: Explain) -> str:
    analyze = " ANALYZE" if node.args.get("analyze") else ""
    return f"EXPLAIN{analyze} {self.sql(node, 'this')}"


#: Expression class -> ``(generator, node) -> SQL``, merged into each sqlml dialect's generator.
TRANSFORMS: dict[type[exp.Expr], Callable[[Any, Any], str]] = {
    Option: _option_sql,
    CreateModel: _create_model_sql,
    DropModel: _drop_model_sql,
    AlterModel: _alter_model_sql,
    ExportModel: _export_model_sql,
    ShowModel: _show_model_sql,
    MLFunction: _ml_function_sql,
    Explain: _explain_sql,
}
