"""Training on Spark's executors (engine = 'spark') with what the BigQuery docs accept as input:
the default label (a column named ``label``), and temporal feature columns.

https://cloud.google.com/bigquery/docs/reference/standard-sql/bigqueryml-syntax-create-glm#input_label_cols
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import sqlml

pytestmark = [pytest.mark.spark, pytest.mark.slow]


def test_default_label_on_the_executors(con: sqlml.Connection, data: dict[str, Any]) -> None:
    """reg's y = 3·x1 + 2 exactly, read as `label`: the executors' fit recovers it."""
    cur = con.cursor()
    cur.execute(
        "CREATE OR REPLACE MODEL sp_deflabel OPTIONS (model_type = 'linear_reg', engine = 'spark') "
        "AS SELECT x1, y AS label FROM reg"
    )
    try:
        cur.execute("SHOW MODEL sp_deflabel")
        assert dict(cur.fetchall())["Target Column"] == "label"
        cur.execute(
            "SELECT x1, predicted_label FROM ML.PREDICT(MODEL sp_deflabel, "
            "(SELECT x1 FROM reg)) ORDER BY x1"
        )
        rows = cur.fetchall()
        x1 = np.array([r[0] for r in rows])
        np.testing.assert_allclose([r[1] for r in rows], 3 * x1 + 2, atol=1e-3)
    finally:
        cur.execute("DROP MODEL IF EXISTS sp_deflabel")


def test_timestamp_features_on_the_executors_are_not_supported_yet(con: sqlml.Connection) -> None:
    cur = con.cursor()
    with pytest.raises(
        sqlml.NotSupportedError, match="TIMESTAMP or ARRAY feature column.*not supported yet"
    ):
        cur.execute(
            "CREATE MODEL sp_stamps OPTIONS (model_type = 'linear_reg', engine = 'spark') "
            "AS SELECT x1, TIMESTAMP '2024-01-01 00:00:00' + make_interval(0, 0, 0, 0, id) AS ts, "
            "y AS label FROM reg"
        )


def test_compiled_scoring_leaves_timestamp_models_to_the_scorer(con: sqlml.Connection) -> None:
    """spark_scoring = 'auto' scores a TIMESTAMP model through mapInArrow (the scorer computes
    the parts), with the same predictions as ONNX Runtime in this process."""
    cur = con.cursor()
    source = (
        "SELECT x1, TIMESTAMP '2024-01-01 00:00:00' + make_interval(0, 0, 0, 0, id * 5) AS ts, "
        "y AS label FROM reg"
    )
    cur.execute(
        f"CREATE OR REPLACE MODEL sp_stamps_local OPTIONS (model_type = 'linear_reg') AS {source}"
    )
    try:
        cur.execute(f"SELECT predicted_label FROM ML.PREDICT(MODEL sp_stamps_local, ({source}))")
        predicted = np.array([r[0] for r in cur.fetchall()])
        cur.execute(f"SELECT label FROM ({source}) AS s")
        np.testing.assert_allclose(predicted, [r[0] for r in cur.fetchall()], atol=1e-3)
    finally:
        cur.execute("DROP MODEL IF EXISTS sp_stamps_local")
