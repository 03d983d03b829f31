"""Benchmark ``sqlml serve``: what the PostgreSQL wire protocol costs over ``sqlml.connect``.

    python benchmarks/server.py [--rows 100000] [--clients 8] [--seconds 5] [--reps 3] [--json PATH]

Data: ``--rows`` rows (default 100,000) of 4 DOUBLE features and a two-class text label, generated
inside DuckDB with ``setseed``, in a DuckDB file in a temporary folder; a ``logistic_reg`` model is
trained on it once.

1. **Large result**: ``SELECT * FROM ML.PREDICT(MODEL m, TABLE t)`` — every row with its predicted
   label and its ``predicted_label_probs`` list — read whole (``fetchall()``) through psycopg from a
   server on loopback, against the same statement and ``fetchall()`` through ``sqlml.connect`` in
   process; the median of ``--reps`` runs each. The ratio is the protocol's cost (encoding every
   value as PostgreSQL text, the socket, and psycopg parsing the rows, JSON included).
2. **Many small queries**: ``--clients`` psycopg connections (default 8), each on its own thread,
   run ``SELECT * FROM ML.PREDICT(MODEL m, (SELECT * FROM t LIMIT 10))`` in a loop for
   ``--seconds`` (default 5, at most ``--max-queries`` each); reported as queries per second over
   all clients, against one in-process connection doing the same alone.

The server is ``sqlml serve`` in its own process (as users run it), bound to 127.0.0.1 on a free
port, and is stopped at the end; the clients are threads of this process. Every loop is bounded by
count and time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import select
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from typing import Any

import psycopg

import sqlml

PREDICT_ALL = "SELECT * FROM ML.PREDICT(MODEL m, TABLE t)"
PREDICT_SMALL = "SELECT * FROM ML.PREDICT(MODEL m, (SELECT * FROM t LIMIT 10))"


def build(path: str, rows: int) -> None:
    with sqlml.connect(path) as con:
        con.execute("SELECT setseed(0.42)")
        con.execute(
            f"""CREATE TABLE t AS
                SELECT random() * 2 - 1 AS f1, random() * 2 - 1 AS f2,
                       random() * 2 - 1 AS f3, random() * 2 - 1 AS f4
                FROM range({rows})"""
        )
        con.execute(
            "CREATE OR REPLACE TABLE t AS SELECT *, CASE WHEN f1 + f2 * f3 > 0 THEN 'yes' "
            "ELSE 'no' END AS label FROM t"
        )
        con.execute(
            "CREATE MODEL m OPTIONS (model_type = 'logistic_reg', input_label_cols = ['label']) "
            "AS SELECT * FROM t"
        )


def start_server(path: str, timeout: float = 60.0) -> tuple[subprocess.Popen[str], int]:
    """``sqlml serve`` in its own process on a free loopback port; returns it and the port."""
    process = subprocess.Popen(
        [sys.executable, "-m", "sqlml.cli", "serve", "-d", path, "--port", "0"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stderr], [], [], max(0.0, deadline - time.monotonic()))
        line = process.stderr.readline() if ready else ""
        match = re.search(r"listening on 127\.0\.0\.1:(\d+)", line)
        if match:
            return process, int(match.group(1))
        if not line and process.poll() is not None:
            break
    stop_server(process)
    raise RuntimeError("sqlml serve did not start")


def stop_server(process: subprocess.Popen[str]) -> None:
    process.terminate()
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


def median_time(fn: Callable[[], Any], reps: int) -> tuple[float, Any]:
    times, value = [], None
    for _ in range(reps):
        start = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), value


def loop_for(run: Callable[[], Any], seconds: float, max_queries: int) -> int:
    done, deadline = 0, time.monotonic() + seconds
    while done < max_queries and time.monotonic() < deadline:
        run()
        done += 1
    return done


def concurrent(dsn: str, clients: int, seconds: float, max_queries: int) -> tuple[int, float]:
    counts = [0] * clients
    errors: list[BaseException] = []
    barrier = threading.Barrier(clients + 1, timeout=60)

    def client(index: int) -> None:
        try:
            with psycopg.connect(dsn, autocommit=True) as con:
                barrier.wait()
                counts[index] = loop_for(
                    lambda: con.execute(PREDICT_SMALL).fetchall(), seconds, max_queries
                )
        except BaseException as exc:  # reported after the threads end
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    barrier.wait()
    start = time.perf_counter()
    for thread in threads:
        thread.join(seconds + 120)
    elapsed = time.perf_counter() - start
    if errors:
        raise errors[0]
    return sum(counts), elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--max-queries", type=int, default=10_000)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--json", metavar="PATH")
    args = parser.parse_args(argv)

    folder = tempfile.mkdtemp(prefix="sqlml-bench-server-")
    path = os.path.join(folder, "bench.duckdb")
    results: dict[str, Any] = {
        "rows": args.rows,
        "clients": args.clients,
        "machine": {"cores": os.cpu_count(), "platform": platform.platform()},
        "python": sys.version.split()[0],
        "psycopg": psycopg.__version__,
    }
    try:
        print(f"building {args.rows:,} rows and a logistic_reg model in {path} ...", flush=True)
        build(path, args.rows)

        with sqlml.connect(path) as con:
            cur = con.cursor()
            local, rows = median_time(lambda: cur.execute(PREDICT_ALL).fetchall(), args.reps)
            local_count = len(rows)
            single = loop_for(
                lambda: cur.execute(PREDICT_SMALL).fetchall(), args.seconds, args.max_queries
            )
            single_qps = single / args.seconds

        server, port = start_server(path)
        try:
            dsn = f"host=127.0.0.1 port={port} user=bench dbname=bench connect_timeout=10"
            with psycopg.connect(dsn, autocommit=True) as pg:
                remote, rows = median_time(lambda: pg.execute(PREDICT_ALL).fetchall(), args.reps)
                assert len(rows) == local_count == args.rows, (len(rows), local_count)
            total, elapsed = concurrent(dsn, args.clients, args.seconds, args.max_queries)
        finally:
            stop_server(server)
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    results |= {
        "predict_all_local_s": local,
        "predict_all_server_s": remote,
        "predict_all_ratio": remote / local,
        "small_queries": total,
        "small_seconds": elapsed,
        "small_qps_server": total / elapsed,
        "small_qps_local_single": single_qps,
    }
    print(f"\nSELECT * FROM ML.PREDICT over {args.rows:,} rows, fetchall(), median of {args.reps}:")
    print(f"  sqlml.connect (in process)   {local:8.3f} s")
    print(f"  psycopg via sqlml serve      {remote:8.3f} s   ratio {remote / local:5.2f}x")
    print(f"\nsmall ML.PREDICT (10 rows), {args.clients} concurrent psycopg clients:")
    print(f"  {total} queries in {elapsed:.1f} s = {total / elapsed:8.1f} queries/s")
    print(f"  one in-process connection alone: {single_qps:8.1f} queries/s")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(results, handle, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
