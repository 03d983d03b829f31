"""The DuckDB backend: one ``duckdb.DuckDBPyConnection`` shared by a sqlml connection's cursors."""

from __future__ import annotations

import contextlib
import inspect
import itertools
import logging
import re
from collections.abc import Callable, Sequence
from typing import Any

import duckdb
import pyarrow as pa

from sqlml.backends.base import Backend, Capabilities
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
)

log = logging.getLogger("sqlml")

_SQL_TYPES = {
    "DOUBLE": duckdb.sqltypes.DOUBLE,
    "BIGINT": duckdb.sqltypes.BIGINT,
    "VARCHAR": duckdb.sqltypes.VARCHAR,
    "BOOLEAN": duckdb.sqltypes.BOOLEAN,
    "TIMESTAMP": duckdb.sqltypes.TIMESTAMP,  # model functions take temporal features as such
    "TIMESTAMP WITH TIME ZONE": duckdb.sqltypes.TIMESTAMP_TZ,
    "DATE": duckdb.sqltypes.DATE,
    "TIME": duckdb.sqltypes.TIME,
    "DOUBLE[]": duckdb.list_type(duckdb.sqltypes.DOUBLE),  # ARRAY<number> features
}

_ERRORS: list[tuple[type[BaseException], type[DatabaseError]]] = [
    (duckdb.InterruptException, OperationalError),  # Connection.interrupt(): a cancel
    (duckdb.IntegrityError, IntegrityError),
    (duckdb.DataError, DataError),
    (duckdb.NotSupportedError, NotSupportedError),
    (duckdb.InternalError, InternalError),
    (duckdb.OperationalError, OperationalError),
    (duckdb.ProgrammingError, ProgrammingError),
    (duckdb.Error, DatabaseError),
]


def translate_error(exc: BaseException) -> DatabaseError:
    """DuckDB's exception as the sqlml (PEP 249) exception of the same kind, its message
    unchanged but for a suggestion of one of DuckDB's own catalog views."""
    message = _SYSTEM_SUGGESTION.sub("\nSHOW TABLES lists the database's tables.", str(exc))
    for source, target in _ERRORS:
        if isinstance(exc, source):
            return target(message)
    return DatabaseError(message)


#: DuckDB's "Did you mean" for a missing table also offers its built-in catalog views (a missing
#: ``orders``: "Did you mean "pg_prepared_statements"?"): a suggestion from the user's tables is kept.
_SYSTEM_SUGGESTION = re.compile(
    r'\nDid you mean "(?:pg_catalog\.|information_schema\.)?'
    r'(?:pg_\w+|sqlite_\w+|duckdb_\w+|information_schema\.\w+|pragma_\w+)"\?'
)


def sql_type(name: str) -> Any:
    if name in _SQL_TYPES:
        return _SQL_TYPES[name]
    if name.startswith("PROBS:"):  # PROBS:<label type> -> STRUCT(label T, prob DOUBLE)[]
        label = _SQL_TYPES[name.split(":", 1)[1]]
        return duckdb.list_type(
            duckdb.struct_type({"label": label, "prob": duckdb.sqltypes.DOUBLE})
        )
    raise ValueError(name)


def _closing(reader: pa.RecordBatchReader, connection: Any) -> Any:
    """Yield the reader's batches, then close the connection that produced them."""
    try:
        yield from reader
    finally:
        connection.close()


#: DuckDB's error types by the name its messages start with, for errors that reach sqlml through
#: pyarrow's stream reader (as an OSError): the same PEP 249 kinds as :data:`_ERRORS`.
_MESSAGE_KINDS: dict[str, type[DatabaseError]] = {
    "Interrupt": OperationalError,
    "Constraint": IntegrityError,
    "Conversion": DataError,
    "Out of Range": DataError,
    "Invalid Input": ProgrammingError,
    "Binder": ProgrammingError,
    "Catalog": ProgrammingError,
    "Parser": ProgrammingError,
    "Not implemented": NotSupportedError,
    "Out of Memory": OperationalError,
    "IO": OperationalError,
    "INTERNAL": InternalError,
}


def _reader_error(exc: BaseException) -> DatabaseError:
    message = str(exc)
    kind = re.match(r"([A-Za-z ]+?) Error: ", message)
    target = _MESSAGE_KINDS.get(kind.group(1), DatabaseError) if kind else DatabaseError
    return target(_SYSTEM_SUGGESTION.sub("\nSHOW TABLES lists the database's tables.", message))


def _translated(reader: pa.RecordBatchReader) -> pa.RecordBatchReader:
    """``reader``, with DuckDB's errors raised while it is read translated into sqlml's."""

    def batches() -> Any:
        try:
            yield from reader
        except duckdb.Error as exc:
            raise translate_error(exc) from exc
        except (pa.ArrowException, OSError) as exc:  # DuckDB's error, through pyarrow's reader
            raise _reader_error(exc) from exc
        finally:
            reader.close()  # a stream left early frees the connection for other work

    return pa.RecordBatchReader.from_batches(reader.schema, batches())


# DuckDB keeps a Python function per database *instance* (every connection to one file in this
# process shares it), lets only the connection that registered it remove it, and drops its reference
# when that connection closes although others may still call it. So, for files, sqlml registers a
# trampoline into this table: every sqlml connection to the file updates the entry (the newest
# CREATE MODEL wins everywhere) and the table keeps the callables alive. Keyed by (path, name);
# values are (DuckDB signature, the function, the trampoline DuckDB holds).
_SHARED_FUNCTIONS: dict[tuple[str, str], tuple[Any, Callable[..., Any], Any]] = {}


def _trampoline(key: tuple[str, str]) -> Callable[..., Any]:
    def call(*arrays: Any) -> Any:
        return _SHARED_FUNCTIONS[key][1](*arrays)

    return call


def _dropped(name: str) -> Callable[..., Any]:
    def call(*arrays: Any) -> Any:
        raise ProgrammingError(f"Function {name} belongs to a model that was dropped.")

    return call


class DuckDBBackend(Backend):
    name = "duckdb"
    display_name = "DuckDB"
    capabilities = Capabilities(scalar_udfs=True)
    catalog_place = "sqlml.models in the DuckDB database"

    _names = itertools.count(1)

    def __init__(
        self,
        database: str = ":memory:",
        read_only: bool = False,
        config: dict[str, Any] | None = None,
    ) -> None:
        try:
            self.con = duckdb.connect(database, read_only=read_only, config=config or {})
        except duckdb.Error as exc:
            raise OperationalError(f"Cannot open DuckDB database {database!r}: {exc}") from exc
        self.database = database
        self.read_only = read_only
        self.in_transaction = False
        self._open_streams: list[Any] = []  # DuckDB readers open on self.con

    owns_connection = True  # False when wrapping someone else's connection: close() leaves it open

    @classmethod
    def connect(
        cls,
        database: str = ":memory:",
        *,
        read_only: bool = False,
        config: dict[str, Any] | None = None,
        duckdb_connection: Any = None,
    ) -> DuckDBBackend:
        """A DuckDB file (created if missing) or ``:memory:``; or ``duckdb_connection``, a
        ``duckdb.connect()`` connection of the caller's, which closing sqlml's leaves open."""
        if duckdb_connection is not None:
            return cls.from_connection(duckdb_connection)
        return cls(database, read_only=read_only, config=dict(config or {}))

    @classmethod
    def from_connection(cls, con: Any, in_transaction: bool = False) -> DuckDBBackend:
        """Run on a DuckDB connection another tool opened (dbt's), without ever closing it.

        ``in_transaction`` says whether that connection has a transaction open, so sqlml joins it
        rather than starting its own.
        """
        if not isinstance(con, duckdb.DuckDBPyConnection):
            raise InterfaceError(
                f"Expected a duckdb.DuckDBPyConnection (from duckdb.connect()); got "
                f"{type(con).__name__}."
            )
        backend = cls.__new__(cls)
        backend.con = con
        backend.database = "<existing connection>"
        backend.read_only = False
        backend.in_transaction = in_transaction
        backend._open_streams = []
        backend.owns_connection = False
        return backend

    # --- SQL ------------------------------------------------------------------------------------

    def query(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        try:
            return self.con.execute(sql, params or []).fetchall()
        except duckdb.Error as exc:
            raise translate_error(exc) from exc

    def execute_params(self, sql: str, params: Sequence[Any] | None = None) -> None:
        try:
            self.con.execute(sql, params or [])
        except duckdb.Error as exc:
            raise translate_error(exc) from exc

    def run_script(self, sql: str) -> None:
        try:
            self.con.execute(sql)
        except duckdb.Error as exc:
            raise translate_error(exc) from exc

    def table_exists(self, schema: str, table: str, database: str | None = None) -> bool:
        where = "database_name = current_database()" if database is None else "database_name = ?"
        rows = self.query(
            f"SELECT count(*) FROM duckdb_tables() WHERE schema_name = ? AND table_name = ? "
            f"AND {where}",
            [schema, table] if database is None else [schema, table, database],
        )
        return bool(rows[0][0])

    # --- the catalogs of attached databases (three-part model names) ----------------------------

    def databases(self) -> tuple[str, list[str]]:
        """The current database and every attached one (ATTACH ... AS other): a model named
        ``other.main.m`` lives in ``other``'s own catalog, with ``other``'s file."""
        current = self.query("SELECT current_database()")[0][0]
        names = self.query(
            "SELECT database_name FROM duckdb_databases() WHERE NOT internal ORDER BY 1"
        )
        return current, [r[0] for r in names]

    def catalog_table(self, database: str) -> str:
        return f"{self.quote(database)}.sqlml.models"

    def catalog_ddl(self, database: str | None = None) -> str:
        ddl = super().catalog_ddl()
        if database is None:
            return ddl
        schema = f"{self.quote(database)}.sqlml"
        return ddl.replace(
            "SCHEMA IF NOT EXISTS sqlml;", f"SCHEMA IF NOT EXISTS {schema};"
        ).replace("TABLE IF NOT EXISTS sqlml.", f"TABLE IF NOT EXISTS {schema}.")

    def arrow(self, sql: str, params: Sequence[Any] | None = None) -> pa.Table:
        try:
            return self.con.sql(sql, params=params or None).to_arrow_table()
        except duckdb.Error as exc:
            raise translate_error(exc) from exc

    def stream(
        self, sql: str, params: Sequence[Any] | None = None, batch_size: int = 122_880
    ) -> pa.RecordBatchReader:
        """Stream through a second DuckDB connection to the same database.

        The scoring generator is pulled by the statement running on the main connection, so the
        input must be read on another one. That connection cannot see the main one's temporary
        tables or uncommitted changes: then the input is read whole on the main connection instead.
        """
        if self.in_transaction and self.main_connection_free:
            return self._main_stream(self.con.sql(sql, params=params or None), batch_size)
        if not self.in_transaction:
            reader_connection = self.con.cursor()
            try:
                reader = reader_connection.sql(sql, params=params or None).to_arrow_reader(
                    batch_size
                )
            except duckdb.CatalogException:
                reader_connection.close()
            except duckdb.Error as exc:
                reader_connection.close()
                raise translate_error(exc) from exc
            else:
                return pa.RecordBatchReader.from_batches(
                    reader.schema, _closing(reader, reader_connection)
                )
        table = self.arrow(sql, params)
        return pa.RecordBatchReader.from_batches(table.schema, table.to_batches(batch_size))

    def stream_query(
        self, sql: str, params: Sequence[Any] | None, batch_rows: int
    ) -> tuple[pa.RecordBatchReader, list[tuple[Any, ...]]]:
        """A user's query run on the main connection as a stream read as it is fetched (a
        streaming cursor's rows), with PEP 249's description of them."""
        try:
            relation = self.con.sql(sql, params=params or None)
        except duckdb.Error as exc:
            raise translate_error(exc) from exc
        if relation is None:  # not a query after all: it ran
            return pa.RecordBatchReader.from_batches(pa.schema([]), iter(())), []
        description = [
            (name, str(kind), None, None, None, None, None)
            for name, kind in zip(relation.columns, relation.types, strict=True)
        ]
        return self._main_stream(relation, batch_rows), description

    def _main_stream(self, relation: Any, batch_rows: int) -> pa.RecordBatchReader:
        """``relation``'s rows read on the main connection as they are pulled; the connection
        takes no other statement until :meth:`close_streams` (or their end)."""
        try:
            reader = relation.to_arrow_reader(batch_rows)
        except duckdb.Error as exc:
            raise translate_error(exc) from exc
        self._open_streams.append(reader)
        return _translated(reader)

    def close_streams(self) -> None:
        """Close the streams left open on the main connection (a streaming cursor's rows not
        read to their end), so it takes statements again."""
        streams, self._open_streams = self._open_streams, []
        for reader in streams:
            with contextlib.suppress(Exception):
                reader.close()

    def describe_arrow(self, schema: pa.Schema) -> list[tuple[Any, ...]] | None:
        """Described on a second connection: a stream may be pending on the main one."""
        connection = self.con.cursor()
        try:
            relation = connection.from_arrow(schema.empty_table())
            return [
                (name, str(kind), None, None, None, None, None)
                for name, kind in zip(relation.columns, relation.types, strict=True)
            ]
        except duckdb.Error as exc:
            raise translate_error(exc) from exc
        finally:
            connection.close()

    # --- Arrow sources and functions ----------------------------------------------------------------

    def temp_name(self, kind: str) -> str:
        return f"__sqlml_{kind}_{next(self._names)}"

    def register_arrow(self, name: str, data: pa.Table | pa.RecordBatchReader) -> None:
        self.con.register(name, data)

    def unregister_arrow(self, name: str) -> None:
        try:
            self.con.unregister(name)
        except duckdb.Error as exc:  # never expected: the statement reading it has finished
            log.warning("could not drop sqlml's temporary source %s: %s", name, exc)

    def register_function(
        self,
        name: str,
        function: Callable[..., pa.Array],
        parameters: list[tuple[str, str]],
        return_type: str,
    ) -> None:
        arg_types = [sql_type(t) for _, t in parameters]
        signature = (tuple(str(t) for t in arg_types), str(sql_type(return_type)))
        key = self._function_key(name)
        target = function if key is None else _trampoline(key)
        # DuckDB rejects *args UDFs: give the function a fixed signature with one parameter per feature.
        target.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
            [
                inspect.Parameter(f"p{i}", inspect.Parameter.POSITIONAL_OR_KEYWORD)
                for i in range(len(parameters))
            ]
        )
        self.unregister_function(name)
        # Checked rather than caught: a failed create_function aborts an open transaction.
        exists = self.query(
            "SELECT count(*) FROM duckdb_functions() WHERE lower(function_name) = lower(?)", [name]
        )[0][0]
        if exists:
            self._share_function(key, name, signature, function)
            return
        try:
            self.con.create_function(
                name,
                target,
                arg_types,
                sql_type(return_type),
                type="arrow",
                null_handling="special",
                side_effects=False,
            )
        except duckdb.Error as exc:
            raise translate_error(exc) from exc
        if key is not None:
            _SHARED_FUNCTIONS[key] = (signature, function, target)

    def has_function(self, name: str) -> bool:
        if self._function_key(name) in _SHARED_FUNCTIONS:  # sqlml's own, from any connection
            return False
        return bool(
            self.query(
                "SELECT count(*) FROM duckdb_functions() WHERE lower(function_name) = lower(?)",
                [name],
            )[0][0]
        )

    def unregister_function(self, name: str) -> None:
        with contextlib.suppress(duckdb.InvalidInputException, duckdb.CatalogException):
            self.con.remove_function(name)
        key = self._function_key(name)
        if key in _SHARED_FUNCTIONS:  # another connection may hold it: make it fail clearly
            signature, _function, target = _SHARED_FUNCTIONS[key]
            _SHARED_FUNCTIONS[key] = (signature, _dropped(name), target)

    def function_scope(self) -> str | None:
        """The name model functions are shared by among this process's connections to the same
        database: its file, or the name given by :meth:`share_functions_as`; None for an
        in-memory database nobody named (its functions stay this connection's)."""
        self._function_key("")
        return self._database_path

    def share_functions_as(self, scope: str | None) -> None:
        """Name an in-memory database, so connections to it (``con.cursor()``) share model
        functions as connections to one file do. A file database keeps its path."""
        if self.function_scope() is None:
            self._database_path = scope

    def _function_key(self, name: str) -> tuple[str, str] | None:
        """Which database file (in this process) and function; None for in-memory databases."""
        if not hasattr(self, "_database_path"):
            try:
                rows = self.con.execute(
                    "SELECT path FROM duckdb_databases() WHERE database_name = current_database()"
                ).fetchall()
            except duckdb.Error:
                rows = []
            self._database_path = rows[0][0] if rows and rows[0][0] else None
        return None if self._database_path is None else (self._database_path, name.lower())

    @staticmethod
    def _share_function(
        key: tuple[str, str] | None, name: str, signature: Any, function: Callable[..., Any]
    ) -> None:
        """Another connection to this database registered ``name``: point it at ``function``."""
        registered = None if key is None else _SHARED_FUNCTIONS.get(key)
        if key is None or registered is None:
            raise ProgrammingError(
                f"A function named {name} already exists in DuckDB (built in, or registered "
                f"outside sqlml); give the model another FUNCTION name."
            )
        if registered[0] != signature:
            raise OperationalError(
                f"Function {name} is registered with other parameters by another connection to "
                f"{key[0]} in this process; close the other connections to the database and "
                f"reconnect."
            )
        _SHARED_FUNCTIONS[key] = (signature, function, registered[2])

    # --- a user's statement and its rows --------------------------------------------------------------

    @property
    def version(self) -> str:
        return duckdb.__version__

    def execute(self, sql: str, params: Any = None) -> None:
        """Run a user's statement; its rows stay pending on the connection for the fetch methods."""
        try:
            if params is None:
                self.con.execute(sql)
            else:
                self.con.execute(sql, params)
        except duckdb.Error as exc:
            raise translate_error(exc) from exc

    def description(self) -> list[tuple[Any, ...]] | None:
        description = self.con.description
        if description is None:
            return None
        return [(d[0], str(d[1]), *d[2:]) for d in description]

    def fetchmany(self, size: int) -> list[tuple[Any, ...]]:
        try:
            return self.con.fetchmany(size)
        except duckdb.Error as exc:
            raise translate_error(exc) from exc

    def fetchall(self) -> list[tuple[Any, ...]]:
        try:
            return self.con.fetchall()
        except duckdb.Error as exc:
            raise translate_error(exc) from exc

    def fetch_arrow_table(self) -> pa.Table:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter(
                "ignore"
            )  # "extra copy" advice: the rows are already materialised
            try:
                return self.con.to_arrow_table()
            except duckdb.Error as exc:
                raise translate_error(exc) from exc

    def discard_pending(self) -> None:
        """DuckDB 2 refuses other work on a connection whose execute() result is unread
        (ResourceInUseException): cancel its rest; inside a transaction run it to its end
        instead, because a cancelled result fails the open transaction."""
        self.close_streams()
        with contextlib.suppress(duckdb.Error):
            if self.in_transaction:
                self.con.complete()
            else:
                self.con.abort()

    def interrupt(self) -> None:
        self.con.interrupt()

    def recover(self) -> None:
        try:
            self.con.execute("SELECT 1")
        except duckdb.TransactionException:  # "Current transaction is aborted (please ROLLBACK)"
            with contextlib.suppress(duckdb.Error):
                self.con.execute("ROLLBACK")
            log.info("rolled back a transaction left aborted by a failed statement")
        except duckdb.Error:
            pass

    # --- transactions ---------------------------------------------------------------------------

    def begin(self) -> None:
        self.execute_params("BEGIN TRANSACTION")
        self.in_transaction = True

    def commit(self) -> None:
        if self.in_transaction:
            self.in_transaction = False
            try:
                self.execute_params("COMMIT")
            except Error:  # a failed COMMIT (a full disk, an interrupt) must not stay open
                with contextlib.suppress(duckdb.Error):
                    self.con.execute("ROLLBACK")
                raise

    def rollback(self) -> None:
        if self.in_transaction:
            self.in_transaction = False
            self.execute_params("ROLLBACK")

    def close(self) -> None:
        if self.owns_connection:
            self.con.close()
