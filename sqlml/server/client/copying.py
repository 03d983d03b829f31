"""COPY ... TO STDOUT and COPY ... FROM STDIN for one client (the formats: sqlml/server/copy.py,
sqlml/server/copy_in.py), mixed into :class:`~sqlml.server.client.loop.ClientSession`."""

from __future__ import annotations

import contextlib
import secrets
from typing import Any

import pyarrow as pa

import sqlml
from sqlml.server import protocol
from sqlml.server import types as pgtypes
from sqlml.server.client.results import Result
from sqlml.server.client.statements import FLUSH_BYTES
from sqlml.server.copy import (
    COPY_DONE,
    CopyOut,
    binary_chunks,
    copy_out_response,
    quoted,
    text_chunks,
)
from sqlml.server.copy_in import BATCH_ROWS, CopyIn, Decoder
from sqlml.server.errors import ServerError

#: COPY TO's rows are read and encoded this many at a time.
COPY_BATCH_ROWS = 16_384


class Copying:
    """Needs the session's ``run``, ``_call``, ``_notices``, ``out``, ``flush``, ``reader``,
    ``config`` and ``settings``."""

    out: bytearray

    async def _copy_out(self: Any, copy: CopyOut) -> None:
        """COPY ... TO STDOUT: the query's rows as CopyData in the asked format, read from a
        streaming cursor :data:`COPY_BATCH_ROWS` at a time (memory bounded by the batch)."""
        cursor = await self._open_stream(copy.query, [])
        try:
            await self._send_copy(copy, cursor)
        finally:
            await self._close_streams([cursor])

    async def _send_copy(self: Any, copy: CopyOut, cursor: sqlml.Cursor) -> None:
        self._notices(Result("", notices=[text for _kind, text in cursor.messages]))
        if cursor.description is None:
            raise ServerError("COPY (query) TO STDOUT needs a query that returns rows", "42601")
        description = [tuple(d) for d in cursor.description]
        binary = copy.format == "binary"
        formats = [1 if binary else 0] * len(description)
        names = [str(d[0]) for d in description]
        Result("", description).fields(formats)  # a column binary COPY cannot send: say so now
        self.out += copy_out_response(binary, len(formats))

        def batch(_lane: sqlml.Cursor) -> tuple[int, list[pa.Array]]:
            table = cursor.fetch_arrow_batch(COPY_BATCH_ROWS)
            rows = table.num_rows
            return rows, Result("", description, table).columns(formats, self.settings)

        sent, started = 0, False
        while True:
            rows, columns = await self._call(batch)
            if not rows:
                break
            chunks = (
                binary_chunks(columns, first=not started, last=False)
                if binary
                else text_chunks(columns, names, copy, first=not started)
            )
            started, sent = True, sent + rows
            for chunk in chunks:  # CopyData messages already
                self.out += chunk
                if len(self.out) >= FLUSH_BYTES:
                    await self.flush()
        if binary:
            self.out += b"".join(binary_chunks([], first=not started, last=True))
        elif not started:
            self.out += b"".join(text_chunks([], names, copy))  # the header of no rows
        self.out += COPY_DONE
        self.out += protocol.command_complete(f"COPY {sent}")

    async def _copy_in(self: Any, copy: CopyIn) -> None:
        """COPY table FROM STDIN: CopyInResponse, then the client's CopyData decoded as it comes
        and staged in batches; CopyDone moves the rows into the table in one INSERT."""
        staging = f"__sqlml_copy_{secrets.token_hex(6)}"
        names, types = await self._call(lambda cursor: _stage(cursor, copy, staging))
        oids = [pgtypes.pg_type(t)[0] for t in types]
        binary = copy.format == "binary"
        self.out += protocol.message(
            b"G",
            bytes([1 if binary else 0])
            + len(names).to_bytes(2, "big")
            + (int(binary).to_bytes(2, "big") * len(names)),
        )
        await self.flush()
        decoder = Decoder(copy, len(names), oids)
        batch: list[list[Any]] = []
        try:
            while True:
                kind, body = await protocol.read_message(
                    self.reader, self.config.max_message_bytes, self.config.read_timeout, None
                )
                if kind == b"d":
                    batch += decoder.feed(body)
                elif kind == b"c":
                    batch += decoder.finish()
                    break
                elif kind == b"f":
                    reason = body.rstrip(b"\0").decode("utf-8", "replace")
                    raise ServerError(f"COPY from stdin failed: {reason}", "57014")
                elif kind in (b"H", b"S"):
                    continue
                else:
                    raise ServerError(
                        f"unexpected message type {kind!r} during COPY from stdin", "08P01"
                    )
                if len(batch) >= BATCH_ROWS:
                    rows, batch = batch, []
                    await self._call(lambda cursor, r=rows: _load(cursor, staging, types, r))
            if batch:
                await self._call(lambda cursor: _load(cursor, staging, types, batch))
            count = await self._call(lambda cursor: _move(cursor, copy, names, staging))
        except BaseException:
            await self._call(lambda cursor: _drop(cursor, staging))
            raise
        self.out += protocol.command_complete(f"COPY {count}")


def _stage(cursor: sqlml.Cursor, copy: CopyIn, staging: str) -> tuple[list[str], list[str]]:
    """The target's columns and their types; a temporary table of those types for the rows."""
    table = quoted(copy.table)
    columns = ", ".join(quoted((c,)) for c in copy.columns) if copy.columns else "*"
    cursor.execute(f"SELECT {columns} FROM {table} LIMIT 0")
    description = cursor.description or []
    cursor.fetchall()
    cursor.execute(
        f"CREATE TEMP TABLE {quoted((staging,))} AS SELECT {columns} FROM {table} LIMIT 0"
    )
    return [str(d[0]) for d in description], [str(d[1]) for d in description]


def _load(cursor: sqlml.Cursor, staging: str, types: list[str], rows: list[list[Any]]) -> None:
    """One batch into the staging table, each column cast to the target's type (the type names
    are DuckDB's own, from the target's description)."""
    columns = list(zip(*rows, strict=True)) if rows else [[] for _ in types]
    table = pa.table({f"c{i}": pa.array(list(values)) for i, values in enumerate(columns)})
    backend = cursor.connection.executor.backend
    name = backend.temp_name("copy")
    backend.register_arrow(name, table)
    try:
        casts = ", ".join(f"CAST(c{i} AS {kind})" for i, kind in enumerate(types))
        cursor.execute(
            f"INSERT INTO {quoted((staging,))} SELECT {casts} FROM {backend.quote(name)}"
        )
    finally:
        backend.unregister_arrow(name)


def _move(cursor: sqlml.Cursor, copy: CopyIn, names: list[str], staging: str) -> int:
    """The staged rows into the table, in one statement; the staging table dropped."""
    columns = f" ({', '.join(quoted((c,)) for c in copy.columns)})" if copy.columns else ""
    cursor.execute(f"SELECT count(*) FROM {quoted((staging,))}")
    (count,) = cursor.fetchone() or (0,)
    cursor.execute(f"INSERT INTO {quoted(copy.table)}{columns} SELECT * FROM {quoted((staging,))}")
    cursor.execute(f"DROP TABLE {quoted((staging,))}")
    return int(count)


def _drop(cursor: sqlml.Cursor, staging: str) -> None:
    with contextlib.suppress(sqlml.Error):
        cursor.execute(f"DROP TABLE IF EXISTS {quoted((staging,))}")
