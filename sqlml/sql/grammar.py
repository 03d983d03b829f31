"""sqlml's ML grammar: a mixin in front of a sqlglot dialect parser (see :mod:`sqlml.sql.dialects`).

Only ML statements reach it: ``CREATE/DROP/EXPORT/SHOW MODEL`` and statements that call
``ML.<FN>(MODEL ...)`` (the splitter, :mod:`sqlml.sql.split`, decides which). Every use of sqlglot's
private parser helpers (``self._parse_*``, ``self._match*``, ``self._curr``, ``self._prev``,
``_advance``, ``_retreat``, the ``raise_error`` hook) is confined to this module, so a sqlglot
upgrade that changes them needs looking at here only.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlglot import exp
from sqlglot.errors import TokenError
from sqlglot.helper import seq_get
from sqlglot.tokens import Token, TokenType

from sqlml.errors import NotSupportedError
from sqlml.sql.keywords import (
    BIGQUERY_CLAUSES,
    CHOICES,
    CREATE_NAME_STOP,
    QUOTED,
    REDSHIFT_CLAUSES,
    REDSHIFT_STOP,
    is_ml_call,
)
from sqlml.sql.nodes import (
    AlterModel,
    CreateModel,
    DropModel,
    ExportModel,
    MLFunction,
    Option,
    ShowModel,
)


class SqlmlParserMixin:
    """sqlml's ML grammar, mixed in front of a sqlglot dialect parser (see
    :func:`sqlml.sql.dialects.dialect_for`).

    A mixin rather than in-place patching, so plain sqlglot keeps behaving as documented for
    everyone else in the process. Methods of this class run with a sqlglot ``Parser`` as ``self``.
    """

    #: Where the last error is, as a character offset in the statement's text.
    sqlml_error_offset: int = 0

    def sqlml_parse(self: Any, tokens: list[Token], sql: str) -> list[exp.Expr | None]:
        """``parse()``, also remembering where a TokenError happened (see sqlml_error_offset)."""
        try:
            return self.parse(tokens, sql)
        except TokenError:
            # sqlglot re-tokenizes some pieces on its own (a quoted name read as a type name, as in
            # STRUCT(0.5 "we""ird")) and may fail there: the piece it just read is the culprit.
            token = self._prev or self._curr
            self.sqlml_error_offset = token.start if token is not None else 0
            raise

    # -- hooks into sqlglot's parser ----------------------------------------------------------

    def raise_error(self: Any, message: str, token: Token | None = None) -> None:
        """Remember where the error is as a character offset: sqlglot reports the token's end."""
        tok = token or self._curr
        if tok:
            self.sqlml_error_offset = tok.start
        else:  # at the end of the statement: point just past the last token
            self.sqlml_error_offset = self._prev.end + 1 if self._prev else 0
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

    def _parse_alter(self: Any) -> exp.Expr:
        if self._sqlml_match_word("MODEL"):
            return self._sqlml_parse_alter_model()
        return super()._parse_alter()

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
            if token.token_type not in QUOTED:
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
        return is_ml_call(self._tokens, index)

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
        name = self._sqlml_parse_name("<model name> after CREATE MODEL", CREATE_NAME_STOP)
        node = CreateModel(this=name, replace=replace or None, exists=exists or None)
        if self._sqlml_at_words("FUNCTION"):
            raise NotSupportedError(
                f"CREATE MODEL {name.sql()} FUNCTION ... without FROM (Redshift's remote "
                f"inference on an Amazon SageMaker endpoint) is not supported yet; sqlml scores "
                f"the models of its own catalog: train one with CREATE MODEL ... FROM ..., or "
                f"import an ONNX file with OPTIONS (model_type = 'onnx', model_path = '...')."
            )
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
                    f"Expected {BIGQUERY_CLAUSES} after {self._sqlml_context(start)}, "
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
        if not key_token or key_token.token_type in QUOTED or not key_token.text[:1].isalpha():
            self.raise_error("Expected <option name> = <value> in OPTIONS (...)")
        self._advance()
        key = exp.Identifier(this=key_token.text, quoted=False)
        self._sqlml_expect(self._match(TokenType.EQ), f"= after option name {key_token.text}")
        value = self._parse_bitwise()
        self._sqlml_expect(value is not None, f"a value for option {key_token.text}")
        return self.expression(Option(this=key, expression=_bare_word(value)))

    def _sqlml_parse_redshift(self: Any, node: CreateModel, start: int) -> None:
        node.set("form", exp.Var(this="redshift"))
        if self._curr and self._curr.token_type == TokenType.STRING:
            raise NotSupportedError(
                f"CREATE MODEL {node.this.sql()} FROM '{self._curr.text}' (a model trained in "
                f"Amazon SageMaker: Redshift's bring your own model) is not supported yet; export "
                f"it as ONNX and import that with OPTIONS (model_type = 'onnx', model_path = "
                f"'<file>.onnx')."
            )
        if self._curr_is_l_paren():
            source = self._sqlml_parse_wrapped_query("a query inside FROM ( ... )")
        else:
            what = "<table> or (<query>) after FROM"
            source = self._sqlml_parse_name(what, REDSHIFT_STOP | {"TARGET"})
        node.set("query", source)
        after_source = self._index
        options: list[Option] = []
        while self._curr:
            if self._match(TokenType.PARTITION_BY) or self._match_text_seq("PARTITION", "BY"):
                # sqlml's one model per group, in Redshift's form too (its FUNCTION takes the
                # partition columns first)
                self._sqlml_once(node, "partition_by", "PARTITION BY")
                node.set("partition_by", self._parse_csv(self._sqlml_parse_partition_column))
                continue
            clause = self._sqlml_match_word(*REDSHIFT_CLAUSES)
            if clause is None:
                self.raise_error(
                    f"Expected one of {', '.join(REDSHIFT_CLAUSES)}, PARTITION BY after "
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
            if clause == "TARGET" and self._curr and self._curr.token_type == TokenType.STRING:
                # TARGET 'Churn': Redshift's pages quote the column as a string too
                node.set(arg, self._sqlml_parse_string(f"{what} after {context}"))
                return
            node.set(arg, self._sqlml_parse_identifier(f"{what} after {context}", REDSHIFT_STOP))
            if clause == "FUNCTION" and self._curr and self._curr.token_type == TokenType.DOT:
                after = seq_get(self._tokens, self._index + 1)
                qualified = f"{node.args['function'].name}.{after.text if after else ''}"
                raise NotSupportedError(
                    f"A schema-qualified FUNCTION name ({qualified}) is not supported yet; sqlml "
                    f"registers model functions on each connection, unqualified: FUNCTION <name>."
                )
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
        if clause in CHOICES:
            return self._sqlml_parse_choice(clause, CHOICES[clause])
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
        """FUNCTION is required but for FORECAST models (which have none); TARGET too, except for
        (unsupervised) KMEANS models."""
        end, comments = self._index, self._prev_comments
        self._retreat(after_source)
        context = self._sqlml_context(start)
        error_token = self._curr
        self._retreat(end)
        # moving forward again re-arms the last token's comments, which a node already took:
        # CREATE MODEL would take them too, and each write-back would double them
        self._prev_comments = comments
        model_type = next((o.expression.name for o in options if o.name == "MODEL_TYPE"), None)
        if node.args.get("function") is None and model_type != "FORECAST":
            self.raise_error(f"Expected FUNCTION <name> after {context}", error_token)
        if node.args.get("target") is None and model_type != "KMEANS":
            self.raise_error(f"Expected TARGET <label column> after {context}", error_token)

    def _sqlml_parse_export(self: Any) -> ExportModel:
        name = self._sqlml_parse_name("<model name> after EXPORT MODEL", ("OPTIONS",))
        options = self._sqlml_parse_options() if self._sqlml_match_word("OPTIONS") else None
        return self.expression(ExportModel(this=name, options=options))

    def _sqlml_parse_alter_model(self: Any) -> AlterModel:
        """``ALTER MODEL [IF EXISTS] name SET OPTIONS (...)``; the forms a later issue brings
        (``SET DEFAULT_VERSION``, ``VERSION v ...``) never get here (sqlml.sql.keywords)."""
        exists = self._match_text_seq("IF", "EXISTS")
        name = self._sqlml_parse_name("<model name> after ALTER MODEL", ("SET",))
        if not (self._sqlml_match_word("SET") and self._sqlml_match_word("OPTIONS")):
            self.raise_error(f"Expected SET OPTIONS (...) after ALTER MODEL {name.sql()}")
        options = self._sqlml_parse_options()
        if self._curr:
            self.raise_error(
                f"Unexpected {self._curr.text} after ALTER MODEL ... SET OPTIONS (...)"
            )
        return self.expression(AlterModel(this=name, exists=exists or None, options=options))

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
