"""connect(engine='spark', dialect='duckdb'): DuckDB SQL on Spark, transpiled by sqlglot.

The tables come from tests/backends/spark/conftest.py (``reg``: y = 3 * x1 + 2 exactly, x1 = (i - 59.5) / 10).
"""

from __future__ import annotations

from typing import Any

import pytest

import sqlml

pytestmark = [pytest.mark.spark, pytest.mark.slow]


def test_duckdb_sql_runs_on_spark(spark: Any) -> None:
    # DuckDB's string_split with its 1-based list index, // integer division, :: casts
    query = (
        "SELECT string_split('a,b', ',')[1] AS f, id // 7 AS q, id::VARCHAR AS s "
        "FROM reg WHERE id IN (15, 20) ORDER BY id"
    )
    with sqlml.connect(spark=spark, dialect="duckdb") as con:
        cur = con.cursor()
        assert con.dialect == "duckdb"
        assert cur.execute(query).fetchall() == [("a", 2, "15"), ("a", 2, "20")]
        assert cur.engine == "spark"
    with sqlml.connect(spark=spark) as plain:  # Spark SQL as written: no string_split
        assert plain.dialect == "spark"
        with pytest.raises(sqlml.Error, match="PARSE_SYNTAX_ERROR|string_split"):
            plain.cursor().execute(query)


def test_duckdb_ml_statements_on_spark(spark: Any) -> None:
    with sqlml.connect(spark=spark, dialect="duckdb") as con:
        cur = con.cursor()
        cur.execute(
            "CREATE OR REPLACE MODEL dialect_reg OPTIONS (model_type = 'linear_reg', "
            "input_label_cols = ['y']) AS SELECT x1::DOUBLE AS x1, y FROM reg"
        )
        rows = cur.execute(
            "SELECT x1, predicted_y FROM ML.PREDICT(MODEL dialect_reg, "
            "(SELECT x1::DOUBLE AS x1 FROM reg WHERE id::INTEGER IN (0, 119))) ORDER BY x1"
        ).fetchall()
        assert [r[0] for r in rows] == [-5.95, 5.95]
        for x1, predicted in rows:
            assert predicted == pytest.approx(3 * x1 + 2, abs=1e-4)
        cur.execute("DROP MODEL dialect_reg")
