"""Split a SQL script into statements and parse the ML ones into :mod:`sqlml.sql.nodes` trees.

Only ML statements are parsed: ``CREATE/DROP/EXPORT/SHOW MODEL`` and statements that call
``ML.<FN>(MODEL ...)``. Everything else is passed to the engine verbatim, because the engine's own
parser is the authority on its SQL and sqlglot does not know every DuckDB construct. Splitting uses
sqlglot's tokenizer, so a ``;`` inside a string, comment or ``$$`` body never splits a statement.

The grammar lives in :class:`SqlmlParserMixin`, mixed into sqlglot's DuckDB, Spark and BigQuery
parsers by :func:`dialect_for`. All use of sqlglot's private parser helpers is confined to this module.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlglot import exp
from sqlglot.dialects.bigquery import BigQuery
from sqlglot.dialects.dialect import Dialect
from sqlglot.dialects.duckdb import DuckDB
from sqlglot.dialects.spark import Spark
from sqlglot.errors import ErrorLevel, ParseError, TokenError
from sqlglot.helper import seq_get
from sqlglot.tokens import Token, TokenType

from sqlml.errors import LimitError, NotSupportedError, SQLSyntaxError
from sqlml.sql.nodes import (
    CreateModel,
    DropModel,
    Explain,
    ExportModel,
    MLFunction,
    Option,
    ShowModel,
)

ML_FUNCTIONS: frozenset[str] = frozenset(
    {
        "PREDICT",
        "EVALUATE",
        "CONFUSION_MATRIX",
        "ROC_CURVE",
        "FEATURE_INFO",
        "TRAINING_INFO",
        "WEIGHTS",
        "EXPLAIN_PREDICT",
        "GLOBAL_EXPLAIN",
        "FEATURE_IMPORTANCE",
        "TRIAL_INFO",
        "DETECT_ANOMALIES",
        "CENTROIDS",
        "PRINCIPAL_COMPONENTS",
        "ADVANCED_WEIGHTS",
        "FORECAST",
        "VALIDATE_DATA_DRIFT",
        "ARIMA_EVALUATE",
    }
)

#: Tokens whose text is never a keyword: quoted names and string literals.
_QUOTED = frozenset({TokenType.STRING, TokenType.IDENTIFIER})

#: Redshift CREATE MODEL clauses that may follow ``FROM source``, in any order.
_REDSHIFT_CLAUSES = (
    "TARGET",
    "FUNCTION",
    "IAM_ROLE",
    "AUTO",
    "MODEL_TYPE",
    "PROBLEM_TYPE",
    "OBJECTIVE",
    "PREPROCESSORS",
    "HYPERPARAMETERS",
    "SETTINGS",
)
#: Words that end a name or value in the Redshift form instead of being taken as one. TARGET is
#: left out so that ``TARGET target`` (a label column called "target") still works.
_REDSHIFT_STOP = frozenset(_REDSHIFT_CLAUSES) - {"TARGET"} | {"RETURNS"}
#: Unquoted words that cannot be a model name right after CREATE MODEL: a clause is missing the name.
_CREATE_NAME_STOP = frozenset(
    {"OPTIONS", "TRANSFORM", "PARTITION", "AS", "FROM", "TARGET", "FUNCTION"}
)
_BIGQUERY_CLAUSES = "PARTITION BY, TRANSFORM, OPTIONS or AS"
_CHOICES = {
    "AUTO": ("ON", "OFF"),
    "MODEL_TYPE": ("XGBOOST", "MLP", "LINEAR_LEARNER", "KMEANS"),
    "PROBLEM_TYPE": ("REGRESSION", "BINARY_CLASSIFICATION", "MULTICLASS_CLASSIFICATION"),
}


@dataclass(frozen=True)
class Statement:
    """One statement of a script, with where it starts, so errors can point into the script.

    ``node`` is None for statements sqlml does not handle: they go to the engine verbatim, unparsed.
    ``placeholders`` are ``(start, end)`` offsets within ``sql`` of each ``?``, ``$1``, ``$name``
    or ``:name`` token, so the DB-API layer can bind parameters without re-lexing.
    """

    sql: str
    line: int
    col: int
    node: exp.Expr | None = None
    ml_functions: tuple[MLFunction, ...] = ()
    placeholders: tuple[tuple[int, int], ...] = ()
    #: For ``EXPLAIN [ANALYZE] <ML statement>`` (``node`` an :class:`Explain`): the explained
    #: statement on its own, with offsets relative to its own text.
    explained: Statement | None = None


# --- the grammar --------------------------------------------------------------------------------


class SqlmlParserMixin:
    """sqlml's ML grammar, mixed in front of a sqlglot dialect parser (see :func:`dialect_for`).

    A mixin rather than in-place patching, so plain sqlglot keeps behaving as documented for
    everyone else in the process. Methods of this class run with a sqlglot ``Parser`` as ``self``.
    """

    _sqlml_error_offset: int = 0

    # -- hooks into sqlglot's parser ----------------------------------------------------------

    def raise_error(self: Any, message: str, token: Token | None = None) -> None:
        """Remember where the error is as a character offset: sqlglot reports the token's end."""
        tok = token or self._curr
        if tok:
            self._sqlml_error_offset = tok.start
        else:  # at the end of the statement: point just past the last token
            self._sqlml_error_offset = self._prev.end + 1 if self._prev else 0
        super().raise_error(message, tok or None)

    def _parse_statement(self: Any) -> exp.Expr | None:
        if self._sqlml_at_words("EXPORT", "MODEL"):
            self._advance(2)
            return self._sqlml_parse_export()
        if self._sqlml_at_words("SHOW", "MODELS"):
            self._advance(2)
            return self.expression(ShowModel())
        if self._sqlml_at_words("SHOW", "MODEL"):
            self._advance(2)
            return self._sqlml_parse_show()
        return super()._parse_statement()

    def _parse_create(self: Any) -> exp.Expr:
        index = self._index
        replace = self._match_pair(TokenType.OR, TokenType.REPLACE)
        if self._sqlml_match_word("MODEL"):
            return self._sqlml_parse_create_model(bool(replace), index - 1)
        self._retreat(index)
        return super()._parse_create()

    def _parse_drop(self: Any, exists: bool = False, kind: str | None = None) -> exp.Expr:
        if kind is None and self._sqlml_match_word("MODEL"):
            if_exists = self._match_text_seq("IF", "EXISTS")
            name = self._sqlml_parse_name("<model name> after DROP MODEL")
            return self.expression(DropModel(this=name, exists=if_exists or None))
        return super()._parse_drop(exists=exists, kind=kind)

    def _parse_as_command(self: Any, start: Token) -> exp.Command:
        """sqlglot gives up on unknown syntax by wrapping it in a Command; in ML statements that
        would hide the ML calls from the planner, so it is an error instead."""
        self.raise_error(f"Unsupported syntax in a statement that uses sqlml: {start.text}", start)
        raise AssertionError("unreachable")  # raise_error raises at ErrorLevel.IMMEDIATE

    def _parse_command(self: Any) -> exp.Command:
        self.raise_error(
            f"Unsupported syntax in a statement that uses sqlml: {self._prev.text}", self._prev
        )
        raise AssertionError("unreachable")

    def _parse_table_parts(self: Any, schema: bool = False, **kwargs: Any) -> exp.Expr | None:
        """Make ``ML.FN(...)`` in FROM/JOIN an MLFunction itself rather than a Table named ``ML``."""
        if not schema and not kwargs.get("is_db_reference") and self._sqlml_at_ml_call():
            if kwargs.get("fast"):
                return None  # let the slow path come back here and parse the call
            return self._sqlml_parse_ml_function()
        return super()._parse_table_parts(schema=schema, **kwargs)

    def _parse_function_call(self: Any, *args: Any, **kwargs: Any) -> exp.Expr | None:
        """``ML.FN(...)`` outside FROM (e.g. in a SELECT list) reaches here; it returns a table."""
        index = self._index
        if index >= 2 and self._sqlml_is_ml_call(index - 2):
            name = f"ML.{self._curr.text.upper()}"
            self.raise_error(
                f"{name} returns a table: use it in FROM or JOIN", self._tokens[index - 2]
            )
        return super()._parse_function_call(*args, **kwargs)

    # -- token helpers ---------------------------------------------------------------------------

    def _sqlml_word_at(self: Any, index: int) -> str | None:
        """The upper-cased text of an unquoted token, or None (quoted words are never keywords)."""
        if 0 <= index < len(self._tokens):
            token = self._tokens[index]
            if token.token_type not in _QUOTED:
                return token.text.upper()
        return None

    def _sqlml_at_words(self: Any, *words: str) -> bool:
        return all(self._sqlml_word_at(self._index + i) == w for i, w in enumerate(words))

    def _sqlml_match_word(self: Any, *words: str) -> str | None:
        """Consume the current token if it is one of the unquoted words; return which one."""
        word = self._sqlml_word_at(self._index)
        if word is not None and word in words:
            self._advance()
            return word
        return None

    def _sqlml_is_ml_call(self: Any, index: int) -> bool:
        return _is_ml_call(self._tokens, index)

    def _sqlml_at_ml_call(self: Any) -> bool:
        return self._sqlml_is_ml_call(self._index)

    def _sqlml_context(self: Any, start: int) -> str:
        """The statement text from token ``start`` to the last consumed one, for messages."""
        if self._index - 1 < start:
            return ""
        text = self._find_sql(self._tokens[start], self._tokens[self._index - 1])
        text = " ".join(text.split())
        return text if len(text) <= 80 else text[:77] + "..."

    def _sqlml_expect(self: Any, ok: object, what: str) -> None:
        if not ok:
            self.raise_error(f"Expected {what}")

    def _sqlml_parse_name(self: Any, what: str, stop: Iterable[str] = ()) -> exp.Table:
        """A possibly qualified, possibly quoted name, refusing clause keywords as names."""
        token = self._curr
        word = self._sqlml_word_at(self._index)
        kind = token.token_type if token else None
        is_name = kind == TokenType.IDENTIFIER or (
            kind in self.ID_VAR_TOKENS and kind not in (TokenType.STRING, TokenType.UNKNOWN)
        )
        if not is_name or (word is not None and word in stop):
            self.raise_error(f"Expected {what}")
        name = self._parse_table_parts(schema=True)
        self._sqlml_expect(isinstance(name, exp.Table), what)
        return name

    def _sqlml_parse_identifier(self: Any, what: str, stop: Iterable[str]) -> exp.Identifier:
        token = self._curr
        word = self._sqlml_word_at(self._index)
        if not token or (word is not None and word in stop):
            self.raise_error(f"Expected {what}")
        ident = self._parse_id_var(any_token=False)
        if not isinstance(ident, exp.Identifier):
            self.raise_error(f"Expected {what}")
        return ident

    def _sqlml_parse_wrapped_query(self: Any, what: str) -> exp.Expr:
        """``( query )`` with the query's own text as meta["sql"], the outer parens left out."""
        self._sqlml_expect(self._match(TokenType.L_PAREN), what)
        first = self._index
        query = self._parse_ddl_select()
        if not isinstance(query, exp.Query):
            self.raise_error(f"Expected {what}", seq_get(self._tokens, first))
        last = self._index - 1
        self._match_r_paren()
        query.meta["sql"] = self._find_sql(self._tokens[first], self._tokens[last])
        return query

    def _sqlml_parse_query(self: Any) -> exp.Expr | None:
        """A training query after AS; a fully parenthesised one is unwrapped, parens and all."""
        first = self._index
        query = self._parse_ddl_select()
        if not isinstance(query, exp.Query):
            return None
        last = self._index - 1
        while _is_bare_subquery(query) and self._tokens[first].token_type == TokenType.L_PAREN:
            query = query.this
            first, last = first + 1, last - 1
        query.pop()
        query.meta["sql"] = self._find_sql(self._tokens[first], self._tokens[last])
        return query

    # -- ML functions ----------------------------------------------------------------------------

    def _sqlml_parse_ml_function(self: Any) -> MLFunction:
        """``ML.NAME(MODEL m [, TABLE t | (query)] [, STRUCT(...)])``, the cursor on ``ML``."""
        start_token = self._curr
        self._advance(2)  # ML .
        fn = self._curr.text.upper()
        display = f"ML.{fn}"
        self._advance(2)  # NAME (
        self._sqlml_expect(
            self._sqlml_match_word("MODEL"), f"MODEL <name> as the first argument of {display}"
        )
        model = self._sqlml_parse_name(f"<model name> after MODEL in {display}")
        source: exp.Expr | None = None
        params: exp.Expr | None = None
        thresholds: exp.Expr | None = None
        if self._match(TokenType.COMMA):
            if self._sqlml_match_word("TABLE"):
                source = self._sqlml_parse_name(f"<table name> after TABLE in {display}")
            elif self._match(TokenType.L_PAREN, advance=False):
                source = self._sqlml_parse_wrapped_query(
                    f"a query inside the parentheses of {display}"
                )
            elif fn == "ROC_CURVE" and self._sqlml_at_thresholds():
                pass
            elif not self._match(TokenType.STRUCT, advance=False):
                self.raise_error(
                    f"Expected TABLE <name>, (<query>) or STRUCT(...) after the model in {display}"
                )
            if source is None or self._match(TokenType.COMMA):
                if fn == "ROC_CURVE" and self._sqlml_at_thresholds():
                    thresholds = self._sqlml_parse_thresholds(display)
                elif fn == "ROC_CURVE" and not self._match(TokenType.STRUCT, advance=False):
                    self.raise_error(
                        f"Expected [threshold, ...], GENERATE_ARRAY(start, end, step) or "
                        f"STRUCT(<value> AS <name>, ...) as the last argument of {display}"
                    )
                else:
                    params = self._sqlml_parse_struct(display)
            if source is None and params is not None and self._match(TokenType.COMMA):
                # BigQuery's order for ML.DETECT_ANOMALIES: the STRUCT, then the input rows
                if self._sqlml_match_word("TABLE"):
                    source = self._sqlml_parse_name(f"<table name> after TABLE in {display}")
                else:
                    self._sqlml_expect(
                        self._match(TokenType.L_PAREN, advance=False),
                        f"TABLE <name> or (<query>) after the STRUCT in {display}",
                    )
                    source = self._sqlml_parse_wrapped_query(
                        f"a query inside the parentheses of {display}"
                    )
        if not self._match(TokenType.R_PAREN):
            self.raise_error(f"Expected ) to close {display}(...)")
        node = MLFunction(
            this=exp.Var(this=fn),
            model=model,
            input=source,
            params=params,
            thresholds=thresholds,
        )
        node.meta["span"] = (start_token.start, self._prev.end + 1)
        return self.expression(node)

    def _sqlml_at_thresholds(self: Any) -> bool:
        """At ``[`` or ``GENERATE_ARRAY(``: ML.ROC_CURVE's thresholds instead of a STRUCT."""
        return self._match(TokenType.L_BRACKET, advance=False) or (
            self._sqlml_at_words("GENERATE_ARRAY")
            and self._index + 1 < len(self._tokens)
            and self._tokens[self._index + 1].token_type == TokenType.L_PAREN
        )

    def _sqlml_parse_thresholds(self: Any, display: str) -> exp.Expr:
        """``[v, ...]`` as an exp.Array, or ``GENERATE_ARRAY(a, b, c)`` as an exp.Anonymous: parsed
        here rather than by the dialect, which would give each dialect's own node for the call."""
        if self._match(TokenType.L_BRACKET):
            values = self._parse_csv(self._parse_bitwise)
            self._sqlml_expect(
                self._match(TokenType.R_BRACKET), f"] to close the thresholds of {display}"
            )
            return exp.Array(expressions=values)
        self._advance(2)  # GENERATE_ARRAY (
        values = self._parse_csv(self._parse_bitwise)
        self._sqlml_expect(
            self._match(TokenType.R_PAREN), ") to close GENERATE_ARRAY(start, end, step)"
        )
        return exp.Anonymous(this="GENERATE_ARRAY", expressions=values)

    def _sqlml_parse_struct(self: Any, display: str) -> exp.Struct:
        what = f"STRUCT(<value> AS <name>, ...) as the last argument of {display}"
        self._sqlml_expect(self._match(TokenType.STRUCT, advance=False), what)
        struct = self._parse_bitwise()
        self._sqlml_expect(isinstance(struct, exp.Struct), what)
        for field in struct.expressions:
            self._sqlml_expect(isinstance(field, exp.PropertyEQ), f"named fields in {what}")
        return struct

    # -- CREATE / DROP / EXPORT / SHOW MODEL -----------------------------------------------------

    def _sqlml_parse_create_model(self: Any, replace: bool, start: int) -> CreateModel:
        exists = self._match_text_seq("IF", "NOT", "EXISTS")
        name = self._sqlml_parse_name("<model name> after CREATE MODEL", _CREATE_NAME_STOP)
        node = CreateModel(this=name, replace=replace or None, exists=exists or None)
        if self._match(TokenType.FROM):
            self._sqlml_parse_redshift(node, start)
        else:
            self._sqlml_parse_bigquery(node, start)
        return self.expression(node)

    def _sqlml_parse_bigquery(self: Any, node: CreateModel, start: int) -> None:
        node.set("form", exp.Var(this="bigquery"))
        while self._curr:
            if self._match(TokenType.PARTITION_BY) or self._match_text_seq("PARTITION", "BY"):
                self._sqlml_once(node, "partition_by", "PARTITION BY")
                node.set("partition_by", self._parse_csv(self._sqlml_parse_partition_column))
            elif self._sqlml_match_word("TRANSFORM"):
                self._sqlml_once(node, "transform", "TRANSFORM")
                self._sqlml_expect(self._match(TokenType.L_PAREN), "( after TRANSFORM")
                node.set("transform", self._parse_csv(self._parse_expression))
                self._sqlml_expect(self._match(TokenType.R_PAREN), ") to close TRANSFORM (...)")
            elif self._sqlml_match_word("OPTIONS"):
                self._sqlml_once(node, "options", "OPTIONS")
                node.set("options", self._sqlml_parse_options())
            elif self._match(TokenType.ALIAS):
                query = self._sqlml_parse_query()
                self._sqlml_expect(query, f"a query after {self._sqlml_context(start)}")
                node.set("query", query)
                break
            else:
                self.raise_error(
                    f"Expected {_BIGQUERY_CLAUSES} after {self._sqlml_context(start)}, "
                    f"got {self._curr.text}"
                )
        if self._curr:
            self.raise_error(f"Unexpected {self._curr.text} after the query of CREATE MODEL")

    def _sqlml_parse_partition_column(self: Any) -> exp.Expr:
        column = self._parse_column()
        self._sqlml_expect(isinstance(column, exp.Column), "a column after PARTITION BY")
        return column

    def _sqlml_once(self: Any, node: exp.Expr, arg: str, clause: str) -> None:
        if node.args.get(arg) is not None:
            self.raise_error(f"Duplicate {clause} clause", self._prev)

    def _sqlml_parse_options(self: Any) -> list[Option]:
        """``OPTIONS (key = value, ...)``; the cursor is just past OPTIONS."""
        self._sqlml_expect(self._match(TokenType.L_PAREN), "( after OPTIONS")
        options = self._parse_csv(self._sqlml_parse_option) if not self._curr_is_r_paren() else []
        self._sqlml_expect(self._match(TokenType.R_PAREN), ") or , in OPTIONS (...)")
        return options

    def _curr_is_r_paren(self: Any) -> bool:
        return bool(self._curr) and self._curr.token_type == TokenType.R_PAREN

    def _sqlml_parse_option(self: Any) -> Option:
        key_token = self._curr
        if not key_token or key_token.token_type in _QUOTED or not key_token.text[:1].isalpha():
            self.raise_error("Expected <option name> = <value> in OPTIONS (...)")
        self._advance()
        key = exp.Identifier(this=key_token.text, quoted=False)
        self._sqlml_expect(self._match(TokenType.EQ), f"= after option name {key_token.text}")
        value = self._parse_bitwise()
        self._sqlml_expect(value is not None, f"a value for option {key_token.text}")
        return self.expression(Option(this=key, expression=_bare_word(value)))

    def _sqlml_parse_redshift(self: Any, node: CreateModel, start: int) -> None:
        node.set("form", exp.Var(this="redshift"))
        if self._curr_is_l_paren():
            source = self._sqlml_parse_wrapped_query("a query inside FROM ( ... )")
        else:
            what = "<table> or (<query>) after FROM"
            source = self._sqlml_parse_name(what, _REDSHIFT_STOP | {"TARGET"})
        node.set("query", source)
        after_source = self._index
        options: list[Option] = []
        while self._curr:
            clause = self._sqlml_match_word(*_REDSHIFT_CLAUSES)
            if clause is None:
                self.raise_error(
                    f"Expected one of {', '.join(_REDSHIFT_CLAUSES)} after "
                    f"{self._sqlml_context(start)}, got {self._curr.text}"
                )
            self._sqlml_parse_redshift_clause(node, clause, options, start)
        self._sqlml_check_redshift(node, options, start, after_source)
        node.set("options", options)

    def _curr_is_l_paren(self: Any) -> bool:
        return bool(self._curr) and self._curr.token_type == TokenType.L_PAREN

    def _sqlml_parse_redshift_clause(
        self: Any, node: CreateModel, clause: str, options: list[Option], start: int
    ) -> None:
        if clause in ("TARGET", "FUNCTION"):
            arg = clause.lower()
            self._sqlml_once(node, arg, clause)
            what = "<label column>" if clause == "TARGET" else "<function name>"
            context = self._sqlml_context(start)
            node.set(arg, self._sqlml_parse_identifier(f"{what} after {context}", _REDSHIFT_STOP))
            if clause == "FUNCTION" and self._sqlml_match_word("RETURNS"):
                returns = self._parse_types()
                self._sqlml_expect(returns, "a type after RETURNS")
                options.append(self._sqlml_option("RETURNS", returns))
            return
        if any(o.name.upper() == clause for o in options):
            self.raise_error(f"Duplicate {clause} clause", self._prev)
        options.append(self._sqlml_option(clause, self._sqlml_parse_clause_value(clause)))

    def _sqlml_option(self: Any, key: str, value: exp.Expr) -> Option:
        return self.expression(
            Option(this=exp.Identifier(this=key, quoted=False), expression=value)
        )

    def _sqlml_parse_clause_value(self: Any, clause: str) -> exp.Expr:
        if clause in _CHOICES:
            return self._sqlml_parse_choice(clause, _CHOICES[clause])
        if clause == "IAM_ROLE":
            if self._match(TokenType.DEFAULT) or self._sqlml_match_word("DEFAULT"):
                return exp.Var(this="DEFAULT")
            return self._sqlml_parse_string("DEFAULT or '<role arn>' after IAM_ROLE")
        if clause in ("OBJECTIVE", "PREPROCESSORS"):
            return self._sqlml_parse_string(f"a string after {clause}")
        if clause == "HYPERPARAMETERS":
            return self._sqlml_parse_hyperparameters()
        return self._sqlml_parse_settings()

    def _sqlml_parse_choice(self: Any, clause: str, choices: Sequence[str]) -> exp.Var:
        word = self._sqlml_word_at(self._index)
        if word not in choices:
            self.raise_error(f"Expected {' or '.join(choices)} after {clause}")
        self._advance()
        return exp.Var(this=word)

    def _sqlml_parse_string(self: Any, what: str) -> exp.Literal:
        string = self._parse_string()
        self._sqlml_expect(isinstance(string, exp.Literal) and string.is_string, what)
        return string

    def _sqlml_parse_hyperparameters(self: Any) -> exp.Expr:
        """``HYPERPARAMETERS DEFAULT [EXCEPT (NAME 'value', ...)]``."""
        if not (self._match(TokenType.DEFAULT) or self._sqlml_match_word("DEFAULT")):
            self.raise_error("Expected DEFAULT after HYPERPARAMETERS")
        if not self._match(TokenType.EXCEPT):
            return exp.Var(this="DEFAULT")
        return self._sqlml_parse_pairs("HYPERPARAMETERS DEFAULT EXCEPT")

    def _sqlml_parse_settings(self: Any) -> exp.Tuple:
        return self._sqlml_parse_pairs("SETTINGS")

    def _sqlml_parse_pairs(self: Any, clause: str) -> exp.Tuple:
        """``(KEY value, ...)`` as a Tuple of Option nodes, keys upper-cased like keywords."""
        self._sqlml_expect(self._match(TokenType.L_PAREN), f"( after {clause}")
        pairs = self._parse_csv(lambda: self._sqlml_parse_pair(clause))
        self._sqlml_expect(self._match(TokenType.R_PAREN), f") or , in {clause} (...)")
        return exp.Tuple(expressions=pairs)

    def _sqlml_parse_pair(self: Any, clause: str) -> Option:
        key = self._sqlml_word_at(self._index)
        if key is None or not key[:1].isalpha():
            self.raise_error(f"Expected <name> <value> in {clause} (...)")
        self._advance()
        value = self._parse_primary() if not self._curr_is_word() else None
        if value is None and self._curr_is_word():
            value = exp.Var(this=self._curr.text.upper())
            self._advance()
        self._sqlml_expect(value is not None, f"a value for {key} in {clause} (...)")
        return self._sqlml_option(key, value)

    def _curr_is_word(self: Any) -> bool:
        word = self._sqlml_word_at(self._index)
        return word is not None and word[:1].isalpha()

    def _sqlml_check_redshift(
        self: Any, node: CreateModel, options: list[Option], start: int, after_source: int
    ) -> None:
        """FUNCTION is always required; TARGET too, except for (unsupervised) KMEANS models."""
        end = self._index
        self._retreat(after_source)
        context = self._sqlml_context(start)
        error_token = self._curr
        self._retreat(end)
        if node.args.get("function") is None:
            self.raise_error(f"Expected FUNCTION <name> after {context}", error_token)
        model_type = next((o.expression.name for o in options if o.name == "MODEL_TYPE"), None)
        if node.args.get("target") is None and model_type != "KMEANS":
            self.raise_error(f"Expected TARGET <label column> after {context}", error_token)

    def _sqlml_parse_export(self: Any) -> ExportModel:
        name = self._sqlml_parse_name("<model name> after EXPORT MODEL", ("OPTIONS",))
        options = self._sqlml_parse_options() if self._sqlml_match_word("OPTIONS") else None
        return self.expression(ExportModel(this=name, options=options))

    def _sqlml_parse_show(self: Any) -> ShowModel:
        if self._match(TokenType.ALL):
            return self.expression(ShowModel())
        return self.expression(ShowModel(this=self._sqlml_parse_name("<model name> or ALL")))


def _is_bare_subquery(query: exp.Expr) -> bool:
    """True for ``( query )`` with nothing attached: no alias, no ORDER BY/LIMIT after the parens."""
    if not isinstance(query, exp.Subquery):
        return False
    return not any(value for key, value in query.args.items() if key != "this")


def _bare_word(value: exp.Expr) -> exp.Expr:
    """An unquoted single-part column in OPTIONS is a bare word, e.g. ``model_type = linear_reg``."""
    if isinstance(value, exp.Column) and not value.table and not value.this.quoted:
        return exp.Var(this=value.name)
    return value


# --- dialects -----------------------------------------------------------------------------------


def _with_mixin(base: type[Dialect], name: str) -> type[Dialect]:
    """A dialect subclass whose parser is ``SqlmlParserMixin`` + the dialect's own parser.

    The class needs its own name: sqlglot registers dialects by class name, and a subclass called
    ``DuckDB`` would replace the real one in its registry.
    """
    parser = type(f"{name}Parser", (SqlmlParserMixin, base.parser_class), {})
    return type(name, (base,), {"Parser": parser, "__module__": __name__})


_DIALECTS: dict[str, Callable[[], type[Dialect]]] = {
    "duckdb": lambda: _with_mixin(DuckDB, "SqlmlDuckDB"),
    "spark": lambda: _with_mixin(Spark, "SqlmlSpark"),
    "bigquery": lambda: _with_mixin(BigQuery, "SqlmlBigQuery"),
}


def dialect_for(name: str) -> type[Dialect]:
    """sqlglot's dialect of that name with sqlml's grammar: "duckdb", "spark" or "bigquery"."""
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


# --- splitting ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Limits:
    """How much SQL one ``execute()`` takes: its length in characters, and how deeply its brackets
    nest. Checked before anything parses the text (sqlml or the engine: DuckDB's parser takes 32 s
    for 8,000 nested parentheses, holding its connection meanwhile), in time linear in its length.
    """

    #: BigQuery's limit on the length of a query (1,024 KB), in characters.
    max_statement_size: int = 1_048_576
    #: Parentheses, brackets and braces open at once; legible SQL stays far below it.
    max_nesting_depth: int = 200


DEFAULT_LIMITS = Limits()


def split_statements(
    script: str, dialect: str = "duckdb", limits: Limits = DEFAULT_LIMITS
) -> list[Statement]:
    """Split ``script`` at top-level ``;`` and parse the ML statements; see :class:`Statement`.

    Raises SQLSyntaxError (with the line and column in ``script``) for an ML statement that does
    not parse, and LimitError for text over ``limits``. Other statements are never refused: the
    engine reports their errors itself.
    """
    if len(script) > limits.max_statement_size:
        raise LimitError(
            f"The SQL text is {len(script):,} characters long, over the limit of "
            f"{limits.max_statement_size:,} (max_statement_size); split it into several "
            f"statements, or load large data from a file (read_csv, COPY) rather than as literals."
        )
    dialect_cls = dialect_for(dialect)
    try:
        tokens = dialect_cls().tokenize(script)
    except TokenError:
        _check_text_depth(script, limits.max_nesting_depth)
        return _split_fallback(script, dialect_cls)
    _check_depth(tokens, script, limits.max_nesting_depth)
    return [
        _statement(script, _expand_command(chunk, script, limit, dialect_cls), dialect_cls)
        for chunk, limit in _chunks(tokens, len(script))
    ]


_OPENING = frozenset({TokenType.L_PAREN, TokenType.L_BRACKET, TokenType.L_BRACE})
_CLOSING = frozenset({TokenType.R_PAREN, TokenType.R_BRACKET, TokenType.R_BRACE})


def _check_depth(tokens: Sequence[Token], script: str, limit: int) -> None:
    depth = 0
    for token in tokens:
        kind = token.token_type
        if kind in _OPENING:
            depth += 1
            if depth > limit:
                raise _depth_error(script, token.start, limit)
        elif kind in _CLOSING:
            depth = max(0, depth - 1)


def _check_text_depth(script: str, limit: int) -> None:
    """The same check on text sqlglot cannot tokenize (its strings and comments masked)."""
    depth = 0
    masked, _ = _mask(script)
    for match in _BRACKETS.finditer(masked):
        if match.group() in "([{":
            depth += 1
            if depth > limit:
                raise _depth_error(script, match.start(), limit)
        else:
            depth = max(0, depth - 1)


_BRACKETS = re.compile(r"[()\[\]{}]")


def _depth_error(script: str, offset: int, limit: int) -> LimitError:
    line, col = _position(script, offset)
    return LimitError(
        f"The statement nests parentheses and brackets more than {limit} deep "
        f"(max_nesting_depth) at line {line}, column {col}; flatten it, e.g. with a WITH clause "
        f"or fewer nested subqueries."
    )


def _chunks(tokens: list[Token], length: int) -> list[tuple[list[Token], int]]:
    """Token runs between semicolons, each with the offset where its ``;`` (or the text) ends."""
    chunks: list[tuple[list[Token], int]] = []
    current: list[Token] = []
    for token in tokens:
        if token.token_type == TokenType.SEMICOLON:
            if current:
                chunks.append((current, token.start))
            current = []
        else:
            current.append(token)
    if current:
        chunks.append((current, length))
    return chunks


def _expand_command(
    chunk: list[Token], script: str, limit: int, dialect_cls: type[Dialect]
) -> list[Token]:
    """Re-lex the body of a command (EXPLAIN ..., Spark's SHOW ...) that sqlglot lexes as one string.

    Without this an ``ML.FN(`` or a placeholder inside the body would go unseen, and the body token's
    offsets are not reliable enough to cut the statement's text.
    """
    if len(chunk) < 2 or chunk[-2].token_type not in dialect_cls.tokenizer_class.COMMANDS:
        return chunk
    body_start = chunk[-2].end + 1
    body = script[body_start:limit]
    if chunk[-1].token_type != TokenType.STRING or chunk[-1].text != body.strip():
        return chunk
    try:
        tokens = [_shift(t, body_start) for t in dialect_cls().tokenize(body)]
    except TokenError:
        lead = len(body) - len(body.lstrip())
        text = body.strip()
        end = body_start + lead + len(text) - 1
        tokens = [Token(TokenType.STRING, text, start=body_start + lead, end=end)]
    if not tokens:
        return chunk[:-1]
    return _expand_command(chunk[:-1] + tokens, script, limit, dialect_cls)


def _statement(script: str, chunk: list[Token], dialect_cls: type[Dialect]) -> Statement:
    """A Statement from one chunk of the script's tokens (offsets relative to the script)."""
    start, end = chunk[0].start, chunk[-1].end + 1
    sql = script[start:end]
    line, col = _position(script, start)
    placeholders = tuple((a - start, b - start) for a, b in _placeholders(chunk))
    explained = _explained(script, chunk, dialect_cls)
    if explained is not None:
        analyze = chunk[1].text.upper() == "ANALYZE"
        node = Explain(this=explained.node, analyze=analyze or None)
        return Statement(sql, line, col, node, (), placeholders, explained)
    if not _is_ml_statement(chunk):
        return Statement(sql, line, col, placeholders=placeholders)
    tokens = [_shift(token, -start) for token in chunk]
    node = _parse_ml(sql, tokens, dialect_cls, script, start)
    calls = tuple(sorted(node.find_all(MLFunction), key=lambda f: f.meta["span"][0]))
    return Statement(sql, line, col, node, calls, placeholders)


def _explained(script: str, chunk: list[Token], dialect_cls: type[Dialect]) -> Statement | None:
    """The ML statement after ``EXPLAIN [ANALYZE]``, or None when the chunk is not one (a plain
    EXPLAIN goes to the engine as written)."""
    if len(chunk) < 2 or chunk[0].text.upper() != "EXPLAIN" or chunk[0].token_type in _QUOTED:
        return None
    body = chunk[2:] if chunk[1].text.upper() == "ANALYZE" else chunk[1:]
    if not body or not _is_ml_statement(body):
        return None
    return _statement(script, body, dialect_cls)


def _position(text: str, offset: int) -> tuple[int, int]:
    """1-based (line, column) of a character offset."""
    line = text.count("\n", 0, offset) + 1
    col = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, col


def _is_ml_call(tokens: Sequence[Token], i: int) -> bool:
    """``ML . <name in ML_FUNCTIONS> (`` starting at tokens[i]."""
    if i < 0 or i + 3 >= len(tokens):
        return False
    ml, dot, name, paren = tokens[i : i + 4]
    return (
        ml.token_type == TokenType.VAR
        and ml.text.upper() == "ML"
        and dot.token_type == TokenType.DOT
        and name.token_type not in _QUOTED
        and name.text.upper() in ML_FUNCTIONS
        and paren.token_type == TokenType.L_PAREN
    )


def _is_ml_statement(tokens: Sequence[Token]) -> bool:
    words = [t.text.upper() if t.token_type not in _QUOTED else "" for t in tokens[:4]]
    if words[:1] == ["CREATE"]:
        rest = words[3:4] if words[1:3] == ["OR", "REPLACE"] else words[1:2]
        if rest == ["MODEL"]:
            return True
    if words[:2] in (["DROP", "MODEL"], ["EXPORT", "MODEL"], ["SHOW", "MODEL"], ["SHOW", "MODELS"]):
        return True
    return any(_is_ml_call(tokens, i) for i in range(len(tokens)))


#: Tokens after which ``:word`` is a key/value or slice separator rather than a named parameter.
_NOT_BEFORE_NAMED = frozenset(
    {
        TokenType.STRING,
        TokenType.NUMBER,
        TokenType.VAR,
        TokenType.IDENTIFIER,
        TokenType.R_PAREN,
        TokenType.R_BRACKET,
        TokenType.R_BRACE,
        TokenType.L_BRACKET,
    }
)


def _placeholders(tokens: Sequence[Token]) -> list[tuple[int, int]]:
    """(start, end) of ``?``, ``$1``, ``$name`` and ``:name`` tokens, end exclusive."""
    spans = []
    for i, token in enumerate(tokens):
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        joined = nxt is not None and nxt.start == token.end + 1
        kind = token.token_type
        if kind == TokenType.PLACEHOLDER:
            spans.append((token.start, token.end + 1))
        elif kind == TokenType.PARAMETER and token.text == "$" and joined and _is_param_name(nxt):
            spans.append((token.start, nxt.end + 1))
        elif kind == TokenType.VAR and re.fullmatch(r"\$\d+", token.text):
            spans.append((token.start, token.end + 1))  # BigQuery lexes $1 as one word
        elif (
            kind == TokenType.COLON
            and joined
            and _is_named_parameter(nxt, tokens[i - 1] if i else None)
        ):
            spans.append((token.start, nxt.end + 1))
    return spans


def _is_named_parameter(name: Token, before: Token | None) -> bool:
    """``:name`` is a parameter unless the colon follows a value, as in ``{'k':v}`` or ``a[1:n]``."""
    if name.token_type in _QUOTED or not (name.text[:1].isalpha() or name.text[:1] == "_"):
        return False
    return before is None or before.token_type not in _NOT_BEFORE_NAMED


def _is_param_name(token: Token) -> bool:
    return token.token_type == TokenType.NUMBER or (
        token.token_type not in _QUOTED and re.fullmatch(r"[A-Za-z_]\w*", token.text) is not None
    )


def _parse_ml(
    sql: str, tokens: list[Token], dialect_cls: type[Dialect], script: str, offset: int
) -> exp.Expr:
    """Parse one ML statement (tokens relative to ``sql``); errors become SQLSyntaxError at the
    right place in the script."""
    parser: Any = dialect_cls().parser(error_level=ErrorLevel.IMMEDIATE)
    try:
        trees = parser.parse(tokens, sql)
    except RecursionError:
        raise LimitError(
            "The statement is too deeply nested for sqlml's parser (long chains of operators or "
            "nested expressions); simplify it, e.g. with a WITH clause."
        ) from None
    except ParseError as error:
        where = parser._sqlml_error_offset
        message = error.errors[0].get("description") if error.errors else None
        message = _with_context(message or str(error), sql, where)
        raise _syntax_error(message, script, offset + where) from None
    except TokenError:
        # sqlglot re-tokenizes some pieces on its own (a quoted name read as a type name, as in
        # STRUCT(0.5 "we""ird")) and may fail there: the piece it just read is the culprit.
        token = parser._prev or parser._curr
        where = token.start if token is not None else 0
        message = _with_context("Cannot parse the statement", sql, where)
        raise _syntax_error(message, script, offset + where) from None
    node = trees[0] if len(trees) == 1 else None
    if not isinstance(node, exp.Expr):
        raise _syntax_error("Expected a statement", script, offset)
    _check_calls(node, tokens, script, offset)
    return node


def _with_context(message: str, sql: str, where: int) -> str:
    """sqlglot's own messages do not say what was found; add the text at the error."""
    if message.startswith(("Expected", "Unexpected", "Duplicate", "Unsupported", "ML.")):
        return message
    near = " ".join(sql[where : where + 30].split())
    return f"{message} near {near!r}" if near else f"{message} at the end of the statement"


def _check_calls(node: exp.Expr, tokens: Sequence[Token], script: str, offset: int) -> None:
    """Every ``ML.FN(`` in the tokens must have become an MLFunction, or the planner would miss it.

    A call that sqlglot parsed some other way (inside syntax it does not model) is an error rather
    than a statement that silently runs without its ML step.
    """
    found = {f.meta["span"][0] for f in node.find_all(MLFunction)}
    for i, token in enumerate(tokens):
        if _is_ml_call(tokens, i) and token.start not in found:
            name = f"ML.{tokens[i + 2].text.upper()}"
            raise _syntax_error(f"Cannot use {name} here", script, offset + token.start)


def _syntax_error(message: str, script: str, offset: int) -> SQLSyntaxError:
    line, col = _position(script, offset)
    return SQLSyntaxError(message, line, col)


# --- fallback when the whole script does not tokenize ---------------------------------------------


def _split_fallback(script: str, dialect_cls: type[Dialect]) -> list[Statement]:
    """Split with a small quote-aware scanner, then treat each piece on its own.

    sqlglot's tokenizer fails on unterminated strings or comments, and may on exotic DuckDB
    lexemes; one bad statement must not make a whole script unusable, and a non-ML statement that
    sqlglot cannot lex is still the engine's to accept or refuse.
    """
    statements = []
    for start, end in _scan_pieces(script):
        piece = script[start:end]
        try:
            tokens = dialect_cls().tokenize(piece)
        except TokenError as error:
            statement = _untokenizable(script, start, end, str(error))
            if statement is not None:
                statements.append(statement)
            continue
        for chunk, limit in _chunks(tokens, len(piece)):
            shifted = [_shift(token, start) for token in chunk]
            shifted = _expand_command(shifted, script, start + limit, dialect_cls)
            statements.append(_statement(script, shifted, dialect_cls))
    return statements


def _shift(token: Token, offset: int) -> Token:
    return Token(
        token.token_type,
        token.text,
        token.line,
        token.col,
        token.start + offset,
        token.end + offset,
        token.comments,
    )


_ML_TEXT = re.compile(
    r"^\s*(?:CREATE\s+(?:OR\s+REPLACE\s+)?MODEL|DROP\s+MODEL|EXPORT\s+MODEL|SHOW\s+MODELS?)\b"
    r"|\bML\s*\.\s*(?:" + "|".join(sorted(ML_FUNCTIONS)) + r")\s*\(",
    re.IGNORECASE,
)
_TEXT_PLACEHOLDER = re.compile(r"\?|\$\d+|\$[A-Za-z_]\w*|(?<![\w:\]\)'\"])\:[A-Za-z_]\w*")


def _untokenizable(script: str, start: int, end: int, reason: str) -> Statement | None:
    """A piece sqlglot cannot lex: pass it through unless it is an ML statement (then an error)."""
    masked, opened = _mask(script[start:end])
    if not masked.strip():
        return None
    lead = len(masked) - len(masked.lstrip())
    trail = len(masked.rstrip())
    if _ML_TEXT.search(masked):
        where = start + (opened if opened is not None else lead)
        raise _syntax_error(f"Cannot tokenize this statement: {reason}", script, where)
    placeholders = tuple(m.span() for m in _TEXT_PLACEHOLDER.finditer(masked[lead:trail]))
    line, col = _position(script, start + lead)
    return Statement(script[start + lead : start + trail], line, col, placeholders=placeholders)


def _scan_pieces(script: str) -> list[tuple[int, int]]:
    """(start, end) of the text between top-level semicolons, quote- and comment-aware."""
    pieces, start = [], 0
    for i, _ in _quoted_spans(script, stop_at_semicolon=True):
        pieces.append((start, i))
        start = i + 1
    pieces.append((start, len(script)))
    return pieces


def _mask(text: str) -> tuple[str, int | None]:
    """``text`` with comments blanked and string/quoted-name bodies filled with ``_``, so regexes
    see only code and stripping finds the code's extent; plus the offset where an unterminated
    string or comment starts, if any."""
    out = list(text)
    opened = None
    for i, end in _quoted_spans(text):
        fill = " " if text.startswith(("--", "/*"), i) else "_"
        for j in range(i, min(end, len(text))):
            out[j] = fill if text[j] != "\n" else "\n"
        if end > len(text):
            opened = i
    return "".join(out), opened


def _quoted_spans(text: str, stop_at_semicolon: bool = False) -> Iterable[tuple[int, int]]:
    """Yield (start, end) of each string or comment (end is len+1 if unterminated); or, with
    ``stop_at_semicolon``, (offset, offset) of each top-level ';' instead."""
    i, n = 0, len(text)
    while i < n:
        end = _quoted_end(text, i)
        if end is None:
            if stop_at_semicolon and text[i] == ";":
                yield i, i
            i += 1
            continue
        if not stop_at_semicolon:
            yield i, end
        i = end


_DOLLAR_TAG = re.compile(r"\$[A-Za-z_]*\$")


def _quoted_end(text: str, i: int) -> int | None:
    """If a string or comment starts at ``i``, the offset just past its end (n+1 if unterminated).

    Knows '...', "...", `...` (doubled to escape), $tag$...$tag$, -- and nested /* */ comments.
    """
    n, ch = len(text), text[i]
    if ch in "'\"`":
        j = i + 1
        while j < n:
            if text[j] == ch:
                if j + 1 < n and text[j + 1] == ch:
                    j += 2
                    continue
                return j + 1
            j += 1
        return n + 1
    if text.startswith("--", i):
        j = text.find("\n", i)
        return n if j < 0 else j
    if text.startswith("/*", i):
        depth, j = 0, i
        while j < n:
            if text.startswith("/*", j):
                depth, j = depth + 1, j + 2
            elif text.startswith("*/", j):
                depth, j = depth - 1, j + 2
                if depth == 0:
                    return j
            else:
                j += 1
        return n + 1
    tag = _DOLLAR_TAG.match(text, i) if ch == "$" else None
    if tag:
        j = text.find(tag.group(), i + len(tag.group()))
        return n + 1 if j < 0 else j + len(tag.group())
    return None
