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
