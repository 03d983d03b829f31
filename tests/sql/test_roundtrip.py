"""Round trip of sqlml's statements: parse, write back with the dialect's generator, parse again.

Each ML statement is parsed with :func:`split_statements`, written back with
``node.sql(dialect=dialect_for(name))`` (sqlml's nodes go through ``Generator.TRANSFORMS``, see
sqlml.sql.render), and parsed again. The two trees must be equal, both by sqlglot's ``==`` and
by :func:`shape`, which is stricter; and writing the re-parsed tree must give the same text again
(a fixed point), so nothing drifts with each write-back.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from sqlglot import exp

from sqlml.sql import Statement, dialect_for, split_statements
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

OK_SQL = (Path(__file__).parent / "fixtures" / "parse_ok.sql").read_text()
#: parse_ok.sql is DuckDB's (tests/sql/test_parser.py splits it with the default dialect).
FIXTURE_DIALECT = "duckdb"
FIXTURE = split_statements(OK_SQL, FIXTURE_DIALECT)
FIXTURE_ML = [st for st in FIXTURE if st.node is not None]
#: Statements the fixture marks as passed through to the engine unparsed, or as recognised but not
#: supported (yet): nothing to write back.
PASSED_THROUGH = len(re.findall(r"^-- expect: None$", OK_SQL, re.MULTILINE))
NOT_SUPPORTED = len(re.findall(r"^-- expect: NotSupported$", OK_SQL, re.MULTILINE))


def shape(value: Any) -> Any:
    """A tree as nested tuples of class names and args, for an exact comparison without ``meta``.

    sqlglot's ``==`` compares hashes of the args, in which the text of a Var or a function name is
    lower-cased (``Var(this="XGBOOST") == Var(this="xgboost")``) and an empty list is the same as a
    missing arg (so ``OPTIONS ()`` would equal no OPTIONS). Here every string is compared exactly,
    except the name of an unknown function, which SQL reads in any case and sqlglot's generator
    upper-cases. Args that are None (unset) are left out; ``meta`` (spans, source text) and
    comments are not args, so they are not compared.
    """
    if isinstance(value, exp.Anonymous) and isinstance(value.this, str):
        return ("Anonymous", value.this.upper(), shape(value.expressions))
    if isinstance(value, exp.Expr):
        args = sorted((k, shape(v)) for k, v in value.args.items() if v is not None)
        return (type(value).__name__, tuple(args))
    if isinstance(value, list):
        return tuple(shape(v) for v in value)
    return value


def reparse(sql: str, dialect: str) -> Statement:
    statements = split_statements(sql, dialect)
    assert len(statements) == 1, sql
    return statements[0]


def assert_round_trip(statement: Statement, dialect: str, pretty: bool = False) -> str:
    """Write the statement's node back, parse it again, and check both trees and texts agree."""
    dialect_cls = dialect_for(dialect)
    written = statement.node.sql(dialect=dialect_cls, pretty=pretty)
    again = reparse(written, dialect)
    assert type(again.node) is type(statement.node), written
    assert again.node == statement.node, written
    assert shape(again.node) == shape(statement.node), written
    assert again.node.sql(dialect=dialect_cls, pretty=pretty) == written
    # the calls are where the splitter finds them in the written text, in the same order
    assert [f.function for f in again.ml_functions] == [f.function for f in statement.ml_functions]
    for call in again.ml_functions:
        assert re.match(r"ML\.\w+\(", again.sql[slice(*call.meta["span"])]), written
    if isinstance(statement.node, Explain):
        assert again.explained is not None
        assert again.explained.node == statement.explained.node
    return written


# --- parse_ok.sql -------------------------------------------------------------------------------


def test_fixture_round_trip_checks_every_ml_statement() -> None:
    """Only the pass-through statements are skipped, so the test below cannot pass vacuously."""
    assert len(FIXTURE_ML) >= 47
    assert len(FIXTURE) - len(FIXTURE_ML) == PASSED_THROUGH + NOT_SUPPORTED == 6 + 13
    kinds = {type(st.node) for st in FIXTURE_ML}
    assert {CreateModel, AlterModel, DropModel, ExportModel, ShowModel} <= kinds
    forms = {st.node.args["form"].name for st in FIXTURE_ML if isinstance(st.node, CreateModel)}
    assert forms == {"bigquery", "redshift"}
    assert sum(len(st.ml_functions) for st in FIXTURE_ML) >= 25


@pytest.mark.parametrize("pretty", [False, True], ids=["flat", "pretty"])
@pytest.mark.parametrize("statement", FIXTURE_ML, ids=[f"line{st.line}" for st in FIXTURE_ML])
def test_fixture_round_trip(statement: Statement, pretty: bool) -> None:
    assert_round_trip(statement, FIXTURE_DIALECT, pretty)


def test_fixture_spans_are_untouched_by_writing() -> None:
    """Writing a tree back reads it only: the planner's spans still slice the user's own text."""
    before = [[f.meta["span"] for f in st.ml_functions] for st in FIXTURE_ML]
    for statement in FIXTURE_ML:
        statement.node.sql(dialect=dialect_for(FIXTURE_DIALECT))
    assert [[f.meta["span"] for f in st.ml_functions] for st in FIXTURE_ML] == before
    for statement in FIXTURE_ML:
        for call in statement.ml_functions:
            assert re.match(r"ML\s*\.\s*\w+\s*\(", statement.sql[slice(*call.meta["span"])], re.I)


# --- what the fixture does not show, in every dialect ---------------------------------------------

#: Statements for every dialect; ``{q}`` is the dialect's identifier quote and ``{text}`` its string
#: type (a type named otherwise is rewritten by sqlglot, e.g. BigQuery writes VARCHAR as STRING,
#: which reads back as TEXT: the same type, but not the same tree).
EVERY_DIALECT = [
    "EXPLAIN SELECT * FROM ML.PREDICT(MODEL m, TABLE t)",
    "EXPLAIN ANALYZE CREATE MODEL m OPTIONS (model_type = 'kmeans') AS SELECT 1 AS x",
    "explain analyze SELECT * FROM ML.EVALUATE(MODEL m) AS e",
    "EXPLAIN DROP MODEL m",
    # RETURNS is an option: it must come back in its place among the others
    "CREATE MODEL m FROM t TARGET y IAM_ROLE 'r' FUNCTION f RETURNS {text} AUTO ON",
    "CREATE MODEL m FROM ((SELECT 1 AS y)) TARGET y FUNCTION f",
    "create or replace model if not exists m from t function f target {q}Label Col{q}",
    "CREATE MODEL m FROM t TARGET y FUNCTION f HYPERPARAMETERS DEFAULT EXCEPT (A '1', B 2) "
    "SETTINGS (C OFF, D 'x')",
    "CREATE MODEL m FROM t TARGET y FUNCTION f AUTO ON /* a comment */",
    "CREATE MODEL m OPTIONS () AS (SELECT 1 AS y) LIMIT 1",
    "CREATE MODEL m AS ((SELECT 1 AS y))",
    "CREATE MODEL m TRANSFORM () AS SELECT 1 AS y",
    "SELECT * FROM ML.PREDICT(MODEL m, STRUCT())",
    "SELECT * FROM ML.ROC_CURVE(MODEL m, [])",
    "CREATE MODEL {q}a b{q}.m OPTIONS (a = -1, c = x, d = NULL, f = HPARAM_RANGE(1, 2)) "
    "AS SELECT 1 AS y",
    "EXPORT MODEL m OPTIONS ()",
    "SHOW MODELS",
    "SHOW MODEL s.m",
    "DROP MODEL IF EXISTS {q}odd name{q}",
    "ALTER MODEL IF EXISTS {q}a b{q}.m SET OPTIONS (description = 'x', labels = NULL, "
    "expiration_timestamp = '2027-01-01 00:00:00 UTC')",
    "alter model m set options ()",
    "EXPLAIN ALTER MODEL m SET OPTIONS (description = NULL)",
    # BigQuery's argument order for ML.DETECT_ANOMALIES: the STRUCT, then the rows
    "SELECT * FROM ML.DETECT_ANOMALIES(MODEL m, STRUCT(0.1 AS contamination), TABLE t)",
    "SELECT * FROM ML.DETECT_ANOMALIES(MODEL m, STRUCT(0.1 AS contamination), (SELECT 1 AS x))",
    "SELECT * FROM ML.PREDICT(MODEL m, ((SELECT 1 AS x)))",
    "SELECT * FROM ML.PREDICT(MODEL m, TABLE t, STRUCT(1 AS a, 'x' AS {q}b c{q}, STRUCT(1 AS z) "
    "AS d))",
    "SELECT * FROM ML.ROC_CURVE(MODEL m, (SELECT * FROM t), [0.1, 0.9])",
    "SELECT * FROM ML.ROC_CURVE(MODEL m, generate_array(0, 1, 0.5)) r",
    "SELECT * FROM ML.PREDICT(MODEL m, TABLE t) WITH ORDINALITY AS p",
    "/* lead */ SELECT * FROM ML.PREDICT(MODEL m /* in */, TABLE t) -- tail",
    "SELECT * FROM t JOIN ML.PREDICT(MODEL m, TABLE t) AS p ON TRUE",
    "WITH a AS (SELECT * FROM ML.PREDICT(MODEL m, TABLE t)) SELECT * FROM a "
    "UNION ALL SELECT * FROM ML.PREDICT(MODEL n, TABLE t)",
]
DIALECT_WORDS = {
    "duckdb": {"q": '"', "text": "VARCHAR"},
    "spark": {"q": "`", "text": "STRING"},
    "bigquery": {"q": "`", "text": "STRING"},
    "redshift": {"q": '"', "text": "VARCHAR"},
}
#: Syntax that only some dialects have (BigQuery's generator drops an alias's column list).
SOME_DIALECTS = {
    "duckdb": [
        "SELECT * FROM ML.PREDICT(MODEL m, TABLE t) AS p(a, b)",
        "SELECT * FROM ML.PREDICT(MODEL m, TABLE t) p TABLESAMPLE (10 PERCENT)",
        "SELECT * FROM ONLY ML.PREDICT(MODEL m, TABLE t)",
        "SELECT * FROM ML.PREDICT(MODEL m, TABLE t, STRUCT([1, 2] AS c, {'k': 1} AS d))",
        "CREATE MODEL m OPTIONS (b = [1, 2], e = 'it''s') AS FROM t SELECT a, y",
    ],
    "spark": [
        "SELECT * FROM ML.PREDICT(MODEL m, TABLE t) AS p(a, b)",
        "CREATE MODEL m OPTIONS (b = ARRAY(1, 2), e = 'it\\'s') AS SELECT a, y FROM t",
    ],
    "bigquery": [
        "SELECT * FROM ML.PREDICT(MODEL `proj.ds.churn`, TABLE `proj.ds.new`) WHERE x = @p",
        "CREATE MODEL `ds.m` OPTIONS (b = [1, 2], e = 'it\\'s') AS SELECT 1 AS y",
        "SELECT * FROM ML.PREDICT(MODEL m, TABLE t) p TABLESAMPLE SYSTEM (10 PERCENT)",
    ],
    "redshift": [
        "CREATE MODEL m FROM (SELECT a, y FROM t WHERE d > GETDATE()) TARGET y FUNCTION f "
        "IAM_ROLE default SETTINGS (S3_BUCKET 'b')",
    ],
}
CASES = [
    (dialect, sql)
    for dialect, words in DIALECT_WORDS.items()
    for sql in [s.format(**words) for s in EVERY_DIALECT] + SOME_DIALECTS[dialect]
]


@pytest.mark.parametrize(("dialect", "sql"), CASES)
def test_round_trip(dialect: str, sql: str) -> None:
    statement = reparse(sql, dialect)
    assert statement.node is not None
    assert_round_trip(statement, dialect)
    assert_round_trip(statement, dialect, pretty=True)


def test_written_forms() -> None:
    """What the generator writes, spot-checked: one spelling the grammar reads in any dialect."""
    cases = {
        "create model m from t function f returns varchar target y auto off": (
            "CREATE MODEL m FROM t TARGET y FUNCTION f RETURNS TEXT AUTO OFF"
        ),
        "SHOW MODELS": "SHOW MODEL ALL",
        "SELECT * FROM ml.predict(model m, struct(0.5 as threshold), table t) p": (
            "SELECT * FROM ML.PREDICT(MODEL m, TABLE t, STRUCT(0.5 AS threshold)) AS p"
        ),
        "CREATE MODEL m PARTITION BY a TRANSFORM (x AS y) OPTIONS (k = v) AS SELECT 1": (
            "CREATE MODEL m PARTITION BY a TRANSFORM (x AS y) OPTIONS (k = v) AS SELECT 1"
        ),
    }
    duckdb = dialect_for("duckdb")
    for sql, written in cases.items():
        assert reparse(sql, "duckdb").node.sql(dialect=duckdb) == written
    # DuckDB would write a STRUCT as {...} and Spark an array as ARRAY(...): sqlml's own spelling
    spark = reparse("SELECT * FROM ML.ROC_CURVE(MODEL m, [0.5]) r", "spark")
    assert spark.node.sql(dialect=dialect_for("spark")).endswith(
        "ML.ROC_CURVE(MODEL m, [0.5]) AS r"
    )


def test_trailing_comment_is_kept_once() -> None:
    """A Redshift form's last clause used to hand its comment to CREATE MODEL as well, so each
    write-back doubled it."""
    statement = reparse("CREATE MODEL m FROM t TARGET y FUNCTION f OBJECTIVE 'x' /* c */", "duckdb")
    assert [n.comments for n in statement.node.walk() if n.comments] == [[" c "]]
    assert assert_round_trip(statement, "duckdb").count("/* c */") == 1


# --- the comparison itself ----------------------------------------------------------------------


def test_equality_compares_the_args_of_sqlml_nodes() -> None:
    """sqlglot's ``==`` looks at every arg and at the type, custom nodes included; ``meta`` not."""

    def node(sql: str) -> exp.Expr:
        return reparse(sql, "duckdb").node

    assert node("DROP MODEL m") == node("DROP  MODEL  m")  # spans and text differ, args do not
    different = [
        ("DROP MODEL m", "DROP MODEL IF EXISTS m"),
        ("DROP MODEL m", "DROP MODEL n"),
        ("DROP MODEL m", "EXPORT MODEL m"),
        ("SHOW MODEL m", "SHOW MODELS"),
        ("EXPORT MODEL m OPTIONS (uri = 'a')", "EXPORT MODEL m OPTIONS (uri = 'b')"),
        ("EXPORT MODEL m OPTIONS (uri = 'a')", "EXPORT MODEL m OPTIONS (url = 'a')"),
        ("CREATE MODEL m AS SELECT 1", "CREATE OR REPLACE MODEL m AS SELECT 1"),
        ("CREATE MODEL m AS SELECT 1", "CREATE MODEL m AS SELECT 2"),
        ("CREATE MODEL m FROM t TARGET y FUNCTION f", "CREATE MODEL m FROM t TARGET z FUNCTION f"),
        ("CREATE MODEL m FROM t TARGET y FUNCTION f", "CREATE MODEL m FROM t TARGET y FUNCTION g"),
        ("SELECT * FROM ML.PREDICT(MODEL m)", "SELECT * FROM ML.EVALUATE(MODEL m)"),
        ("SELECT * FROM ML.PREDICT(MODEL m)", "SELECT * FROM ML.PREDICT(MODEL m, TABLE t)"),
        ("SELECT * FROM ML.PREDICT(MODEL m) p", "SELECT * FROM ML.PREDICT(MODEL m) q"),
        (
            "SELECT * FROM ML.PREDICT(MODEL m, STRUCT(1 AS a))",
            "SELECT * FROM ML.PREDICT(MODEL m, STRUCT(2 AS a))",
        ),
        (
            "SELECT * FROM ML.ROC_CURVE(MODEL m, [0.5])",
            "SELECT * FROM ML.ROC_CURVE(MODEL m, [0.6])",
        ),
        ("EXPLAIN DROP MODEL m", "EXPLAIN ANALYZE DROP MODEL m"),
    ]
    for a, b in different:
        assert node(a) != node(b), (a, b)
        assert shape(node(a)) != shape(node(b)), (a, b)
    # where ``==`` is blind and shape() is not: the case of a word, an empty list vs no list
    upper = Option(this=exp.to_identifier("MODEL_TYPE"), expression=exp.Var(this="XGBOOST"))
    lower = Option(this=exp.to_identifier("MODEL_TYPE"), expression=exp.Var(this="xgboost"))
    assert upper == lower and shape(upper) != shape(lower)
    empty, missing = node("EXPORT MODEL m OPTIONS ()"), node("EXPORT MODEL m")
    assert empty == missing and shape(empty) != shape(missing)
    assert isinstance(node("SELECT * FROM ML.PREDICT(MODEL m)").args["from_"].this, MLFunction)


def test_sqlglot_itself_is_untouched() -> None:
    """sqlml's dialects carry their own generator subclass; sqlglot's own cannot write sqlml's
    nodes (and so still raises for them, as before)."""
    from sqlglot.dialects.duckdb import DuckDB

    assert MLFunction not in DuckDB.generator_class.TRANSFORMS
    assert MLFunction in dialect_for("duckdb").generator_class.TRANSFORMS
    node = reparse("DROP MODEL m", "duckdb").node
    with pytest.raises(ValueError, match="Unsupported expression type DropModel"):
        node.sql(dialect="duckdb")
