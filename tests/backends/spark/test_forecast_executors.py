"""ARIMA_PLUS on the Spark executors (issue 14): with ``OPTIONS (engine = 'spark')`` each series
is fitted by a task of its own (``groupBy(id columns).applyInArrow``), only its forecast reaching
the driver. The pipeline is the one the driver runs, so the same rows give the same forecasts as
the model trained in the driver; the broken series is an error row either way."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

import sqlml

pytestmark = [pytest.mark.spark, pytest.mark.slow]


def series_table() -> pa.Table:
    rng = np.random.default_rng(5)
    shop, day, sales = [], [], []
    for key, n in (("a", 90), ("b", 90), (None, 90), ("flat", 40)):
        values = np.full(n, 3.0) if key == "flat" else 20 + np.cumsum(rng.normal(size=n))
        shop += [key] * n
        day += [dt.date(2024, 1, 1) + dt.timedelta(days=i) for i in range(n)]
        sales += values.tolist()
    return pa.table({"shop": pa.array(shop, pa.string()), "day": day, "sales": sales})


def test_series_fit_in_tasks_on_the_executors(spark: Any, con: sqlml.Connection) -> None:
    spark.createDataFrame(series_table()).createOrReplaceTempView("fe_rows")
    cur = con.cursor()
    options = (
        "model_type = 'ARIMA_PLUS', time_series_timestamp_col = 'day', "
        "time_series_data_col = 'sales', time_series_id_col = ['shop'], horizon = 5"
    )
    forecasts = {}
    try:
        for name, where in (("fe_tasks", ", engine = 'spark'"), ("fe_driver", "")):
            cur.execute(
                f"CREATE OR REPLACE MODEL {name} OPTIONS ({options}{where}) "
                "AS SELECT * FROM fe_rows"
            )
            cur.execute(f"SELECT shop, error_message FROM ML.ARIMA_EVALUATE(MODEL {name})")
            evaluated = cur.fetchall()
            assert [row[0] for row in evaluated] == [None, "a", "b", "flat"]
            assert [row[1] is None for row in evaluated] == [True, True, True, False]
            cur.execute(
                f"SELECT shop, forecast_value FROM ML.FORECAST(MODEL {name}, STRUCT(5 AS horizon)) "
                "ORDER BY shop NULLS FIRST, forecast_timestamp"
            )
            forecasts[name] = cur.fetchall()
            cur.execute(f"SHOW MODEL {name}")
            shown = dict(cur.fetchall())
            assert shown["Time Series Fitted"] == "3"
        assert len(forecasts["fe_tasks"]) == 15
        assert [r[0] for r in forecasts["fe_tasks"]] == [r[0] for r in forecasts["fe_driver"]]
        np.testing.assert_allclose(
            [r[1] for r in forecasts["fe_tasks"]], [r[1] for r in forecasts["fe_driver"]]
        )
        info = con.executor.catalog.get("fe_tasks").training_info
        assert info["training_path"].endswith("on the executors")
        assert (
            not con.executor.catalog.get("fe_driver")
            .training_info["training_path"]
            .endswith("on the executors")
        )
    finally:
        for name in ("fe_tasks", "fe_driver"):
            cur.execute(f"DROP MODEL IF EXISTS {name}")
