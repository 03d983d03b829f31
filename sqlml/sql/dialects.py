"""The dialects sqlml parses and writes: sqlglot's DuckDB, Spark and BigQuery, each with sqlml's
grammar (:mod:`sqlml.sql.grammar`) in its parser and sqlml's nodes (:mod:`sqlml.sql.render`) in its
generator, so ``node.sql(dialect=dialect_for(name))`` writes back SQL that parses to the same tree.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from sqlglot.dialects.bigquery import BigQuery
from sqlglot.dialects.dialect import Dialect
from sqlglot.dialects.duckdb import DuckDB
from sqlglot.dialects.redshift import Redshift
from sqlglot.dialects.spark import Spark
from sqlglot.errors import ErrorLevel, ParseError, TokenError
from sqlglot.tokens import Token

from sqlml.errors import NotSupportedError
from sqlml.sql.grammar import SqlmlParserMixin
from sqlml.sql.render import TRANSFORMS

__all__ = ["GrammarError", "SqlmlParserMixin", "dialect_for", "parse_tokens"]


class GrammarError(Exception):
    """A statement the grammar refused: sqlglot's message and the character offset, within the
    statement's text, of where it went wrong (the caller turns it into a line and column)."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset


def parse_tokens(dialect_cls: type[Dialect], tokens: list[Token], sql: str) -> list[Any]:
    """Parse the tokens of one statement (offsets relative to ``sql``) with sqlml's grammar.

    Raises GrammarError for a syntax error; a RecursionError (absurdly deep nesting) propagates.
    """
    parser: Any = dialect_cls().parser(error_level=ErrorLevel.IMMEDIATE)
    try:
        return parser.sqlml_parse(tokens, sql)
    except ParseError as error:
        message = error.errors[0].get("description") if error.errors else None
        raise GrammarError(message or str(error), parser.sqlml_error_offset) from None
    except TokenError:
        raise GrammarError("Cannot parse the statement", parser.sqlml_error_offset) from None


def _with_mixin(base: type[Dialect], name: str) -> type[Dialect]:
    """A dialect subclass whose parser is ``SqlmlParserMixin`` + the dialect's own parser, and
    whose generator is the dialect's own plus sqlml's nodes in ``Generator.TRANSFORMS``.

    Subclasses rather than additions to sqlglot's classes, so plain sqlglot keeps behaving as
    documented for everyone else in the process. The class needs its own name: sqlglot registers
    dialects by class name, and a subclass called ``DuckDB`` would replace the real one in its
    registry.
    """
    parser = type(f"{name}Parser", (SqlmlParserMixin, base.parser_class), {})
    base_generator = base.generator_class
    generator = type(
        f"{name}Generator",
        (base_generator,),
        {"TRANSFORMS": {**base_generator.TRANSFORMS, **TRANSFORMS}, "__module__": __name__},
    )
    return type(name, (base,), {"Parser": parser, "Generator": generator, "__module__": __name__})


_DIALECTS: dict[str, Callable[[], type[Dialect]]] = {
    "duckdb": lambda: _with_mixin(DuckDB, "SqlmlDuckDB"),
    "spark": lambda: _with_mixin(Spark, "SqlmlSpark"),
    "bigquery": lambda: _with_mixin(BigQuery, "SqlmlBigQuery"),
    "redshift": lambda: _with_mixin(Redshift, "SqlmlRedshift"),
}


def dialect_for(name: str) -> type[Dialect]:
    """sqlglot's dialect of that name with sqlml's grammar: "duckdb", "spark", "bigquery" or
    "redshift"."""
    key = name.lower()
    if key not in _DIALECTS:
        raise NotSupportedError(
            f"Unsupported SQL dialect {name!r}; expected one of {', '.join(_DIALECTS)}"
        )
    return _build_dialect(key)


@cache
def _build_dialect(key: str) -> type[Dialect]:
    """One class per dialect for the whole process (sqlglot registers each by name)."""
    return _DIALECTS[key]()
