"""One model per group trained on the Spark executors (issue 13): ``OPTIONS (engine = 'spark')``
with PARTITION BY fits each group in its own task (``groupBy().applyInArrow``), only the models
reaching the driver; the fallback trains on the executors as a single model does.

Expected values: ordinary least squares per group with numpy (``linear_reg`` with no penalty and
``data_split_method = 'no_split'`` is exactly that fit), as tests/conformance's partitioned
tests do for the local path.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pytest

import sqlml

pytestmark = [pytest.mark.spark, pytest.mark.slow]

SLOPES = {"a": (2.0, 1.0), "b": (-1.0, 4.0), None: (0.5, -3.0), "tiny": (1.0, 1.0)}


def groups_table() -> pa.Table:
    rng = np.random.default_rng(3)
    g, x, y = [], [], []
    for key, (slope, intercept) in SLOPES.items():
        n = 4 if key == "tiny" else 40
        xs = rng.uniform(0, 10, n)
        g += [key] * n
        x += xs.tolist()
        y += (slope * xs + intercept + rng.normal(0, 0.1, n)).tolist()
    return pa.table({"g": pa.array(g, pa.string()), "x": x, "y": y})


def ols(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    coef, *_ = np.linalg.lstsq(np.column_stack([x, np.ones_like(x)]), y, rcond=None)
    return float(coef[0]), float(coef[1])


def test_groups_train_in_tasks_on_the_executors(spark: Any, con: sqlml.Connection) -> None:
    table = groups_table()
    spark.createDataFrame(table).createOrReplaceTempView("pe_rows")
    cur = con.cursor()
    cur.execute(
        "CREATE OR REPLACE MODEL pe_model PARTITION BY g OPTIONS (model_type = 'linear_reg', "
        "input_label_cols = ['y'], data_split_method = 'no_split', engine = 'spark', "
        "min_group_rows = 10) AS SELECT g, x, y FROM pe_rows"
    )
    try:
        cur.execute("SELECT g, status, training_rows FROM ML.GROUP_INFO(MODEL pe_model)")
        assert cur.fetchall() == [
            (None, "trained", 40),
            ("a", "trained", 40),
            ("b", "trained", 40),
            ("tiny", "skipped", 4),
        ]
        cur.execute("SELECT g, x, predicted_y FROM ML.PREDICT(MODEL pe_model, TABLE pe_rows)")
        got = cur.fetchall()
        rows = table.to_pylist()
        everything = ols(np.array([r["x"] for r in rows]), np.array([r["y"] for r in rows]))
        for key in SLOPES:
            part = [r for r in rows if r["g"] == key]
            slope, intercept = (
                everything
                if key == "tiny"  # skipped: the fallback, fitted on every row
                else ols(np.array([r["x"] for r in part]), np.array([r["y"] for r in part]))
            )
            for g, x, predicted in got:
                if g == key:
                    assert predicted == pytest.approx(slope * x + intercept, rel=1e-4, abs=1e-3)
        assert len(got) == table.num_rows
        cur.execute("SELECT training_info FROM sqlml.models WHERE name = 'pe_model'")
        assert "on the executors" in cur.fetchall()[0][0]
    finally:
        cur.execute("DROP MODEL IF EXISTS pe_model")
        spark.catalog.dropTempView("pe_rows")
