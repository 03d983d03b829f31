"""TRANSFORM on Spark: trained in this process (scikit-learn), refused on the executors.

https://cloud.google.com/bigquery/docs/reference/standard-sql/bigqueryml-syntax-create#transform
"""

from __future__ import annotations

import pytest

import sqlml

pytestmark = [pytest.mark.spark, pytest.mark.slow]


def test_transform_on_the_executors_is_not_supported_yet(con: sqlml.Connection) -> None:
    with pytest.raises(sqlml.NotSupportedError) as info:
        con.execute(
            "CREATE MODEL sp_tf TRANSFORM (ML.MIN_MAX_SCALER(x1) OVER () AS s, y) "
            "OPTIONS (model_type = 'linear_reg', input_label_cols = ['y'], engine = 'spark') "
            "AS SELECT x1, y FROM reg"
        )
    assert str(info.value) == (
        "TRANSFORM (...) in CREATE MODEL sp_tf is not supported yet for training on the Spark "
        "engine's executors; OPTIONS (engine = 'duckdb') reads the rows and trains in this "
        "process."
    )
    cur = con.cursor()
    cur.execute("SHOW MODEL ALL")
    assert "sp_tf" not in {row[0] for row in cur.fetchall()}


def test_sql_outputs_are_computed_in_spark_sql(con: sqlml.Connection) -> None:
    """``x1 * 2 AS x`` and ``ML.FEATURE_CROSS`` (a string concatenation) are DuckDB SQL in the
    model, transpiled to Spark's: reg's y = 3·x1 + 2 exactly, so y = 1.5·x + 2."""
    cur = con.cursor()
    cur.execute(
        "CREATE OR REPLACE MODEL sp_tf_sql TRANSFORM (x1 * 2 AS x, "
        "ML.FEATURE_CROSS(STRUCT(cat, cat AS c2)) AS cc, y) "
        "OPTIONS (model_type = 'linear_reg', input_label_cols = ['y']) AS SELECT x1, cat, y FROM reg"
    )
    try:
        cur.execute(
            "SELECT x1, predicted_y FROM ML.PREDICT(MODEL sp_tf_sql, (SELECT x1, cat FROM reg))"
        )
        for x1, predicted in cur.fetchall():
            assert predicted == pytest.approx(3 * x1 + 2, abs=1e-3)
        cur.execute("SELECT x, cc FROM ML.TRANSFORM(MODEL sp_tf_sql, TABLE reg) LIMIT 1")
        x, cc = cur.fetchone()
        assert cc in ("p_p", "q_q", "r_r")
    finally:
        cur.execute("DROP MODEL IF EXISTS sp_tf_sql")
