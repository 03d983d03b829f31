"""PEP 249's cursor (``Cursor``) and how it classifies a statement by its first keyword.

All cursors of a connection share one engine connection; a cursor's unread rows are kept when
another cursor executes (``Connection._claim`` asks the previous owner to ``_materialize`` them).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sqlml.errors import (
    Error,
    InterfaceError,
    NotSupportedError,
    ProgrammingError,
    Warning,
    public_errors,
)

if TYPE_CHECKING:
    from sqlml.dbapi.connection import Connection

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


#: The statements a streaming cursor produces as they are fetched; and its batch size.
_QUERY_KEYWORDS = frozenset({"SELECT", "WITH", "VALUES", "FROM", "TABLE"})
STREAM_BATCH_ROWS = 8192

_MODEL_STATEMENT = re.compile(
    r"\s*(CREATE|ALTER|DROP|EXPORT)\s+(?:OR\s+REPLACE\s+)?MODEL\s+(?:IF\s+(?:NOT\s+)?EXISTS\s+)?"
    r"((?:`[^`]+`|\"[^\"]+\"|[\w.$]+))",
    re.IGNORECASE,
)


def statement_label(sql: str) -> str:
    """How progress names a statement: ``CREATE MODEL churn``, else its first words."""
    found = _MODEL_STATEMENT.match(sql)
    if found:
        return f"{found.group(1).upper()} MODEL {found.group(2)}"
    words = " ".join(sql.split())
    return words if len(words) <= 40 else words[:39] + "…"


def first_keyword(sql: str) -> str:
    match = re.match(r"[A-Za-z_]+", sql[_LEADING.match(sql).end() :])  # type: ignore[union-attr]
    return match.group(0).upper() if match else ""


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
    """A PEP 249 cursor.

    ``streaming=True`` (``connection.cursor(streaming=True)``): a query's rows, ML.PREDICT's
    included, are produced as they are fetched, so memory is bounded by the batch rather than the
    result; an error in the rows (a NULL the model cannot take) surfaces at the fetch that
    reaches it rather than at ``execute()``. Another cursor's statement on the same connection
    reads the rest of the rows first (as any cursor's pending rows are kept).
    """

    def __init__(self, connection: Connection, streaming: bool = False) -> None:
        self.connection = connection
        self.streaming = bool(streaming)
        self._stream: Any = None  # sqlml.core.streaming.Stream of a streaming cursor's rows
        self._carry: Any = None  # rows of its last batch not fetched yet (pyarrow.Table)
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
        #: How far the running (or last) statement got: a sqlml.progress.Progress (its stage, a
        #: count with rate and time left), readable from another thread; None until a statement
        #: reports (training, tuning, scoring into a table).
        self.progress: Any = None
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
        from contextlib import nullcontext

        from sqlml import progress

        listeners = [self._record_progress, *connection._progress_listeners()]
        for statement in statements:
            watched = connection.report_progress
            with (
                progress.reporting(statement_label(statement.sql), listeners)
                if watched
                else nullcontext()
            ):
                dispatch = connection._dispatch(statement, parameters)
                self._run(dispatch, statement.sql, parameters)

    def _record_progress(self, report: Any) -> None:
        self.progress = report

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
        if self._stream is not None:
            return self._stream_rows(None)
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

    def fetch_arrow_batch(self, size: int = STREAM_BATCH_ROWS) -> Any:
        """At most ``size`` of the remaining rows as a ``pyarrow.Table`` (empty at the end): a
        streaming cursor's rows without Python objects per row."""
        self._check_result()
        size = self._checked_size(size)
        if self._stream is not None:
            return self._stream_rows(size)
        if self._live:
            self._materialize()
            self._check_result()
        if self._buffer is None:
            return self.fetch_arrow_table()
        taken, self._buffer = self._buffer.slice(0, size), self._buffer.slice(size)
        return taken

    def fetchdf(self) -> Any:
        """The remaining rows as a pandas DataFrame."""
        return self.fetch_arrow_table().to_pandas()

    # internals -----------------------------------------------------------------------------------

    def _run(self, dispatch: Any, sql: str, parameters: Any) -> None:
        connection = self.connection
        backend = connection._backend
        connection._claim(self)
        backend.discard_pending()  # rows no cursor holds (a statement that failed after them)
        self.engine, self.engine_reason = dispatch.engine, dispatch.reason
        keyword = first_keyword(sql)
        stream = STREAM_BATCH_ROWS if self.streaming and keyword in _QUERY_KEYWORDS else 0
        if (
            not connection._autocommit
            and not backend.in_transaction
            and keyword not in ("BEGIN", "START", "COMMIT", "END", "ROLLBACK", "ABORT")
        ):
            backend.begin()
        try:
            outcome = dispatch.run(parameters, stream)
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
        if outcome.stream is not None:  # a streaming cursor's query: read as it is fetched
            self._description = [tuple(d) for d in outcome.description]
            self._has_result = True
            self._stream, self._schema = outcome.stream, outcome.stream.schema
            return  # the rows may hold the engine connection: this cursor stays its owner
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

    @staticmethod
    def _checked_size(size: Any) -> Any:
        if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size < 0):
            raise ProgrammingError(
                f"fetchmany() size (or the cursor's arraysize) must be an integer ≥ 0; got "
                f"{size!r}."
            )
        if size is not None and size > sys.maxsize:  # more than there can be: all of them
            size = sys.maxsize
        return size

    def _stream_rows(self, size: int | None) -> Any:
        """Up to ``size`` (None: all) of a streaming cursor's remaining rows, as Arrow."""
        import pyarrow as pa

        parts, have = [], 0
        if self._carry is not None:
            parts.append(self._carry)
            have = self._carry.num_rows
            self._carry = None
        with public_errors("reading the rows"):
            try:
                while size is None or have < size:
                    batch = self._stream.read_next()
                    if batch is None:
                        self._end_stream()
                        break
                    parts.append(pa.Table.from_batches([batch]))
                    have += batch.num_rows
            except Error:
                self._lose_rows()
                raise
        table = pa.concat_tables(parts) if parts else self._schema.empty_table()
        if size is not None and table.num_rows > size:
            table, self._carry = table.slice(0, size), table.slice(size)
        return table

    def _end_stream(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            stream.close()
            self._buffer = self._schema.empty_table()  # read to its end: nothing more
        self._discard_owner()

    def _fetch(self, size: int | None) -> list[tuple[Any, ...]]:
        self._check_result()
        size = self._checked_size(size)
        if self._stream is not None:
            taken = self._stream_rows(size)
            names = taken.column_names
            return [tuple(row[n] for n in names) for row in taken.to_pylist()]
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
        if self._stream is not None:
            try:
                self._buffer = self._stream_rows(None)
            except Error as exc:
                self._failed = exc
            return
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
        self._close_stream()

    def _close_stream(self) -> None:
        stream, self._stream, self._carry = self._stream, None, None
        if stream is not None:
            try:
                stream.close()
            except Exception:  # noqa: BLE001 - closing early: its rows are not wanted
                self.connection._backend.discard_pending()

    def _reset(self) -> None:
        self._release()
        self.progress = None
        self.messages = []
        self.statusmessage = ""

    def _release(self) -> None:
        if self._live and self.connection._owner is self:
            self.connection._owner = None
            self.connection._backend.discard_pending()  # its unread rows are dropped
        if self._stream is not None:
            self._close_stream()
            self._discard_owner()
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
        self._close_stream()
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
