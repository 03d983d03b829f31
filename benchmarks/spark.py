"""Benchmark the Spark engine: ML.PREDICT against a scan, MLlib training against scikit-learn.

    python benchmarks/spark.py [--sizes 1000000,4000000] [--train-fraction 0.25] [--reps 3]
                               [--master local[2]] [--json PATH] [--no-boosting]

Data, per size N: ``spark.range(N)`` with 20 DOUBLE features ``f1..f20 = rand(seed_i) * 2 - 1`` and
a BIGINT label (a linear term, an interaction, a ``sin`` and noise), cached and counted before any
timing, registered as the temporary view ``t``. Training reads ``t_train``: a seeded ``sample`` of
``t`` of ``--train-fraction`` of its rows (cached and counted too), so that training on 2 cores stays
within minutes; Spark and scikit-learn train on exactly those rows.

Scoring (median of ``--reps`` interleaved rounds; every job triggered the same way, with
``.write.format("noop").mode("overwrite").save()``):

* ``scan``: the cached DataFrame itself written to ``noop`` (reading only);
* ``identity mapInArrow``: the same rows through a Python ``mapInArrow`` that returns its batches
  unchanged (Arrow to a Python worker and back: the floor for any Python-side scoring);
* ``ML.PREDICT``: the DataFrame sqlml builds for ``SELECT * FROM ML.PREDICT(MODEL m, TABLE t)``
  (``SparkBackend.score_relation``, the code the SQL statement runs) written to ``noop``: Spark
  expressions when the graph compiles (``spark_scoring='auto'``), else mapInArrow;
* ``ML.PREDICT (arrow)``: the same forced through mapInArrow (``spark_scoring='arrow'``).

Training: ``CREATE MODEL … OPTIONS (engine = 'spark', …) AS SELECT * FROM t_train`` (``engine =
'spark'`` trains on the executors whatever the row count: MLlib, XGBoost for boosted trees) for
``logistic_reg`` and a ``boosted_tree_classifier`` (20 rounds, depth 5), against collecting
``t_train`` to the driver as Arrow + fitting the same scikit-learn / XGBoost pipeline sqlml fits
on the DuckDB engine.

Boosting (``--no-boosting`` skips it): XGBoost on the executors (sqlml's CREATE MODEL, 20 rounds of
depth 5 at 0.3, and sqlml's defaults) against Spark MLlib's ``GBTClassifier`` with the same rounds,
depth and step, fitted on the same 80 % of ``t_train``; fit seconds and roc_auc on the other 20 %.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import onnxruntime
import pyarrow as pa
import sklearn

import sqlml
from sqlml.backends.spark.backend import build_session
from sqlml.models.options import validate
from sqlml.models.registry import make_estimator
from sqlml.training.data import label_values, split_rows
from sqlml.training.pipeline import build_pipeline

FEATURES = [f"f{i}" for i in range(1, 21)]
LABEL = "label"
SEED = 42
MODELS: dict[str, dict[str, Any]] = {
    "logistic_reg": {"model_type": "logistic_reg"},
    "boosted_tree": {
        "model_type": "boosted_tree_classifier",
        "max_iterations": 20,
        "max_tree_depth": 5,
    },
}


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    value = fn()
    return time.perf_counter() - started, value


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def noop(frame: Any) -> None:
    """Run the whole job and throw the rows away: the same trigger for every scoring path."""
    frame.write.format("noop").mode("overwrite").save()


def identity(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    yield from batches


# --- data -----------------------------------------------------------------------------------------


def generate(spark: Any, rows: int) -> Any:
    from pyspark.sql import functions as F

    features = [(F.rand(SEED + i) * 2 - 1).alias(f) for i, f in enumerate(FEATURES)]
    frame = spark.range(rows).select(*features)
    score = (
        F.col("f1")
        - 0.8 * F.col("f2")
        + 0.6 * F.col("f3") * F.col("f4")
        + 0.5 * F.sin(3 * F.col("f5"))
        - 0.3 * F.col("f6")
        + 0.4 * (F.rand(SEED + 99) - 0.5)
    )
    frame = frame.withColumn(LABEL, (score > 0).cast("bigint")).cache()
    frame.count()
    return frame


# --- scoring --------------------------------------------------------------------------------------


def predict_relation(backend: Any, record: Any, sql: str) -> Any:
    """ML.PREDICT's DataFrame as the Spark backend builds it (not yet collected)."""
    from sqlml_udfs.scoring import output_fields

    return backend.score_relation(record, backend.relation(sql), None, output_fields(record.spec))


def bench_scoring(con: Any, frame: Any, view: str, model: str, reps: int) -> dict[str, Any]:
    """Interleaved rounds of scan / identity / ML.PREDICT (as it runs by default: compiled to
    Spark expressions when the graph allows) / ML.PREDICT through mapInArrow over ``frame`` (the
    temporary view ``view``), median seconds of each."""
    backend, catalog = con._backend, con._executor.catalog
    record = catalog.get(model)
    predicted = predict_relation(backend, record, f"SELECT * FROM {view}")
    mode, backend.scoring = backend.scoring, "arrow"  # the same query forced through mapInArrow
    arrow = predict_relation(backend, record, f"SELECT * FROM {view}")
    # Start the Python workers and their ORT sessions once (a LIMIT above mapInArrow would close
    # its iterator early, which pyspark's daemon reports as a BrokenPipeError).
    noop(predict_relation(backend, record, f"SELECT * FROM {view} LIMIT 1000"))
    backend.scoring = mode
    noop(predicted)  # and Spark's code generation for the default path, outside the timings
    paths = {
        "scan": lambda: noop(frame),
        "identity": lambda: noop(frame.mapInArrow(identity, frame.schema)),
        "predict": lambda: noop(predicted),
        "predict (arrow)": lambda: noop(arrow),
    }
    runs: dict[str, list[float]] = {name: [] for name in paths}
    for _ in range(reps):
        for name, fn in paths.items():
            runs[name].append(timed(fn)[0])
    return {name: {"seconds": statistics.median(r), "runs": r} for name, r in runs.items()}


# --- training -------------------------------------------------------------------------------------


def bench_training(con: Any, spark: Any, name: str, options: dict[str, Any]) -> dict[str, Any]:
    cur = con.cursor()
    settings = ", ".join(
        f"{k} = {v!r}" if isinstance(v, str) else f"{k} = {v}" for k, v in options.items()
    )
    statement = (
        f"CREATE OR REPLACE MODEL {name} OPTIONS ({settings}, engine = 'spark', "
        f"input_label_cols = ['{LABEL}']) AS SELECT * FROM t_train"
    )
    spark_s, _ = timed(lambda: cur.execute(statement))
    info = con._executor.catalog.get(name).training_info
    assert info.get("training_path") == "spark_mllib", info.get("training_path")

    collect_s, table = timed(lambda: spark.table("t_train").toArrow())
    checked = validate({**options, "input_label_cols": [LABEL]}, name)
    train_idx, _ = split_rows(table, checked, name)  # CREATE MODEL's AUTO_SPLIT, as on DuckDB
    x = table.select(FEATURES).take(train_idx).to_pandas()
    y = label_values(table.column(LABEL).take(train_idx), "classification", name, LABEL)
    pipeline = build_pipeline(
        [{"name": f, "kind": "numeric"} for f in FEATURES], make_estimator(checked, len(y))
    )
    fit_s, _ = timed(lambda: pipeline.fit(x, y))
    return {
        "create_model_seconds": spark_s,
        "mllib_fit_seconds": info.get("fit_seconds"),
        "mllib_training_rows": info.get("training_rows"),
        "collect_arrow_seconds": collect_s,
        "sklearn_fit_seconds": fit_s,
        "sklearn_training_rows": len(y),
        "ratio_vs_collect_fit": spark_s / (collect_s + fit_s),
        "ratio_fit_vs_fit": (info.get("fit_seconds") or float("nan")) / fit_s,
    }


# --- boosted trees: XGBoost on the executors against MLlib's GBT -----------------------------------

#: The same trees for both: 20 rounds of depth 5 at step 0.3 (BigQuery's rounds and rate).
BOOSTING = {"rounds": 20, "depth": 5, "rate": 0.3}


def bench_boosting(con: Any, spark: Any) -> dict[str, Any]:
    """``t_train`` split 80/20 (seeded): sqlml's CREATE MODEL (XGBoost on the executors, fixed
    rounds, NO_SPLIT so both see the same rows), its defaults (early stopping on an AUTO_SPLIT
    evaluation split, up to 500 rounds at 0.1), and Spark MLlib's GBTClassifier fitted directly
    on an assembled vector with the same rounds, depth and step; roc_auc of each on the 20 %
    computed with scikit-learn from the collected probabilities."""
    from pyspark.ml.classification import GBTClassifier
    from pyspark.ml.feature import VectorAssembler
    from pyspark.ml.functions import vector_to_array
    from pyspark.sql import functions as F
    from sklearn.metrics import roc_auc_score

    fit_rows, test_rows = spark.table("t_train").randomSplit([0.8, 0.2], seed=SEED)
    fit_rows = fit_rows.cache()
    test_rows = test_rows.cache()
    n_fit, n_test = fit_rows.count(), test_rows.count()
    fit_rows.createOrReplaceTempView("t_boost_fit")
    test_rows.createOrReplaceTempView("t_boost_test")
    truth = np.asarray(test_rows.select(LABEL).toArrow().column(0).to_numpy())
    cur = con.cursor()
    out: dict[str, Any] = {"fit_rows": n_fit, "test_rows": n_test, **BOOSTING}

    def sqlml_run(name: str, settings: str) -> dict[str, Any]:
        seconds, _ = timed(
            lambda: cur.execute(
                f"CREATE OR REPLACE MODEL {name} OPTIONS (model_type = 'boosted_tree_classifier', "
                f"input_label_cols = ['{LABEL}'], engine = 'spark'{settings}) "
                f"AS SELECT * FROM t_boost_fit"
            )
        )
        info = con._executor.catalog.get(name).training_info
        cur.execute(
            f"SELECT {LABEL}, predicted_{LABEL}_probs FROM ML.PREDICT(MODEL {name}, "
            f"TABLE t_boost_test)"
        )
        found = cur.fetchall()
        p1 = [next(p["prob"] for p in probs if p["label"] == 1) for _, probs in found]
        labels = [row[0] for row in found]
        return {
            "create_model_seconds": seconds,
            "fit_seconds": info.get("fit_seconds"),
            "rounds": info.get("iterations"),
            "roc_auc": float(roc_auc_score(labels, p1)),
        }

    fixed = f", data_split_method = 'NO_SPLIT', early_stop = FALSE, max_iterations = {BOOSTING['rounds']}, "
    fixed += f"max_tree_depth = {BOOSTING['depth']}, learn_rate = {BOOSTING['rate']}"
    out["xgboost_executors"] = sqlml_run("boost_xgb", fixed)
    out["xgboost_executors_defaults"] = sqlml_run("boost_xgb_defaults", "")

    assembled = VectorAssembler(inputCols=FEATURES, outputCol="features")
    train_vectors = assembled.transform(fit_rows).select("features", F.col(LABEL).cast("double"))
    train_vectors = train_vectors.cache()
    train_vectors.count()
    gbt = GBTClassifier(
        labelCol=LABEL,
        maxIter=BOOSTING["rounds"],
        maxDepth=BOOSTING["depth"],
        stepSize=BOOSTING["rate"],
        seed=SEED,
    )
    gbt_seconds, model = timed(lambda: gbt.fit(train_vectors))
    scored = model.transform(assembled.transform(test_rows))
    probs = scored.select(vector_to_array("probability")[1].alias("p")).toArrow()
    out["mllib_gbt"] = {
        "fit_seconds": gbt_seconds,
        "rounds": BOOSTING["rounds"],
        "roc_auc": float(roc_auc_score(truth, probs.column("p").to_numpy())),
    }
    train_vectors.unpersist()
    fit_rows.unpersist()
    test_rows.unpersist()
    xgb, mllib = out["xgboost_executors"], out["mllib_gbt"]
    out["fit_ratio_xgboost_vs_gbt"] = (xgb["fit_seconds"] or float("nan")) / mllib["fit_seconds"]
    print(
        f"  boosting on {n_fit:,} rows: XGBoost on the executors fit {xgb['fit_seconds']:.2f} s "
        f"(CREATE MODEL {xgb['create_model_seconds']:.2f} s, roc_auc {xgb['roc_auc']:.4f}); "
        f"MLlib GBT fit {mllib['fit_seconds']:.2f} s (roc_auc {mllib['roc_auc']:.4f}): "
        f"{out['fit_ratio_xgboost_vs_gbt']:.2f}x; sqlml defaults "
        f"{out['xgboost_executors_defaults']['rounds']} rounds in "
        f"{out['xgboost_executors_defaults']['create_model_seconds']:.2f} s "
        f"(roc_auc {out['xgboost_executors_defaults']['roc_auc']:.4f})",
        flush=True,
    )
    return out


# --- one size -------------------------------------------------------------------------------------


def bench_size(
    con: Any, spark: Any, rows: int, fraction: float, reps: int, folder: str, boosting: bool = True
) -> dict[str, Any]:
    print(f"\n== {rows:,} rows × 20 DOUBLE (load {load()}) ==", flush=True)
    gen_s, frame = timed(lambda: generate(spark, rows))
    frame.createOrReplaceTempView("t")
    # The same rows as a Parquet dataset, as a lake table is: its scan decodes the files.
    path = os.path.join(folder, f"t_{rows}.parquet")
    frame.write.mode("overwrite").parquet(path)
    parquet = spark.read.parquet(path)
    parquet.createOrReplaceTempView("t_parquet")
    sources = {"cached": (frame, "t"), "parquet": (parquet, "t_parquet")}
    train = frame.sample(fraction=fraction, seed=SEED) if fraction < 1 else frame
    train = train.cache()
    train_rows = train.count()
    train.createOrReplaceTempView("t_train")
    print(f"generated + cached in {gen_s:.1f} s; training rows {train_rows:,}", flush=True)
    out: dict[str, Any] = {"rows": rows, "training_rows": train_rows, "models": {}}
    for name, options in MODELS.items():
        training = bench_training(con, spark, name, options)
        scoring = {
            source: bench_scoring(con, data, view, name, reps)
            for source, (data, view) in sources.items()
        }
        out["models"][name] = {"training": training, "scoring": scoring}
        for source, timing in scoring.items():
            scan, ident = timing["scan"]["seconds"], timing["identity"]["seconds"]
            pred = timing["predict"]["seconds"]
            arrow = timing["predict (arrow)"]["seconds"]
            print(
                f"  {name:13s} {source:8s} PREDICT {pred:7.2f} s  scan {scan:6.2f} s "
                f"({pred / scan:5.2f}×)  identity mapInArrow {ident:6.2f} s ({pred / ident:5.2f}×)"
                f"  PREDICT via mapInArrow {arrow:6.2f} s ({arrow / scan:5.2f}× scan)",
                flush=True,
            )
        print(
            f"  {'':13s} CREATE MODEL {training['create_model_seconds']:7.2f} s "
            f"(MLlib fit {training['mllib_fit_seconds']} s)  sklearn collect "
            f"{training['collect_arrow_seconds']:.2f} s + fit "
            f"{training['sklearn_fit_seconds']:.2f} s  ({training['ratio_vs_collect_fit']:.2f}×)",
            flush=True,
        )
    if boosting:
        out["boosting"] = bench_boosting(con, spark)
    train.unpersist()
    frame.unpersist()
    return out


def table(results: list[dict[str, Any]], fraction: float) -> None:
    small, large = results[0], results[-1]
    grow = large["rows"] / small["rows"]
    print(f"\n{'=' * 108}")
    head = (
        f"{'model':13s} {'source':8s} {'rows':>10s} {'predict s':>9s} {'scan s':>7s} "
        f"{'×scan':>6s} {'ident s':>7s} {'×ident':>6s} {'arrow s':>7s} {'×scan':>6s}"
    )
    print(head)
    for result in results:
        for name, m in result["models"].items():
            for source, s in m["scoring"].items():
                pred, scan = s["predict"]["seconds"], s["scan"]["seconds"]
                ident, arrow = s["identity"]["seconds"], s["predict (arrow)"]["seconds"]
                print(
                    f"{name:13s} {source:8s} {result['rows']:>10,} {pred:9.2f} {scan:7.2f} "
                    f"{pred / scan:6.2f} {ident:7.2f} {pred / ident:6.2f} {arrow:7.2f} "
                    f"{arrow / scan:6.2f}"
                )
    print(
        f"\n{'model':13s} {'train rows':>10s} {'spark s':>8s} {'collect s':>9s} "
        f"{'sklearn s':>9s} {'×(collect+fit)':>14s}"
    )
    for result in results:
        for name, m in result["models"].items():
            t = m["training"]
            print(
                f"{name:13s} {result['training_rows']:>10,} {t['create_model_seconds']:8.2f} "
                f"{t['collect_arrow_seconds']:9.2f} {t['sklearn_fit_seconds']:9.2f} "
                f"{t['ratio_vs_collect_fit']:14.2f}"
            )
    if len(results) > 1:
        print(
            f"\ngrowth {large['rows']:,} / {small['rows']:,} rows (×{grow:g}; linear = {grow:g}):"
        )
        for name in small["models"]:
            a, b = small["models"][name], large["models"][name]
            ratio = {
                f"{source} {path}": b["scoring"][source][path]["seconds"]
                / a["scoring"][source][path]["seconds"]
                for source in a["scoring"]
                for path in ("scan", "predict")
            }
            ratio["spark train"] = (
                b["training"]["create_model_seconds"] / a["training"]["create_model_seconds"]
            )
            ratio["sklearn fit"] = (
                b["training"]["sklearn_fit_seconds"] / a["training"]["sklearn_fit_seconds"]
            )
            print(f"  {name:13s} " + "  ".join(f"{k} {v:.2f}×" for k, v in ratio.items()))
    boosted = [r for r in results if "boosting" in r]
    if boosted:
        print(
            f"\n{'boosting':10s} {'fit rows':>10s} {'xgb fit s':>9s} {'gbt fit s':>9s} "
            f"{'×gbt':>6s} {'xgb auc':>8s} {'gbt auc':>8s} {'defaults s':>10s} {'rounds':>6s} "
            f"{'auc':>7s}"
        )
        for r in boosted:
            b = r["boosting"]
            x, g, d = b["xgboost_executors"], b["mllib_gbt"], b["xgboost_executors_defaults"]
            print(
                f"{r['rows']:>10,} {b['fit_rows']:>10,} {x['fit_seconds']:9.2f} "
                f"{g['fit_seconds']:9.2f} {b['fit_ratio_xgboost_vs_gbt']:6.2f} "
                f"{x['roc_auc']:8.4f} {g['roc_auc']:8.4f} {d['create_model_seconds']:10.2f} "
                f"{d['rounds']!s:>6s} {d['roc_auc']:7.4f}"
            )
    if fraction < 1:
        print(
            f"\nTraining (both engines) used a seeded {fraction:g} sample of each size's rows "
            f"(--train-fraction); scoring used every row."
        )


def machine(spark: Any, master: str) -> dict[str, Any]:
    import pyspark

    return {
        "cores": os.cpu_count(),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "master": master,
        "driver_memory": spark.conf.get("spark.driver.memory", "1g"),
        "arrow_max_records_per_batch": spark.conf.get(
            "spark.sql.execution.arrow.maxRecordsPerBatch"
        ),
        "versions": {
            "sqlml": getattr(sqlml, "__version__", "?"),
            "pyspark": pyspark.__version__,
            "spark": spark.version,
            "pyarrow": pa.__version__,
            "onnxruntime": onnxruntime.__version__,
            "scikit-learn": sklearn.__version__,
            "numpy": np.__version__,
        },
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000000,4000000", help="row counts, comma-separated")
    parser.add_argument("--train-fraction", type=float, default=0.25)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--driver-memory", default="6g")
    parser.add_argument("--json", metavar="PATH")
    parser.add_argument(
        "--no-boosting", action="store_true", help="skip XGBoost-on-executors vs MLlib GBT"
    )
    args = parser.parse_args()
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    if not 0 < args.train_fraction <= 1:
        parser.error("--train-fraction must be in (0, 1]")
    warehouse = tempfile.mkdtemp(prefix="sqlml_spark_bench_")
    started, load_start = time.perf_counter(), load()
    spark = build_session(
        args.master,
        {
            "spark.driver.memory": args.driver_memory,
            "spark.sql.warehouse.dir": warehouse,
            "spark.sql.shuffle.partitions": "4",
        },
    )
    info = machine(spark, args.master)
    print(json.dumps(info, indent=1))
    print(f"load average at start: {load_start}", flush=True)
    results = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        con = sqlml.connect(spark=spark)
        for rows in sizes:
            results.append(
                bench_size(
                    con,
                    spark,
                    rows,
                    args.train_fraction,
                    args.reps,
                    warehouse,
                    boosting=not args.no_boosting,
                )
            )
        con.close()
    table(results, args.train_fraction)
    load_end = load()
    total = time.perf_counter() - started
    print(f"\nload average at start {load_start}, at end {load_end}; total {total:.0f} s")
    if args.json:
        payload = {
            "machine": info,
            "load_start": load_start,
            "load_end": load_end,
            "train_fraction": args.train_fraction,
            "reps": args.reps,
            "total_seconds": total,
            "results": results,
        }
        with open(args.json, "w") as fh:
            json.dump(payload, fh, indent=1)
    spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
