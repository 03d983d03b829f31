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

import importlib.resources
import itertools
import json
import logging
import os
import sys
import threading
import warnings
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import pyarrow as pa

from sqlml.backends.base import Backend, Capabilities
from sqlml.backends.spark.compiled import check_mode, predict_columns
from sqlml.errors import (
    DatabaseError,
    DataError,
    InterfaceError,
    NotSupportedError,
    OperationalError,
    ProgrammingError,
)

log = logging.getLogger("sqlml")

#: Training queries with more rows than this are trained on the executors (Spark MLlib); smaller
#: ones are collected and trained with scikit-learn, as on DuckDB. ``connect(local_training_rows=)``.
LOCAL_TRAINING_ROWS = 100_000

# Sessions sqlml started, with how many sqlml connections use each: the last close() stops it.
_OWNED: dict[int, int] = {}
_OWNED_LOCK = threading.Lock()
# pyspark warns on every import that pandas >= 3 is not fully supported; sqlml never hands Spark
# pandas objects (Arrow only), so the warning says nothing about sqlml's use.
_PANDAS_WARNING = "PySpark does not yet fully support pandas"


def require_pyspark() -> Any:
    try:
        import pyspark
    except ImportError as exc:
        raise InterfaceError(
            "The Spark engine needs pyspark: pip install 'sqlml[spark]' (pyspark 4.1 to 4.3, with "
            "Java 17 or 21 on the PATH)."
        ) from exc
    return pyspark


@contextmanager
def _quiet() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=_PANDAS_WARNING, category=FutureWarning)
        yield


def build_session(master: str, config: dict[str, Any] | None = None) -> Any:
    """A SparkSession for ``master``: "local[2]" or "spark://host:7077" (Python workers on this
    interpreter unless PYSPARK_PYTHON says otherwise), or "sc://host:port", a new session on a
    Spark Connect server (:func:`connect_session`)."""
    require_pyspark()
    if master.startswith("sc://"):
        return connect_session(master, config)
    if _connect_mode():
        raise NotSupportedError(
            f"A classic Spark session ({master}) cannot start in a process that already uses "
            f"Spark Connect (pyspark switches the whole process to Connect mode); connect to "
            f"an sc:// server here too, or run the classic session in another process."
        )
    # Executors start `PYSPARK_PYTHON` (default `python3` on the PATH), which must have numpy,
    # pyarrow and onnxruntime; for a local master this interpreter has them.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.master(master).appName("sqlml")
    # Spark logs every failed statement at ERROR with its JVM stack; sqlml raises it as an error
    # already. {"spark.log.level": "WARN"} in config brings Spark's logs back.
    settings = {
        "spark.ui.showConsoleProgress": "false",
        "spark.log.level": "FATAL",
        **(config or {}),
    }
    for key, value in settings.items():
        builder = builder.config(key, str(value))
    with _quiet():
        return builder.getOrCreate()


# --- Spark Connect ------------------------------------------------------------------------------

#: Seconds to wait for a Spark Connect server to accept a TCP connection (its first answer is
#: bounded by a short retry policy instead: see :func:`_handshake`).
CONNECT_TIMEOUT = 10.0
_CONNECT_ENV = "SPARK_CONNECT_MODE_ENABLED"
# Client-side loggers that print every failed statement with the server's JVM stack (sqlml
# raises it as an error already).
_CONNECT_LOGGERS = ("SQLQueryContextLogger", "DataFrameQueryContextLogger")


def is_connect(spark: Any) -> bool:
    """Whether ``spark`` is a Spark Connect session (no SparkContext, no JVM in this process)."""
    return type(spark).__module__.startswith("pyspark.sql.connect")


def _connect_mode() -> bool:
    """pyspark's process-wide switch: once set, ``pyspark.sql.functions`` and ``pyspark.ml``
    build Connect objects, which a classic session cannot use (and the other way round)."""
    return _CONNECT_ENV in os.environ


def _classic_context_running() -> bool:
    from pyspark import SparkContext

    return SparkContext._active_spark_context is not None


def _mixing_error(url: str) -> NotSupportedError:
    return NotSupportedError(
        f"A Spark Connect session ({url}) cannot be used in a process that already runs a "
        f"classic SparkSession (pyspark switches the whole process to one mode or the other); "
        f"open the Connect connection in another process, or use a spark:// or local master."
    )


def _host_port(url: str) -> tuple[str, int]:
    """Host and port of an ``sc://host[:port][/;params]`` URL (Spark Connect's default port:
    15002)."""
    from urllib.parse import urlparse

    parsed = urlparse(url.split(";", 1)[0])
    try:
        host, port = parsed.hostname, parsed.port or 15002
    except ValueError as exc:
        raise InterfaceError(f"spark_master {url!r} is not a valid sc://host:port URL.") from exc
    if not host:
        raise InterfaceError(f"spark_master {url!r} names no host: use sc://host:port.")
    return host, port


def connect_session(url: str, config: dict[str, Any] | None = None) -> Any:
    """A new session of its own on the Spark Connect server at ``url`` (never one shared with
    other connections: Connect keeps temporary views and functions per session, and sqlml
    registers its own). A server that is down, or not a Spark Connect server, fails within about
    :data:`CONNECT_TIMEOUT` seconds rather than after gRPC's ten minutes of retries. ``config``
    keys are set as session settings; those Connect cannot change (set when the server starts)
    are an error naming the key."""
    import socket

    host, port = _host_port(url)
    try:
        socket.create_connection((host, port), timeout=CONNECT_TIMEOUT).close()
    except OSError as exc:
        raise OperationalError(
            f"Could not reach a Spark Connect server at {url} ({exc}). Start one "
            f"($SPARK_HOME/sbin/start-connect-server.sh) or fix the host and port."
        ) from exc
    if _classic_context_running():
        raise _mixing_error(url)
    try:
        from pyspark.sql.connect.client.retries import DefaultPolicy
    except ImportError as exc:
        raise InterfaceError(
            "Spark Connect needs pyspark's connect extra: pip install 'pyspark[connect]' "
            f"(grpcio, grpcio-status, googleapis-common-protos); {exc}."
        ) from exc
    from pyspark.sql import SparkSession

    was_connect = _connect_mode()
    spark = None
    try:
        with _quiet():
            spark = SparkSession.builder.remote(url).create()
        _quiet_connect_loggers()
        _handshake(spark, url, DefaultPolicy(max_retries=3, max_backoff=2000))
        _set_config(spark, url, config or {})
    except BaseException as exc:
        if spark is not None:
            _stop_quietly(spark)
        if not was_connect:  # leave the process in the mode it was
            os.environ.pop(_CONNECT_ENV, None)
        if isinstance(exc, DatabaseError | InterfaceError):
            raise
        raise OperationalError(f"Could not open a Spark Connect session on {url}: {exc}") from exc
    return spark


def _quiet_connect_loggers() -> None:
    """Through pyspark's own ``getLogger``: a plain logger made first under the same name would
    reject the keyword arguments pyspark logs with."""
    from pyspark.logger import PySparkLogger

    for name in _CONNECT_LOGGERS:
        PySparkLogger.getLogger(name).setLevel(logging.CRITICAL)


def _handshake(spark: Any, url: str, policy: Any) -> None:
    """The session's first call, with few retries: what is not a Spark Connect server fails in
    seconds."""
    client = spark.client
    policies = client.get_retry_policies()
    client.set_retry_policies([policy])
    try:
        _ = spark.version
    except Exception as exc:
        spark.release_session_on_close = False  # nothing to release on what is not a server
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
        raise OperationalError(
            f"{url} did not answer as a Spark Connect server ({first}). Check the host and "
            f"port: the server's spark.connect.grpc.binding.port (default 15002)."
        ) from exc
    finally:
        client.set_retry_policies(policies)


def _set_config(spark: Any, url: str, config: dict[str, Any]) -> None:
    for key, value in config.items():
        try:
            spark.conf.set(key, str(value))
        except spark_errors() as exc:
            raise NotSupportedError(
                f"Spark setting {key!r} cannot be changed through Spark Connect ({url}): "
                f"{translate_error(exc)} Settings fixed at start are given to the server "
                f"(start-connect-server.sh --conf {key}=...)."
            ) from exc


def _stop_quietly(spark: Any) -> None:
    """Stop a Connect session, giving a server that went away seconds, not gRPC's minutes of
    retries, to release it."""
    try:
        from pyspark.sql.connect.client.retries import DefaultPolicy

        spark.client.set_retry_policies([DefaultPolicy(max_retries=2, max_backoff=1000)])
        spark.stop()
    except Exception as exc:  # the server may be gone already
        log.debug("could not stop the Spark Connect session: %s", exc)


_SHIPPED: set[Any] = set()


def ship_udfs(spark: Any) -> None:
    """Send the worker-side package (``sqlml_udfs``: numpy, pyarrow and onnxruntime only) to a
    cluster's executors, once per SparkContext (or Spark Connect session: its artifacts), so they
    need no sqlml installed. A local master's workers import it from this environment already;
    a Connect server's workers get it whatever the server's master, since which Python they run
    is the server's business."""
    if is_connect(spark):
        key: Any = ("connect", spark.session_id)
        if key in _SHIPPED:
            return
        try:
            spark.addArtifacts(str(_udfs_archive()), pyfile=True)
        except spark_errors() as exc:
            raise translate_error(exc) from exc
        _SHIPPED.add(key)
        return
    context = spark.sparkContext
    if context.master.startswith("local") or id(context) in _SHIPPED:
        return
    context.addPyFile(str(_udfs_archive()))
    _SHIPPED.add(id(context))


_ARCHIVE: list[Any] = []


def _udfs_archive() -> Any:
    """``sqlml_udfs`` as a zip of its modules, built once per process."""
    if _ARCHIVE:
        return _ARCHIVE[0]
    import tempfile
    import zipfile
    from pathlib import Path

    import sqlml_udfs

    package = Path(sqlml_udfs.__file__).parent
    archive = Path(tempfile.mkdtemp(prefix="sqlml_udfs_")) / "sqlml_udfs.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for source in sorted(package.glob("*.py")):
            zipped.write(source, f"sqlml_udfs/{source.name}")
    _ARCHIVE.append(archive)
    return archive


def spark_errors() -> tuple[type[BaseException], ...]:
    """What Spark raises: pyspark's exceptions (all of them on Spark Connect), and py4j's for a
    classic session's JVM calls (py4j is absent from a Connect-only client)."""
    from pyspark.errors import PySparkException

    try:
        from py4j.protocol import Py4JError
    except ImportError:
        return (PySparkException,)
    return (PySparkException, Py4JError)


def translate_error(exc: BaseException) -> DatabaseError:
    """Spark's exception as the sqlml (PEP 249) exception of the same kind, without the JVM trace."""
    from pyspark.errors import (
        AnalysisException,
        ArithmeticException,
        IllegalArgumentException,
        NumberFormatException,
        PythonException,
        SparkRuntimeException,
    )

    message = str(exc).split("\n\nJVM stacktrace:")[0].strip()
    if isinstance(exc, PythonException):  # a Python worker failed: its last line says why
        lines = [line for line in message.splitlines() if line.strip()]
        message = lines[-1] if lines else message
        arity = "ValueError: the model's function takes "
        if message.startswith(arity):  # a wrong call, as DuckDB's binder reports it
            return ProgrammingError(
                f"The model's function takes {message[len(arity) :]}: call it with "
                f"the model's features, in order (SHOW MODEL name lists them)."
            )
        return DataError(f"A Spark Python worker failed: {message}")
    if isinstance(exc, AnalysisException):
        return ProgrammingError(message)
    if isinstance(exc, (ArithmeticException, NumberFormatException)):
        return DataError(message)
    if isinstance(exc, (IllegalArgumentException, SparkRuntimeException)):
        return DataError(message) if "CAST" in message.upper() else OperationalError(message)
    return OperationalError(message.splitlines()[0] if message else repr(exc))


class SparkBackend(Backend):
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
                if "LOCATION_ALREADY_EXISTS" not in str(exc) or not _is_catalog_table(statement):
                    raise
                self.attach_catalog(reason=exc)

    # --- the catalog's files, across sessions ------------------------------------------------------

    def catalog_location(self) -> str:
        """Where ``sqlml.models`` keeps its files, or would: ``<database location>/models``, the
        database's location being ``<spark.sql.warehouse.dir>/sqlml.db`` unless the session's
        catalog already knows the database (a metastore may place it elsewhere)."""
        try:
            if self.spark.catalog.databaseExists(CATALOG_DATABASE):
                base = self.spark.catalog.getDatabase(CATALOG_DATABASE).locationUri
            else:
                warehouse = self.spark.conf.get("spark.sql.warehouse.dir")
                base = f"{warehouse.rstrip('/')}/{CATALOG_DATABASE}.db"
        except spark_errors() as exc:
            raise translate_error(exc) from exc
        return f"{base.rstrip('/')}/{CATALOG_NAME}"

    def _attach_on_connect(self) -> None:
        """Re-register the catalog when this session does not know ``sqlml.models`` but its
        folder holds files (an earlier session's models). Classic sessions only: their driver
        (here) owns the catalog and reaches the warehouse through Hadoop's FileSystem, as
        Spark's own location check does. A Spark Connect server keeps its catalog for as long as
        it runs; after a restart, the first CREATE MODEL re-registers it (:meth:`run_script`).
        A failure here is a warning, not a failed connect: plain Spark SQL still works, and the
        first CREATE MODEL tries again and raises what is wrong."""
        if self.connect:
            return
        try:
            if self.table_exists(CATALOG_DATABASE, CATALOG_NAME):
                return
            location = self.catalog_location()
            if not self._holds_files(location):
                return  # no catalog yet: the first CREATE MODEL creates it (catalog_spark.sql)
            self.attach_catalog()
        except DatabaseError as exc:
            log.warning("the sqlml catalog in the warehouse could not be re-registered: %s", exc)

    def _holds_files(self, location: str) -> bool:
        """Whether the folder ``location`` exists and is not empty: what makes Spark refuse a
        managed table there (LOCATION_ALREADY_EXISTS). Classic sessions only (the driver's JVM)."""
        try:
            jvm = self.spark._jvm
            path = jvm.org.apache.hadoop.fs.Path(location)
            fs = path.getFileSystem(self.spark._jsparkSession.sessionState().newHadoopConf())
            return bool(fs.exists(path)) and len(fs.listStatus(path)) > 0
        except spark_errors() as exc:
            raise OperationalError(
                f"Could not read the warehouse folder {location}: {translate_error(exc)}"
            ) from exc

    def attach_catalog(self, reason: BaseException | None = None) -> None:
        """Register ``sqlml.models`` over the files at :meth:`catalog_location` (the catalog an
        earlier session wrote there) and recover its partitions, one per model name.

        The table is EXTERNAL (Spark creates no managed table over existing files); so that
        DROP MODEL still removes a model's files there, :meth:`delete_model` empties the
        partition before dropping it. What a process killed mid-write leaves (``_temporary``,
        ``.spark-staging-*``, an empty ``name=`` folder) is hidden or holds no rows: no model
        appears from it, and every complete one is back. Nothing is written to the warehouse."""
        location = self.catalog_location()
        create = next(s for s in _statements(self.catalog_ddl()) if _is_catalog_table(s))
        literal = "'" + location.replace("\\", "\\\\").replace("'", "\\'") + "'"
        try:
            self.execute_params(f"CREATE DATABASE IF NOT EXISTS {CATALOG_DATABASE}")
            self.execute_params(f"{create}\nLOCATION {literal}")
            self.execute_params(f"ALTER TABLE {CATALOG_TABLE} RECOVER PARTITIONS")
        except DatabaseError as exc:
            cause = f"{reason} " if reason is not None else ""
            raise OperationalError(
                f"{cause}The warehouse holds a sqlml catalog from an earlier Spark session at "
                f"{location}, which could not be registered again in this session ({exc}). "
                f"Move that folder away, or use another spark.sql.warehouse.dir, or a persistent "
                f"metastore (spark.sql.catalogImplementation=hive, see README 'Spark')."
            ) from exc
        log.info("sqlml catalog re-registered over %s", location)

    def table_exists(self, schema: str, table: str) -> bool:
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

    def _register_udf(self, name: str, function: Callable[..., pa.Array], return_type: Any) -> None:
        from pyspark.sql.functions import ArrowUDFType, arrow_udf

        try:
            with warnings.catch_warnings():  # "prefer type hints": *args cannot carry them
                warnings.simplefilter("ignore", UserWarning)
                udf = arrow_udf(function, return_type, ArrowUDFType.SCALAR)
            self.spark.udf.register(name, udf)
        except spark_errors() as exc:
            raise translate_error(exc) from exc

    def unregister_function(self, name: str) -> None:
        self.execute_params(f"DROP TEMPORARY FUNCTION IF EXISTS {self.quote(name)}")

    def has_function(self, name: str) -> bool:
        try:
            return bool(self.spark.catalog.functionExists(name))
        except spark_errors() as exc:
            raise translate_error(exc) from exc

    # --- scoring on the executors -------------------------------------------------------------------

    def broadcast(self, key: str, onnx: bytes) -> Any:
        """The model's ONNX bytes as a broadcast, made once per model version for this backend.

        A Spark Connect session has no SparkContext to broadcast with: there the bytes
        themselves travel inside the scoring function's closure, which Spark sends with every
        task (once per task rather than once per executor: fine for models of a few MB; each
        Python worker still builds one ONNX Runtime session per model version and reuses it)."""
        if self.connect:
            return onnx
        handle = self._broadcasts.get(key)
        if handle is None:
            handle = self.spark.sparkContext.broadcast(onnx)
            self._broadcasts[key] = handle
            while len(self._broadcasts) > 16:
                _, old = self._broadcasts.popitem(last=False)
                old.unpersist()
        else:
            self._broadcasts.move_to_end(key)
        return handle

    def relation(self, sql: str, params: Any = None) -> Any:
        return self.sql(sql, params)

    def relation_schema(self, relation: Any) -> pa.Schema:
        return arrow_schema(relation.schema)

    def score_relation(
        self, record: Any, relation: Any, threshold: Any, added: list[pa.Field]
    ) -> Any:
        """ML.PREDICT as a DataFrame: compiled to Spark expressions when the graph is small
        (sqlml.backends.spark.compiled), else the rows through ``mapInArrow`` on the executors;
        the input's columns, then the prediction columns (Spark types of the same Arrow types)."""
        from pyspark.sql.pandas.types import from_arrow_type
        from pyspark.sql.types import StructField, StructType
        from sqlml_udfs.spark import predict_batches

        compiled = predict_columns(record, relation, threshold, self.scoring)
        if compiled is not None:
            return compiled
        schema = StructType(
            list(relation.schema.fields)
            + [StructField(f.name, from_arrow_type(f.type), True) for f in added]
        )
        score = predict_batches(
            record.cache_key,
            self.broadcast(record.cache_key, record.onnx),
            json.dumps(record.spec),
            threshold,
            list(relation.columns),
            [f.name for f in added],
        )
        try:
            return relation.mapInArrow(score, schema)
        except spark_errors() as exc:
            raise translate_error(exc) from exc

    def register_model_function(self, record: Any) -> None:
        """The model's FUNCTION (and ``<FUNCTION>_probabilities`` for classifiers) as Arrow UDFs."""
        from sqlml_udfs.scoring import output_fields
        from sqlml_udfs.spark import scalar_function

        handle = self.broadcast(record.cache_key, record.onnx)
        spec = json.dumps(record.spec)
        fields = output_fields(record.spec)
        names = [record.function_name]
        if record.spec["task"] == "classification":
            names.append(f"{record.function_name}_probabilities")
        elif record.spec["task"] == "clustering":
            fields = [pa.field("centroid_id", pa.int64())]
        for output, name in enumerate(names):
            function = scalar_function(record.cache_key, handle, spec, output)
            self._register_udf(name, function, _from_arrow_type(fields[output].type))

    # --- the catalog ----------------------------------------------------------------------------------

    def catalog_ddl(self) -> str:
        return importlib.resources.files("sqlml._assets").joinpath("catalog_spark.sql").read_text()

    def delete_model(self, table: str, name: str) -> None:
        """Spark's Parquet tables have no DELETE: the catalog is partitioned by name instead, and
        DROP MODEL drops the model's partition. Its files go first, by overwriting it with no
        rows: a table re-attached over an earlier session's files (:meth:`attach_catalog`) is
        EXTERNAL, whose DROP PARTITION keeps them, and a later session would find the model
        again."""
        literal = "'" + name.replace("\\", "\\\\").replace("'", "\\'") + "'"
        try:
            fields = self.sql(f"SELECT * FROM {table}").schema.fields
        except spark_errors() as exc:
            raise translate_error(exc) from exc
        nulls = ", ".join(
            f"CAST(NULL AS {f.dataType.simpleString()}) AS {self.quote(f.name)}"
            for f in fields
            if f.name != "name"
        )
        self.execute_params(
            f"INSERT OVERWRITE TABLE {table} PARTITION (name = {literal}) SELECT {nulls} WHERE false"
        )
        self.execute_params(f"ALTER TABLE {table} DROP IF EXISTS PARTITION (name = {literal})")

    # --- a user's statement and its rows ----------------------------------------------------------------

    @property
    def version(self) -> str:
        return str(self.spark.version)

    def execute(self, sql: str, params: Any = None) -> None:
        """Run a user's statement and read its rows whole (Arrow) for the fetch methods."""
        frame = self.sql(sql, params)
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


CATALOG_DATABASE = "sqlml"
CATALOG_NAME = "models"
CATALOG_TABLE = f"{CATALOG_DATABASE}.{CATALOG_NAME}"


def _statements(sql: str) -> list[str]:
    """A DDL script's statements: split at ``;``, comment lines dropped."""
    lines = [line for line in sql.splitlines() if not line.lstrip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


def _is_catalog_table(statement: str) -> bool:
    """Whether ``statement`` is catalog_spark.sql's CREATE TABLE of ``sqlml.models``."""
    head = " ".join(statement.split()[:6]).lower()
    return head == f"create table if not exists {CATALOG_TABLE}"


def arrow_schema(schema: Any) -> pa.Schema:
    """A Spark StructType as the Arrow schema its rows arrive in (timestamps in UTC)."""
    from pyspark.sql.pandas.types import to_arrow_schema

    return to_arrow_schema(schema, timezone="UTC")


def _from_arrow_type(dtype: pa.DataType) -> Any:
    from pyspark.sql.pandas.types import from_arrow_type

    return from_arrow_type(dtype)


_SPARK_TYPES = {"DOUBLE": "double", "BIGINT": "bigint", "VARCHAR": "string", "BOOLEAN": "boolean"}


def spark_type(name: str) -> str:
    """A sqlml function type name (as DuckDB's backend takes them) as a Spark DDL type."""
    if name.startswith("PROBS:"):
        return f"array<struct<label:{_SPARK_TYPES[name.split(':', 1)[1]]},prob:double>>"
    return _SPARK_TYPES[name]
