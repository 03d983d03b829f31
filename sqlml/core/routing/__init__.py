"""Choosing the engine: the one place in sqlml that names engines.

engine='auto': each statement runs where its data is, and EXPLAIN says where, why and what SQL.

A connection with both engines keeps DuckDB (the database file) as the primary engine and the one
model catalog; Spark starts on the first statement routed to it. The rule, decided from the parsed
statement (DuckDB's dialect is the input):

- a statement that reads a DuckDB table or view, writes into the database, or reads nothing runs on
  DuckDB (Spark cannot see DuckDB's tables);
- a statement that reads only files both engines read (``read_parquet('…')``, ``read_csv('…')``,
  ``read_csv_auto``, ``parquet_scan``, ``FROM 'x.parquet'``; globs and lists allowed) runs on Spark
  when the files' total size reaches the threshold (``sqlml.spark_threshold``), else on DuckDB;
- CREATE MODEL routes by its training query, an ML function by its input; the whole statement runs
  on one engine.

On Spark, the statement is transpiled to Spark SQL by sqlglot, each file reference replaced by a
temporary view read with ``spark.read`` (dropped after the statement). Routing is a thin layer
that picks a :class:`~sqlml.core.executor.Executor` per statement; executors stay engine-agnostic.
"""

from sqlml.core.routing.router import RoutedStatement, Router, SingleEngine
from sqlml.core.routing.settings import DEFAULT_SPARK_THRESHOLD, parse_size

__all__ = ["DEFAULT_SPARK_THRESHOLD", "RoutedStatement", "Router", "SingleEngine", "parse_size"]
