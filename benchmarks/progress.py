"""CREATE MODEL with progress on against off, in one run: what reporting costs.

    .venv/bin/python benchmarks/progress.py                 # 100,000 rows, ~5 min on 2 cores
    .venv/bin/python benchmarks/progress.py --rows 20000    # quick check
    .venv/bin/python benchmarks/progress.py --json out.json

"On" is a connection with a progress callback (what the shell, sqlml serve and notebooks attach):
stages, counts of trees / rounds / epochs / iterations, each count a cancel check, and a random
forest's trees counted as each finishes. "Off" is ``report_progress=False``: no reporter at
all. The rounds interleave on and off, in alternating
order, on the same DuckDB file; each figure is the median of ``--reps`` rounds. Goal (issue 17):
on within 2 % of off.
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

import sqlml

MODELS = {
    "random_forest_classifier": "model_type = 'random_forest_classifier'",
    "boosted_tree_classifier": "model_type = 'boosted_tree_classifier'",
    "logistic_reg": "model_type = 'logistic_reg'",
    "dnn_classifier": "model_type = 'dnn_classifier', hidden_units = [16], max_iterations = 50",
}


def generate(path: str, rows: int) -> None:
    with sqlml.connect(path) as connection:
        connection.execute("SET threads = 1")
        connection.execute("SELECT setseed(0.42)")
        features = ", ".join(f"random() * 2 - 1 AS f{i}" for i in range(1, 11))
        connection.execute(f"CREATE TABLE raw AS SELECT {features} FROM range({rows})")
        connection.execute(
            "CREATE TABLE t AS SELECT *, CASE WHEN f1 * f2 + sin(3 * f3) + 0.3 * random() > 0.1 "
            "THEN 1 ELSE 0 END AS y FROM raw"
        )
        connection.execute("RESET threads")


def timed(path: str, options: str, on: bool) -> tuple[float, int]:
    reports: list[object] = []
    connection = sqlml.connect(
        path, report_progress=on, progress_callback=reports.append if on else None
    )
    try:
        started = time.perf_counter()
        connection.execute(
            f"CREATE OR REPLACE MODEL m OPTIONS ({options}, input_label_cols = ['y']) "
            "AS SELECT * FROM t"
        )
        return time.perf_counter() - started, len(reports)
    finally:
        connection.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--models", default=",".join(MODELS), help="model types, comma-separated")
    parser.add_argument("--json", metavar="PATH")
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="sqlml_progress_bench_")
    path = os.path.join(folder, "bench.duckdb")
    generate(path, args.rows)
    print(f"{os.cpu_count()} cores, {platform.platform()}, Python {sys.version.split()[0]}")
    print(f"{args.rows:,} rows × 10 DOUBLE, medians of {args.reps} interleaved rounds")
    print(f"load average at start: {os.getloadavg()}")
    results = []
    for name in args.models.split(","):
        options = MODELS[name]
        timed(path, options, True)  # warm: imports, the file's pages
        on_runs, off_runs, counts = [], [], []
        for rep in range(args.reps):
            order = (True, False) if rep % 2 == 0 else (False, True)
            for on in order:
                seconds, reports = timed(path, options, on)
                (on_runs if on else off_runs).append(seconds)
                if on:
                    counts.append(reports)
        on_s, off_s = statistics.median(on_runs), statistics.median(off_runs)
        result = {
            "model_type": name,
            "on_seconds": on_s,
            "off_seconds": off_s,
            "ratio_on_vs_off": on_s / off_s,
            "reports": statistics.median(counts),
            "on_runs": on_runs,
            "off_runs": off_runs,
        }
        results.append(result)
        print(
            f"  {name:26s} on {on_s:7.2f} s  off {off_s:7.2f} s  ({on_s / off_s:5.3f}×, "
            f"{result['reports']:.0f} reports)",
            flush=True,
        )
    print(f"load average at end: {os.getloadavg()}")
    if args.json:
        payload = {
            "rows": args.rows,
            "reps": args.reps,
            "cores": os.cpu_count(),
            "platform": platform.platform(),
            "sqlml": sqlml.__version__,
            "results": results,
        }
        with open(args.json, "w") as handle:
            json.dump(payload, handle, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
