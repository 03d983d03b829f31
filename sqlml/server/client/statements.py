"""Running one statement for a client: SET, SHOW, RESET, DEALLOCATE, DISCARD and transaction control
are answered here (with the client's own settings); everything else runs on the client's engine
lane. Also the notices and DataRows a result sends back."""

from __future__ import annotations

import asyncio
import logging
import queue
import re
from collections.abc import Callable
from typing import Any

import pyarrow as pa

import sqlml
from sqlml.server import pgcompat, protocol
from sqlml.server import types as pgtypes
from sqlml.server.client.results import Result, read_result
from sqlml.server.errors import ServerError

log = logging.getLogger("sqlml.server")

FLUSH_BYTES = 256 * 1024
ROWS_PER_CHUNK = 8192


class ProgressNotices:
    """A statement's progress as NOTICE texts, collected on its worker thread and sent by the
    loop while it runs: each stage, again when its count begins, a count at most every 5 s, the
    summary."""

    def __init__(self) -> None:
        from sqlml.progress import Sparse

        self._queue: queue.SimpleQueue[str] = queue.SimpleQueue()
        self._wanted = Sparse(every=5.0, count_starts=True)

    def __call__(self, report: Any) -> None:
        if self._wanted(report):
            self._queue.put(str(report))

    def drain(self) -> list[str]:
        out = []
        while True:
            try:
                out.append(self._queue.get_nowait())
            except queue.Empty:
                return out


class Statements:
    """Statement execution, mixed into :class:`~sqlml.server.client.loop.ClientSession`."""

    async def run(self, sql: str, params: list[Any]) -> Result:
        """Run one statement: answered here (SET, SHOW, transactions) or on the connection."""
        log.debug("session %d: %s", self.id, sql[:2000])
        command = pgcompat.command(sql)
        if command is not None:
            local = await self._command(command, params)
            if local is not None:
                return local
            name = command.name
            if (
                command.kind == "show"
                and re.fullmatch(r"\w+", name)
                and name.lower() in self.server.duckdb_settings
            ):
                sql = f"SELECT current_setting('{name}') AS \"{name}\""
        return await self._on_engine(pgcompat.rewrite(sql), params)

    async def _on_engine(self, rewritten: str, params: list[Any]) -> Result:
        notices = ProgressNotices()

        def work(cursor: sqlml.Cursor) -> Result:
            connection = cursor.connection
            connection.progress_callback = notices if self._wants_notices() else None
            try:
                cursor.execute(rewritten, params or None)
            finally:
                connection.progress_callback = None
            return read_result(cursor, rewritten)

        async def tick() -> None:  # while it runs: the progress so far, to the client now
            if self._send_progress(notices):
                await self.flush()

        result = await self._call(work, tick)
        self._send_progress(notices)  # the last ones go before the statement's own notices
        return result

    async def _open_stream(self, sql: str, params: list[Any]) -> sqlml.Cursor:
        """``sql`` run on a streaming cursor of the client's lane (DECLARE, COPY TO and the
        extended protocol's queries): its rows are produced as they are fetched."""
        query = pgcompat.rewrite(sql)

        def start(lane_cursor: sqlml.Cursor) -> sqlml.Cursor:
            cursor = lane_cursor.connection.cursor(streaming=True)
            try:
                cursor.execute(query, params or None)
            except BaseException:
                cursor.close()
                raise
            return cursor

        return await self._call(start)

    async def _close_streams(self, cursors: list[sqlml.Cursor]) -> None:
        """Close streaming cursors on the lane (their unread rows are dropped there)."""
        if cursors:

            def close(_lane: sqlml.Cursor) -> None:
                for cursor in cursors:
                    cursor.close()

            await self._call(close)

    def _send_progress(self, notices: ProgressNotices) -> bool:
        sent = False
        for text in notices.drain():
            self.out += protocol.notice(text)
            sent = True
        return sent

    async def _call(
        self, fn: Callable[[sqlml.Cursor], Result], tick: Callable[[], Any] | None = None
    ) -> Result:
        timeout_ms = self.settings.milliseconds("statement_timeout")
        timeout = timeout_ms / 1000 if timeout_ms else self.config.statement_timeout
        label = f"{self.user}@{self.peer[0] if self.peer else '?'}"
        if self.settings.values.get("application_name"):
            label += f", {self.settings.values['application_name']}"
        return await self.engine.call(
            self.id,
            label,
            fn,
            lock_timeout=self.settings.milliseconds("lock_timeout") / 1000 or None,
            statement_timeout=timeout,
            gone=self.gone,
            tick=tick,
        )

    async def _command(self, command: pgcompat.Command, params: list[Any]) -> Result | None:
        kind = command.kind
        if kind in ("declare", "fetch", "move", "close"):
            return await self._cursor_command(command, params)
        if kind == "unsupported":
            raise ServerError(command.value, "0A000")
        if kind == "noop":
            return Result(command.tag)
        if kind == "set":
            return self._set(command.name, command.value)
        if kind == "reset":
            return self._reset(command.name)
        if kind == "show":
            return self._show(command.name)
        if kind == "deallocate":
            if command.name.upper() == "ALL":
                self.statements.clear()
            elif self.statements.pop(command.name, None) is None:
                raise ServerError(f'prepared statement "{command.name}" does not exist', "26000")
            return Result("DEALLOCATE" + (" ALL" if command.name.upper() == "ALL" else ""))
        if kind == "discard":
            await self._close_cursors(list(self.cursors))
            self.statements.clear()
            await self._forget_portals()
            self.settings.values = dict(self.settings.defaults)
            return Result(command.tag)
        return await self._transaction(command)

    def _set(self, name: str, value: str) -> Result | None:
        if self.settings.canonical(name) is None and "." not in name:
            if name.lower() in self.server.duckdb_settings:
                return None  # DuckDB's own setting: it applies to the shared connection
            raise ServerError(f'unrecognized configuration parameter "{name}"', "42704")
        key = self.settings.set(name, value)
        if key in pgcompat.REPORTED:
            self.out += protocol.parameter_status(key, self.settings.values[key])
        return Result("SET")

    def _reset(self, name: str) -> Result | None:
        if name.upper() == "ALL":
            self.settings.values = dict(self.settings.defaults)
            return Result("RESET")
        if self.settings.reset(name) is None:
            if name.lower() in self.server.duckdb_settings:
                return None
            raise ServerError(f'unrecognized configuration parameter "{name}"', "42704")
        return Result("RESET")

    def _show(self, name: str) -> Result | None:
        if name.upper() == "ALL":
            items = sorted(self.settings.values.items(), key=lambda kv: kv[0].lower())
            table = pa.table(
                {
                    "name": [k for k, _ in items],
                    "setting": [v for _, v in items],
                    "description": [""] * len(items),
                }
            )
            description = [("name", "VARCHAR"), ("setting", "VARCHAR"), ("description", "VARCHAR")]
            return Result(f"SELECT {table.num_rows}", description, table)
        key = self.settings.canonical(name)
        if key is None:
            return None  # SHOW TABLES, SHOW MODEL ..., DuckDB settings: the connection answers
        column = key.lower() if key != "TimeZone" else "TimeZone"
        table = pa.table({column: [self.settings.values[key]]})
        return Result("SHOW", [(column, "VARCHAR")], table)

    async def _transaction(self, command: pgcompat.Command) -> Result:
        owned = self.engine.in_transaction(self.id)
        if command.kind == "begin":
            if owned:
                self._warn("there is already a transaction in progress", "25001")
                return Result(command.tag)
            begin = "BEGIN TRANSACTION" + (" READ ONLY" if command.value else "")
            await self._on_engine(begin, [])
            self.failed = False
            return Result(command.tag)
        if not owned:
            self._warn("there is no transaction in progress", "25P01")
            return Result(command.tag)
        failed, self.failed = self.failed, False
        await self._end_transaction_cursors()
        if command.kind == "commit" and not failed:
            await self._on_engine("COMMIT", [])
            return Result("COMMIT")
        await self._on_engine("ROLLBACK", [])
        return Result("ROLLBACK")

    def _warn(self, text: str, code: str) -> None:
        self.out += protocol.notice(text, "WARNING", code)

    def _wants_notices(self) -> bool:
        return self.settings.values.get("client_min_messages", "notice").lower() not in (
            "warning",
            "error",
            "log",
            "fatal",
            "panic",
        )

    def _notices(self, result: Result) -> None:
        if not self._wants_notices():
            return
        for text in result.notices:
            self.out += protocol.notice(text)

    async def _rows(self, result: Result, formats: list[int], start: int, stop: int) -> None:
        """DataRows for rows ``start:stop``; big results are encoded off the loop, in chunks."""
        if stop <= start or result.table is None:
            return
        loop = asyncio.get_running_loop()
        cells = (stop - start) * max(1, len(formats))
        if cells < 20_000:
            columns = result.columns(formats, self.settings)
            self.out += pgtypes.data_rows(columns, start, stop)
            return
        columns = await loop.run_in_executor(None, result.columns, formats, self.settings)
        for begin in range(start, stop, ROWS_PER_CHUNK):
            end = min(stop, begin + ROWS_PER_CHUNK)
            self.out += await loop.run_in_executor(None, pgtypes.data_rows, columns, begin, end)
            if len(self.out) >= FLUSH_BYTES:
                await self.flush()
