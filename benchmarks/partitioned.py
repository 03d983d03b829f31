"""Benchmark one model per group (issue 13): CREATE MODEL … PARTITION BY against fitting the same
groups by hand, and ML.PREDICT of the partitioned model against a single model's, in one run.

    .venv/bin/python benchmarks/partitioned.py                       # 10,000 groups × 200 rows
    .venv/bin/python benchmarks/partitioned.py --groups 1000 --spark # the Spark engine, 1,000
    .venv/bin/python benchmarks/partitioned.py --groups 200 --predict-rows 50000 --json out.json

Data: ``--groups`` groups of ``--rows-per-group`` rows, three DOUBLE features and a label whose
relation to them differs per group. Model: ``boosted_tree_regressor`` with explicit options
(20 rounds, depth 6, learn rate 0.3, no early stopping), so the hand-written reference fits the
very same XGBoost models (``--model-type linear_reg``: scikit-learn's LinearRegression).

1. **Training** (each in one run, same data, same cores): ``CREATE MODEL … PARTITION BY g`` with
   ``fallback = 'none'`` (like for like) and with the default fallback (one more model on all
   rows); by hand: the rows read from DuckDB, split by group with numpy, and fitted in a joblib
   pool over the machine's cores — XGBoost (or scikit-learn) alone, and fit plus onnxmltools'
   (skl2onnx's) ONNX conversion, the part of sqlml's work a user who scores elsewhere also needs.
   sqlml's work per group also proves the ONNX graph against the model and evaluates it.
2. **Scoring**: ``CREATE TABLE … AS SELECT * FROM ML.PREDICT(MODEL m, TABLE p)`` over
   ``--predict-rows`` rows spread over the groups, against one model (trained without PARTITION BY
   on a sample of the same rows) scoring the same rows; each in a fresh process, whose peak
   resident memory above its start is reported.
Goals (issue 13): training ≤ 1.1× the hand-written fit; scoring ≤ 2× the single model's.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

OPTIONS = {
    "boosted_tree_regressor": (
        "model_type = 'boosted_tree_regressor', input_label_cols = ['y'], max_iterations = 20, "
        "learn_rate = 0.3, max_tree_depth = 6, early_stop = FALSE"
    ),
    "linear_reg": "model_type = 'linear_reg', input_label_cols = ['y']",
}


def build(con: Any, groups: int, rows: int, predict_rows: int) -> None:
    cur = con.cursor()
    cur.execute("SELECT setseed(0.5)")
    cur.execute(
        f"""CREATE OR REPLACE TABLE train AS
        WITH r AS (SELECT i // {rows} AS g, random() AS x1, random() AS x2, random() AS x3
                   FROM range({groups * rows}) AS t(i))
        SELECT g, x1, x2, x3,
               (g % 7 - 3) * x1 + sin(g) * x2 * x2 + (g % 5) * x3 + 0.1 * random() AS y
        FROM r"""
    )
    cur.execute(
        f"""CREATE OR REPLACE TABLE p AS
        SELECT i % {groups} AS g, random() AS x1, random() AS x2, random() AS x3
        FROM range({predict_rows}) AS t(i)"""
    )


def _fit_group(model_type: str, x: Any, y: Any, convert: bool) -> int:
    """One group by hand (in a joblib worker): fitted, and with ``convert`` its ONNX bytes."""
    import numpy as np

    if model_type == "linear_reg":
        from sklearn.linear_model import LinearRegression

        model = LinearRegression().fit(x, y)
        if not convert:
            return 0
        from skl2onnx import to_onnx

        return len(to_onnx(model, x[:1].astype(np.float32)).SerializeToString())
    import xgboost

    model = xgboost.XGBRegressor(
        n_estimators=20, learning_rate=0.3, max_depth=6, tree_method="hist", n_jobs=1
    ).fit(x, y)
    if not convert:
        return len(model.get_booster().save_raw())
    from onnxmltools import convert_xgboost
    from onnxmltools.convert.common.data_types import FloatTensorType

    graph = convert_xgboost(model, initial_types=[("x", FloatTensorType([None, x.shape[1]]))])
    return len(graph.SerializeToString())


def by_hand(path: str, model_type: str, convert: bool) -> float:
    import duckdb
    import numpy as np
    from joblib import Parallel, delayed

    started = time.perf_counter()
    con = duckdb.connect(path, read_only=True)
    table = con.sql("SELECT g, x1, x2, x3, y FROM train ORDER BY g").fetchnumpy()
    con.close()
    g = np.asarray(table["g"])
    x = np.column_stack([np.asarray(table[c]) for c in ("x1", "x2", "x3")])
    y = np.asarray(table["y"])
    _, starts = np.unique(g, return_index=True)
    bounds = list(zip(starts, [*starts[1:], len(g)], strict=True))
    Parallel(n_jobs=os.cpu_count() or 1, batch_size="auto")(
        delayed(_fit_group)(model_type, x[a:b], y[a:b], convert) for a, b in bounds
    )
    return time.perf_counter() - started


def create_model(con: Any, sql: str) -> float:
    started = time.perf_counter()
    con.cursor().execute(sql)
    return time.perf_counter() - started


def score_child(path: str, model: str, spark: bool) -> None:
    """In a fresh process: ML.PREDICT of ``model`` over p into a table; prints JSON."""

    def status(field: str) -> int:
        with open("/proc/self/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
        return 0

    con = _connect(path, spark)
    if spark:  # a new session's in-memory catalog does not know the first one's tables
        session = con.executor.backend.spark
        folder = _spark_config(path)["spark.sql.warehouse.dir"]
        session.read.parquet(f"{folder}/p").createOrReplaceTempView("p")
    before = status("VmRSS")
    started = time.perf_counter()
    con.cursor().execute(
        f"CREATE OR REPLACE TABLE scored_{model} AS SELECT * FROM ML.PREDICT(MODEL {model}, TABLE p)"
    )
    seconds = time.perf_counter() - started
    rows = con.cursor().execute(f"SELECT count(*) FROM scored_{model}").fetchone()[0]
    print(
        json.dumps(
            {"seconds": seconds, "rows": rows, "peak_mib": (status("VmHWM") - before) / 1024}
        )
    )
    con.close()


def _connect(path: str, spark: bool) -> Any:
    import sqlml

    if not spark:
        return sqlml.connect(path)
    return sqlml.connect(engine="spark", spark_master="local[2]", config=_spark_config(path))


def _spark_config(path: str) -> dict[str, str]:
    return {
        "spark.ui.enabled": "false",
        "spark.sql.shuffle.partitions": "2",
        "spark.sql.warehouse.dir": str(Path(path).with_suffix(".warehouse")),
        "spark.driver.memory": "4g",
    }


def score(path: str, model: str, spark: bool) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, __file__, "--score-child", model, "--path", path]
        + (["--spark"] if spark else []),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(done.stderr[-4000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def _spark_tables(con: Any, path: str) -> None:
    """The DuckDB tables as the Spark warehouse's (same rows on both engines)."""
    import duckdb

    spark = con.executor.backend.spark
    source = duckdb.connect(path, read_only=True)
    for name in ("train", "p"):
        frame = spark.createDataFrame(source.sql(f"SELECT * FROM {name}").arrow().read_all())
        spark.sql(f"DROP TABLE IF EXISTS {name}")
        frame.write.saveAsTable(name)
    source.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--groups", type=int, default=10_000)
    parser.add_argument("--rows-per-group", type=int, default=200)
    parser.add_argument("--predict-rows", type=int, default=1_000_000)
    parser.add_argument("--model-type", choices=sorted(OPTIONS), default="boosted_tree_regressor")
    parser.add_argument("--spark", action="store_true", help="on the Spark engine (local[2])")
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--score-child", help=argparse.SUPPRESS)
    parser.add_argument("--path", help=argparse.SUPPRESS)
    parser.add_argument("--keep", action="store_true", help="keep the temporary DuckDB file")
    args = parser.parse_args()
    if args.score_child:
        score_child(args.path, args.score_child, args.spark)
        return
    folder = tempfile.mkdtemp(prefix="sqlml-partitioned-")
    try:
        run(args, str(Path(folder) / "bench.duckdb"))
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
        else:
            print(f"kept {folder}")


def run(args: argparse.Namespace, path: str) -> None:
    import sqlml

    with sqlml.connect(path) as con:
        build(con, args.groups, args.rows_per_group, args.predict_rows)
    options = OPTIONS[args.model_type]
    con = _connect(path, args.spark)
    if args.spark:
        _spark_tables(con, path)
    cores = os.cpu_count() or 1
    results: dict[str, Any] = {}
    results["sqlml_fallback_none_s"] = create_model(
        con,
        f"CREATE OR REPLACE MODEL m PARTITION BY g OPTIONS ({options}, fallback = 'none') "
        "AS SELECT * FROM train",
    )
    results["sqlml_fallback_global_s"] = create_model(
        con,
        f"CREATE OR REPLACE MODEL m PARTITION BY g OPTIONS ({options}) AS SELECT * FROM train",
    )
    sample = max(args.rows_per_group, min(200_000, args.groups * args.rows_per_group // 10))
    create_model(
        con,
        f"CREATE OR REPLACE MODEL single OPTIONS ({options}) "
        f"AS SELECT x1, x2, x3, y FROM train USING SAMPLE {sample} ROWS"
        if not args.spark
        else f"CREATE OR REPLACE MODEL single OPTIONS ({options}) "
        f"AS SELECT x1, x2, x3, y FROM train LIMIT {sample}",
    )
    (trained,) = (
        con.cursor()
        .execute("SELECT count(*) FROM ML.GROUP_INFO(MODEL m) WHERE status = 'trained'")
        .fetchone()
    )
    con.close()
    results["hand_fit_s"] = by_hand(path, args.model_type, convert=False)
    results["hand_fit_and_onnx_s"] = by_hand(path, args.model_type, convert=True)
    partitioned = score(path, "m", args.spark)
    single = score(path, "single", args.spark)
    report = {
        "benchmark": "partitioned",
        "date": time.strftime("%Y-%m-%d"),
        "engine": "spark local[2]" if args.spark else "duckdb",
        "machine": {"cores": cores, "python": platform.python_version()},
        "groups": args.groups,
        "groups_trained": trained,
        "rows_per_group": args.rows_per_group,
        "model_type": args.model_type,
        "options": options,
        "training": results,
        "ratio_training_vs_hand_fit": results["sqlml_fallback_none_s"] / results["hand_fit_s"],
        "ratio_training_vs_hand_fit_and_onnx": results["sqlml_fallback_none_s"]
        / results["hand_fit_and_onnx_s"],
        "predict_rows": args.predict_rows,
        "scoring_partitioned": partitioned,
        "scoring_single": single,
        "ratio_scoring_vs_single": partitioned["seconds"] / single["seconds"],
    }
    print(json.dumps(report, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
