"""ARIMA_PLUS (issue 14) on both engines: CREATE MODEL over one or many time series, and
ML.FORECAST, ML.ARIMA_EVALUATE, ML.ARIMA_COEFFICIENTS, ML.EXPLAIN_FORECAST with BigQuery's
arguments and output columns, in BigQuery's order (docs/docs.cloud.google.com/bigquery/docs/
reference/standard-sql/bigqueryml-syntax-forecast.md, -arima-evaluate.md, -arima-coefficients.md,
-explain-forecast.md, -create-time-series.md in the BigQuery docs mirror).

Expected values come from the textbook: an AR(1) model's forecasts are mu + phi^h (y_n - mu) and
their standard errors sigma sqrt(1 + phi^2 + ... + phi^(2(h-1))) (Box & Jenkins; Hyndman &
Athanasopoulos, Forecasting: Principles and Practice, 3rd ed., §9.8), from the coefficients and
variance the model reports; intervals are the normal quantile of the confidence level.
"""

from __future__ import annotations

import datetime as dt
from statistics import NormalDist
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

import sqlml

FORECAST_COLUMNS = [
    "forecast_timestamp",
    "forecast_value",
    "standard_error",
    "confidence_level",
    "prediction_interval_lower_bound",
    "prediction_interval_upper_bound",
    "confidence_interval_lower_bound",
    "confidence_interval_upper_bound",
]
EVALUATE_COLUMNS = [
    "non_seasonal_p",
    "non_seasonal_d",
    "non_seasonal_q",
    "has_drift",
    "log_likelihood",
    "AIC",
    "variance",
    "seasonal_periods",
    "has_holiday_effect",
    "has_spikes_and_dips",
    "has_step_changes",
    "error_message",
]
START = dt.date(2024, 1, 1)


def ar1(seed: int, n: int, phi: float, mu: float) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y = np.zeros(n)
    for i in range(1, n):
        y[i] = phi * y[i - 1] + rng.normal()
    return y + mu


def daily(values: dict[Any, np.ndarray]) -> pa.Table:
    shop, day, sales = [], [], []
    for key, series in values.items():
        shop += [key] * len(series)
        day += [START + dt.timedelta(days=i) for i in range(len(series))]
        sales += series.tolist()
    return pa.table(
        {
            "shop": pa.array(shop, pa.int64()),
            "day": pa.array(day, pa.date32()),
            "sales": pa.array(sales, pa.float64()),
        }
    )


def columns(cursor: Any) -> list[str]:
    return [d[0] for d in cursor.description]


def test_one_series_forecasts_as_its_ar1_model_says(backend: Any) -> None:
    path = ar1(1, 150, 0.6, 20.0)
    backend.load("ts_one", daily({1: path}))
    backend.run(
        "CREATE MODEL ts_ar1 OPTIONS (model_type = 'ARIMA_PLUS', "
        "time_series_timestamp_col = 'day', time_series_data_col = 'sales', horizon = 10, "
        "auto_arima = FALSE, non_seasonal_order = (1, 0, 0), clean_spikes_and_dips = FALSE) "
        "AS SELECT day, sales FROM ts_one"
    )
    cur = backend.run(
        "SELECT * FROM ML.FORECAST(MODEL ts_ar1, STRUCT(4 AS horizon, 0.8 AS confidence_level))"
    )
    assert columns(cur) == FORECAST_COLUMNS  # one series: no id column
    rows = cur.fetchall()
    ((ar, ma, mu),) = backend.rows("SELECT * FROM ML.ARIMA_COEFFICIENTS(MODEL ts_ar1)")
    evaluated = backend.rows("SELECT * FROM ML.ARIMA_EVALUATE(MODEL ts_ar1)")
    assert [tuple(r[:4]) for r in evaluated] == [(1, 0, 0, False)]
    assert list(evaluated[0][7]) == ["NO_SEASONALITY"] and evaluated[0][11] is None
    # the maximum-likelihood AR coefficient and mean, near the least-squares ones (numpy)
    lagged, now = path[:-1] - path.mean(), path[1:] - path.mean()
    assert len(ar) == 1 and list(ma) == []
    assert ar[0] == pytest.approx((lagged @ now) / (lagged @ lagged), abs=0.02)
    assert mu == pytest.approx(path.mean(), abs=0.3)
    phi, sigma = ar[0], np.sqrt(evaluated[0][6])
    steps = np.arange(1, 5)
    expected = mu + phi**steps * (path[-1] - mu)
    errors = sigma * np.sqrt(np.cumsum(phi ** (2 * (steps - 1))))
    z = NormalDist().inv_cdf(0.9)
    assert [r[0].date() if isinstance(r[0], dt.datetime) else r[0] for r in rows] == [
        START + dt.timedelta(days=149 + int(h)) for h in steps
    ]
    np.testing.assert_allclose([r[1] for r in rows], expected, rtol=1e-6)
    np.testing.assert_allclose([r[2] for r in rows], errors, rtol=1e-3)
    for row, value, error in zip(rows, expected, errors, strict=True):
        assert row[3] == pytest.approx(0.8)
        assert row[4] == pytest.approx(value - z * error, rel=1e-3)
        assert row[5] == pytest.approx(value + z * error, rel=1e-3)
        assert (row[6], row[7]) == (row[4], row[5])
    default = backend.rows("SELECT confidence_level FROM ML.FORECAST(MODEL ts_ar1)")
    assert [r[0] for r in default] == [0.95] * 3  # BigQuery's defaults: 3 points, 95 %


def test_many_series_with_error_rows_left_out_of_the_forecast(backend: Any) -> None:
    table = daily(
        {
            10: ar1(2, 120, 0.5, 5.0),
            20: np.full(60, 7.0),  # constant: nothing to forecast
            30: np.array([1.0, 2.0]),  # two points: too short
            40: ar1(3, 120, 0.3, 50.0),
        }
    )
    backend.load("ts_many", table)
    cur = backend.run(
        "CREATE MODEL ts_shops OPTIONS (model_type = 'ARIMA_PLUS', "
        "time_series_timestamp_col = 'day', time_series_data_col = 'sales', "
        "time_series_id_col = 'shop', horizon = 5) AS SELECT * FROM ts_many"
    )
    assert any("2 of 4 time series fitted" in str(m) for _, m in cur.messages)
    cur = backend.run("SELECT * FROM ML.ARIMA_EVALUATE(MODEL ts_shops)")
    assert columns(cur) == ["shop", *EVALUATE_COLUMNS]
    evaluated = {r[0]: r for r in cur.fetchall()}
    assert sorted(evaluated) == [10, 20, 30, 40]
    assert "constant" in evaluated[20][-1] and "2 non-NULL points" in evaluated[30][-1]
    assert all(v is None for v in evaluated[20][1:-1])  # an error row: nothing but the message
    assert evaluated[10][-1] is None and evaluated[10][6] is not None
    forecast = backend.rows(
        "SELECT shop, count(*), min(forecast_timestamp), max(forecast_timestamp) "
        "FROM ML.FORECAST(MODEL ts_shops, STRUCT(5 AS horizon)) GROUP BY shop ORDER BY shop"
    )
    assert [(r[0], r[1]) for r in forecast] == [(10, 5), (40, 5)]
    for _, _, first, last in forecast:
        assert (_day(first), _day(last)) == (dt.date(2024, 4, 30), dt.date(2024, 5, 4))
    coefficients = backend.rows("SELECT shop FROM ML.ARIMA_COEFFICIENTS(MODEL ts_shops)")
    assert sorted(r[0] for r in coefficients) == [10, 40]
    # each series' forecast sits near its own level
    levels = dict(
        backend.rows(
            "SELECT shop, avg(forecast_value) FROM ML.FORECAST(MODEL ts_shops) GROUP BY shop"
        )
    )
    assert abs(levels[10] - 5) < 2 and abs(levels[40] - 50) < 2


def _day(value: Any) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


def test_explain_forecast_decomposes_history_and_forecast(backend: Any) -> None:
    n, horizon = 140, 3
    season = 4 * np.sin(2 * np.pi * np.arange(n) / 7)
    path = ar1(5, n, 0.3, 30.0) + season
    path[70] += 25  # a spike
    backend.load("ts_weekly", daily({1: path}))
    backend.run(
        "CREATE MODEL ts_week OPTIONS (model_type = 'ARIMA_PLUS', "
        "time_series_timestamp_col = 'day', time_series_data_col = 'sales', horizon = 7) "
        "AS SELECT day, sales FROM ts_weekly"
    )
    cur = backend.run(
        f"SELECT * FROM ML.EXPLAIN_FORECAST(MODEL ts_week, STRUCT({horizon} AS horizon))"
    )
    assert columns(cur) == [
        "time_series_timestamp",
        "time_series_type",
        "time_series_data",
        "time_series_adjusted_data",
        "standard_error",
        "confidence_level",
        "prediction_interval_lower_bound",
        "prediction_interval_upper_bound",
        "trend",
        "seasonal_period_yearly",
        "seasonal_period_quarterly",
        "seasonal_period_monthly",
        "seasonal_period_weekly",
        "seasonal_period_daily",
        "holiday_effect",
        "spikes_and_dips",
        "step_changes",
        "residual",
    ]
    rows = sorted(cur.fetchall(), key=lambda r: r[0])
    history = [r for r in rows if r[1] == "history"]
    ahead = [r for r in rows if r[1] == "forecast"]
    assert (len(history), len(ahead)) == (n, horizon)
    np.testing.assert_allclose([r[2] for r in history], path)
    for r in history:  # data = trend + seasons + spikes and dips + residual
        parts = r[8] + r[12] + (r[15] or 0.0) + r[17]
        assert parts == pytest.approx(r[2], abs=1e-9)
        assert r[6] is None and r[7] is None and r[9] is None  # no interval, no yearly season
    assert history[70][15] == pytest.approx(25, abs=4)  # the spike, found and measured
    # the weekly season found is the one drawn, and carried into the forecast
    assert np.corrcoef([r[12] for r in history], season)[0, 1] > 0.95
    for r in ahead:
        assert r[17] is None and r[15] is None and r[6] < r[2] < r[7]
        assert r[8] + r[12] == pytest.approx(r[2], abs=1e-9)
    assert [r[2] for r in ahead] == pytest.approx(
        [
            v
            for (v,) in backend.rows(
                f"SELECT forecast_value FROM ML.FORECAST(MODEL ts_week, STRUCT({horizon} AS horizon)) "
                "ORDER BY forecast_timestamp"
            )
        ]
    )
    week = backend.rows(
        "SELECT seasonal_periods, has_spikes_and_dips FROM ML.ARIMA_EVALUATE(MODEL ts_week)"
    )
    assert list(week[0][0]) == ["WEEKLY"] and week[0][1] is True


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ("time_series_data_col = 'sales'", sqlml.ProgrammingError, "time_series_timestamp_col"),
        (
            "time_series_timestamp_col = 'day', time_series_data_col = 'sales', "
            "non_seasonal_order = (1, 0, 0)",
            sqlml.ProgrammingError,
            "auto_arima = FALSE",
        ),
        (
            "time_series_timestamp_col = 'day', time_series_data_col = 'sales', "
            "include_drift = TRUE",
            sqlml.ProgrammingError,
            "include_drift",
        ),
        (
            "time_series_timestamp_col = 'day', time_series_data_col = 'sales', "
            "time_series_id_col = ['shop'], auto_arima = FALSE, non_seasonal_order = (0, 1, 1)",
            sqlml.ProgrammingError,
            "auto_arima must be TRUE",
        ),
        (
            "time_series_timestamp_col = 'day', time_series_data_col = 'sales', "
            "holiday_region = ['US', 'ATLANTIS']",
            sqlml.ProgrammingError,
            "Unknown holiday_region 'ATLANTIS'",
        ),
        (
            "time_series_timestamp_col = 'day', time_series_data_col = 'sales', "
            "max_time_series_length = 30, time_series_length_fraction = 0.5",
            sqlml.ProgrammingError,
            "max_time_series_length with time_series_length_fraction",
        ),
        (
            "time_series_timestamp_col = 'day', time_series_data_col = 'sales', "
            "min_time_series_length = 30",
            sqlml.ProgrammingError,
            "applies with time_series_length_fraction",
        ),
        (
            "time_series_timestamp_col = 'day', time_series_data_col = 'sales', "
            "seasonalities = ['AUTO', 'WEEKLY']",
            sqlml.ProgrammingError,
            "'seasonalities' option",
        ),
        (
            "time_series_timestamp_col = 'sales', time_series_data_col = 'day'",
            sqlml.ProgrammingError,
            "TIMESTAMP, DATE or DATETIME",
        ),
        (
            "time_series_timestamp_col = 'day', time_series_data_col = 'revenue'",
            sqlml.ProgrammingError,
            "does not return",
        ),
        (
            "time_series_timestamp_col = 'day', time_series_data_col = 'sales', "
            "input_label_cols = ['sales']",
            sqlml.ProgrammingError,
            "does not apply",
        ),
    ],
)
def test_bad_options_name_the_problem(backend: Any, options: str, error: Any, message: str) -> None:
    backend.load("ts_opts", daily({1: ar1(4, 30, 0.5, 1.0)}))
    with pytest.raises(error, match=message):
        backend.run(
            f"CREATE MODEL ts_bad OPTIONS (model_type = 'ARIMA_PLUS', {options}) "
            "AS SELECT * FROM ts_opts"
        )


def test_functions_that_do_not_apply_and_a_failed_replace(backend: Any) -> None:
    backend.load("ts_keep", daily({1: ar1(6, 80, 0.5, 3.0)}))
    model = (
        "MODEL ts_kept OPTIONS (model_type = 'ARIMA_PLUS', time_series_timestamp_col = 'day', "
        "time_series_data_col = 'sales', horizon = 4)"
    )
    backend.run(f"CREATE {model} AS SELECT day, sales FROM ts_keep")
    before = backend.rows("SELECT forecast_value FROM ML.FORECAST(MODEL ts_kept)")
    with pytest.raises(sqlml.ProgrammingError, match="ML.FORECAST"):
        backend.run("SELECT * FROM ML.PREDICT(MODEL ts_kept, TABLE ts_keep)")
    with pytest.raises(sqlml.ProgrammingError, match="trained with \\(4\\)"):
        backend.run("SELECT * FROM ML.FORECAST(MODEL ts_kept, STRUCT(5 AS horizon))")
    with pytest.raises(sqlml.ProgrammingError, match=r"\[0, 1\)"):
        backend.run("SELECT * FROM ML.FORECAST(MODEL ts_kept, STRUCT(1.0 AS confidence_level))")
    with pytest.raises(sqlml.NotSupportedError, match="candidates"):
        backend.run(
            "SELECT * FROM ML.ARIMA_EVALUATE(MODEL ts_kept, STRUCT(TRUE AS "
            "show_all_candidate_models))"
        )
    with pytest.raises(sqlml.ProgrammingError, match="time-series models"):
        backend.run(
            "CREATE MODEL ts_lin OPTIONS (model_type = 'linear_reg', input_label_cols = ['sales']) AS SELECT day, sales FROM ts_keep"
        )
        backend.run("SELECT * FROM ML.FORECAST(MODEL ts_lin)")
    with pytest.raises(sqlml.DataError, match="no time series could be fitted"):
        backend.run(f"CREATE OR REPLACE {model} AS SELECT day, 1.0 AS sales FROM ts_keep")
    assert backend.rows("SELECT forecast_value FROM ML.FORECAST(MODEL ts_kept)") == before


def test_show_export_and_drop(backend: Any, tmp_path: Any) -> None:
    import json

    import onnxruntime as ort

    backend.load("ts_exp", daily({7: ar1(8, 90, 0.4, 12.0), 8: np.full(30, 2.0)}))
    backend.run(
        "CREATE MODEL ts_export OPTIONS (model_type = 'ARIMA_PLUS', "
        "time_series_timestamp_col = 'day', time_series_data_col = 'sales', "
        "time_series_id_col = ['shop'], horizon = 6) AS SELECT * FROM ts_exp"
    )
    shown = dict(backend.rows("SHOW MODEL ts_export"))
    assert shown["Model Type"] == "arima_plus" and shown["Problem Type"] == "forecasting"
    assert (shown["Time Series Id Columns"], shown["Time Series Fitted"]) == ("shop", "1")
    assert (shown["Time Series Failed"], shown["Horizon"]) == ("1", "6")
    folder = tmp_path / "ts_export"
    backend.run(f"EXPORT MODEL ts_export OPTIONS (uri = '{folder}')")
    index = json.loads((folder / "index.json").read_text())
    assert index["model_type"] == "arima_plus"
    assert index["time_series"]["data_col"] == "sales"
    assert [(g["key"], g["status"], g["file"] is not None) for g in index["groups"]] == [
        ([7], "trained", True),
        ([8], "failed", False),
    ]
    # bare ONNX Runtime reads a series' forecast from its file: the same as ML.FORECAST's
    (entry,) = [g for g in index["groups"] if g["file"]]
    session = ort.InferenceSession(str(folder / entry["file"]), providers=["CPUExecutionProvider"])
    (values,) = session.run(["forecast_value"], {"step": np.arange(1, 7, dtype=np.int64)})
    forecast = backend.rows(
        "SELECT forecast_value FROM ML.FORECAST(MODEL ts_export, STRUCT(6 AS horizon)) "
        "ORDER BY forecast_timestamp"
    )
    np.testing.assert_allclose(values, [v for (v,) in forecast])
    meta = session.get_modelmeta().custom_metadata_map
    assert json.loads(meta["sqlml.spec"])["non_seasonal_d"] in (0, 1, 2)
    backend.run("DROP MODEL ts_export")
    with pytest.raises(sqlml.ProgrammingError, match="ts_export"):
        backend.run("SELECT * FROM ML.FORECAST(MODEL ts_export)")


def test_evaluate_against_actual_values(backend: Any) -> None:
    path = ar1(9, 156, 0.5, 40.0)
    backend.load("ts_hist", daily({1: path[:150], 2: path[:150] + 100}))
    later = daily({1: path, 2: path + 100})
    backend.load(
        "ts_actual",
        later.filter(
            pa.compute.greater_equal(later["day"], pa.scalar(START + dt.timedelta(days=150)))
        ),
    )
    backend.run(
        "CREATE MODEL ts_eval OPTIONS (model_type = 'ARIMA_PLUS', "
        "time_series_timestamp_col = 'day', time_series_data_col = 'sales', "
        "time_series_id_col = ['shop'], horizon = 6) AS SELECT * FROM ts_hist"
    )
    forecast = {
        (shop, _day(day)): value
        for shop, day, value in backend.rows(
            "SELECT shop, forecast_timestamp, forecast_value FROM ML.FORECAST(MODEL ts_eval, "
            "STRUCT(6 AS horizon))"
        )
    }
    cur = backend.run("SELECT * FROM ML.EVALUATE(MODEL ts_eval, TABLE ts_actual)")
    assert columns(cur) == [
        "shop",
        "mean_absolute_error",
        "mean_squared_error",
        "root_mean_squared_error",
        "mean_absolute_percentage_error",
        "symmetric_mean_absolute_percentage_error",
    ]
    aggregated = {r[0]: r[1:] for r in cur.fetchall()}
    assert sorted(aggregated) == [1, 2]
    for shop, offset in ((1, 0.0), (2, 100.0)):
        actual = path[150:] + offset
        predicted = np.array(
            [forecast[(shop, START + dt.timedelta(days=150 + i))] for i in range(6)]
        )
        error = predicted - actual
        assert aggregated[shop] == pytest.approx(
            (
                np.mean(np.abs(error)),
                np.mean(error**2),
                np.sqrt(np.mean(error**2)),
                100 * np.mean(np.abs(error) / np.abs(actual)),
                100 * np.mean(2 * np.abs(error) / (np.abs(predicted) + np.abs(actual))),
            )
        )
    cur = backend.run(
        "SELECT * FROM ML.EVALUATE(MODEL ts_eval, TABLE ts_actual, STRUCT(FALSE AS "
        "perform_aggregation, 0.8 AS confidence_level))"
    )
    assert columns(cur) == [
        "shop",
        "day",
        "sales",
        "forecasted_sales",
        "lower_bound",
        "upper_bound",
        "absolute_error",
        "absolute_percentage_error",
    ]
    rows = cur.fetchall()
    assert len(rows) == 12
    bounds = {
        (shop, _day(day)): (low, high)
        for shop, day, low, high in backend.rows(
            "SELECT shop, forecast_timestamp, prediction_interval_lower_bound, "
            "prediction_interval_upper_bound FROM ML.FORECAST(MODEL ts_eval, STRUCT(6 AS "
            "horizon, 0.8 AS confidence_level))"
        )
    }
    for shop, day, actual, predicted, low, high, absolute, percentage in rows:
        key = (shop, _day(day))
        assert predicted == pytest.approx(forecast[key])
        assert (low, high) == pytest.approx(bounds[key])
        assert absolute == pytest.approx(abs(predicted - actual))
        assert percentage == pytest.approx(100 * abs(predicted - actual) / abs(actual))
    # without actual values: each series' model, BigQuery's older form of ML.ARIMA_EVALUATE
    cur = backend.run("SELECT * FROM ML.EVALUATE(MODEL ts_eval)")
    assert columns(cur) == ["shop", *EVALUATE_COLUMNS[:-1]]
    assert all(isinstance(r[8], str) for r in cur.fetchall())
    with pytest.raises(sqlml.ProgrammingError, match="perform_aggregation = FALSE"):
        backend.run(
            "SELECT * FROM ML.EVALUATE(MODEL ts_eval, TABLE ts_actual, STRUCT(0.8 AS "
            "confidence_level))"
        )
    with pytest.raises(sqlml.ProgrammingError, match="time-series models"):
        backend.run(
            "CREATE MODEL ts_lin2 OPTIONS (model_type = 'linear_reg', input_label_cols = ['sales']) AS SELECT shop, sales FROM ts_hist"
        )
        backend.run("SELECT * FROM ML.EVALUATE(MODEL ts_lin2, STRUCT(3 AS horizon))")


def test_detect_anomalies_in_the_history_and_in_new_rows(backend: Any) -> None:
    path = ar1(12, 120, 0.4, 30.0)
    path[60] += 15  # a spike: cleaned from the fit, flagged as an anomaly
    backend.load("ts_anom", daily({5: path, 6: ar1(13, 120, 0.4, 60.0)}))
    backend.run(
        "CREATE MODEL ts_detect OPTIONS (model_type = 'ARIMA_PLUS', "
        "time_series_timestamp_col = 'day', time_series_data_col = 'sales', "
        "time_series_id_col = ['shop'], horizon = 3) AS SELECT * FROM ts_anom"
    )
    cur = backend.run("SELECT * FROM ML.DETECT_ANOMALIES(MODEL ts_detect)")
    assert columns(cur) == [
        "shop",
        "day",
        "sales",
        "is_anomaly",
        "lower_bound",
        "upper_bound",
        "anomaly_probability",
    ]
    rows = cur.fetchall()
    assert len(rows) == 240
    variance = dict(backend.rows("SELECT shop, variance FROM ML.ARIMA_EVALUATE(MODEL ts_detect)"))
    z = NormalDist().inv_cdf(0.975)
    for shop, _, sales, flagged, low, high, probability in rows:
        sigma, middle = np.sqrt(variance[shop]), (low + high) / 2
        assert high - middle == pytest.approx(z * sigma)  # the default threshold, 0.95
        assert probability == pytest.approx(2 * NormalDist().cdf(abs(sales - middle) / sigma) - 1)
        assert flagged == (probability > 0.95)
    spike = [r for r in rows if r[0] == 5 and _day(r[1]) == START + dt.timedelta(days=60)]
    assert spike[0][3] is True and spike[0][6] > 0.999
    assert sum(r[3] for r in rows) < 0.1 * len(rows)  # a normal day is rarely flagged
    # new rows: judged against the forecast; outside it, or of an unknown shop: NULL
    forecast = {
        (shop, _day(day)): (value, error)
        for shop, day, value, error in backend.rows(
            "SELECT shop, forecast_timestamp, forecast_value, standard_error "
            "FROM ML.FORECAST(MODEL ts_detect, STRUCT(3 AS horizon))"
        )
    }
    first = START + dt.timedelta(days=120)
    value, error = forecast[(5, first)]
    backend.load(
        "ts_new",
        pa.table(
            {
                "weather": ["sun", "rain", "fog", "sun"],
                "shop": pa.array([5, 5, 5, 99], pa.int64()),
                "day": pa.array(
                    [first, first + dt.timedelta(days=1), first + dt.timedelta(days=9), first],
                    pa.date32(),
                ),
                "sales": [
                    value,
                    forecast[(5, first + dt.timedelta(days=1))][0] + 10 * error,
                    1.0,
                    1.0,
                ],
            }
        ),
    )
    cur = backend.run(
        "SELECT * FROM ML.DETECT_ANOMALIES(MODEL ts_detect, STRUCT(0.9 AS anomaly_prob_threshold), "
        "TABLE ts_new)"
    )
    assert columns(cur) == [
        "shop",
        "day",
        "sales",
        "is_anomaly",
        "lower_bound",
        "upper_bound",
        "anomaly_probability",
        "weather",
    ]
    got = cur.fetchall()
    assert [r[-1] for r in got] == ["sun", "rain", "fog", "sun"]  # the input's order
    assert got[0][3] is False and got[0][6] == pytest.approx(0.0, abs=1e-9)
    assert got[0][4] == pytest.approx(value - NormalDist().inv_cdf(0.95) * error)
    assert got[1][3] is True and got[1][6] > 0.999
    assert all(v is None for v in got[2][3:7]) and all(v is None for v in got[3][3:7])
    with pytest.raises(sqlml.ProgrammingError, match="anomaly_prob_threshold"):
        backend.run("SELECT * FROM ML.DETECT_ANOMALIES(MODEL ts_detect, TABLE ts_new)")
    with pytest.raises(sqlml.ProgrammingError, match="contamination"):
        backend.run(
            "SELECT * FROM ML.DETECT_ANOMALIES(MODEL ts_detect, STRUCT(0.1 AS contamination))"
        )


def test_redshift_forecast_model_and_forecast_table(backend: Any) -> None:
    """Redshift ML's forecast form: CREATE MODEL … TARGET … AUTO ON MODEL_TYPE FORECAST SETTINGS
    (HORIZON, FREQUENCY, PERCENTILES), and CREATE TABLE t AS SELECT FORECAST(model): ``id``,
    ``time``, then a column per percentile (as Amazon Forecast names them, p25 … and mean)."""
    table = daily({1: ar1(14, 100, 0.5, 10.0), 2: ar1(15, 100, 0.5, 20.0)})
    backend.load(
        "rs_sales",
        pa.table(
            {
                "item_id": pa.array([f"item{k}" for k in table["shop"].to_pylist()]),
                "invoice_date": table["day"],
                "quantity": table["sales"],
            }
        ),
    )
    cur = backend.run(
        "CREATE MODEL rs_demand FROM (SELECT item_id, invoice_date, quantity FROM rs_sales) "
        "TARGET quantity IAM_ROLE default AUTO ON MODEL_TYPE FORECAST "
        "OBJECTIVE 'AverageWeightedQuantileLoss' SETTINGS (S3_BUCKET 'bucket', HORIZON 4, "
        "FREQUENCY 'D', PERCENTILES '0.25,0.50,0.9,mean')"
    )
    assert any("OBJECTIVE 'AverageWeightedQuantileLoss'" in str(m) for _, m in cur.messages)
    try:
        backend.run("CREATE TABLE rs_forecast AS SELECT FORECAST(rs_demand)")
        cur = backend.run("SELECT * FROM rs_forecast ORDER BY id, time")
        assert columns(cur) == ["id", "time", "p25", "p50", "p90", "mean"]
        rows = cur.fetchall()
    finally:
        if backend.spark is not None:
            backend.spark.sql("DROP TABLE IF EXISTS rs_forecast")
    forecast = {
        (item, _day(day)): (value, error)
        for item, day, value, error in backend.rows(
            "SELECT item_id, forecast_timestamp, forecast_value, standard_error "
            "FROM ML.FORECAST(MODEL rs_demand, STRUCT(4 AS horizon))"
        )
    }
    assert len(rows) == 8 and {r[0] for r in rows} == {"item1", "item2"}
    for item, day, p25, p50, p90, mean in rows:
        value, error = forecast[(item, _day(day))]
        assert mean == pytest.approx(value) and p50 == pytest.approx(value)
        assert p25 == pytest.approx(value + NormalDist().inv_cdf(0.25) * error)
        assert p90 == pytest.approx(value + NormalDist().inv_cdf(0.9) * error)
    alone = backend.rows("SELECT FORECAST(rs_demand)")
    alone = sorted(alone, key=lambda r: (r[0], str(r[1])))
    assert [r[:2] for r in alone] == [r[:2] for r in rows]
    np.testing.assert_allclose([r[2:] for r in alone], [r[2:] for r in rows])
    with pytest.raises(sqlml.NotSupportedError, match="inside a larger query"):
        backend.run("SELECT FORECAST(rs_demand) + 1")
    with pytest.raises(sqlml.ProgrammingError, match="HORIZON n, FREQUENCY"):
        backend.run(
            "CREATE MODEL rs_bad FROM rs_sales TARGET quantity IAM_ROLE default AUTO ON "
            "MODEL_TYPE FORECAST SETTINGS (S3_BUCKET 'b', FREQUENCY 'D')"
        )
    with pytest.raises(sqlml.NotSupportedError, match="FREQUENCY '30MIN'"):
        backend.run(
            "CREATE MODEL rs_bad FROM rs_sales TARGET quantity IAM_ROLE default AUTO ON "
            "MODEL_TYPE FORECAST SETTINGS (HORIZON 3, FREQUENCY '30min')"
        )
    with pytest.raises(sqlml.ProgrammingError, match="PERCENTILES"):
        backend.run(
            "CREATE MODEL rs_bad FROM rs_sales TARGET quantity IAM_ROLE default AUTO ON "
            "MODEL_TYPE FORECAST SETTINGS (HORIZON 3, FREQUENCY 'D', PERCENTILES '0.1,1.5')"
        )
    backend.run(
        "CREATE MODEL rs_lin FROM (SELECT quantity, 1.0 AS x FROM rs_sales) TARGET quantity "
        "FUNCTION rs_lin_fn IAM_ROLE default MODEL_TYPE LINEAR_LEARNER PROBLEM_TYPE REGRESSION"
    )
    with pytest.raises(sqlml.ProgrammingError, match="reads a forecast model"):
        backend.run("SELECT FORECAST(rs_lin)")


def test_holidays_change_the_forecast(backend: Any) -> None:
    """holiday_region: a daily series whose Christmas sells 60 more each year forecasts its next
    Christmas that much higher; without the region the day is a spike, cleaned away."""
    n = 1080  # 2024-01-01 … 2026-12-15: three Christmases, the fourth in the forecast
    rng = np.random.default_rng(16)
    sales = 100 + 5 * np.sin(2 * np.pi * np.arange(n) / 7) + rng.normal(0, 2, n)
    days = [START + dt.timedelta(days=i) for i in range(n)]
    christmas = [i for i, d in enumerate(days) if (d.month, d.day) == (12, 25)]
    sales[christmas] += 60
    backend.load("ts_xmas", daily({1: sales}))
    model = (
        "MODEL {name} OPTIONS (model_type = 'ARIMA_PLUS', time_series_timestamp_col = 'day', "
        "time_series_data_col = 'sales', horizon = 20{extra}) AS SELECT day, sales FROM ts_xmas"
    )
    backend.run("CREATE " + model.format(name="ts_us", extra=", holiday_region = 'US'"))
    backend.run("CREATE " + model.format(name="ts_none", extra=""))
    target = dt.date(2026, 12, 25)

    def on(name: str, day: dt.date) -> float:
        rows = backend.rows(
            f"SELECT forecast_timestamp, forecast_value FROM ML.FORECAST(MODEL {name}, "
            "STRUCT(20 AS horizon))"
        )
        return next(v for t, v in rows if _day(t) == day)

    eve = target - dt.timedelta(days=1)
    assert on("ts_us", target) - on("ts_us", eve) == pytest.approx(60, abs=8)
    assert abs(on("ts_none", target) - on("ts_none", eve)) < 15
    ((flag,),) = backend.rows("SELECT has_holiday_effect FROM ML.ARIMA_EVALUATE(MODEL ts_us)")
    assert flag is True
    explained = backend.rows(
        "SELECT time_series_timestamp, holiday_effect, time_series_data, trend, "
        "coalesce(seasonal_period_weekly, 0) + coalesce(seasonal_period_yearly, 0) "
        "FROM ML.EXPLAIN_FORECAST(MODEL ts_us, STRUCT(20 AS horizon))"
    )
    effect = {_day(t): h for t, h, *_ in explained}
    assert effect[dt.date(2025, 12, 25)] == pytest.approx(60, abs=8)
    assert effect[target] == pytest.approx(60, abs=8) and effect[eve] == 0
    for t, holiday, value, trend, seasons in explained:
        if _day(t) > days[-1]:  # a forecast row: trend + seasons + holiday
            assert trend + seasons + holiday == pytest.approx(value, abs=1e-9)
    ((none_flag,),) = backend.rows(
        "SELECT has_holiday_effect FROM ML.ARIMA_EVALUATE(MODEL ts_none)"
    )
    assert none_flag is False
