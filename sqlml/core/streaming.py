"""A streaming cursor's queries: the rows are produced as they are fetched, so memory is bounded by
the batch, not the result (``connection.cursor(streaming=True)``; ``sqlml serve``'s DECLARE).

An ML query's Arrow sources stay registered until the stream is read to its end or closed; its
input streams through a second connection (or, inside a transaction, the user's own one when the
call is the whole statement: nothing else runs there meanwhile). An error in the rows (a NULL the
model cannot take) surfaces at the fetch that reaches it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from sqlml.core.streams import watched
from sqlml.errors import Error
from sqlml.plan.jobs import MLQuery, PassThrough

if TYPE_CHECKING:
    from sqlml.core.executor import Executor


@dataclass
class Streamed:
    """A streaming query's outcome: its rows (None: it returned none), their description and the
    notices of its ML calls."""

    stream: Stream | None
    description: list[tuple[Any, ...]] | None
    notices: list[str]


def streamed(
    executor: Executor, job: Any, params: Sequence[Any] | None, batch_rows: int
) -> Streamed | None:
    """``job`` run as a stream, or None when it cannot be (an engine that returns rows whole, a
    statement that is not a query): the caller then runs it as usual."""
    backend = executor.backend
    if not backend.capabilities.streams_results:
        return None
    if isinstance(job, PassThrough):
        reader, description = backend.stream_query(job.sql, params, batch_rows)
        return _result(backend, reader, description, None)
    if not isinstance(job, MLQuery):
        return None
    values, inner = executor.ml_parameters(job, params)
    notices: list[str] = []
    failures: list[Exception] = []
    if job.bare:
        backend.main_connection_free = True
        try:
            source = executor.call_function(job.calls[0], inner[0], notices)
        finally:
            backend.main_connection_free = False
        if isinstance(source, pa.Table):
            source = pa.RecordBatchReader.from_batches(source.schema, source.to_batches(batch_rows))
        description = backend.describe_arrow(source.schema)
        return _result(backend, source, description, None, notices)
    registered: list[str] = []

    def release() -> None:
        for name in registered:
            backend.unregister_arrow(name)

    try:
        for index, call in enumerate(job.calls):
            name = backend.temp_name(call.function.lower())
            source = watched(executor.call_function(call, inner[index], notices), failures)
            backend.register_arrow(name, source)
            registered.append(name)
        sql = job.render(lambda i: backend.quote(registered[i]))
        reader, description = backend.stream_query(sql, [values[i] for i in job.outer], batch_rows)
    except BaseException:
        backend.close_streams()
        release()
        raise
    return _result(backend, reader, description, release, notices, failures)


class Stream:
    """A streaming result's batches; closing it (at their end, or early) frees what they hold:
    the engine's pending rows and the ML sources registered for them."""

    def __init__(
        self,
        reader: pa.RecordBatchReader,
        release: Callable[[], None],
        failures: list[Exception],
    ) -> None:
        self._source, self._release, self._failures = reader, release, failures
        self.schema = reader.schema
        self._batches = self._read()

    def _read(self) -> Iterator[pa.RecordBatch]:
        try:
            yield from self._source
        except Error:
            # The engine wraps an error raised while it pulled an ML source in its own message:
            # report sqlml's error itself (as the executor does for rows read whole).
            if self._failures and isinstance(self._failures[0], Error):
                raise self._failures[0] from None
            raise
        finally:
            self.close()

    def read_next(self) -> pa.RecordBatch | None:
        """The next batch, or None at the end."""
        return next(self._batches, None)

    def close(self) -> None:
        source, self._source = self._source, None
        if source is not None:
            source.close()
            self._release()


def _result(
    backend: Any,
    reader: pa.RecordBatchReader,
    description: list[tuple[Any, ...]],
    release: Callable[[], None] | None,
    notices: list[str] | None = None,
    failures: list[Exception] | None = None,
) -> Streamed:
    def freed() -> None:
        backend.close_streams()  # pyarrow's readers over generators let go only when collected
        if release is not None:
            release()

    stream = Stream(reader, freed, failures or [])
    if not description:
        stream.close()
    return Streamed(stream if description else None, description or None, notices or [])
