"""Benchmark ``sqlml serve``'s memory while a client reads a large ML.PREDICT: a named (server-side)
cursor against a plain query, in one run.

    .venv/bin/python benchmarks/cursor_memory.py                  # 1,000,000 rows
    .venv/bin/python benchmarks/cursor_memory.py --rows 200000 --json out.json

Data as in ``benchmarks/server.py`` (4 DOUBLE features, a two-class label, a ``logistic_reg``
model). Each way of reading runs against a fresh ``sqlml serve`` process (so its peak is its own):

1. **Named cursor**: psycopg's ``connection.cursor("preds")`` with ``itersize`` 10,000 — DECLARE,
   then FETCH FORWARD 10000 until the end — iterating every row of
   ``SELECT * FROM ML.PREDICT(MODEL m, TABLE t)``.
2. **COPY**: ``COPY (<the statement>) TO STDOUT`` read through psycopg's ``cursor.copy()`` and
   dropped block by block (the server reads the rows from a streaming cursor, batch by batch).
3. **Plain query**: the same statement through a client-side cursor, ``fetchall()``: the server
   produces the whole result before it sends it (as PostgreSQL does for a simple query).

Reported: the server's peak resident memory (``VmHWM`` from ``/proc/<pid>/status``) above its
resident memory once the model is loaded (a 10-row ML.PREDICT) and the table's blocks are in
DuckDB's buffer cache (a scan of every column), for each; and their ratio.
Goal (issue 18): the named cursor's and COPY's growth stay bounded by the batch — a small
fraction of the plain query's, and flat as ``--rows`` grows.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time

import psycopg
from server import build, start_server, stop_server

QUERY = "SELECT * FROM ML.PREDICT(MODEL m, TABLE t)"


def memory_kib(pid: int, field: str) -> int:
    with open(f"/proc/{pid}/status", encoding="ascii") as handle:
        for line in handle:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} missing from /proc/{pid}/status")


def measure(path: str, way: str) -> dict[str, float]:
    process, port = start_server(path)
    try:
        dsn = f"host=127.0.0.1 port={port} user=bench dbname=sqlml sslmode=disable"
        with psycopg.connect(dsn) as connection:
            connection.execute("SELECT * FROM ML.PREDICT(MODEL m, (SELECT * FROM t LIMIT 10))")
            # the table's blocks in DuckDB's buffer cache first: what follows is the result's
            connection.execute("SELECT sum(f1 + f2 + f3 + f4), max(label) FROM t").fetchall()
            connection.commit()
            before = memory_kib(process.pid, "VmRSS")
            start = time.perf_counter()
            rows = 0
            if way == "named":
                with connection.cursor("preds") as cursor:
                    cursor.itersize = 10_000
                    cursor.execute(QUERY)
                    for _row in cursor:
                        rows += 1
            elif way == "copy":
                cursor = connection.cursor()
                with cursor.copy(f"COPY ({QUERY}) TO STDOUT") as copy:
                    for block in copy:
                        rows += bytes(block).count(b"\n")
            else:
                with connection.cursor() as cursor:
                    cursor.execute(QUERY)
                    rows = len(cursor.fetchall())
            seconds = time.perf_counter() - start
            connection.commit()
        peak = memory_kib(process.pid, "VmHWM")
    finally:
        stop_server(process)
    return {
        "rows": rows,
        "seconds": round(seconds, 2),
        "server_rss_before_mib": round(before / 1024, 1),
        "server_peak_growth_mib": round((peak - before) / 1024, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "bench.duckdb")
        build(path, args.rows)
        named = measure(path, "named")
        copied = measure(path, "copy")
        plain = measure(path, "plain")
    assert named["rows"] == copied["rows"] == plain["rows"] == args.rows, (named, copied, plain)
    ratio = named["server_peak_growth_mib"] / max(plain["server_peak_growth_mib"], 0.1)
    results = {
        "rows": args.rows,
        "named_cursor": named,
        "copy_to_stdout": copied,
        "plain_query": plain,
        "peak_growth_ratio_named_to_plain": round(ratio, 3),
        "peak_growth_ratio_copy_to_plain": round(
            copied["server_peak_growth_mib"] / max(plain["server_peak_growth_mib"], 0.1), 3
        ),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {sys.version.split()[0]}",
        "date": time.strftime("%Y-%m-%d"),
    }
    print(json.dumps(results, indent=2))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(results, handle, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
