"""ARIMA_PLUS's functions on DuckDB beyond the conformance suite (tests/conformance/
test_conformance_forecast.py): inside a transaction, after ALTER MODEL, under EXPLAIN, with hourly
TIMESTAMPTZ points, DECIMAL values and NULL as a series id."""

from __future__ import annotations

import datetime as dt

import pytest

import sqlml

ROWS = """CREATE TABLE hourly AS
SELECT CASE WHEN i % 3 = 0 THEN NULL ELSE i % 3 END AS k,
       TIMESTAMPTZ '2024-01-01 00:00:00+00' + INTERVAL (i // 3) HOUR AS ts,
       CAST(sin(i / 10.0) * 10 + 50 + i % 3 AS DECIMAL(10, 2)) AS v
FROM range(600) AS t(i)"""
MODEL = (
    "MODEL {name} OPTIONS (model_type = 'ARIMA_PLUS', time_series_timestamp_col = 'TS', "
    "time_series_data_col = 'v', time_series_id_col = 'k', horizon = 4)"
)


@pytest.fixture
def cur() -> sqlml.Cursor:
    con = sqlml.connect(":memory:")
    cursor = con.cursor()
    cursor.execute(ROWS)
    yield cursor
    con.close()


def test_hourly_timestamptz_decimal_values_and_a_null_series(cur: sqlml.Cursor) -> None:
    cur.execute(f"CREATE {MODEL.format(name='hm')} AS SELECT * FROM hourly")
    cur.execute("SELECT k, forecast_timestamp FROM ML.FORECAST(MODEL hm, STRUCT(2 AS horizon))")
    rows = cur.fetchall()
    # 200 hourly points from midnight: the forecast starts at hour 200 (2024-01-09 08:00 UTC)
    first = dt.datetime(2024, 1, 9, 8, 0)
    assert rows == [(k, first + dt.timedelta(hours=h)) for k in (None, 1, 2) for h in (0, 1)]
    cur.execute("SELECT k, error_message FROM ML.ARIMA_EVALUATE(MODEL hm)")
    assert cur.fetchall() == [(None, None), (1, None), (2, None)]


def test_inside_a_transaction_and_after_alter_model(cur: sqlml.Cursor) -> None:
    cur.execute("BEGIN")
    cur.execute(f"CREATE {MODEL.format(name='tx')} AS SELECT * FROM hourly")
    # the graphs are read on the statement's own connection, before its query runs
    cur.execute("SELECT count(*) FROM ML.FORECAST(MODEL tx)")
    assert cur.fetchone() == (9,)
    cur.execute("SELECT count(*) FROM ML.EXPLAIN_FORECAST(MODEL tx, STRUCT(1 AS horizon))")
    assert cur.fetchone() == (3 * (200 + 1),)
    cur.execute("COMMIT")
    cur.execute("ALTER MODEL tx SET OPTIONS (description = 'hourly sales')")
    cur.execute("SELECT count(*) FROM ML.FORECAST(MODEL tx, STRUCT(4 AS horizon))")
    assert cur.fetchone() == (12,)
    cur.execute("SHOW MODEL tx")
    shown = dict(cur.fetchall())
    assert (shown["Version"], shown["Description"], shown["Time Series Fitted"]) == (
        "2",
        "hourly sales",
        "3",
    )


def test_explain_names_the_call(cur: sqlml.Cursor) -> None:
    cur.execute(f"CREATE {MODEL.format(name='ex')} AS SELECT * FROM hourly")
    cur.execute("EXPLAIN SELECT * FROM ML.FORECAST(MODEL ex)")
    steps = cur.fetchall()
    assert steps[0][:3] == (
        "ML.FORECAST(MODEL ex)",
        "duckdb",
        "reads the model only: no input rows",
    )


def test_a_series_off_the_given_frequency_is_named(cur: sqlml.Cursor) -> None:
    with pytest.raises(sqlml.DataError, match="not on a daily grid; set data_frequency"):
        cur.execute(
            "CREATE MODEL off OPTIONS (model_type = 'ARIMA_PLUS', time_series_timestamp_col = "
            "'ts', time_series_data_col = 'v', data_frequency = 'DAILY') "
            "AS SELECT ts, v FROM hourly WHERE k = 1"
        )
