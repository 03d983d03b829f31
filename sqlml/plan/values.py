"""Names and values as statements write them: model names (validated), and option / STRUCT values
as Python (constants, bare words, arrays, STRUCT pairs, HPARAM_* search spaces).
"""

from __future__ import annotations

import re
from typing import Any

from sqlglot import exp

from sqlml.errors import NotSupportedError, OptionError, ProgrammingError
from sqlml.models.space import HParamCandidates, HParamRange
from sqlml.sql.literals import literal
from sqlml.sql.nodes import (
    Option,
)

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def model_name(table: exp.Expression) -> str:
    """A model's catalog name: lower-cased, ``schema.name`` or ``database.schema.name`` when
    qualified (the catalog resolves the database, :class:`sqlml.catalog.Catalog`); validated."""
    if isinstance(table, exp.Table):
        parts = [p.name for p in table.parts]
    elif isinstance(table, (exp.Identifier, exp.Column, exp.Var)):
        parts = [table.name]
    else:
        parts = [table.sql()]
    for part in parts:
        if not _NAME.match(part):
            raise ProgrammingError(
                f"Invalid model name {'.'.join(parts)!r}: use letters, digits and underscores, "
                f"optionally qualified by a schema and a database (database.schema.model)."
            )
    if len(parts) > 3:
        raise ProgrammingError(
            f"Invalid model name {'.'.join(parts)!r}: at most two qualifiers "
            f"(database.schema.model, BigQuery's project.dataset.model)."
        )
    return ".".join(parts).lower()


def literal_value(node: exp.Expression | None) -> Any:
    """An option or STRUCT field value as Python: str, int, float, bool, None, or list of those."""
    return literal(node, _option_value)


def _option_value(node: exp.Expression) -> Any:
    """The option values beyond constants: bare words, STRUCT pairs, and search spaces."""
    if isinstance(node, exp.Tuple):  # ('yes', 2.0) inside class_weights, BigQuery's documented form
        return [literal_value(e) for e in node.expressions]
    if isinstance(node, exp.Struct):  # STRUCT('yes', 2.0) inside class_weights
        # Spark's dialect names unnamed fields (col1 := 'yes'): the values are what count.
        return [
            literal_value(
                e.this
                if isinstance(e, exp.Alias)
                else e.expression
                if isinstance(e, exp.PropertyEQ)
                else e
            )
            for e in node.expressions
        ]
    if isinstance(node, (exp.Var, exp.Identifier, exp.Column)) and not isinstance(node, exp.Star):
        return node.name
    if isinstance(node, (exp.Anonymous, exp.Func)):
        return _search_space(node)
    raise OptionError(f"Option values must be literals; got {node.sql()}.")


def _search_space(node: exp.Expression) -> HParamRange | HParamCandidates:
    """``HPARAM_RANGE(low, high)`` or ``HPARAM_CANDIDATES([...])``; options.validate checks them."""
    name = node.name.upper() if isinstance(node, exp.Anonymous) else node.sql_name()
    if name not in ("HPARAM_RANGE", "HPARAM_CANDIDATES"):
        raise NotSupportedError(
            f"{name}(...) is not supported in OPTIONS; give a single value, "
            f"HPARAM_RANGE(low, high) or HPARAM_CANDIDATES([...])."
        )
    args = [literal_value(e) for e in node.expressions]
    numbers = all(isinstance(a, (int, float)) and not isinstance(a, bool) for a in args)
    if name == "HPARAM_RANGE" and len(args) == 2 and numbers:
        return HParamRange(args[0], args[1])
    if name == "HPARAM_CANDIDATES" and len(args) == 1 and isinstance(args[0], list):
        return HParamCandidates(tuple(args[0]))
    usage = {
        "HPARAM_RANGE": "two numbers, HPARAM_RANGE(low, high)",
        "HPARAM_CANDIDATES": "one array, HPARAM_CANDIDATES([value, ...])",
    }[name]
    raise OptionError(f"{name} takes {usage}; got {node.sql()}.")


def options_of(items: list[exp.Expression]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for item in items:
        key = item.this.name.lower() if isinstance(item, Option) else item.name.lower()
        if key in values:
            raise OptionError(f"Option '{key}' is given twice.")
        values[key] = literal_value(item.args.get("expression"))
    return values
