"""Tests of sqlml.sql: statement splitting, ML statement parsing and syntax errors.

Expected values are written by hand from the SQL text, never taken from the parser's own output.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from sqlglot import exp

from sqlml.errors import NotSupportedError, SQLSyntaxError
from sqlml.sql import ML_FUNCTIONS, Statement, dialect_for, split_statements
from sqlml.sql.nodes import (
    CreateModel,
    DropModel,
    Explain,
    ExportModel,
    MLFunction,
    Option,
    ShowModel,
)

FIXTURES = Path(__file__).parent / "fixtures"
OK_SQL = (FIXTURES / "parse_ok.sql").read_text()
FAIL_SQL = (FIXTURES / "parse_fail.sql").read_text()


# --- helpers ------------------------------------------------------------------------------------


def one(sql: str, dialect: str = "duckdb") -> Statement:
    statements = split_statements(sql, dialect)
    assert len(statements) == 1, statements
    return statements[0]


def name_of(table: exp.Expr) -> str:
    """``schema.name`` of an exp.Table as written (quoted parts keep their case)."""
    assert isinstance(table, exp.Table)
    return ".".join(part.name for part in table.parts)


def options_of(node: exp.Expr) -> dict[str, exp.Expr]:
    return {opt.this.name: opt.expression for opt in node.args.get("options") or []}


def value(node: exp.Expr | None) -> Any:
    """A plain Python value for the literal-ish nodes options and STRUCT fields hold."""
    if isinstance(node, exp.Literal):
        return node.this if node.is_string else float(node.this)
    if isinstance(node, exp.Neg):
        return -value(node.this)
    if isinstance(node, exp.Boolean):
        return node.this
    if isinstance(node, exp.Null):
        return None
    if isinstance(node, exp.Array):
        return [value(e) for e in node.expressions]
    if isinstance(node, exp.Var):
        return ("word", node.name)
    if isinstance(node, exp.Anonymous):
        return (node.name.upper(), [value(e) for e in node.expressions])
    if isinstance(node, exp.Tuple):
        return {opt.this.name: value(opt.expression) for opt in node.expressions}
    if isinstance(node, exp.DataType):
        return ("type", node.this.value)
    raise AssertionError(f"unexpected option value {node!r}")


def struct_of(node: exp.Expr | None) -> dict[str, Any] | None:
    if node is None:
        return None
    assert isinstance(node, exp.Struct)
    return {field.this.name: value(field.expression) for field in node.expressions}


def ok_statements() -> list[tuple[str, str | None, Statement]]:
    """(expected node type, case name, statement) for each statement of parse_ok.sql."""
    expectations = re.findall(r"^-- expect: (\w+)(?: \[(\w+)\])?$", OK_SQL, re.MULTILINE)
    statements = split_statements(OK_SQL)
    assert len(statements) == len(expectations)
    return [
        (kind, case or None, st) for (kind, case), st in zip(expectations, statements, strict=True)
    ]


OK = ok_statements()
CASES = {case: st for _, case, st in OK if case}


# --- parse_ok.sql -------------------------------------------------------------------------------


def test_fixture_is_big_enough() -> None:
    assert len(OK) >= 40


@pytest.mark.parametrize(
    ("kind", "statement"), [(k, st) for k, _, st in OK], ids=[f"line{st.line}" for *_, st in OK]
)
def test_ok_node_types(kind: str, statement: Statement) -> None:
    if kind in ("None", "NotSupported"):
        assert statement.node is None
        assert statement.ml_functions == ()
        assert (statement.unsupported is not None) == (kind == "NotSupported")
    else:
        assert type(statement.node).__name__ == kind
    for call in statement.ml_functions:
        start, end = call.meta["span"]
        assert re.fullmatch(r"ML\s*\.\s*\w+\s*\(.*\)", statement.sql[start:end], re.S | re.I)


def test_every_ml_function_is_in_the_fixture() -> None:
    used = {call.function for _, _, st in OK for call in st.ml_functions}
    assert used == ML_FUNCTIONS


def test_bigquery_create_model_fields() -> None:
    node = CASES["bq_full"].node
    assert isinstance(node, CreateModel)
    assert node.args["form"].name == "bigquery"
    assert name_of(node.this) == "analytics.churn"
    assert node.args["replace"] is True and node.args["exists"] is True
    assert [c.name for c in node.args["partition_by"]] == ["region", "country"]
    assert [e.alias_or_name for e in node.args["transform"]] == ["age_scaled", "plan", "months"]
    assert {k: value(v) for k, v in options_of(node).items()} == {
        "model_type": "logistic_reg",
        "input_label_cols": ["churned"],
        "l2_reg": -0.5,
        "max_iterations": 20.0,
        "early_stop": True,
        "class_weights": None,
        "learn_rate": ("HPARAM_RANGE", [0.01, 0.5]),
        "optimizer": ("HPARAM_CANDIDATES", [["adam", "sgd"]]),
        "data_split_method": ("word", "auto_split"),
    }
    query = node.args["query"]
    assert isinstance(query, exp.Select)
    assert query.meta["sql"] == (
        "SELECT * EXCLUDE (customer_id) FROM customers WHERE signup_date < DATE '2024-01-01'"
    )
    assert all(isinstance(o, Option) for o in node.args["options"])


def test_bigquery_create_model_variants() -> None:
    paren = CASES["bq_paren_query"].node
    assert [p.name for p in paren.this.parts] == ["My Models", "Churn Model"]
    assert all(p.quoted for p in paren.this.parts)
    assert value(options_of(paren)["weights"]) == [1.0, 2.5]
    assert isinstance(paren.args["query"], exp.Select)
    assert paren.args["query"].meta["sql"] == "SELECT a, b, y FROM train"

    union = CASES["bq_union"].node.args["query"]
    assert isinstance(union, exp.Union)
    assert union.meta["sql"] == "SELECT x, y FROM a UNION ALL SELECT x, y FROM b"

    with_query = CASES["bq_with"].node.args["query"]
    assert isinstance(with_query, exp.Select) and with_query.args.get("with_")
    assert with_query.meta["sql"].startswith("WITH recent AS (")
    assert with_query.meta["sql"].endswith("GROUP BY user_id")

    no_query = CASES["bq_no_query"].node
    assert no_query.args.get("query") is None
    assert value(options_of(no_query)["model_path"]) == "gs://bucket/m.onnx"


def test_redshift_create_model_fields() -> None:
    node = CASES["rs_full"].node
    assert isinstance(node, CreateModel)
    assert node.args["form"].name == "redshift"
    assert name_of(node.this) == "sales.customer_churn"
    assert node.args["target"].name == "churned"
    assert node.args["function"].name == "predict_customer_churn"
    source = node.args["query"]
    assert isinstance(source, exp.Select)
    expected_sql = "SELECT age, plan, churned FROM customer_activity WHERE ts < '2024-01-01'"
    assert source.meta["sql"] == expected_sql
    assert {k: value(v) for k, v in options_of(node).items()} == {
        "RETURNS": ("type", "TEXT"),  # DuckDB's VARCHAR is sqlglot's TEXT
        "IAM_ROLE": ("word", "DEFAULT"),
        "AUTO": ("word", "OFF"),
        "MODEL_TYPE": ("word", "XGBOOST"),
        "PROBLEM_TYPE": ("word", "BINARY_CLASSIFICATION"),
        "OBJECTIVE": "binary:logistic",
        "PREPROCESSORS": '[{"ColumnSet": ["age"], "Transformers": ["NumericPassthrough"]}]',
        "HYPERPARAMETERS": {"NUM_ROUND": "100", "MAX_DEPTH": "5"},
        "SETTINGS": {
            "S3_BUCKET": "my-bucket",
            "KMS_KEY_ID": "key-1",
            "S3_GARBAGE_COLLECT": ("word", "OFF"),
            "MAX_CELLS": 1000000.0,
            "MAX_RUNTIME": 5400.0,
        },
    }


def test_redshift_clauses_in_any_order_and_kmeans_without_target() -> None:
    node = CASES["rs_table_any_order"].node
    assert node.args["form"].name == "redshift"
    assert name_of(node.args["query"]) == "training_table"
    assert node.args["target"].name == "Label Col" and node.args["target"].quoted
    assert node.args["function"].name == "f_rs"
    assert value(options_of(node)["IAM_ROLE"]) == "arn:aws:iam::123:role/x"

    kmeans = CASES["rs_kmeans"].node
    assert kmeans.args.get("target") is None
    assert value(options_of(kmeans)["MODEL_TYPE"]) == ("word", "KMEANS")
    assert value(options_of(kmeans)["HYPERPARAMETERS"]) == {"K": "5"}


def test_drop_export_show() -> None:
    drop = CASES["drop_exists"].node
    assert isinstance(drop, DropModel)
    assert name_of(drop.this) == "analytics.churn" and drop.args["exists"] is True
    export = CASES["export"].node
    assert isinstance(export, ExportModel)
    assert name_of(export.this) == "churn"
    assert value(options_of(export)["uri"]) == "/tmp/churn.onnx"
    assert name_of(CASES["show_one"].node.this) == "analytics.churn"
    assert isinstance(CASES["show_all"].node, ShowModel)
    assert CASES["show_all"].node.this is None


def test_predict_with_table_and_struct() -> None:
    st = CASES["predict_struct"]
    (call,) = st.ml_functions
    assert isinstance(call, MLFunction)
    assert call.function == "PREDICT"
    assert name_of(call.args["model"]) == "churn"
    assert name_of(call.args["input"]) == "new_customers"
    assert struct_of(call.args["params"]) == {"threshold": 0.3}
    text = "ML.PREDICT(MODEL churn, TABLE new_customers, STRUCT(0.3 AS threshold))"
    assert call.meta["span"] == (14, 14 + len(text))
    assert st.sql[slice(*call.meta["span"])] == text
    assert isinstance(st.node.args["from_"].this, MLFunction)


def test_predict_with_query_input_and_alias() -> None:
    st = CASES["predict_query_alias"]
    (call,) = st.ml_functions
    assert name_of(call.args["model"]) == "analytics.churn"
    query = call.args["input"]
    assert isinstance(query, exp.Select)
    assert query.meta["sql"] == "SELECT * FROM customers WHERE region = $1"
    assert call.args["alias"].name == "p"
    assert st.sql[slice(*call.meta["span"])] == (
        "ML.PREDICT(MODEL analytics.churn, (SELECT * FROM customers WHERE region = $1))"
    )
    assert [st.sql[a:b] for a, b in st.placeholders] == ["$1"]


def test_calls_in_joins_are_in_textual_order() -> None:
    st = CASES["predict_join"]
    assert [c.function for c in st.ml_functions] == ["PREDICT", "EXPLAIN_PREDICT"]
    spans = [st.sql[slice(*c.meta["span"])] for c in st.ml_functions]
    assert spans == [
        "ml.predict(model churn, table staging.new_customers)",
        "ML.EXPLAIN_PREDICT(MODEL churn, TABLE staging.new_customers, STRUCT(3 AS top_k_features))",
    ]
    assert [c.args["alias"].name for c in st.ml_functions] == ["p", "e"]
    assert name_of(st.ml_functions[0].args["input"]) == "staging.new_customers"
    assert struct_of(st.ml_functions[1].args["params"]) == {"top_k_features": 3.0}


def test_calls_nested_in_ctes_subqueries_ctas_insert_and_set_ops() -> None:
    cte = CASES["cte"]
    assert [c.function for c in cte.ml_functions] == ["PREDICT", "EVALUATE"]
    assert cte.ml_functions[1].args.get("input") is None
    sub = CASES["subquery"]
    assert [c.function for c in sub.ml_functions] == ["DETECT_ANOMALIES"]
    assert struct_of(sub.ml_functions[0].args["params"]) == {"contamination": 0.02}
    assert [c.function for c in CASES["ctas"].ml_functions] == ["PREDICT"]
    assert name_of(CASES["insert"].ml_functions[0].args["input"]) == "batch_2024"
    set_op = CASES["set_op"]
    assert [name_of(c.args["model"]) for c in set_op.ml_functions] == ["a", "b"]
    weights = CASES["struct_only"].ml_functions[0]
    assert weights.args.get("input") is None
    assert struct_of(weights.args["params"]) == {"standardize": True}


def test_spans_splice_back_into_the_text() -> None:
    for _, _, st in OK:
        if st.node is None:
            continue
        pieces, last = [], 0
        for i, call in enumerate(st.ml_functions):
            start, end = call.meta["span"]
            assert start >= last
            pieces += [st.sql[last:start], f"__ml_{i}"]
            last = end
        spliced = "".join(pieces) + st.sql[last:]
        assert "ML." not in spliced.upper().replace("ML.STANDARD_SCALER", "")


def test_placeholders_in_ml_statement() -> None:
    st = CASES["placeholders"]
    assert [st.sql[a:b] for a, b in st.placeholders] == ["?", ":name", "$2"]


# --- parse_fail.sql -----------------------------------------------------------------------------


def fail_cases() -> list[tuple[str, tuple[int, int] | None, int, str]]:
    """(message substring, expected (line, col) or None, first line, statement) per case."""
    cases = []
    lines = FAIL_SQL.splitlines()
    i = 0
    while i < len(lines):
        match = re.fullmatch(r"-- error: (.+)", lines[i])
        i += 1
        if not match:
            continue
        at = None
        if i < len(lines) and (where := re.fullmatch(r"-- at: (\d+):(\d+)", lines[i])):
            at = (int(where[1]), int(where[2]))
            i += 1
        first, body = i + 1, []
        while i < len(lines) and lines[i].strip():
            body.append(lines[i])
            i += 1
        cases.append((match[1], at, first, "\n".join(body)))
    return cases


FAIL = fail_cases()


def test_fail_fixture_has_cases() -> None:
    assert len(FAIL) >= 40
    assert sum(at is not None for _, at, _, _ in FAIL) >= 5


@pytest.mark.parametrize(("message", "at", "first", "sql"), FAIL, ids=[f"line{c[2]}" for c in FAIL])
def test_fail(message: str, at: tuple[int, int] | None, first: int, sql: str) -> None:
    script = "\n" * (first - 1) + sql  # so lines count as in the fixture file
    with pytest.raises(SQLSyntaxError) as info:
        split_statements(script)
    error = info.value
    assert message in str(error)
    assert isinstance(error.line, int) and isinstance(error.col, int)
    assert first <= error.line <= first + sql.count("\n")
    if at is not None:
        assert (error.line, error.col) == at


def test_error_position_counts_from_script_start() -> None:
    script = "SELECT 1;\n\n  SELECT 2; DROP MODEL"
    with pytest.raises(SQLSyntaxError) as info:
        split_statements(script)
    assert (info.value.line, info.value.col) == (3, 23)
    assert "line 3, column 23" in str(info.value)


def test_truncated_ml_statements_fail_cleanly() -> None:
    """Any prefix of an ML statement is either valid or a SQLSyntaxError, never a crash."""
    for _, _, st in OK:
        if st.node is None:
            continue
        for cut in range(1, len(st.sql), 3):
            try:
                split_statements(st.sql[:cut])
            except SQLSyntaxError as error:
                lines = st.sql[:cut].split("\n")
                assert 1 <= error.line <= len(lines)
                assert 1 <= error.col <= len(lines[error.line - 1]) + 1


# --- pass-through and splitting -----------------------------------------------------------------

DUCKDB_ONLY = """\
PIVOT cities ON year USING sum(population);
FROM t SELECT x;
COPY (SELECT 1 AS x) TO 'out.csv' (HEADER, DELIMITER ';');
SELECT $$a;b$$ AS dollar, $fn$ ; $fn$ AS tagged;
SELECT 'it''s; fine' -- a comment; with a semicolon
  AS s /* and ; here */;
SELECT * FROM read_csv('x.csv', delim = ';') WHERE x ~~ 'a%';
SELECT {'a': 1, 'b': x}, [1, 2][1:2], x::INT FROM t
"""


def test_duckdb_only_syntax_passes_through_verbatim() -> None:
    statements = split_statements(DUCKDB_ONLY)
    assert [st.sql for st in statements] == [
        "PIVOT cities ON year USING sum(population)",
        "FROM t SELECT x",
        "COPY (SELECT 1 AS x) TO 'out.csv' (HEADER, DELIMITER ';')",
        "SELECT $$a;b$$ AS dollar, $fn$ ; $fn$ AS tagged",
        "SELECT 'it''s; fine' -- a comment; with a semicolon\n  AS s",
        "SELECT * FROM read_csv('x.csv', delim = ';') WHERE x ~~ 'a%'",
        "SELECT {'a': 1, 'b': x}, [1, 2][1:2], x::INT FROM t",
    ]
    assert [(st.line, st.col) for st in statements] == [
        (1, 1),
        (2, 1),
        (3, 1),
        (4, 1),
        (5, 1),
        (7, 1),
        (8, 1),
    ]
    assert all(st.node is None and st.ml_functions == () for st in statements)
    assert all(st.placeholders == () for st in statements)


def test_lines_and_columns_of_multiline_script() -> None:
    script = (
        "  SELECT 1 ;SELECT\n 2;\n\n-- only a comment;\n;;\n\tCREATE MODEL m\n  AS SELECT 3;   "
    )
    statements = split_statements(script)
    assert [st.sql for st in statements] == [
        "SELECT 1",
        "SELECT\n 2",
        "CREATE MODEL m\n  AS SELECT 3",
    ]
    assert [(st.line, st.col) for st in statements] == [(1, 3), (1, 13), (6, 2)]
    assert isinstance(statements[2].node, CreateModel)


def test_empty_scripts() -> None:
    assert split_statements("") == []
    assert split_statements(" ;; -- nothing\n /* at all */ ;") == []


def test_placeholders_in_pass_through() -> None:
    st = one("SELECT * FROM t WHERE a = ? AND b = $1 AND c = :name AND d = $named AND e = ':x'")
    assert st.node is None
    assert [st.sql[a:b] for a, b in st.placeholders] == ["?", "$1", ":name", "$named"]


def test_colons_that_are_not_placeholders() -> None:
    st = one("SELECT {'k':v}, arr[1:n], arr[i:j], x::INT, y ::VARCHAR FROM t")
    assert st.placeholders == ()


def test_untokenizable_pass_through_is_kept() -> None:
    """sqlglot cannot lex an unterminated string; the engine must still get the statement."""
    script = "SELECT 1;\nSELECT 'unterminated; SELECT ? -- x"
    statements = split_statements(script)
    assert [st.sql for st in statements] == ["SELECT 1", "SELECT 'unterminated; SELECT ? -- x"]
    assert [(st.line, st.col) for st in statements] == [(1, 1), (2, 1)]
    assert statements[1].node is None and statements[1].placeholders == ()


def test_untokenizable_script_still_parses_its_ml_statements() -> None:
    script = "DROP MODEL m;\nSELECT 'unterminated"
    drop, broken = split_statements(script)
    assert isinstance(drop.node, DropModel)
    assert broken.sql == "SELECT 'unterminated"


def test_not_ml_lookalikes_are_not_parsed() -> None:
    for sql in [
        "SELECT ml.predict FROM ml",
        'SELECT "ML".PREDICT(1)',
        "SELECT * FROM ML.NOT_A_FUNCTION(MODEL m)",
        "CREATE TABLE models (model INT)",
        "SELECT 'CREATE MODEL m' AS s",
        "DROP TABLE model",
    ]:
        assert one(sql).node is None, sql


def test_explain_body_is_seen() -> None:
    """sqlglot lexes EXPLAIN's body as one string; the ML call inside must still be found, and the
    explained statement parsed on its own (offsets relative to its own text)."""
    st = one("EXPLAIN SELECT * FROM ML.PREDICT(MODEL m, TABLE t)")
    assert isinstance(st.node, Explain) and not st.node.args.get("analyze")
    inner = st.explained
    assert inner is not None and inner.sql == "SELECT * FROM ML.PREDICT(MODEL m, TABLE t)"
    assert (inner.line, inner.col) == (1, 9)
    assert [inner.sql[slice(*f.meta["span"])] for f in inner.ml_functions] == [
        "ML.PREDICT(MODEL m, TABLE t)"
    ]
    st = one("explain analyze CREATE MODEL m OPTIONS (model_type = 'kmeans') AS SELECT 1 AS x")
    assert st.node.args.get("analyze") and isinstance(st.explained.node, CreateModel)
    st = one("EXPLAIN SELECT * FROM t WHERE x = ? -- note")
    assert st.node is None and st.sql == "EXPLAIN SELECT * FROM t WHERE x = ?"
    assert [st.sql[a:b] for a, b in st.placeholders] == ["?"]


# --- dialects -----------------------------------------------------------------------------------


@pytest.mark.parametrize("dialect", ["duckdb", "spark", "bigquery", "redshift"])
def test_core_grammar_in_every_dialect(dialect: str) -> None:
    script = (
        "CREATE MODEL m OPTIONS (model_type = 'linear_reg') AS SELECT a, y FROM t;\n"
        "CREATE MODEL r FROM t TARGET y FUNCTION f;\n"
        "SELECT * FROM ML.PREDICT(MODEL m, TABLE s.t, STRUCT(0.5 AS threshold)) AS p;\n"
        "DROP MODEL m; SHOW MODELS; SHOW MODEL m; EXPORT MODEL m OPTIONS (uri = 'x.onnx')"
    )
    nodes = [st.node for st in split_statements(script, dialect)]
    assert [type(n).__name__ for n in nodes] == [
        "CreateModel",
        "CreateModel",
        "Select",
        "DropModel",
        "ShowModel",
        "ShowModel",
        "ExportModel",
    ]
    assert nodes[1].args["form"].name == "redshift"
    call = nodes[2].args["from_"].this
    assert isinstance(call, MLFunction) and name_of(call.args["input"]) == "s.t"


def test_bigquery_backquoted_names() -> None:
    st = one(
        "SELECT * FROM ML.PREDICT(MODEL `proj.ds.churn`, TABLE `proj.ds.new`) WHERE x = @p",
        "bigquery",
    )
    (call,) = st.ml_functions
    assert name_of(call.args["model"]) == "proj.ds.churn"
    assert name_of(call.args["input"]) == "proj.ds.new"
    create = one("CREATE MODEL `ds.m` OPTIONS (model_type = 'kmeans') AS SELECT 1", "bigquery")
    assert name_of(create.node.this) == "ds.m"


def test_dialect_for() -> None:
    duck = dialect_for("duckdb")
    assert duck is dialect_for("duckdb") is dialect_for("DuckDB")
    assert duck.__name__ == "SqlmlDuckDB"
    assert {dialect_for(n).__name__ for n in ("spark", "bigquery")} == {
        "SqlmlSpark",
        "SqlmlBigQuery",
    }
    # sqlglot's own dialects are untouched: plain DuckDB still has no CREATE MODEL grammar
    import sqlglot

    assert type(sqlglot.Dialect.get_or_raise("duckdb")).__name__ == "DuckDB"
    with pytest.raises(NotSupportedError):
        dialect_for("oracle")


def test_declare_cursor_for_an_ml_query_is_split_whole() -> None:
    # PostgreSQL's DECLARE (sqlml serve's cursors): the ML query after FOR is found, with its
    # placeholders, and the statement is not run as a plain query outside the server
    text = (
        "DECLARE c NO SCROLL CURSOR WITH HOLD FOR SELECT * FROM ML.PREDICT(MODEL m, "
        "(SELECT * FROM t WHERE a > $1)); FETCH 2 FROM c; DECLARE d CURSOR FOR SELECT 1"
    )
    declare, fetch, plain = split_statements(text)
    assert declare.sql.startswith("DECLARE c") and declare.sql.endswith("$1))")
    assert [f.name.upper() for f in declare.ml_functions] == ["PREDICT"]
    assert [declare.sql[a:b] for a, b in declare.placeholders] == ["$1"]
    assert declare.unsupported is not None and "streaming=True" in declare.unsupported
    assert fetch.sql == "FETCH 2 FROM c" and fetch.node is None
    assert plain.sql == "DECLARE d CURSOR FOR SELECT 1" and plain.unsupported is None
