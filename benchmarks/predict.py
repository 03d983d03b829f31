"""Benchmark ML.PREDICT and CREATE MODEL against the practical limit and the naive Python path.

    python benchmarks/predict.py [--rows N] [--forest-train-rows N] [--reps 3] [--json PATH]

Data: ``--rows`` rows (default 1,000,000) of 20 DOUBLE features f1..f20 in [-1, 1) plus a BIGINT
label, generated inside DuckDB (``setseed`` + ``random()``, 1 thread while generating so the data is
the same on every run) in a DuckDB file in a temporary folder.

Models: ``logistic_reg`` trained on every row, and a 100-tree depth-10 ``random_forest_classifier``
trained on the first ``--forest-train-rows`` rows (default 100,000) to keep training time sane; both
are scored on every row.

For each model, with every scoring measurement the median of ``--reps`` runs (training runs once):

* ``ML.PREDICT -> fetch_arrow_table``: ``SELECT * FROM ML.PREDICT(MODEL m, TABLE t)`` through
  ``sqlml.connect`` and ``cursor.fetch_arrow_table()``, end to end;
* ``ML.PREDICT -> CREATE TABLE``: ``CREATE OR REPLACE TABLE out AS SELECT * FROM ML.PREDICT(...)``,
  nothing fetched to Python;
* ``limit``: the same 20 columns fetched from DuckDB as Arrow (``relation.to_arrow_table()``), turned
  into the per-column float32 ``[N, 1]`` arrays the graph takes, and one ``InferenceSession.run`` on
  the stored ONNX bytes with sqlml's own session options; the session is built outside the timing
  (sqlml caches it too, and a warm-up ML.PREDICT on 10 rows fills that cache before timing);
* ``naive``: DuckDB ``.df()`` of the same 20 columns, then scikit-learn ``predict_proba`` (and
  ``predict``) with the same pipeline refitted by scikit-learn on the same training rows;
* ``CREATE MODEL`` vs ``sklearn fit``: the statement's wall time against fitting the same Pipeline on
  the same rows already in memory as pandas, and against fetch (``.df()``) + fit.

Ratios: scoring paths / limit; CREATE MODEL / sklearn fit.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

import duckdb
import numpy as np
import onnxruntime
import pandas
import pyarrow as pa
import sklearn
from sqlml_udfs.scoring import _ort_session

import sqlml
from sqlml.models.options import validate
from sqlml.models.registry import make_estimator
from sqlml.training.data import label_values, split_rows
from sqlml.training.pipeline import build_pipeline

FEATURES = [f"f{i}" for i in range(1, 21)]
LABEL = "label"
SEED = 0.42


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    value = fn()
    return time.perf_counter() - started, value


def cpu_seconds() -> float:
    """CPU time of this process, every thread (DuckDB's and ONNX Runtime's included)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def interleaved(reps: int, paths: dict[str, Callable[[], dict[str, float]]]) -> dict[str, Any]:
    """Run every path once per round, ``reps`` rounds, so that load from other processes on the
    machine falls on all paths alike. Each run returns named timings; add its CPU seconds. Median
    per name, plus every run."""
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in paths}
    for _ in range(reps):
        for name, fn in paths.items():
            cpu = cpu_seconds()
            run = fn()
            run["cpu"] = cpu_seconds() - cpu
            runs[name].append(run)
    out: dict[str, Any] = {}
    for name, rs in runs.items():
        out[name] = {k: statistics.median(r[k] for r in rs) for k in rs[0]}
        out[name]["runs"] = rs
    return out


def generate(cur: Any, rows: int) -> None:
    # random() with setseed is only repeatable on one thread; generate single-threaded, then restore.
    threads = cur.execute("SELECT current_setting('threads')").fetchall()[0][0]
    cur.execute("SET threads = 1")
    cur.execute(f"SELECT setseed({SEED})")
    features = ",\n".join(f"  random() * 2 - 1 AS {f}" for f in FEATURES)
    # A label with interactions and noise, so that the forest has something to learn.
    cur.execute(
        f"""
        CREATE TABLE t AS
        SELECT *,
               CAST(f1 - 0.8 * f2 + 0.6 * f3 * f4 + 0.5 * sin(3 * f5) - 0.3 * f6
                    + 0.4 * (random() - 0.5) > 0 AS BIGINT) AS {LABEL}
        FROM (SELECT
{features}
              FROM range({rows}))
        """
    )
    cur.execute(f"SET threads = {threads}")
    cur.execute("CHECKPOINT")


# --- one model --------------------------------------------------------------------------------------


def bench_model(
    con: Any,
    name: str,
    model_type: str,
    options_sql: str,
    raw_options: dict[str, Any],
    train_sql: str,
    reps: int,
) -> dict[str, Any]:
    cur = con.cursor()
    duck = con.executor.backend.con.cursor()  # a plain DuckDB connection to the same database
    feature_list = ", ".join(FEATURES)
    result: dict[str, Any] = {"model": name, "model_type": model_type, "training_sql": train_sql}

    # --- training: CREATE MODEL once ------------------------------------------------------------
    print(f"[{name}] CREATE MODEL ...", flush=True)
    cpu = cpu_seconds()
    create_s, _ = timed(
        lambda: cur.execute(
            f"CREATE OR REPLACE MODEL {name} OPTIONS ({options_sql}, "
            f"input_label_cols = ['{LABEL}']) AS {train_sql}"
        )
    )
    info_json, onnx_bytes = duck.execute(
        "SELECT training_info, onnx FROM sqlml.models WHERE name = ? ORDER BY version DESC LIMIT 1",
        [name],
    ).fetchall()[0]
    create_cpu = cpu_seconds() - cpu
    info = json.loads(info_json) if isinstance(info_json, str) else info_json
    result["create_model"] = {
        "seconds": create_s,
        "cpu": create_cpu,
        "training_rows": info["training_rows"],
        "fit_seconds_inside": info["fit_seconds"],
        "fit_convert_check_seconds_inside": info["duration_seconds"],
        "onnx_bytes": len(onnx_bytes),
    }

    # --- the same Pipeline fitted by scikit-learn on the same rows ------------------------------
    print(f"[{name}] scikit-learn fit ...", flush=True)
    options = validate({**raw_options, "input_label_cols": [LABEL]}, name)
    features = [{"name": f, "kind": "numeric"} for f in FEATURES]

    def fetch_train() -> tuple[Any, np.ndarray]:
        frame = duck.sql(train_sql).df()
        # CREATE MODEL's own split (AUTO_SPLIT: 10,000 evaluation rows above 50,000): same rows.
        table = pa.Table.from_pandas(frame[[LABEL]], preserve_index=False)
        train_idx, _ = split_rows(table, options, name)
        x = frame[FEATURES].iloc[train_idx].reset_index(drop=True)
        y = label_values(table.column(LABEL).take(train_idx), "classification", name, LABEL)
        return x, y

    fetch_s, (x_train, y_train) = timed(fetch_train)
    pipeline = build_pipeline(features, make_estimator(options, len(y_train)))
    cpu = cpu_seconds()
    fit_s, _ = timed(lambda: pipeline.fit(x_train, y_train))
    fit_cpu = cpu_seconds() - cpu
    result["sklearn_fit"] = {
        "seconds": fit_s,
        "cpu": fit_cpu,
        "fetch_seconds": fetch_s,
        "fetch_plus_fit_seconds": fetch_s + fit_s,
        "create_model_over_fit": create_s / fit_s,
        "create_model_over_fetch_plus_fit": create_s / (fetch_s + fit_s),
    }

    # --- scoring --------------------------------------------------------------------------------
    predict_sql = f"SELECT * FROM ML.PREDICT(MODEL {name}, TABLE t)"
    # Fill sqlml's scorer cache (building a forest's ORT session takes ~1 s), as a server would have.
    cur.execute(f"SELECT * FROM ML.PREDICT(MODEL {name}, (SELECT * FROM t LIMIT 10))").fetchall()
    session = _ort_session(onnx_bytes, None)

    def predict_fetch() -> dict[str, float]:
        started = time.perf_counter()
        cur.execute(predict_sql)
        executed = time.perf_counter()
        table = cur.fetch_arrow_table()
        done = time.perf_counter()
        assert table.num_rows > 0
        return {"seconds": done - started, "execute": executed - started, "fetch": done - executed}

    def predict_ctas() -> dict[str, float]:
        started = time.perf_counter()
        cur.execute(f"CREATE OR REPLACE TABLE predicted AS {predict_sql}")
        seconds = time.perf_counter() - started
        cur.execute("DROP TABLE predicted")
        return {"seconds": seconds}

    def limit() -> dict[str, float]:
        t0 = time.perf_counter()
        table = duck.sql(f"SELECT {feature_list} FROM t").to_arrow_table()
        t1 = time.perf_counter()
        feeds = {f: table.column(f).to_numpy().astype(np.float32).reshape(-1, 1) for f in FEATURES}
        t2 = time.perf_counter()
        outputs = session.run(None, feeds)
        t3 = time.perf_counter()
        assert len(outputs[0]) == table.num_rows
        return {"seconds": t3 - t0, "fetch": t1 - t0, "convert": t2 - t1, "run": t3 - t2}

    def naive() -> dict[str, float]:
        t0 = time.perf_counter()
        frame = duck.sql(f"SELECT {feature_list} FROM t").df()
        t1 = time.perf_counter()
        probs = pipeline.predict_proba(frame)
        t2 = time.perf_counter()
        labels = pipeline.predict(frame)
        t3 = time.perf_counter()
        assert len(labels) == len(probs)
        return {
            "seconds": t2 - t0,  # .df() + predict_proba (predict is argmax of it)
            "with_predict_seconds": t3 - t0,  # .df() + predict_proba + predict, as often written
            "df": t1 - t0,
            "predict_proba": t2 - t1,
            "predict": t3 - t2,
        }

    print(
        f"[{name}] scoring: {reps} rounds of limit, ML.PREDICT (fetch, CTAS), naive ...", flush=True
    )
    result.update(
        interleaved(
            reps,
            {
                "limit": limit,
                "predict_fetch": predict_fetch,
                "predict_ctas": predict_ctas,
                "naive": naive,
            },
        )
    )

    limit_s = result["limit"]["seconds"]
    for key in ("predict_fetch", "predict_ctas", "naive"):
        result[key]["over_limit"] = result[key]["seconds"] / limit_s
    result["naive"]["with_predict_over_limit"] = result["naive"]["with_predict_seconds"] / limit_s

    # Sanity: ML.PREDICT and the refitted scikit-learn pipeline should mostly agree on labels.
    cur.execute(
        f"SELECT predicted_{LABEL} FROM ML.PREDICT(MODEL {name}, (SELECT * FROM t LIMIT 100000))"
    )
    sqlml_labels = cur.fetch_arrow_table().column(0).to_numpy()
    sk_labels = pipeline.predict(duck.sql(f"SELECT {feature_list} FROM t LIMIT 100000").df())
    result["label_agreement_sqlml_vs_sklearn_100k"] = float(np.mean(sqlml_labels == sk_labels))
    duck.close()
    cur.close()
    return result


# --- report -------------------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    return {
        "cores": os.cpu_count(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "versions": {
            "sqlml": sqlml.__version__,
            "duckdb": duckdb.__version__,
            "onnxruntime": onnxruntime.__version__,
            "scikit-learn": sklearn.__version__,
            "pyarrow": pa.__version__,
            "numpy": np.__version__,
            "pandas": pandas.__version__,
        },
    }


def print_table(results: list[dict[str, Any]]) -> None:
    header = f"{'model':<26}{'measurement':<48}{'wall s':>9}{'cpu s':>8}{'ratio':>8}"
    print(header)
    print("-" * (len(header) + 9))
    for r in results:
        lim, pf, pc_, nv = r["limit"], r["predict_fetch"], r["predict_ctas"], r["naive"]
        cm, sk = r["create_model"], r["sklearn_fit"]
        rows = [
            ("limit: Arrow fetch + float32 + ORT run", lim["seconds"], lim["cpu"], 1.0, "= 1"),
            (
                f"  fetch {lim['fetch']:.3f} / convert {lim['convert']:.3f} / run {lim['run']:.3f}",
                None,
                None,
                None,
                "",
            ),
            (
                "ML.PREDICT + fetch_arrow_table",
                pf["seconds"],
                pf["cpu"],
                pf["over_limit"],
                "x limit",
            ),
            (f"  execute {pf['execute']:.3f} / fetch {pf['fetch']:.3f}", None, None, None, ""),
            (
                "ML.PREDICT into CREATE TABLE (no fetch)",
                pc_["seconds"],
                pc_["cpu"],
                pc_["over_limit"],
                "x limit",
            ),
            (
                "naive: .df() + sklearn predict_proba",
                nv["seconds"],
                None,
                nv["over_limit"],
                "x limit",
            ),
            (
                "naive: .df() + predict_proba + predict",
                nv["with_predict_seconds"],
                nv["cpu"],
                nv["with_predict_over_limit"],
                "x limit",
            ),
            (
                f"  df {nv['df']:.3f} / proba {nv['predict_proba']:.3f} / predict {nv['predict']:.3f}",
                None,
                None,
                None,
                "",
            ),
            (
                f"CREATE MODEL ({cm['training_rows']:,} training rows)",
                cm["seconds"],
                cm["cpu"],
                sk["create_model_over_fit"],
                "x fit",
            ),
            (
                f"  inside: fit {cm['fit_seconds_inside']:.3f} / fit+onnx+checks {cm['fit_convert_check_seconds_inside']:.3f}",
                None,
                None,
                None,
                "",
            ),
            ("sklearn fit, pandas already in memory", sk["seconds"], sk["cpu"], None, ""),
            (
                "sklearn .df() fetch + fit",
                sk["fetch_plus_fit_seconds"],
                None,
                sk["create_model_over_fetch_plus_fit"],
                "CM / this",
            ),
        ]
        for i, (what, seconds, cpu, ratio, unit) in enumerate(rows):
            secs = f"{seconds:9.3f}" if seconds is not None else " " * 9
            cpus = f"{cpu:8.2f}" if cpu is not None else " " * 8
            rat = f"{ratio:8.2f}" if ratio is not None else " " * 8
            print(
                f"{(r['model_type'] if i == 0 else ''):<26}{what:<48}{secs}{cpus}{rat} {unit}".rstrip()
            )
        print(
            f"{'':<26}labels agreeing with sklearn refit (100k rows): {r['label_agreement_sqlml_vs_sklearn_100k']:.4f}"
        )
        print()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--rows", type=int, default=1_000_000, help="rows to score (default 1,000,000)"
    )
    parser.add_argument(
        "--forest-train-rows",
        type=int,
        default=100_000,
        help="rows the random forest is trained on (default 100,000; logistic_reg uses every row)",
    )
    parser.add_argument(
        "--reps", type=int, default=3, help="repetitions of each scoring measurement"
    )
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON here")
    parser.add_argument("--keep", action="store_true", help="keep the temporary DuckDB file")
    args = parser.parse_args(argv)

    info = machine()
    print(
        f"machine: {info['cores']} cores, {info['processor']}, {info['platform']}, Python {info['python']}"
    )
    print("versions: " + ", ".join(f"{k} {v}" for k, v in info["versions"].items()))
    load_start = os.getloadavg()

    folder = tempfile.mkdtemp(prefix="sqlml-bench-")
    path = os.path.join(folder, "bench.duckdb")
    con = sqlml.connect(path)
    try:
        cur = con.cursor()
        generate_s, _ = timed(lambda: generate(cur, args.rows))
        duck_threads = con.executor.backend.con.execute(
            "SELECT current_setting('threads')"
        ).fetchall()[0][0]
        forest_rows = min(args.forest_train_rows, args.rows)
        print(
            f"data: {args.rows:,} rows x {len(FEATURES)} DOUBLE + BIGINT label in {path} "
            f"(generated in {generate_s:.2f} s); DuckDB threads = {duck_threads}, ORT intra-op threads = "
            f"{os.cpu_count()} (sqlml's default); medians of {args.reps} runs",
            flush=True,
        )
        models = [
            (
                "bench_logreg",
                "logistic_reg",
                "model_type = 'logistic_reg'",
                {"model_type": "logistic_reg"},
                "SELECT * FROM t",
            ),
            (
                "bench_forest",
                "random_forest_classifier",
                "model_type = 'random_forest_classifier', num_parallel_tree = 100, max_tree_depth = 10",
                {
                    "model_type": "random_forest_classifier",
                    "num_parallel_tree": 100,
                    "max_tree_depth": 10,
                },
                f"SELECT * FROM t LIMIT {forest_rows}",
            ),
        ]
        results = [bench_model(con, *m, reps=args.reps) for m in models]
    finally:
        con.close()
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)

    load_end = os.getloadavg()
    print()
    print(
        f"{args.rows:,} rows scored; logistic_reg trained on all rows, random_forest_classifier "
        f"(100 trees, depth 10) trained on the first {forest_rows:,} rows and scored on all. "
        f"CREATE MODEL and sklearn both hold out 10,000 rows (AUTO_SPLIT)."
    )
    print(
        f"DuckDB threads = {duck_threads}, ORT intra-op threads = {os.cpu_count()}; scoring: median of "
        f"{args.reps} interleaved rounds. Load average (1 min) at start {load_start[0]:.2f}, at end "
        f"{load_end[0]:.2f}: other processes on the machine inflate wall times; cpu s is this process's "
        f"CPU time (all threads)."
    )
    print()
    print_table(results)

    if args.json:
        document = {
            "machine": info,
            "rows": args.rows,
            "forest_train_rows": forest_rows,
            "reps": args.reps,
            "duckdb_threads": duck_threads,
            "generate_seconds": generate_s,
            "load_average_start": load_start,
            "load_average_end": load_end,
            "results": results,
        }
        with open(args.json, "w") as handle:
            json.dump(document, handle, indent=2, default=str)
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
