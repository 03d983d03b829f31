"""The Spark backend: a SparkSession (local, a standalone cluster, or a session on a Spark Connect
server) behind sqlml's Backend.

Users write Spark SQL; every result comes back as Arrow (``DataFrame.toArrow``) and is read whole
into the cursor's buffer. ML sources are temporary views. ML.PREDICT and model functions score on
the executors (:mod:`sqlml_udfs.spark`), with the ONNX bytes broadcast once per model version
(on Spark Connect, which has no SparkContext, inside the scoring function instead).
The catalog is the table ``sqlml.models`` in the session's catalog (``sql/catalog_spark.sql``),
its files under the warehouse. A session whose catalog does not know the table (Spark's default
in-memory catalog forgets it when the session stops) re-registers it over those files: see
:meth:`SparkBackend.attach_catalog`.

Spark has no multi-statement transactions, so sqlml runs it in autocommit mode only; a new model
version is one INSERT of one row after training succeeded, which Spark commits atomically (the
row's file appears whole or not at all), so a failed CREATE OR REPLACE leaves the old version live.
"""

from __future__ import annotations

import itertools
import logging
import os
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

import pyarrow as pa

from sqlml.backends.base import Backend, Capabilities
from sqlml.backends.spark.catalog import SparkCatalog, _is_catalog_table, _statements
from sqlml.backends.spark.compiled import check_mode
from sqlml.backends.spark.conversion import arrow_schema, spark_type
from sqlml.backends.spark.errors import spark_errors, translate_error
from sqlml.backends.spark.scoring import SparkScoring
from sqlml.backends.spark.session import (
    _CONNECT_ENV,
    _OWNED,
    _OWNED_LOCK,
    _classic_context_running,
    _connect_mode,
    _mixing_error,
    _quiet,
    _stop_quietly,
    build_session,
    is_connect,
    require_pyspark,
    ship_udfs,
)
from sqlml.errors import Error, InterfaceError, NotSupportedError, OperationalError

log = logging.getLogger("sqlml")

#: Training queries with more rows than this are trained on the executors (Spark MLlib); smaller
#: ones are collected and trained with scikit-learn, as on DuckDB. ``connect(local_training_rows=)``.
LOCAL_TRAINING_ROWS = 100_000


class SparkBackend(SparkScoring, SparkCatalog, Backend):
    name = "spark"
    display_name = "Spark"
    dialect = "spark"
    # Spark SQL binds `?` and `:name` only: the executor rewrites `$1` / `$name` (sqlml's DB-API).
    capabilities = Capabilities(
        scalar_udfs=True,
        transactions=False,
        streams_results=False,
        transform=False,
        scores_in_engine=True,
        distributed_training=True,
        dollar_params=False,
    )
    catalog_place = "sqlml.models in the Spark session's catalog"

    _names = itertools.count(1)

    def __init__(
        self,
        spark: Any = None,
        *,
        master: str | None = None,
        config: dict[str, Any] | None = None,
        local_training_rows: int = LOCAL_TRAINING_ROWS,
        scoring: str = "auto",
    ) -> None:
        require_pyspark()
        self.scoring = check_mode(scoring)  # ML.PREDICT: compiled.py, or mapInArrow
        if spark is None and (master or "").startswith("sc://"):
            spark = build_session(master or "", config)  # a Connect session of its own
            self.owns_session = True
            with _OWNED_LOCK:
                _OWNED[id(spark)] = 1
        elif spark is None:
            from pyspark.sql import SparkSession

            active = None if _connect_mode() else SparkSession.getActiveSession()
            spark = build_session(master or "local[*]", config)
            # getOrCreate returns a session already running in this process: sqlml stops only
            # sessions it started itself, when its last connection to them closes.
            self.owns_session = active is None or id(active) in _OWNED
            if self.owns_session:
                with _OWNED_LOCK:
                    _OWNED[id(spark)] = _OWNED.get(id(spark), 0) + 1
        else:
            self._check_session(spark)
            self.owns_session = False
        if isinstance(local_training_rows, bool) or not isinstance(local_training_rows, int):
            raise InterfaceError(
                f"local_training_rows must be an integer ≥ 0; got {local_training_rows!r}."
            )
        self.spark = spark
        self.connect = is_connect(spark)
        self.local_training_rows = local_training_rows
        try:
            ship_udfs(spark)
        except BaseException:
            self.close_session()
            raise
        self.in_transaction = False
        self._pending: pa.Table | None = None
        self._broadcasts: OrderedDict[str, Any] = OrderedDict()
        self._closed = False
        self._attach_on_connect()

    @classmethod
    def connect(
        cls,
        database: str = ":memory:",
        *,
        read_only: bool = False,
        spark: Any = None,
        spark_master: str | None = None,
        config: dict[str, Any] | None = None,
        local_training_rows: int | None = None,
        spark_scoring: str | None = None,
    ) -> SparkBackend:
        """A new session on ``spark_master`` with ``config`` as its settings, or the session
        ``spark`` the caller has (left running on close); what Spark cannot do fails here,
        before a session starts."""
        if database != ":memory:":
            raise NotSupportedError(
                f"A DuckDB database ({database!r}) with engine='spark': use engine='auto' (or "
                "leave engine out) for DuckDB and Spark together, or leave the database out."
            )
        if read_only:
            raise NotSupportedError("read_only=True is not yet supported on the Spark engine.")
        if spark is not None and (spark_master is not None or config):
            raise InterfaceError(
                "Pass either spark= (a SparkSession you already have) or spark_master= and "
                "config= (for a new session), not both."
            )
        options: dict[str, Any] = {}
        if local_training_rows is not None:
            options["local_training_rows"] = local_training_rows
        if spark_scoring is not None:
            options["scoring"] = spark_scoring
        return cls(spark, master=spark_master, config=dict(config or {}), **options)

    @staticmethod
    def _check_session(spark: Any) -> None:
        """A classic ``pyspark.sql.SparkSession`` or a Spark Connect one, in a process whose
        pyspark mode matches it (see :func:`_connect_mode`)."""
        from pyspark.sql import SparkSession

        if is_connect(spark):
            if _classic_context_running():
                raise _mixing_error("spark=")
            # pyspark's own builder sets this when it opens a Connect session; a session made
            # with pyspark.sql.connect's builder directly may not have, and then pyspark's
            # functions and ML would build classic objects for it.
            os.environ[_CONNECT_ENV] = "1"
            return
        if not isinstance(spark, SparkSession):
            raise InterfaceError(
                f"spark= takes a pyspark.sql.SparkSession (classic or Spark Connect); got "
                f"{type(spark).__name__}."
            )
        if _connect_mode():
            raise NotSupportedError(
                "A classic SparkSession cannot be used in a process that already uses Spark "
                "Connect (pyspark switches the whole process to Connect mode); use it from "
                "another process, or connect to an sc:// server here too."
            )

    # --- running Spark SQL ----------------------------------------------------------------------

    def sql(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> Any:
        """``spark.sql`` with positional (``?``) or named (``:name``) parameters, errors translated."""
        try:
            with _quiet():
                if params:
                    args = dict(params) if isinstance(params, dict) else list(params)
                    return self.spark.sql(sql, args=args)
                return self.spark.sql(sql)
        except spark_errors() as exc:
            raise translate_error(exc) from exc

    def read_files(self, format: str | None, paths: Sequence[str]) -> Any:
        """Parquet or CSV files as a DataFrame (CSV: header and types inferred, as DuckDB does)."""
        try:
            if format == "parquet":
                return self.spark.read.parquet(*paths)
            reader = self.spark.read.option("header", True).option("inferSchema", True)
            return reader.csv(list(paths))
        except spark_errors() as exc:
            raise translate_error(exc) from exc

    def to_arrow(self, frame: Any) -> pa.Table:
        try:
            with _quiet():
                return frame.toArrow()
        except spark_errors() as exc:
            raise translate_error(exc) from exc

    def query(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        frame = self.sql(sql, params)
        try:
            return [tuple(row) for row in frame.collect()]
        except spark_errors() as exc:
            raise translate_error(exc) from exc

    def execute_params(self, sql: str, params: Sequence[Any] | None = None) -> None:
        frame = self.sql(sql, params)
        if frame.columns:  # a query rather than a command: run it for its effect
            self.to_arrow(frame)

    def run_script(self, sql: str) -> None:
        """sqlml's own DDL (the catalog): statements split at ``;``, comment lines dropped. The
        catalog's CREATE TABLE over files an earlier session left (LOCATION_ALREADY_EXISTS)
        re-registers the table over them instead (:meth:`attach_catalog`)."""
        for statement in _statements(sql):
            try:
                self.execute_params(statement)
            except OperationalError as exc:
                table = _is_catalog_table(statement)
                if "LOCATION_ALREADY_EXISTS" not in str(exc) or table is None:
                    raise
                self.attach_catalog(reason=exc, table=table)

    def table_exists(self, schema: str, table: str, database: str | None = None) -> bool:
        try:
            return bool(self.spark.catalog.tableExists(f"{schema}.{table}"))
        except spark_errors() as exc:
            raise translate_error(exc) from exc

    def arrow(self, sql: str, params: Sequence[Any] | None = None) -> pa.Table:
        return self.to_arrow(self.sql(sql, params))

    def stream(
        self, sql: str, params: Sequence[Any] | None = None, batch_size: int = 122_880
    ) -> pa.RecordBatchReader:
        """The rows collected to the driver, then served in batches (ML.PREDICT does not come
        here: it scores on the executors, see :meth:`predict_relation`)."""
        table = self.arrow(sql, params)
        return pa.RecordBatchReader.from_batches(table.schema, table.to_batches(batch_size))

    def schema(self, sql: str, params: Sequence[Any] | None = None) -> pa.Schema:
        """The Arrow schema of a query's result, without running it."""
        return arrow_schema(self.sql(sql, params).schema)

    # --- Arrow sources and functions --------------------------------------------------------------

    def temp_name(self, kind: str) -> str:
        return f"__sqlml_{kind}_{next(self._names)}"

    def quote(self, name: str) -> str:
        return "`" + name.replace("`", "``") + "`"

    def register_arrow(self, name: str, data: Any) -> None:
        """A temporary view: of a DataFrame as it is (scored on the executors when read), or of
        Arrow data sent from the driver (ML function results, which are small)."""
        if isinstance(data, pa.RecordBatchReader):
            data = data.read_all()
        try:
            with _quiet():
                frame = data if not isinstance(data, pa.Table) else self._from_arrow(data)
                frame.createOrReplaceTempView(name)
        except spark_errors() as exc:
            raise translate_error(exc) from exc

    def _from_arrow(self, table: pa.Table) -> Any:
        from pyspark.sql.pandas.types import from_arrow_type
        from pyspark.sql.types import StructField, StructType

        schema = StructType(
            [StructField(f.name, from_arrow_type(f.type), True) for f in table.schema]
        )
        return self.spark.createDataFrame(table, schema=schema)

    def unregister_arrow(self, name: str) -> None:
        try:
            self.spark.catalog.dropTempView(name)
        except spark_errors() as exc:  # never expected: the statement reading it has finished
            log.warning("could not drop sqlml's temporary view %s: %s", name, exc)

    def materialize(self, source: Any) -> pa.Table:
        if isinstance(source, (pa.Table, pa.RecordBatchReader)):
            return super().materialize(source)
        return self.to_arrow(source)

    def register_function(
        self,
        name: str,
        function: Callable[..., pa.Array],
        parameters: list[tuple[str, str]],
        return_type: str,
    ) -> None:
        self._register_udf(name, function, spark_type(return_type))

    def unregister_function(self, name: str) -> None:
        self.execute_params(f"DROP TEMPORARY FUNCTION IF EXISTS {self.quote(name)}")

    def has_function(self, name: str) -> bool:
        try:
            return bool(self.spark.catalog.functionExists(name))
        except spark_errors() as exc:
            raise translate_error(exc) from exc

    # --- a user's statement and its rows ----------------------------------------------------------------

    @property
    def version(self) -> str:
        return str(self.spark.version)

    def execute(self, sql: str, params: Any = None) -> None:
        """Run a user's statement and read its rows whole (Arrow) for the fetch methods."""
        from sqlml.backends.spark import replace

        try:
            frame = self.sql(sql, params)
        except Error as exc:  # CREATE OR REPLACE TABLE … AS on the session catalog
            node = replace.replacing(sql) if replace.UNSUPPORTED in str(exc) else None
            if node is None:
                raise
            replace.replace_in_steps(node, params, self.sql)
            self._pending = None
            return
        self._pending = self.to_arrow(frame) if frame.columns else None

    def description(self) -> list[tuple[Any, ...]] | None:
        if self._pending is None:
            return None
        from sqlml.types import sql_type

        return [
            (f.name, sql_type(f.type), None, None, None, None, f.nullable)
            for f in self._pending.schema
        ]

    def fetchmany(self, size: int) -> list[tuple[Any, ...]]:
        table = self._take(size)
        names = table.column_names
        return [tuple(row[n] for n in names) for row in table.to_pylist()]

    def fetchall(self) -> list[tuple[Any, ...]]:
        return self.fetchmany(-1)

    def fetch_arrow_table(self) -> pa.Table:
        return self._take(-1)

    def _take(self, size: int) -> pa.Table:
        pending = self._pending
        if pending is None:
            return pa.table({})
        if size < 0:
            size = pending.num_rows
        taken, self._pending = pending.slice(0, size), pending.slice(size)
        return taken

    # --- transactions: none -------------------------------------------------------------------------

    def begin(self) -> None:
        """Nothing to begin: every statement commits (see the module docstring)."""

    def commit(self) -> None:
        pass

    def rollback(self) -> None:
        pass

    def interrupt(self) -> None:
        """Cancel the session's running Spark jobs (Connect: its operations)."""
        try:
            if _connect_mode():
                self.spark.interruptAll()
            else:
                self.spark.sparkContext.cancelAllJobs()
        except spark_errors() as exc:  # nothing runs, or the session is gone
            log.debug("interrupt: %s", exc)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for handle in self._broadcasts.values():
            try:
                handle.unpersist()
            except spark_errors():  # the session may already be stopped
                pass
        self._broadcasts.clear()
        self.close_session()

    def close_session(self) -> None:
        """Stop the session if sqlml started it and this was its last connection (a Connect
        session sqlml opened belongs to one connection: stopping it releases it on the
        server, with its temporary views and functions)."""
        if not self.owns_session:
            return
        with _OWNED_LOCK:
            users = _OWNED.get(id(self.spark), 1) - 1
            if users > 0:
                _OWNED[id(self.spark)] = users
                return
            _OWNED.pop(id(self.spark), None)
        if self.connect:
            _stop_quietly(self.spark)
        else:
            self.spark.stop()
