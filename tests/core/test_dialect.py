"""connect(dialect=...): statements written in another SQL dialect, transpiled by sqlglot.

Expected values are written by hand from how the rows are made (a = 0..99, y = a >= 50).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hang import HANG

import sqlml

BIGQUERY_TABLE = (
    "CREATE TABLE t AS SELECT CAST(x AS FLOAT64) AS a, MOD(x, 3) AS b, x >= 50 AS y "
    "FROM UNNEST(GENERATE_ARRAY(0, 99)) AS x"
)


@pytest.fixture
def con(tmp_path) -> Iterator[sqlml.Connection]:
    connection = sqlml.connect(str(tmp_path / "bq.duckdb"), dialect="bigquery")
    connection.cursor().execute(BIGQUERY_TABLE)
    yield connection
    connection.close()


def test_bigquery_sql_runs_on_duckdb(con: sqlml.Connection) -> None:
    cur = con.cursor()
    assert con.dialect == "bigquery"
    rows = cur.execute(
        "SELECT `a`, SAFE_DIVIDE(a, b) AS r FROM t WHERE a IN (3, 4) ORDER BY a"
    ).fetchall()
    assert rows == [(3.0, None), (4.0, 4.0)]  # MOD(3, 3) = 0: SAFE_DIVIDE gives NULL


def test_bigquery_ml_statements_on_duckdb(con: sqlml.Connection) -> None:
    cur = con.cursor()
    cur.execute(
        "CREATE MODEL `m` OPTIONS (model_type = 'logistic_reg', input_label_cols = ['y']) "
        "AS SELECT a, y FROM t WHERE SAFE_DIVIDE(a, 1) IS NOT NULL"
    )
    rows = cur.execute(
        "SELECT a, predicted_y FROM ML.PREDICT(MODEL `m`, "
        "(SELECT a FROM t WHERE SAFE_DIVIDE(a, 1) IN (0, 99))) ORDER BY a"
    ).fetchall()
    assert rows == [(0.0, False), (99.0, True)]
    # the training query is stored as DuckDB ran it
    (sql,) = cur.execute("SELECT training_sql FROM sqlml.models WHERE name = 'm'").fetchone()
    assert "SAFE_DIVIDE" not in sql.upper()


def test_the_same_text_fails_without_the_dialect(tmp_path) -> None:
    with sqlml.connect(str(tmp_path / "plain.duckdb")) as plain, pytest.raises(sqlml.Error):
        plain.cursor().execute(BIGQUERY_TABLE)


def test_untranslatable_and_unknown_dialects_are_clear_errors(con: sqlml.Connection) -> None:
    with pytest.raises(sqlml.InterfaceError, match="dialect='oracle'.*duckdb, spark, bigquery"):
        sqlml.connect(dialect="oracle")
    cur = con.cursor()
    with pytest.raises(sqlml.NotSupportedError, match="Parameters in a statement with an ML call"):
        cur.execute("SELECT * FROM ML.PREDICT(MODEL m, (SELECT a FROM t WHERE a > ?))", [3])


def test_cli_dialect_option(tmp_path) -> None:
    import subprocess
    import sys

    script = (
        "CREATE TABLE t AS SELECT x AS a FROM UNNEST(GENERATE_ARRAY(1, 3)) AS x; "
        "SELECT SAFE_DIVIDE(a, a - 1) AS r FROM t ORDER BY a"
    )
    database = str(tmp_path / "cli.duckdb")
    command = [sys.executable, "-m", "sqlml.cli", "-d", database, "--format", "csv", "-q"]
    done = subprocess.run(
        [*command, "--dialect", "bigquery", "-c", script],
        capture_output=True,
        text=True,
        timeout=HANG,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["r", '""', "2.0", "1.5"]  # NULL: an empty CSV field
    plain = subprocess.run([*command, "-c", script], capture_output=True, text=True, timeout=HANG)
    assert plain.returncode == 1 and "Traceback" not in plain.stderr
