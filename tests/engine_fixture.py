"""The ``backend`` fixture: a test runs once on DuckDB and once on Spark.

A test gets an :class:`Engine` with a fresh sqlml connection (DuckDB: a file in tmp_path; Spark: the
run's one local[2] session from tests/conftest.py) and ``load(name, arrow_table)``, which makes the
same Arrow rows a table (DuckDB) or a temporary view (Spark). Tests write SQL that both engines
accept, so one test states one behaviour for both; what an engine cannot do yet carries
``@pytest.mark.notyet("spark", raises=..., match=...)`` (see tests/notyet_marker.py).

Spark's catalog ``sqlml.models`` lives in the session's warehouse and is shared by the whole run,
as are model functions (UDFs are per SparkSession): each test's teardown drops the models it
created and the views it loaded, so tests stay independent and tests/backends/spark sees none of them.

A folder's conftest.py uses it with ``from engine_fixture import backend`` (tests/ is on sys.path);
tests/conformance and tests/docs do. A test module that sets ``DIALECT = "bigquery"`` gets
connections reading that dialect (``sqlml.connect(dialect=...)``), as tests/docs' BigQuery pages do.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

import sqlml

ENGINES = [
    pytest.param("duckdb", id="duckdb"),
    pytest.param("spark", id="spark", marks=[pytest.mark.spark, pytest.mark.slow]),
]


@dataclass
class Engine:
    """One engine under test: its name, a sqlml connection, and a way to load rows into it."""

    name: str
    con: sqlml.Connection
    spark: Any = None
    loaded: list[str] = field(default_factory=list)
    tables: list[str] = field(default_factory=list)

    def load(self, name: str, table: pa.Table, *, persist: bool = False) -> None:
        """``table``'s rows as ``name``: a DuckDB table, or a Spark temporary view (a table of the
        session's warehouse with ``persist``, for a statement that creates a view over it: Spark
        refuses a persistent view of a temporary one)."""
        schema, _, _ = name.rpartition(".")
        if self.spark is not None:
            frame = self.spark.createDataFrame(table)
            if persist or schema:  # a temporary view has no schema
                quoted = ".".join(f"`{part}`" for part in name.split("."))
                if schema:
                    self.spark.sql(f"CREATE DATABASE IF NOT EXISTS `{schema}`")
                self.spark.sql(f"DROP TABLE IF EXISTS {quoted}")
                frame.write.saveAsTable(quoted)
                self.tables.append(name)
                return
            frame.createOrReplaceTempView(name)
        else:
            raw = self.con.executor.backend.con
            quoted = ".".join(f'"{part}"' for part in name.split("."))
            if schema:
                raw.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
            raw.register("__conformance_source", table)
            raw.execute(f"CREATE OR REPLACE TABLE {quoted} AS SELECT * FROM __conformance_source")
            raw.unregister("__conformance_source")
        self.loaded.append(name)

    def rows(self, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
        cur = self.con.cursor()
        cur.execute(sql, params)
        return cur.fetchall()

    def arrow(self, sql: str, params: Any = None) -> pa.Table:
        cur = self.con.cursor()
        cur.execute(sql, params)
        return cur.fetch_arrow_table()

    def run(self, sql: str, params: Any = None) -> Any:
        """Execute a statement; the cursor (for its description or notices)."""
        cur = self.con.cursor()
        cur.execute(sql, params)
        return cur


def _models(con: sqlml.Connection) -> set[str]:
    cur = con.cursor()
    cur.execute("SHOW MODEL ALL")
    return {row[0] for row in cur.fetchall()}


@pytest.fixture(params=ENGINES)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    dialect = getattr(request.module, "DIALECT", None)
    if request.param == "duckdb":
        con = sqlml.connect(str(tmp_path / "conformance.duckdb"), dialect=dialect)
        yield Engine("duckdb", con)
        con.close()
        return
    spark = request.getfixturevalue("spark_session")
    con = sqlml.connect(spark=spark, dialect=dialect)
    before = _models(con)
    databases = {db.name for db in spark.catalog.listDatabases()}
    engine = Engine("spark", con, spark)
    yield engine
    con.close()
    # A fresh connection: the test may have closed its own.
    with sqlml.connect(spark=spark) as cleanup:
        for name in sorted(_models(cleanup) - before):
            cleanup.execute(f"DROP MODEL IF EXISTS {name}")
    for name in engine.loaded:
        if name not in engine.tables:
            spark.catalog.dropTempView(name)
    for name in engine.tables:
        quoted = ".".join(f"`{part}`" for part in name.split("."))
        spark.sql(f"DROP TABLE IF EXISTS {quoted}")
    # Schemas a test created (a tutorial's dataset), with the views and tables in them.
    for db in spark.catalog.listDatabases():
        if db.name not in databases:
            spark.sql(f"DROP DATABASE IF EXISTS `{db.name}` CASCADE")
