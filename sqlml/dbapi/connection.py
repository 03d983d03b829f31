"""PEP 249's ``connect()`` and ``Connection``: one engine connection (or two, engine='auto')
that every cursor of the connection shares.
"""

from __future__ import annotations

from typing import Any

from sqlml.dbapi.cursor import Cursor
from sqlml.errors import (
    DatabaseError,
    DataError,
    Error,
    IntegrityError,
    InterfaceError,
    InternalError,
    NotSupportedError,
    OperationalError,
    ProgrammingError,
    Warning,
    public_errors,
)

# --- connection -------------------------------------------------------------------------------------


#: The SQL dialects a connection reads (``connect(dialect=...)``): those sqlml adds its ML
#: statements to. Anything else about them is sqlglot's.
DIALECTS = ("duckdb", "spark", "bigquery", "redshift")


def connect(
    database: str = ":memory:",
    *,
    dialect: str | None = None,
    **options: Any,
) -> Connection:
    """Open a sqlml connection.

    ``database`` is a DuckDB file path (created if missing) or ``":memory:"``. ``autocommit`` is on by
    default, as in DuckDB and its CLI, so a statement's effect is saved when it succeeds; with
    ``autocommit=False`` statements run in a transaction that ``commit()`` ends, as PEP 249 describes.
    ``duckdb_connection`` runs sqlml on a ``duckdb.connect()`` connection you already have (with no
    transaction open); closing the sqlml connection then leaves yours open.

    ``engine="spark"`` (implied by ``spark_master`` or ``spark``) runs on Apache Spark: a new
    session on ``spark_master`` ("local[2]", "spark://host:7077", or a Spark Connect server
    "sc://host:15002") with ``config`` as its Spark settings, or the SparkSession ``spark`` you
    already have, classic or Connect (left running on close). Training
    queries above ``local_training_rows`` rows (default 100,000) train on the executors; smaller
    ones are collected and trained with scikit-learn. Spark has no transactions: autocommit only.

    ``engine="auto"`` (implied by a ``database`` file together with ``spark_master`` or ``spark``)
    uses both: DuckDB (the database, ``config`` its settings) holds the tables and the one model
    catalog; each statement runs on DuckDB unless it reads only Parquet/CSV files of at least
    ``spark_threshold`` bytes in total (an int, or '512MB', '4GiB'; default 1 GiB; also
    ``SET sqlml.spark_threshold = '…'``), which run on Spark (``spark_config`` its settings),
    started on the first such statement. See :mod:`sqlml.core.routing`.

    ``dialect`` is the SQL you write: 'duckdb', 'spark', 'bigquery' or 'redshift' (default: the
    engine's own, so statements reach it verbatim). When it differs from the engine's, sqlml
    transpiles every statement with sqlglot (what sqlglot cannot translate is a
    NotSupportedError, never a guess): BigQuery SQL on DuckDB, DuckDB SQL on Spark, and so on.

    ``spark_scoring`` chooses how ML.PREDICT scores on Spark: 'auto' (default) compiles small
    graphs to Spark expressions and scores the rest with ONNX Runtime through ``mapInArrow``;
    'compiled' raises NotSupportedError for a graph it cannot compile; 'arrow' always uses
    ``mapInArrow``. See :mod:`sqlml.backends.spark.compiled`.

    ``progress_callback`` is called with a :class:`sqlml.progress.Progress` as long work moves
    (CREATE MODEL's stages, trees, rounds, epochs, trials; rows scored into a table); each
    cursor's ``progress`` holds the last one. Inside a Jupyter kernel a one-line display shows
    it too (``connection.notebook_progress = False`` turns that off); ``report_progress=False``
    turns progress off altogether.
    """
    if dialect is not None and (not isinstance(dialect, str) or dialect.lower() not in DIALECTS):
        raise InterfaceError(
            f"dialect={dialect!r} is not one sqlml reads; use one of {', '.join(DIALECTS)} (or "
            f"leave it out to write the engine's own SQL)."
        )
    from sqlml.core.routing.engines import check_dialect, open_engines

    check_dialect(database, dialect, options)
    limits = _limits(
        options.pop("max_statement_size", None), options.pop("max_nesting_depth", None)
    )
    autocommit = options.pop("autocommit", True)
    callback = options.pop("progress_callback", None)
    report = options.pop("report_progress", True)
    if callback is not None and not callable(callback):
        raise InterfaceError(
            f"progress_callback must be a function taking one sqlml.progress.Progress; got "
            f"{type(callback).__name__}."
        )
    with public_errors("connecting"):
        dispatcher = open_engines(database, autocommit=autocommit, **options)
        connection = Connection(dispatcher.executor, autocommit=autocommit, router=dispatcher)
    if dialect is not None:
        connection.dialect = dialect.lower()
    connection.limits = limits
    connection.progress_callback = callback
    connection.report_progress = bool(report)
    return connection


def _limits(size: Any, depth: Any) -> Any:
    """connect(max_statement_size=, max_nesting_depth=): sqlml.sql.Limits, checked."""
    from dataclasses import replace

    from sqlml.sql import DEFAULT_LIMITS

    given = {"max_statement_size": size, "max_nesting_depth": depth}
    for name, value in given.items():
        if value is not None and (
            not isinstance(value, int) or isinstance(value, bool) or value < 1
        ):
            raise InterfaceError(f"{name} must be an integer ≥ 1; got {value!r}.")
    return replace(DEFAULT_LIMITS, **{k: v for k, v in given.items() if v is not None})


class Connection:
    """A PEP 249 connection. Also a context manager: commits on success, rolls back on error."""

    Warning = Warning
    Error = Error
    InterfaceError = InterfaceError
    DatabaseError = DatabaseError
    DataError = DataError
    OperationalError = OperationalError
    IntegrityError = IntegrityError
    InternalError = InternalError
    ProgrammingError = ProgrammingError
    NotSupportedError = NotSupportedError

    def __init__(self, executor: Any, autocommit: bool = True, router: Any = None) -> None:
        from sqlml.core.routing import SingleEngine

        self._executor = executor
        self._backend = executor.backend
        #: Picks the executor of each statement (sqlml.core.routing): the one engine, or by the
        #: statement's data on a connection with both (engine='auto').
        self._router = router if router is not None else SingleEngine(executor)
        #: The dialect statements are written in (connect(dialect=...)); the engine's by default.
        self.dialect: str = executor.backend.dialect
        self._autocommit = autocommit
        from sqlml.sql import DEFAULT_LIMITS

        #: How long and how deeply nested one execute()'s text may be (connect(max_statement_size=,
        #: max_nesting_depth=)); see sqlml.sql.Limits.
        self.limits = DEFAULT_LIMITS
        from sqlml.cancel import CancelFlag

        self._cancel = CancelFlag()
        self._closed = False
        self._owner: Cursor | None = None  # the cursor whose rows the engine connection holds
        self.messages: list[tuple[type, str]] = []
        #: Called with a sqlml.progress.Progress as each statement's work moves (stages; counts
        #: at most 5 times a second; a last report with finished=True), in the statement's
        #: thread; connect(progress_callback=...) sets it. Calling interrupt() from it cancels.
        self.progress_callback: Any = None
        #: False: statements report no progress at all (no cursor.progress, no callback; a
        #: random forest's trees are then not counted).
        self.report_progress = True
        #: Show progress in a Jupyter notebook when running inside a kernel (None: when one is).
        self.notebook_progress: bool | None = None

    # PEP 249 -------------------------------------------------------------------------------------

    def close(self) -> None:
        self._check_open()
        if self._backend.in_transaction:
            self._backend.rollback()
        self._router.close()
        self._backend.close()
        self._closed = True

    def interrupt(self, reason: str | None = None) -> None:
        """Cancel the statement running on this connection (from another thread): the engine stops
        it at its next check, sqlml at its next step; the statement raises OperationalError and
        stores nothing. A no-op when nothing runs."""
        if self._closed:
            return
        self._cancel.set(reason)
        self._backend.interrupt()
        self._router.interrupt()

    def commit(self) -> None:
        self._check_open()
        self._claim(None)
        self._backend.commit()

    def rollback(self) -> None:
        self._check_open()
        self._claim(None)
        self._backend.rollback()

    def cursor(self, streaming: bool = False) -> Cursor:
        """A new cursor; ``streaming=True``: its queries' rows are produced as they are fetched,
        memory bounded by the batch (see :class:`Cursor`)."""
        self._check_open()
        return Cursor(self, streaming)

    # extensions ----------------------------------------------------------------------------------

    @property
    def autocommit(self) -> bool:
        return self._autocommit

    @autocommit.setter
    def autocommit(self, value: bool) -> None:
        self._check_open()
        if not value and not self._backend.capabilities.transactions:
            raise NotSupportedError(
                f"autocommit=False (transactions) is not yet supported on the "
                f"{self._backend.display_name} engine."
            )
        if value and self._backend.in_transaction:
            self._claim(None)
            self._backend.commit()
        self._autocommit = bool(value)

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def executor(self) -> Any:
        return self._executor

    @property
    def engine(self) -> str:
        """'duckdb', 'spark', or 'auto' (both; see ``Cursor.engine`` for a statement's)."""
        return self._router.engine

    @property
    def spark_threshold(self) -> int | None:
        """engine='auto': bytes of Parquet/CSV from which a statement runs on Spark."""
        return self._router.threshold

    @spark_threshold.setter
    def spark_threshold(self, value: int | str) -> None:
        from sqlml.core.routing import parse_size

        if self._router.threshold is None:
            raise InterfaceError(
                "spark_threshold applies to connections with both engines (engine='auto')."
            )
        self._router.threshold = parse_size(value)

    def execute(self, operation: str, parameters: Any = None) -> Cursor:
        """Shortcut as in sqlite3: a new cursor, executed."""
        cursor = self.cursor()
        return cursor.execute(operation, parameters)

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if self._closed:
            return
        if exc_type is None:
            self.commit()
        else:
            self.rollback()
        self.close()

    # internals -----------------------------------------------------------------------------------

    def _progress_listeners(self) -> list[Any]:
        listeners = []
        if self.progress_callback is not None:
            listeners.append(self.progress_callback)
        if self.notebook_progress is not False:
            from sqlml.dbapi.notebook import notebook_listener

            shown = notebook_listener(forced=bool(self.notebook_progress))
            if shown is not None:
                listeners.append(shown)
        return listeners

    def _check_open(self) -> None:
        if self._closed:
            raise InterfaceError("The connection is closed.")

    def _dispatch(self, statement: Any, parameters: Any) -> Any:
        """The executor, job and engine for one statement (sqlml.core.routing)."""
        return self._router.dispatch(statement, parameters, self.dialect)

    def _claim(self, cursor: Cursor | None) -> None:
        """Before ``cursor`` runs a statement, let the previous owner keep its unread rows."""
        owner = self._owner
        if owner is not None and owner is not cursor:
            owner._materialize()
        self._owner = cursor
