"""examples/shops (issue 13): the per-shop sliding-window retraining runs as one SQL script, the
same on DuckDB and on Spark, and its RMSE figures are those of scikit-learn run per group by hand.

``generate.sql`` makes the weekly sales (DuckDB SQL, run once here); each engine gets the same
rows as its ``sales`` table, runs ``pipeline.sql`` statement by statement, and the RMSE by year
and by shop it prints must equal the ones computed here: for every (shop, window) with at least
``min_group_rows`` = 100 training weeks, scikit-learn's LinearRegression fitted on the window's
first two years (linear_reg with no penalty; fewer than 500 rows: no evaluation split, as
BigQuery's AUTO_SPLIT) predicts the third.
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
FOLDER = ROOT / "examples" / "shops"
FEATURES = ("attr1", "attr2", "attr3")


@pytest.fixture(scope="module")
def sales() -> pa.Table:
    with sqlml.connect() as con:
        cur = con.cursor()
        for statement in split_statements((FOLDER / "generate.sql").read_text()):
            cur.execute(statement.sql)
        cur.execute("SELECT * FROM sales ORDER BY shop_id, year, week")
        return cur.fetch_arrow_table()


def by_hand(sales: pa.Table) -> tuple[dict[int, float], dict[int, float], int]:
    """RMSE by year and by shop of the sliding-window models, fitted with scikit-learn."""
    from sklearn.linear_model import LinearRegression

    rows: dict[tuple[int, int], list[dict[str, Any]]] = defaultdict(list)
    for row in sales.to_pylist():
        rows[(row["shop_id"], row["year"])].append(row)
    last = max(year for _, year in rows)
    errors_by_year: dict[int, list[float]] = defaultdict(list)
    errors_by_shop: dict[int, list[float]] = defaultdict(list)
    for shop in sorted({shop for shop, _ in rows}):
        for start in range(min(y for _, y in rows), last - 1):
            train = rows.get((shop, start), []) + rows.get((shop, start + 1), [])
            test = rows.get((shop, start + 2), [])
            if len(train) < 100 or not test:
                continue
            x = np.array([[r[f] for f in FEATURES] for r in train], dtype=float)
            y = np.array([r["sales"] for r in train])
            model = LinearRegression().fit(x, y)
            predicted = model.predict(np.array([[r[f] for f in FEATURES] for r in test], float))
            residuals = predicted - np.array([r["sales"] for r in test])
            errors_by_year[start + 2] += residuals.tolist()
            errors_by_shop[shop] += residuals.tolist()
    rmse = lambda e: float(np.sqrt(np.mean(np.square(e))))  # noqa: E731
    count = sum(len(e) for e in errors_by_year.values())
    return (
        {k: rmse(v) for k, v in errors_by_year.items()},
        {k: rmse(v) for k, v in errors_by_shop.items()},
        count,
    )


@pytest.mark.slow
def test_the_pipeline_gives_scikit_learns_rmse_per_shop_and_year(
    backend: Any,  # noqa: F811
    sales: pa.Table,
) -> None:
    backend.load("sales", sales)
    results = []
    try:
        for statement in split_statements((FOLDER / "pipeline.sql").read_text()):
            cur = backend.run(statement.sql)
            if cur.description is not None:
                results.append(cur.fetchall())
        (predicted,) = backend.rows("SELECT count(*) FROM predictions")[0]
    finally:
        if backend.spark is not None:
            for table in ("windows", "predictions"):
                backend.spark.sql(f"DROP TABLE IF EXISTS {table}")
    statuses, by_year, by_shop = results
    want_year, want_shop, count = by_hand(sales)
    assert predicted == count
    trained = dict(statuses)["trained"]
    assert trained == _windows_trained(sales)
    assert dict(statuses)["skipped"] > 0  # the shops that opened late
    assert {year: rmse for year, rmse, _ in by_year} == pytest.approx(want_year, abs=1.5e-3)
    assert {shop: rmse for shop, rmse, _ in by_shop} == pytest.approx(want_shop, abs=1.5e-3)
    # the late openers: a shop with fewer than three years has no predictions
    years = defaultdict(set)
    for row in sales.select(["shop_id", "year"]).to_pylist():
        years[row["shop_id"]].add(row["year"])
    assert {shop for shop, y in years.items() if len(y) < 3}.isdisjoint(want_shop)
    assert {shop for shop, y in years.items() if len(y) < 3}.isdisjoint(
        {shop for shop, _, _ in by_shop}
    )


def _windows_trained(sales: pa.Table) -> int:
    """(shop, window) groups with two full years to learn from: 104 weeks ≥ min_group_rows."""
    weeks: dict[tuple[int, int], int] = defaultdict(int)
    for row in sales.select(["shop_id", "year"]).to_pylist():
        weeks[(row["shop_id"], row["year"])] += 1
    last = max(y for _, y in weeks)
    starts = range(min(y for _, y in weeks), last - 1)
    shops = {s for s, _ in weeks}
    return sum(
        1
        for shop in shops
        for start in starts
        if weeks.get((shop, start), 0) + weeks.get((shop, start + 1), 0) >= 100
    )


@pytest.mark.slow
def test_the_example_runs_from_the_readme_command(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "sqlml.cli",
            "-d",
            str(tmp_path / "shops.duckdb"),
            "-f",
            str(FOLDER / "generate.sql"),
            "-f",
            str(FOLDER / "pipeline.sql"),
        ],
        capture_output=True,
        text=True,
        timeout=HANG,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "727 of 741 groups trained, 14 skipped" in result.stderr  # the NOTICE
    assert "year | rmse" in result.stdout and "shop_id | rmse" in result.stdout
