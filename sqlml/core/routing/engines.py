"""Opening the engines of a connection: ``sqlml.connect``'s engine options to backends.

``engine`` (or what ``spark_master`` / ``spark`` and ``database`` imply) names the engine: DuckDB
alone, Spark alone, or both (``'auto'``); each backend's ``connect`` checks its own options.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlml.core.executor import Executor
from sqlml.core.routing.router import Router, SingleEngine
from sqlml.errors import InterfaceError, NotSupportedError


def check_dialect(database: str, dialect: Any, options: Mapping[str, Any]) -> None:
    """``connect(dialect=...)`` on a connection with both engines: DuckDB's only, for now."""
    if (
        dialect is not None
        and dialect.lower() != "duckdb"
        and (
            options.get("engine") == "auto"
            or (
                options.get("engine") is None
                and database != ":memory:"
                and (options.get("spark_master") is not None or options.get("spark") is not None)
            )
        )
    ):
        raise NotSupportedError(
            "engine='auto' reads DuckDB SQL (and writes Spark SQL for the statements it sends to "
            "Spark); dialect= other than 'duckdb' is not supported there yet."
        )


def open_engines(
    database: str = ":memory:",
    *,
    read_only: bool = False,
    autocommit: bool = True,
    config: Mapping[str, Any] | None = None,
    engine: str | None = None,
    duckdb_connection: Any = None,
    spark_master: str | None = None,
    spark: Any = None,
    local_training_rows: int | None = None,
    spark_threshold: int | str | None = None,
    spark_config: Mapping[str, Any] | None = None,
    spark_scoring: str | None = None,
) -> SingleEngine | Router:
    """The connection's dispatcher: one engine, or the Router over both (see sqlml.connect)."""
    spark_given = spark_master is not None or spark is not None
    if engine is None:
        engine = "duckdb" if not spark_given else "spark" if database == ":memory:" else "auto"
    if engine != "auto" and (spark_threshold is not None or spark_config is not None):
        raise InterfaceError(
            "spark_threshold and spark_config apply to connections with both engines "
            "(engine='auto'): sqlml.connect('file.duckdb', spark_master=..., spark_threshold=...)."
        )
    if engine == "auto":
        return _open_auto(
            database,
            read_only,
            config,
            duckdb_connection,
            spark_master,
            spark,
            local_training_rows,
            spark_threshold,
            spark_config,
            spark_scoring,
        )
    if engine == "spark":
        from sqlml.backends.spark.backend import SparkBackend

        # Checked here, not by SparkBackend.connect (autocommit is the connection's, not an
        # engine option), but after what connect() refuses first: a database, then read_only.
        if not autocommit and not read_only and database == ":memory:":
            raise NotSupportedError(
                "autocommit=False (transactions) is not yet supported on the Spark engine."
            )
        backend = SparkBackend.connect(
            database,
            read_only=read_only,
            spark=spark,
            spark_master=spark_master,
            config=config,
            local_training_rows=local_training_rows,
            spark_scoring=spark_scoring,
        )
        try:
            return SingleEngine(Executor(backend))
        except BaseException:
            backend.close()
            raise
    if spark_scoring is not None:
        raise InterfaceError("spark_scoring applies to engine='spark'; leave it out for DuckDB.")
    if spark_given:
        raise InterfaceError(
            "spark_master / spark apply to engine='spark' or engine='auto'; leave them out for "
            "DuckDB alone."
        )
    if engine != "duckdb":
        raise NotSupportedError(
            f"engine={engine!r} is not available; sqlml runs on 'duckdb' (embedded, the default), "
            "'spark', or 'auto' (both, each statement where its data is)."
        )
    if local_training_rows is not None:
        raise InterfaceError(
            "local_training_rows applies to the Spark engine (DuckDB always trains here); "
            "leave it out, or connect with engine='spark'."
        )
    from sqlml.backends.duckdb.backend import DuckDBBackend

    backend = DuckDBBackend.connect(
        database, read_only=read_only, config=config, duckdb_connection=duckdb_connection
    )
    return SingleEngine(Executor(backend))


def _open_auto(
    database: str,
    read_only: bool,
    config: Mapping[str, Any] | None,
    duckdb_connection: Any,
    spark_master: str | None,
    spark: Any,
    local_training_rows: int | None,
    spark_threshold: int | str | None,
    spark_config: Mapping[str, Any] | None,
    spark_scoring: str | None = None,
) -> Router:
    """``connect(engine="auto", ...)``: DuckDB now, Spark when a statement first needs it."""
    from sqlml.backends.duckdb.backend import DuckDBBackend
    from sqlml.backends.spark.backend import LOCAL_TRAINING_ROWS, SparkBackend, require_pyspark
    from sqlml.core.routing.settings import DEFAULT_SPARK_THRESHOLD, parse_size

    if spark is not None and (spark_master is not None or spark_config):
        raise InterfaceError(
            "Pass either spark= (a SparkSession you already have) or spark_master= and "
            "spark_config= (for a new session), not both."
        )
    rows = LOCAL_TRAINING_ROWS if local_training_rows is None else local_training_rows
    if isinstance(rows, bool) or not isinstance(rows, int) or rows < 0:
        raise InterfaceError(f"local_training_rows must be an integer ≥ 0; got {rows!r}.")
    threshold = DEFAULT_SPARK_THRESHOLD if spark_threshold is None else parse_size(spark_threshold)
    require_pyspark()  # fail now, not on the first large statement
    from sqlml.backends.spark.compiled import check_mode

    scoring = check_mode("auto" if spark_scoring is None else spark_scoring)

    def start_spark() -> Any:
        return SparkBackend(
            spark,
            master=spark_master,
            config=dict(spark_config or {}),
            local_training_rows=rows,
            scoring=scoring,
        )

    backend = DuckDBBackend.connect(
        database, read_only=read_only, config=config, duckdb_connection=duckdb_connection
    )
    return Router(Executor(backend), start_spark, threshold, rows, database)
