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
