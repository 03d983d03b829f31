"""engine='auto' with a real local[2] Spark (the session-scoped ``spark`` fixture): large files run on
Spark, a model trained there lives in the DuckDB catalog and scores on DuckDB, and survives the
file being reopened without Spark.

Expected values come from numpy on the rows written here, or from ONNX Runtime run here on the
bytes stored in the DuckDB file; never from sqlml's own output.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import onnxruntime as ort
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import sqlml

pytestmark = [pytest.mark.spark, pytest.mark.slow]

N = 120


def write_rows(path: Path) -> pa.Table:
    """y = 3·x1 − 2·x2 + 1 exactly; ``cat`` cycles p, q, r."""
    i = np.arange(N)
    x1 = (i - 60) / 10.0
    x2 = ((i * 7) % 11).astype(np.float64)
    table = pa.table(
        {"x1": x1, "x2": x2, "cat": np.array(["p", "q", "r"])[i % 3], "y": 3 * x1 - 2 * x2 + 1}
    )
    pq.write_table(table, path)
    return table


def test_large_files_run_on_spark_with_the_rows_duckdb_gives(spark: Any, tmp_path: Path) -> None:
    path = tmp_path / "big.parquet"
    table = write_rows(path)
    csv = tmp_path / "big.csv"
    csv.write_text("a,b\n" + "".join(f"{k},{k % 4}\n" for k in range(30)))
    query = f"SELECT cat, count(*) AS n, sum(x2) AS s FROM '{path}' GROUP BY cat ORDER BY cat"
    cats = np.array(table.column("cat").to_pylist())
    x2 = table.column("x2").to_numpy()
    expected = [(c, int((cats == c).sum()), float(x2[cats == c].sum())) for c in ("p", "q", "r")]

    con = sqlml.connect(str(tmp_path / "w.duckdb"), spark=spark, spark_threshold=1)
    try:
        cur = con.execute(query)
        assert cur.engine == "spark"
        assert cur.engine_reason.startswith("reads 1 Parquet file of ")
        assert cur.fetchall() == expected
        # spark_partition_id() exists only in Spark: the statement really ran there
        cur = con.execute(f"SELECT spark_partition_id() >= 0 AS ok, x1 FROM '{path}' LIMIT 1")
        assert cur.fetchall() == [(True, -6.0)]
        cur = con.execute(f"SELECT b, count(*) FROM read_csv_auto('{csv}') GROUP BY b ORDER BY b")
        assert cur.engine == "spark" and cur.fetchall() == [(0, 8), (1, 8), (2, 7), (3, 7)]
        con.execute("SET sqlml.spark_threshold = '1GiB'")
        cur = con.execute(query)
        assert cur.engine == "duckdb" and cur.fetchall() == expected
        # the file views are dropped after each statement
        assert not [t.name for t in spark.catalog.listTables() if t.name.startswith("__sqlml_file")]
    finally:
        con.close()
    assert spark.sql("SELECT 1").collect()[0][0] == 1  # a session passed in stays running


def test_model_trained_on_spark_is_in_duckdb_and_scores_there(spark: Any, tmp_path: Path) -> None:
    path = tmp_path / "train.parquet"
    write_rows(path)
    database = str(tmp_path / "w.duckdb")
    con = sqlml.connect(database, spark=spark, spark_threshold="1kB", local_training_rows=50)
    try:
        con.execute("CREATE TABLE fresh AS SELECT i / 4 AS x1, i % 5 AS x2 FROM range(12) r(i)")
        cur = con.execute(
            "CREATE MODEL lin OPTIONS (model_type = 'linear_reg', input_label_cols = ['y']) "
            f"AS SELECT x1, x2, y FROM read_parquet('{path}')"
        )
        assert cur.engine == "spark"
        cur = con.execute(
            "SELECT x1, x2, predicted_y FROM ML.PREDICT(MODEL lin, TABLE fresh) ORDER BY x1, x2"
        )
        assert cur.engine == "duckdb"
        predicted = cur.fetchall()
        # the same model scored on the executors, over the large file, spliced into a query
        cur = con.execute(
            "SELECT x1, x2, predicted_y FROM ML.PREDICT(MODEL lin, "
            f"(SELECT x1, x2 FROM '{path}' WHERE x1 < -5.5)) AS p WHERE x2 >= 0 ORDER BY x1"
        )
        assert cur.engine == "spark"
        on_spark = cur.fetchall()
        assert [r[0] for r in on_spark] == [-6.0, -5.9, -5.8, -5.7, -5.6]
        for x1_, x2_, y_ in on_spark:
            assert y_ == pytest.approx(3 * x1_ - 2 * x2_ + 1, abs=1e-3)
    finally:
        con.close()

    raw = duckdb.connect(database, read_only=True)
    info, versions, onnx = raw.execute(
        "SELECT training_info, library_versions, onnx FROM sqlml.models WHERE name = 'lin'"
    ).fetchone()
    raw.close()
    assert json.loads(info)["training_path"] == "spark_mllib"  # MLlib on the executors
    assert json.loads(versions)["engine"].startswith("spark ")
    x1 = np.array([r[0] for r in predicted], dtype=np.float32).reshape(-1, 1)
    x2 = np.array([r[1] for r in predicted], dtype=np.float32).reshape(-1, 1)
    session = ort.InferenceSession(bytes(onnx), providers=["CPUExecutionProvider"])
    direct = session.run(None, {"x1": x1, "x2": x2})[0].ravel()
    mine = np.array([r[2] for r in predicted])
    np.testing.assert_allclose(mine, direct, atol=1e-6)
    np.testing.assert_allclose(mine, 3 * x1.ravel() - 2 * x2.ravel() + 1, atol=1e-3)

    with sqlml.connect(database) as again:  # DuckDB alone: the model is in the file
        assert again.engine == "duckdb"
        cur = again.execute(
            "SELECT predicted_y FROM ML.PREDICT(MODEL lin, TABLE fresh) ORDER BY x1, x2"
        )
        np.testing.assert_allclose([r[0] for r in cur.fetchall()], mine, atol=1e-9)


def test_a_partitioned_model_trained_on_spark_scores_on_duckdb_and_back(
    spark: Any, tmp_path: Path
) -> None:
    # issue 13: each group's model trained in a task on the executors, stored in the DuckDB
    # catalog (sqlml.model_groups of the file), scoring on either engine: y = (3 + g)·x1 − 2·x2 + 1
    path = tmp_path / "groups.parquet"
    i = np.arange(N)
    g = i % 2
    x1, x2 = (i - 60) / 10.0, ((i * 7) % 11).astype(np.float64)
    pq.write_table(pa.table({"g": g, "x1": x1, "x2": x2, "y": (3 + g) * x1 - 2 * x2 + 1}), path)
    database = str(tmp_path / "w.duckdb")
    con = sqlml.connect(database, spark=spark, spark_threshold="1kB", local_training_rows=50)
    try:
        con.execute(
            "CREATE TABLE fresh AS SELECT i % 2 AS g, i / 4 AS x1, i % 5 AS x2 FROM range(12) r(i)"
        )
        cur = con.execute(
            "CREATE MODEL per_g PARTITION BY g OPTIONS (model_type = 'linear_reg', "
            f"input_label_cols = ['y']) AS SELECT g, x1, x2, y FROM read_parquet('{path}')"
        )
        assert cur.engine == "spark"
        cur = con.execute("SELECT g, x1, x2, predicted_y FROM ML.PREDICT(MODEL per_g, TABLE fresh)")
        assert cur.engine == "duckdb"
        here = cur.fetchall()
        assert len(here) == 12
        cur = con.execute(
            "SELECT g, x1, x2, predicted_y FROM ML.PREDICT(MODEL per_g, "
            f"(SELECT g, x1, x2 FROM '{path}' WHERE x1 < -5.5))"
        )
        assert cur.engine == "spark"
        there = cur.fetchall()
        assert len(there) == 5
        for g_, x1_, x2_, y_ in here + there:
            assert y_ == pytest.approx((3 + g_) * x1_ - 2 * x2_ + 1, abs=1e-3)
    finally:
        con.close()
    raw = duckdb.connect(database, read_only=True)
    (info,) = raw.execute("SELECT training_info FROM sqlml.models WHERE name = 'per_g'").fetchone()
    groups = raw.execute(
        "SELECT group_key, status FROM sqlml.model_groups WHERE name = 'per_g' ORDER BY 1"
    ).fetchall()
    raw.close()
    assert json.loads(info)["training_path"].endswith("on the executors")
    assert groups == [("[0]", "trained"), ("[1]", "trained")]
