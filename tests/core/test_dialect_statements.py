"""Every sqlml statement, written in BigQuery's or Redshift's SQL (``connect(dialect=...)``),
reaches sqlml's grammar rather than the transpiler, and nothing is printed on the way.

Before, ``ALTER MODEL`` and calls such as ``ML.VALIDATE_DATA_SKEW`` went to sqlglot as plain SQL,
which printed a warning and failed with "sqlglot cannot read this statement as bigquery SQL".
Statements as the pages write them: https://cloud.google.com/bigquery/docs/reference/standard-sql/
bigqueryml-syntax-create, -alter-model, -predict, -evaluate, -weights, -export-model, -drop-model;
https://docs.aws.amazon.com/redshift/latest/dg/r_CREATE_MODEL.html and r_SHOW_MODEL.html.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

import sqlml

ROWS = "SELECT 1.0 AS x, 2.0 AS y UNION ALL SELECT 2.0, 4.5 UNION ALL SELECT 3.0, 5.9"


def test_bigquery_statements_reach_sqlml(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    con = sqlml.connect(dialect="bigquery")
    con.execute(f"CREATE TABLE t AS {ROWS} UNION ALL SELECT 4.0, 8.1")
    capfd.readouterr()
    statements = [
        "CREATE OR REPLACE MODEL `ds.m` OPTIONS (model_type = 'linear_reg', "
        "input_label_cols = ['y'], description = 'd', labels = [('a', 'b')]) AS SELECT * FROM t",
        "CREATE MODEL IF NOT EXISTS ds.m OPTIONS (model_type = 'linear_reg', "
        "input_label_cols = ['y']) AS SELECT * FROM t",
        "CREATE OR REPLACE MODEL ds.m2 TRANSFORM (ML.STANDARD_SCALER(x) OVER () AS xs, y) "
        "OPTIONS (model_type = 'linear_reg', input_label_cols = ['y']) AS (SELECT * FROM t)",
        "ALTER MODEL ds.m SET OPTIONS (description = 'new', "
        "expiration_timestamp = TIMESTAMP_ADD(CURRENT_TIMESTAMP(), INTERVAL 7 DAY))",
        "ALTER MODEL IF EXISTS `ds.nope` SET OPTIONS (labels = [('x', 'y')])",
        "SHOW MODEL ds.m",
        "SHOW MODELS",
        "SELECT * FROM ML.PREDICT(MODEL `ds.m`, (SELECT x FROM t))",
        "SELECT p.predicted_y FROM ML.PREDICT(MODEL ds.m, TABLE t) AS p JOIN t ON p.x = t.x",
        "WITH s AS (SELECT * FROM ML.EVALUATE(MODEL ds.m)) SELECT * FROM s",
        "SELECT * FROM ML.WEIGHTS(MODEL ds.m, STRUCT(TRUE AS standardize))",
        "SELECT (SELECT COUNT(*) FROM ML.PREDICT(MODEL ds.m, TABLE t)) AS n",
        f"EXPORT MODEL ds.m OPTIONS (uri = '{tmp_path / 'm.onnx'}')",
        "EXPLAIN SELECT * FROM ML.PREDICT(MODEL ds.m, TABLE t)",
        "EXPLAIN ALTER MODEL ds.m SET OPTIONS (description = 'x')",
        "DROP MODEL ds.m2",
        "DROP MODEL IF EXISTS ds.m2",
    ]
    for statement in statements:
        con.execute(statement)
    assert capfd.readouterr() == ("", "")
    shown = dict(con.execute("SHOW MODEL ds.m").fetchall())
    assert shown["Description"] == "new"
    expires = dt.datetime.strptime(shown["Expiration"], "%Y-%m-%d %H:%M:%S UTC")
    week = dt.datetime.now(dt.UTC).replace(tzinfo=None) + dt.timedelta(days=7)
    assert abs((expires - week).total_seconds()) < 120
    con.close()


def test_redshift_statements_reach_sqlml(capfd: pytest.CaptureFixture[str]) -> None:
    """Redshift's own SQL around the model (GETDATE, DATEADD: DuckDB has neither) is transpiled;
    the ML statements are sqlml's."""
    con = sqlml.connect(dialect="redshift")
    con.execute(
        "CREATE TABLE activity AS SELECT i::FLOAT AS account_length, "
        "CASE WHEN i % 3 = 0 THEN 'yes' ELSE 'no' END AS churn FROM generate_series(1, 60) AS g(i)"
    )
    capfd.readouterr()
    con.execute(
        "CREATE MODEL churn_model FROM (SELECT account_length, churn FROM activity "
        "WHERE DATEADD(day, 1, GETDATE()) > GETDATE()) TARGET churn FUNCTION churn_fn "
        "IAM_ROLE default MODEL_TYPE XGBOOST PROBLEM_TYPE BINARY_CLASSIFICATION "
        "SETTINGS (S3_BUCKET 'bucket')"
    )
    shown = dict(con.execute("SHOW MODEL churn_model").fetchall())
    assert shown["Target Column"] == "churn"
    predicted = con.execute(
        "SELECT churn_fn(account_length) FROM activity WHERE GETDATE() IS NOT NULL"
    ).fetchall()
    assert {row[0] for row in predicted} <= {"yes", "no"} and len(predicted) == 60
    # the FUNCTION agrees with ML.PREDICT on the same rows
    rows = con.execute(
        "SELECT predicted_churn FROM ML.PREDICT(MODEL churn_model, TABLE activity)"
    ).fetchall()
    assert sorted(r[0] for r in rows) == sorted(r[0] for r in predicted)
    con.execute("ALTER MODEL churn_model SET OPTIONS (description = 'churn')")
    with pytest.raises(sqlml.NotSupportedError, match=r"^ML\.DESCRIBE_DATA is not supported yet"):
        con.execute("SELECT * FROM ML.DESCRIBE_DATA(TABLE activity, STRUCT(3 AS top_k))")
    con.execute("DROP MODEL churn_model")
    assert capfd.readouterr() == ("", "")
    con.close()


def test_redshift_dialect_writes_its_sql_for_the_engine() -> None:
    """DATEADD(day, 1, DATE '2024-01-01') is 2024-01-02, as Redshift computes it."""
    con = sqlml.connect(dialect="redshift")
    (value,) = con.execute("SELECT DATEADD(day, 1, DATE '2024-01-01')").fetchone()
    assert value == dt.datetime(2024, 1, 2)
    assert float(con.execute("SELECT NVL2(NULL, 1.5, 2.5)").fetchone()[0]) == 2.5
    con.close()
