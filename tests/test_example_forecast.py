"""examples/forecast (issue 14): a month's forecast of 200 shops' daily sales runs as one SQL script,
the same on DuckDB and on Spark; the broken series are reported, not fatal, and the forecast beats
the seasonal-naive baseline on the held-out month.

``generate.sql`` makes the sales (DuckDB SQL, run once here); each engine gets the same rows as its
``sales`` table and runs ``forecast.sql`` statement by statement. The baseline and the accuracy
figures are recomputed here with numpy from the generated rows (sMAPE as Hyndman & Koehler, 2006,
define it: the mean of 2 |f - a| / (|f| + |a|)).
"""

from __future__ import annotations

import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from engine_fixture import backend  # noqa: F401  (the fixture)
from hang import HANG

import sqlml
from sqlml.sql import split_statements

ROOT = Path(__file__).resolve().parent.parent
FOLDER = ROOT / "examples" / "forecast"
START = 670  # day index of 2024-11-01: the forecast's first day
TABLES = ("forecast", "november")


@pytest.fixture(scope="module")
def sales() -> pa.Table:
    with sqlml.connect() as con:
        cur = con.cursor()
        for statement in split_statements((FOLDER / "generate.sql").read_text()):
            cur.execute(statement.sql)
        cur.execute("SELECT * FROM sales ORDER BY shop_id, t")
        return cur.fetch_arrow_table()


def smape(forecast: np.ndarray, actual: np.ndarray) -> float:
    return float(np.mean(2 * np.abs(forecast - actual) / (np.abs(forecast) + np.abs(actual))))


def seasonal_naive(sales: pa.Table, skip: set[int]) -> tuple[float, int]:
    """sMAPE of repeating each shop's last training week over November, and the days scored."""
    by_shop: dict[int, dict[int, float]] = defaultdict(dict)
    for row in sales.to_pylist():
        if row["sales"] is not None:
            by_shop[row["shop_id"]][row["t"]] = row["sales"]
    forecast, actual = [], []
    for shop, days in by_shop.items():
        if shop in skip:
            continue
        for t in range(START, START + 30):
            naive = t - 7 * ((t - START) // 7 + 1)
            if t in days and naive in days:
                forecast.append(days[naive])
                actual.append(days[t])
    return smape(np.array(forecast), np.array(actual)), len(actual)


@pytest.mark.slow
def test_the_forecast_beats_the_seasonal_naive_one_on_both_engines(
    backend: Any,  # noqa: F811
    sales: pa.Table,
) -> None:
    backend.load("sales", sales)
    results = []
    try:
        for statement in split_statements((FOLDER / "forecast.sql").read_text()):
            cur = backend.run(statement.sql)
            if cur.description is not None:
                results.append(cur.fetchall())
        november = backend.rows(
            "SELECT shop_id, actual, forecast_value, low, high, seasonal_naive FROM november"
        )
        per_shop = dict(backend.rows("SELECT shop_id, count(*) FROM forecast GROUP BY shop_id"))
    finally:
        if backend.spark is not None:
            for table in TABLES:
                backend.spark.sql(f"DROP TABLE IF EXISTS {table}")
    errors, orders, accuracy, chart = results
    # shop 0 sold nothing (constant), shop 1 has two days: error rows, no forecast
    assert [shop for shop, _ in errors] == [0, 1]
    assert "constant" in errors[0][1] and "2 non-NULL points" in errors[1][1]
    assert sum(count for *_, count in orders) == 198
    # every other shop (shop 2 too, with its missing month and NULL days) has 30 days
    assert sorted(per_shop) == list(range(2, 200)) and set(per_shop.values()) == {30}
    shops, smape_arima, smape_naive, coverage = accuracy[0]
    rows = np.array([r[1:] for r in november if r[1] is not None], dtype=float)
    actual, value, low, high, naive = rows.T
    want_naive, days = seasonal_naive(sales, skip={0, 1})
    assert shops == 198 and len(actual) == days
    assert smape_naive == pytest.approx(want_naive, abs=1e-4)
    assert smape_arima == pytest.approx(smape(value, actual), abs=1e-4)
    assert smape_arima < smape_naive
    assert coverage == pytest.approx(np.mean((actual >= low) & (actual <= high)), abs=1e-3)
    assert coverage >= 0.85  # a 90 % interval
    # the chart query: 56 days of history, then the 30 forecast days with their interval
    assert len(chart) == 86
    assert all(r[2] is None for r in chart[:56]) and all(r[1] is None for r in chart[56:])
    assert all(r[3] < r[2] < r[4] for r in chart[56:])


@pytest.mark.slow
def test_the_example_runs_from_the_readme_command(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "sqlml.cli",
            "-d",
            str(tmp_path / "forecast.duckdb"),
            "-f",
            str(FOLDER / "generate.sql"),
            "-f",
            str(FOLDER / "forecast.sql"),
        ],
        capture_output=True,
        text=True,
        timeout=HANG,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert "smape_arima_plus" in result.stdout and "the series is constant" in result.stdout
