"""Starting and stopping Spark sessions for sqlml: a classic one (local or a standalone cluster)
or one on a Spark Connect server; pyspark's process-wide mode (classic or Connect) and its checks;
the sessions sqlml started, stopped by their last connection; and the worker-side package
(``sqlml_udfs``) shipped to a cluster's executors.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlml.backends.spark.errors import spark_errors, translate_error
from sqlml.errors import (
    DatabaseError,
    InterfaceError,
    NotSupportedError,
    OperationalError,
)

log = logging.getLogger("sqlml")

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
