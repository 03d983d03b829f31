"""PEP 249 (DB-API 2.0) over sqlml's executor: ``sqlml.connect()``.

Goes further than DuckDB's own module where the PEP asks for it: InterfaceError for use after close,
the Date/Time/Binary constructors and type objects, ``description`` None after statements that return no
rows, ``rowcount`` for DML, an error from fetch when there is no result set, and rollback() without a
transaction as a no-op.

All cursors of a connection share one engine connection (and so one transaction and its temporary
tables, as the PEP intends). A cursor's unread rows are kept when another cursor executes.
"""

from __future__ import annotations

import datetime as _dt
import logging
import re
import sys
import time as _time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

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

log = logging.getLogger("sqlml")

apilevel = "2.0"
threadsafety = 1  # threads may share the module, not connections
paramstyle = "qmark"  # '?' ; DuckDB's '$1' and '$name' (with a mapping) work too

# --- type objects and constructors ----------------------------------------------------------------


class DBAPITypeObject:
    """Compares equal to every engine type name of its group (``cursor.description[i][1]``)."""

    def __init__(self, *names: str) -> None:
        self.names = frozenset(names)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, DBAPITypeObject):
            return self.names == other.names
        text = str(other).upper()
        if "[" in text or text.startswith(("STRUCT", "MAP", "UNION")):
            return False  # nested types belong to no PEP 249 group
        base = re.split(r"[( ]", text, maxsplit=1)[0]
        return base in self.names

    def __hash__(self) -> int:
        return hash(self.names)

    def __repr__(self) -> str:
        return f"DBAPITypeObject({', '.join(sorted(self.names))})"


STRING = DBAPITypeObject("VARCHAR", "CHAR", "TEXT", "STRING", "UUID", "JSON", "ENUM")
BINARY = DBAPITypeObject("BLOB", "BYTEA", "BINARY", "VARBINARY", "BIT", "BITSTRING")
NUMBER = DBAPITypeObject(
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "HUGEINT",
    "UTINYINT",
    "USMALLINT",
    "UINTEGER",
    "UBIGINT",
    "UHUGEINT",
    "FLOAT",
    "DOUBLE",
    "DECIMAL",
    "REAL",
    "BOOLEAN",
)
DATETIME = DBAPITypeObject(
    "DATE",
    "TIME",
    "TIMESTAMP",
    "TIMESTAMP_S",
    "TIMESTAMP_MS",
    "TIMESTAMP_NS",
    "TIMESTAMPTZ",
    "INTERVAL",
    "TIME_NS",
)
ROWID = DBAPITypeObject("ROWID")

Date = _dt.date
Time = _dt.time
Timestamp = _dt.datetime


def DateFromTicks(ticks: float) -> _dt.date:  # noqa: N802 - names fixed by PEP 249
    return Date(*_time.localtime(ticks)[:3])


def TimeFromTicks(ticks: float) -> _dt.time:  # noqa: N802
    return Time(*_time.localtime(ticks)[3:6])


def TimestampFromTicks(ticks: float) -> _dt.datetime:  # noqa: N802
    return Timestamp(*_time.localtime(ticks)[:6])


def Binary(value: bytes | bytearray | memoryview | str) -> bytes:  # noqa: N802
    return value.encode() if isinstance(value, str) else bytes(value)


# --- statement classification ---------------------------------------------------------------------

_LEADING = re.compile(r"^(?:\s+|--[^\n]*\n?|/\*.*?\*/|\()*", re.S)
_ROWCOUNT_KEYWORDS = frozenset({"INSERT", "UPDATE", "DELETE", "MERGE", "COPY"})
_NO_RESULT_KEYWORDS = _ROWCOUNT_KEYWORDS | frozenset(
    {
        "CREATE",
        "DROP",
        "ALTER",
        "ATTACH",
        "DETACH",
        "USE",
        "SET",
        "RESET",
        "LOAD",
        "INSTALL",
        "BEGIN",
        "START",
        "COMMIT",
        "END",
        "ROLLBACK",
        "ABORT",
        "CHECKPOINT",
        "VACUUM",
        "ANALYZE",
        "EXPORT",
        "IMPORT",
        "TRUNCATE",
        "COMMENT",
        "PREPARE",
        "DEALLOCATE",
        "GRANT",
        "REVOKE",
    }
)


def first_keyword(sql: str) -> str:
    match = re.match(r"[A-Za-z_]+", sql[_LEADING.match(sql).end() :])  # type: ignore[union-attr]
    return match.group(0).upper() if match else ""


# --- connection -------------------------------------------------------------------------------------


#: The SQL dialects a connection reads (``connect(dialect=...)``): those sqlml adds its ML
#: statements to. Anything else about them is sqlglot's.
DIALECTS = ("duckdb", "spark", "bigquery")


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

    ``dialect`` is the SQL you write: 'duckdb', 'spark' or 'bigquery' (default: the engine's own,
    so statements reach it verbatim). When it differs from the engine's, sqlml transpiles every
    statement with sqlglot (what sqlglot cannot translate is a NotSupportedError, never a guess):
    BigQuery SQL on DuckDB, DuckDB SQL on Spark, and so on.

    ``spark_scoring`` chooses how ML.PREDICT scores on Spark: 'auto' (default) compiles small
    graphs to Spark expressions and scores the rest with ONNX Runtime through ``mapInArrow``;
    'compiled' raises NotSupportedError for a graph it cannot compile; 'arrow' always uses
    ``mapInArrow``. See :mod:`sqlml.backends.spark.compiled`.
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
    with public_errors("connecting"):
        dispatcher = open_engines(database, autocommit=autocommit, **options)
        connection = Connection(dispatcher.executor, autocommit=autocommit, router=dispatcher)
    if dialect is not None:
        connection.dialect = dialect.lower()
    connection.limits = limits
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

    def cursor(self) -> Cursor:
        self._check_open()
        return Cursor(self)

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


def _checked_parameters(parameters: Any) -> Any:
    """execute()'s parameters as PEP 249 has them: a sequence of values for ``?`` / ``$1``
    placeholders, or a mapping for ``$name`` (or None). Anything else, text included (a string is
    a sequence of characters, never meant as one value each), is refused here, before a statement
    runs."""
    if parameters is None or isinstance(parameters, (list, tuple, Mapping)):
        return parameters
    if isinstance(parameters, Sequence) and not isinstance(parameters, (str, bytes, bytearray)):
        return list(parameters)
    raise ProgrammingError(
        f"execute() takes its parameters as a list or tuple of values (for ? or $1 placeholders) "
        f"or a dict (for $name); got {type(parameters).__name__}. Wrap a single value in a "
        f"list: execute(sql, [value])."
    )


class Cursor:
    """A PEP 249 cursor."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.arraysize = 1
        self.messages: list[tuple[type, str]] = []
        self.statusmessage: str = ""
        self._description: list[tuple[Any, ...]] | None = None
        self._rowcount = -1
        self._closed = False
        self._live = False  # rows are pending on the engine connection
        self._buffer: Any = None  # pyarrow.Table of rows kept when another statement ran
        self._schema: Any = None
        self._has_result = False
        self._failed: Error | None = None  # the rows failed while another cursor ran
        #: The engine that ran the last statement ('duckdb' or 'spark'), and why (engine='auto'
        #: picks per statement; other connections have one engine).
        self.engine: str | None = None
        self.engine_reason: str | None = None

    # PEP 249 attributes --------------------------------------------------------------------------

    @property
    def description(self) -> list[tuple[Any, ...]] | None:
        return self._description

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def lastrowid(self) -> None:
        return None

    # PEP 249 methods -----------------------------------------------------------------------------

    def close(self) -> None:
        self._check_open(connection=False)
        self._release()
        self._closed = True

    def execute(self, operation: str, parameters: Any = None) -> Cursor:
        self._check_open()
        if not isinstance(operation, str):
            raise ProgrammingError(f"execute() takes SQL text; got {type(operation).__name__}.")
        self._reset()
        from sqlml.cancel import watching

        with watching(self.connection._cancel), public_errors("running the statement"):
            self._execute(operation, parameters)
        return self

    def _execute(self, operation: str, parameters: Any) -> None:
        from sqlml.sql import split_statements

        parameters = _checked_parameters(parameters)
        connection = self.connection
        statements = split_statements(operation, connection.dialect, connection.limits)
        if not statements:
            raise ProgrammingError(
                "execute() got no statement (the text is empty or only comments)."
            )
        if parameters and len(statements) > 1:
            raise ProgrammingError(
                "Parameters can be given with one statement at a time; got "
                f"{len(statements)} statements."
            )
        for statement in statements:
            dispatch = connection._dispatch(statement, parameters)
            self._run(dispatch, statement.sql, parameters)

    def executemany(self, operation: str, seq_of_parameters: Sequence[Any]) -> Cursor:
        self._check_open()
        if not isinstance(seq_of_parameters, Iterable) or isinstance(
            seq_of_parameters, (str, bytes, bytearray, Mapping)
        ):
            raise ProgrammingError(
                "executemany() takes a sequence of parameter sets, e.g. [[1, 'a'], [2, 'b']]; got "
                f"{type(seq_of_parameters).__name__}."
            )
        total = 0
        counted = False
        for parameters in seq_of_parameters:
            self.execute(operation, parameters)
            if self._rowcount >= 0:
                total += self._rowcount
                counted = True
        self._discard_result()
        self._rowcount = total if counted else -1
        return self

    def fetchone(self) -> tuple[Any, ...] | None:
        rows = self._fetch(1)
        return rows[0] if rows else None

    def fetchmany(self, size: int | None = None) -> list[tuple[Any, ...]]:
        return self._fetch(self.arraysize if size is None else size)

    def fetchall(self) -> list[tuple[Any, ...]]:
        return self._fetch(None)

    def nextset(self) -> None:
        self._check_open()
        raise NotSupportedError("Multiple result sets are not supported; nextset() has none.")

    def callproc(self, procname: str, parameters: Sequence[Any] = ()) -> None:
        self._check_open()
        raise NotSupportedError(
            "DuckDB has no stored procedures; call a table function with SELECT."
        )

    def setinputsizes(self, sizes: Any) -> None:
        self._check_open()

    def setoutputsize(self, size: int, column: int | None = None) -> None:
        self._check_open()

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        while True:
            row = self.fetchone()
            if row is None:
                return
            yield row

    def __enter__(self) -> Cursor:
        return self

    def __exit__(self, *exc: Any) -> None:
        if not self._closed:
            self.close()

    # extensions ------------------------------------------------------------------------------------

    def fetch_arrow_table(self) -> Any:
        """The remaining rows as a ``pyarrow.Table`` (no Python objects per row)."""
        import pyarrow as pa

        self._check_result()
        if self._live:
            self._live = False
            self.connection._owner = None
            try:
                table = self.connection._backend.fetch_arrow_table()
            except Error:
                self._lose_rows()
                raise
            self._schema = table.schema
            return table
        if self._buffer is not None:
            table, self._buffer = self._buffer, self._buffer.slice(0, 0)
            return table
        if self._schema is not None:
            return self._schema.empty_table()
        return pa.table({d[0]: pa.array([], pa.null()) for d in self._description or []})

    def fetchdf(self) -> Any:
        """The remaining rows as a pandas DataFrame."""
        return self.fetch_arrow_table().to_pandas()

    # internals -----------------------------------------------------------------------------------

    def _run(self, dispatch: Any, sql: str, parameters: Any) -> None:
        connection = self.connection
        backend = connection._backend
        connection._claim(self)
        self.engine, self.engine_reason = dispatch.engine, dispatch.reason
        keyword = first_keyword(sql)
        if (
            not connection._autocommit
            and not backend.in_transaction
            and keyword not in ("BEGIN", "START", "COMMIT", "END", "ROLLBACK", "ABORT")
        ):
            backend.begin()
        try:
            outcome = dispatch.run(parameters)
        except BaseException:
            if connection._autocommit and not backend.in_transaction:
                backend.recover()  # no transaction of the user's may stay aborted behind it
            raise
        finally:
            self._track_transaction(keyword)
        for notice in outcome.notices:
            self.messages.append((Warning, notice))
        self.statusmessage = outcome.status or keyword
        if not outcome.has_result:
            self._discard_result()
            return
        table = outcome.table
        backend = dispatch.executor.backend  # the engine whose rows these are
        description = outcome.description if table is not None else backend.description()
        is_count = (
            description is not None
            and len(description) == 1
            and (description[0][0], description[0][1])
            in (("Count", "BIGINT"), ("Success", "BOOLEAN"))
            and keyword in _NO_RESULT_KEYWORDS
        )
        if is_count or (description is None):
            if table is not None:
                rows = [tuple(r.values()) for r in table.to_pylist()]
            else:
                rows = backend.fetchall() if description is not None else []
            if keyword in _ROWCOUNT_KEYWORDS and rows:
                self._rowcount = int(rows[0][0])
            self._discard_result()
            return
        self._description = [tuple(d) for d in description]
        self._has_result = True
        if table is not None:
            self._discard_owner()
            self._buffer, self._schema = table, table.schema
        else:
            self._live = True

    def _track_transaction(self, keyword: str) -> None:
        backend = self.connection._backend
        if keyword in ("BEGIN", "START"):
            backend.in_transaction = True
        elif keyword in ("COMMIT", "END", "ROLLBACK", "ABORT"):
            backend.in_transaction = False

    def _fetch(self, size: int | None) -> list[tuple[Any, ...]]:
        self._check_result()
        if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size < 0):
            raise ProgrammingError(
                f"fetchmany() size (or the cursor's arraysize) must be an integer ≥ 0; got "
                f"{size!r}."
            )
        if size is not None and size > sys.maxsize:  # more than there can be: all of them
            size = sys.maxsize
        if self._live:
            backend = self.connection._backend
            try:
                rows = backend.fetchall() if size is None else backend.fetchmany(size)
            except Error:
                self._lose_rows()
                raise
            if size is None or len(rows) < size:
                self._live = False
                self.connection._owner = None
            return rows
        buffer = self._buffer
        if buffer is None:
            return []
        size = buffer.num_rows if size is None else size
        taken, self._buffer = buffer.slice(0, size), buffer.slice(size)
        names = taken.column_names
        return [tuple(row[n] for n in names) for row in taken.to_pylist()]

    def _materialize(self) -> None:
        """Read the pending rows whole, because another cursor is about to run a statement. An
        error in them (a query that fails late, at row 90,000) is this cursor's: it is kept for
        its next fetch, and the other cursor's statement runs as if nothing had happened."""
        if self._live:
            try:
                self._buffer = self.connection._backend.fetch_arrow_table()
            except Error as exc:
                self._lose_rows()
                self._failed = exc
                return
            self._schema = self._buffer.schema
            self._live = False

    def _lose_rows(self) -> None:
        """The engine failed while producing this cursor's rows: there are no more to read."""
        if self.connection._owner is self:
            self.connection._owner = None
        self._live = False
        self._buffer = None

    def _reset(self) -> None:
        self._release()
        self.messages = []
        self.statusmessage = ""

    def _release(self) -> None:
        if self._live and self.connection._owner is self:
            self.connection._owner = None
        self._failed = None
        self._live = False
        self._buffer = None
        self._schema = None
        self._description = None
        self._rowcount = -1
        self._has_result = False

    def _discard_owner(self) -> None:
        if self.connection._owner is self:
            self.connection._owner = None

    def _discard_result(self) -> None:
        if self.connection._owner is self:
            self.connection._owner = None
        self._live = False
        self._buffer = None
        self._description = None
        self._has_result = False

    def _check_open(self, connection: bool = True) -> None:
        if self._closed:
            raise InterfaceError("The cursor is closed.")
        if connection and self.connection._closed:
            raise InterfaceError("The connection is closed.")

    def _check_result(self) -> None:
        self._check_open()
        if self._failed is not None:
            failed, self._failed = self._failed, None
            raise failed
        if not self._has_result:
            raise ProgrammingError(
                "No result set to fetch from: the last statement returned no rows "
                "(or nothing was executed yet)."
            )
