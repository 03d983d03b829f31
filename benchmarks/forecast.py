"""Benchmark ARIMA_PLUS (issue 14): CREATE MODEL over many daily series against the forecasting
library called directly on the same data and cores, the forecasts' accuracy on a held-out month,
and ML.FORECAST's read time, in one run.

    .venv/bin/python benchmarks/forecast.py                   # 1,000 series of 2 years
    .venv/bin/python benchmarks/forecast.py --series 10000
    .venv/bin/python benchmarks/forecast.py --spark           # the Spark engine (local[2])
    .venv/bin/python benchmarks/forecast.py --series 50 --json out.json

Data: ``--series`` daily series of ``--days`` days (760: two years to train on, 30 held out), each with its own level,
trend, weekly and yearly pattern and noise, a few spikes; the last ``--horizon`` (30) days are held
out. Model: ``CREATE MODEL … OPTIONS (model_type = 'ARIMA_PLUS', time_series_id_col = ['series'],
horizon = 30)``, BigQuery's defaults otherwise.

1. **Training**: CREATE MODEL against statsforecast called directly — ``StatsForecast(models=
   [MSTL(season_length=[7, 365], trend_forecaster=AutoARIMA(seasonal=False, ic='aic',
   max_order=2, …))], n_jobs=cores).forecast(h=30, level=[95])``, the model sqlml fits per series,
   on a pandas frame read from the same table — in the same process, one after the other. sqlml's
   work per series also detects the seasons, cleans spikes and dips, and stores the forecast and
   the decomposition. Goal (issue 14): ≤ 1.3× the library.
2. **Accuracy** on the held-out days: sMAPE (Hyndman & Koehler 2006) and MASE (scaled by the
   in-sample weekly seasonal-naive MAE) of sqlml, of the library's forecast, and of the
   seasonal-naive forecast (each weekday's value of the last training week).
3. **Reading**: ``CREATE TABLE … AS SELECT * FROM ML.FORECAST(MODEL m, STRUCT(30 AS horizon))``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any


def build(con: Any, series: int, days: int) -> None:
    cur = con.cursor()
    cur.execute("SELECT setseed(0.31)")
    cur.execute(
        f"""CREATE OR REPLACE TABLE params AS
        SELECT range AS series, 50 + 450 * random() AS level, 0.1 * random() - 0.03 AS trend,
               0.1 + 0.3 * random() AS weekly, 0.05 + 0.2 * random() AS yearly,
               5 + 15 * random() AS noise
        FROM range({series})"""
    )
    cur.execute(
        f"""CREATE OR REPLACE TABLE daily AS
        SELECT series, t, CAST(DATE '2023-01-01' + INTERVAL (t) DAY AS DATE) AS day,
               (level + trend * t) * (1 + weekly * sin(2 * pi() * t / 7))
                 * (1 + yearly * sin(2 * pi() * t / 365.25))
                 + noise * (random() + random() + random() - 1.5)
                 + CASE WHEN random() < 0.003 THEN 8 * noise ELSE 0 END AS value
        FROM params, range({days}) AS d(t)"""
    )
    cur.execute("DROP TABLE params")


def library(path: str, last: int, horizon: int, cores: int) -> tuple[float, Any]:
    """statsforecast on the training days, read from the DuckDB file; (seconds, forecasts)."""
    import duckdb
    from statsforecast import StatsForecast
    from statsforecast.models import MSTL, AutoARIMA

    started = time.perf_counter()
    con = duckdb.connect(path, read_only=True)
    frame = con.sql(
        f"SELECT series AS unique_id, day AS ds, value AS y FROM daily WHERE t < {last} "
        "ORDER BY series, t"
    ).df()
    con.close()
    trend = AutoARIMA(seasonal=False, ic="aic", max_p=2, max_q=2, max_order=2)
    model = MSTL(season_length=[7, 365], trend_forecaster=trend)
    forecast = StatsForecast(models=[model], freq="D", n_jobs=cores).forecast(
        df=frame, h=horizon, level=[95]
    )
    return time.perf_counter() - started, forecast


def accuracy(path: str, last: int, horizon: int, mine: Any, theirs: Any) -> dict[str, Any]:
    """sMAPE and MASE of the three forecasts on the held-out days."""
    import duckdb
    import numpy as np

    con = duckdb.connect(path, read_only=True)
    table = con.sql("SELECT series, t, value FROM daily ORDER BY series, t").fetchnumpy()
    con.close()
    series = np.asarray(table["series"])
    values = np.asarray(table["value"], dtype=float)
    count = int(series.max()) + 1
    values = values.reshape(count, -1)
    train, actual = values[:, :last], values[:, last : last + horizon]
    scale = np.mean(np.abs(train[:, 7:] - train[:, :-7]), axis=1, keepdims=True)
    week = train[:, -7:]
    naive = np.tile(week, (1, horizon // 7 + 1))[:, :horizon]
    forecasts = {"seasonal_naive": naive}
    forecasts["sqlml"] = _by_series(mine, count, horizon)
    forecasts["library"] = theirs["MSTL"].to_numpy(dtype=float).reshape(count, horizon)
    out = {}
    for name, predicted in forecasts.items():
        smape = 2 * np.abs(predicted - actual) / (np.abs(predicted) + np.abs(actual))
        out[name] = {
            "smape": float(np.nanmean(smape)),
            "mase": float(np.nanmean(np.abs(predicted - actual) / scale)),
        }
    return out


def _by_series(rows: list[tuple[int, float]], count: int, horizon: int) -> Any:
    import numpy as np

    out = np.full((count, horizon), np.nan)
    position: dict[int, int] = {}
    for series, value in rows:
        step = position.get(series, 0)
        out[series, step] = value
        position[series] = step + 1
    return out


def _connect(path: str, spark: bool) -> Any:
    import sqlml

    if not spark:
        return sqlml.connect(path)
    config = {
        "spark.ui.enabled": "false",
        "spark.sql.shuffle.partitions": "2",
        "spark.sql.warehouse.dir": str(Path(path).with_suffix(".warehouse")),
        "spark.driver.memory": "4g",
    }
    return sqlml.connect(engine="spark", spark_master="local[2]", config=config)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=1000)
    parser.add_argument(
        "--days", type=int, default=760, help="history and held-out days (2 years + 30)"
    )
    parser.add_argument("--horizon", type=int, default=30)
    parser.add_argument("--spark", action="store_true", help="on the Spark engine (local[2])")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="sqlml-forecast-")
    try:
        run(args, str(Path(folder) / "bench.duckdb"))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def run(args: argparse.Namespace, path: str) -> None:
    import duckdb
    import statsforecast.models  # noqa: F401  (imported before either timing: warm calls)

    import sqlml

    with sqlml.connect(path) as con:
        build(con, args.series, args.days)
    last = args.days - args.horizon
    con = _connect(path, args.spark)
    if args.spark:  # the same rows as the Spark session's table
        source = duckdb.connect(path, read_only=True)
        frame = con.executor.backend.spark.createDataFrame(
            source.sql("SELECT * FROM daily").arrow().read_all()
        )
        source.close()
        frame.createOrReplaceTempView("daily")
    cur = con.cursor()
    started = time.perf_counter()
    cur.execute(
        "CREATE OR REPLACE MODEL m OPTIONS (model_type = 'ARIMA_PLUS', "
        "time_series_timestamp_col = 'day', time_series_data_col = 'value', "
        f"time_series_id_col = ['series'], horizon = {args.horizon}) "
        f"AS SELECT series, day, value FROM daily WHERE t < {last}"
    )
    sqlml_s = time.perf_counter() - started
    started = time.perf_counter()
    cur.execute("DROP TABLE IF EXISTS forecasts")
    cur.execute(
        "CREATE TABLE forecasts AS SELECT * FROM "
        f"ML.FORECAST(MODEL m, STRUCT({args.horizon} AS horizon))"
    )
    read_s = time.perf_counter() - started
    cur.execute("SELECT series, forecast_value FROM forecasts ORDER BY series, forecast_timestamp")
    mine = cur.fetchall()
    cur.execute("SELECT count(*) FROM ML.ARIMA_EVALUATE(MODEL m) WHERE error_message IS NULL")
    (fitted,) = cur.fetchone()
    path_taken = con.executor.catalog.get("m").training_info.get("training_path")
    con.close()
    cores = os.cpu_count() or 1
    library_s, theirs = library(path, last, args.horizon, cores)
    report = {
        "benchmark": "forecast",
        "date": time.strftime("%Y-%m-%d"),
        "engine": "spark local[2]" if args.spark else "duckdb",
        "machine": {"cores": cores, "python": platform.python_version()},
        "series": args.series,
        "series_fitted": fitted,
        "training_path": path_taken,
        "days": args.days,
        "horizon": args.horizon,
        "create_model_s": sqlml_s,
        "library_s": library_s,
        "ratio_create_model_vs_library": sqlml_s / library_s,
        "ml_forecast_read_s": read_s,
        "ml_forecast_rows": len(mine),
        "accuracy": accuracy(path, last, args.horizon, mine, theirs),
    }
    print(json.dumps(report, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
