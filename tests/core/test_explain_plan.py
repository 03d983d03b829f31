"""EXPLAIN <ML statement> on a DuckDB-only connection: which engine runs each step, why, and its SQL,
with nothing trained or scored. (engine='auto' routing is in test_auto_engine.py.)"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import sqlml

ONLY = "the connection's only engine"


@pytest.fixture
def con(tmp_path: Path) -> Iterator[sqlml.Connection]:
    connection = sqlml.connect(str(tmp_path / "plan.duckdb"))
    connection.execute(
        "CREATE TABLE t AS SELECT i::DOUBLE AS x, 2 * i + 1.0 AS y, i % 2 = 0 AS even "
        "FROM range(20) r(i)"
    )
    yield connection
    connection.close()


def explain(con: sqlml.Connection, sql: str) -> list[tuple[str, str, str, str | None]]:
    cur = con.execute(sql)
    assert [d[0] for d in cur.description] == ["step", "engine", "reason", "sql"]
    assert cur.engine == "duckdb"
    return cur.fetchall()


def models(con: sqlml.Connection) -> list[tuple[str]]:
    return [r[:1] for r in con.execute("SHOW MODELS").fetchall()]


def test_explain_create_model_shows_the_steps_and_trains_nothing(con: sqlml.Connection) -> None:
    rows = explain(
        con,
        "EXPLAIN CREATE MODEL m OPTIONS (model_type = 'linear_reg', input_label_cols = ['y']) "
        "AS SELECT x, y FROM t WHERE x > 2",
    )
    assert [r[:3] for r in rows] == [
        ("training query", "duckdb", ONLY),
        ("training", "duckdb", "scikit-learn on the rows read into this process"),
        (
            "catalog",
            "duckdb",
            "model m is stored as version 1 in sqlml.models in the DuckDB database",
        ),
    ]
    assert rows[0][3] == "SELECT x, y FROM t WHERE x > 2"
    assert rows[1][3] is None
    assert rows[2][3].startswith("INSERT INTO sqlml.models (name, version, created_at,")
    assert models(con) == []


def test_explain_names_the_next_version(con: sqlml.Connection) -> None:
    con.execute(
        "CREATE MODEL m OPTIONS (model_type = 'linear_reg', input_label_cols = ['y']) "
        "AS SELECT x, y FROM t"
    )
    rows = explain(
        con,
        "EXPLAIN CREATE OR REPLACE MODEL m OPTIONS (model_type = 'linear_reg', "
        "input_label_cols = ['y']) AS SELECT x, y FROM t",
    )
    assert "as version 2 in" in rows[-1][2]
    assert con.execute("SELECT max(version) FROM sqlml.models").fetchone() == (1,)


def test_explain_redshift_create_model(con: sqlml.Connection) -> None:
    rows = explain(
        con, "EXPLAIN CREATE MODEL r FROM t TARGET even FUNCTION is_even MODEL_TYPE XGBOOST"
    )
    assert rows[0] == ("training query", "duckdb", ONLY, "SELECT * FROM t")
    assert models(con) == []


def test_explain_predict_shows_input_and_statement(con: sqlml.Connection) -> None:
    rows = explain(
        con,
        "EXPLAIN SELECT x, predicted_y FROM ML.PREDICT(MODEL m, (SELECT * FROM t WHERE x < 5)) "
        "AS p WHERE x > 1 ORDER BY x",
    )
    assert rows == [
        (
            "ML.PREDICT(MODEL m) input",
            "duckdb",
            ONLY + "; read as Arrow batches through ONNX Runtime in this process",
            "SELECT * FROM t WHERE x < 5",
        ),
        (
            "statement",
            "duckdb",
            "the ML calls' results are read as temporary Arrow sources",
            'SELECT x, predicted_y FROM "__sqlml_predict_1" AS p WHERE x > 1 ORDER BY x',
        ),
    ]


def test_explain_two_calls_and_a_call_without_input(con: sqlml.Connection) -> None:
    rows = explain(
        con,
        "EXPLAIN SELECT * FROM ML.PREDICT(MODEL a, TABLE t) JOIN ML.EVALUATE(MODEL b) ON true",
    )
    assert [r[0] for r in rows] == [
        "ML.PREDICT(MODEL a) input",
        "ML.EVALUATE(MODEL b)",
        "statement",
    ]
    assert rows[0][3] == "SELECT * FROM t"
    assert rows[1][2:] == ("reads the model only: no input rows", None)
    assert rows[2][3] == 'SELECT * FROM "__sqlml_predict_1" JOIN "__sqlml_evaluate_2" ON true'


def test_explain_model_statements_and_plain_sql(con: sqlml.Connection) -> None:
    assert explain(con, "EXPLAIN DROP MODEL m") == [
        (
            "catalog",
            "duckdb",
            "deletes every version of the model from sqlml.models in the DuckDB database",
            None,
        )
    ]
    cur = con.execute("EXPLAIN SELECT count(*) FROM t")  # DuckDB's own EXPLAIN, unchanged
    assert [d[0] for d in cur.description] == ["explain_key", "explain_value"]


def test_explain_analyze_of_ml_is_refused(con: sqlml.Connection) -> None:
    with pytest.raises(sqlml.NotSupportedError, match="EXPLAIN ANALYZE of an ML statement"):
        con.execute("EXPLAIN ANALYZE SELECT * FROM ML.PREDICT(MODEL m, TABLE t)")


def test_spark_threshold_needs_both_engines(con: sqlml.Connection) -> None:
    with pytest.raises(sqlml.NotSupportedError, match="engine='auto'"):
        con.execute("SET sqlml.spark_threshold = '100MB'")
    with pytest.raises(sqlml.InterfaceError, match="engine='auto'"):
        sqlml.connect(spark_threshold="1GB")
