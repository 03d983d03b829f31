"""DECLARE / FETCH / MOVE / CLOSE for one client: SQL cursors (psycopg's named cursors), mixed
into :class:`~sqlml.server.client.loop.ClientSession`.

A declared cursor is a streaming sqlml cursor on the client's lane (``connection.cursor(
streaming=True)``): its query, ML.PREDICT's included, produces rows as FETCH asks for them, so the
server holds one batch, not the result. Forward only (NO SCROLL). WITHOUT HOLD (the default) needs a
transaction and ends with it; WITH HOLD outlives its COMMIT. Another statement of the same client
while a cursor is open reads that cursor's remaining rows first (its lane has one DuckDB connection).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlml
from sqlml.server import pgcompat
from sqlml.server.client.results import Result
from sqlml.server.errors import ServerError


@dataclass
class Declared:
    cursor: sqlml.Cursor
    description: list[tuple[Any, ...]]
    hold: bool


class Cursors:
    """Needs the session's ``cursors`` (name -> Declared), ``engine``, ``id`` and ``_call``."""

    cursors: dict[str, Declared]

    async def _cursor_command(self: Any, command: pgcompat.Command, params: list[Any]) -> Result:
        if command.kind == "declare":
            return await self._declare(command, params)
        if command.kind == "close":
            if command.name:
                self._declared(command.name)  # CLOSE of a cursor that is not there: an error
            await self._close_cursors([command.name] if command.name else list(self.cursors))
            return Result(command.tag)
        declared = self._declared(command.name)
        count = command.value
        if count.startswith("backward"):
            raise ServerError(
                f"cursor can only scan forward: sqlml serve's cursors are NO SCROLL, so "
                f"{command.kind.upper()} {count.split(': ', 1)[1]} is not possible; fetch forward "
                f"(FETCH n, FETCH ALL) or declare the cursor again",
                "55000",
            )

        def work(_lane_cursor: sqlml.Cursor) -> Any:
            if count == "ALL":
                return declared.cursor.fetch_arrow_table()
            return declared.cursor.fetch_arrow_batch(int(count))

        table = await self._call(work)
        if command.kind == "move":
            return Result(f"MOVE {table.num_rows}")
        return Result(f"FETCH {table.num_rows}", declared.description, table)

    async def _declare(self: Any, command: pgcompat.Command, params: list[Any]) -> Result:
        name, flags = command.name, set(command.tag.split(",")) - {""}
        if name in self.cursors:
            raise ServerError(f'cursor "{name}" already exists', "42P03")
        if "SCROLL" in flags:
            raise ServerError(
                "sqlml serve's cursors scan forward only: declare it without SCROLL", "0A000"
            )
        if "BINARY" in flags:
            raise ServerError(
                "BINARY cursors are not supported: declare it without BINARY and ask for binary "
                "results in the FETCH (the extended protocol's result formats)",
                "0A000",
            )
        hold = "HOLD" in flags
        if not hold and not self.engine.in_transaction(self.id):
            raise ServerError("DECLARE CURSOR can only be used in transaction blocks", "25P01")
        cursor = await self._open_stream(command.value, params)
        if cursor.description is None:
            await self._close_streams([cursor])
            raise ServerError(
                "DECLARE CURSOR needs a query that returns rows (SELECT, VALUES, ML.PREDICT, ...)",
                "42601",
            )
        self.cursors[name] = Declared(cursor, [tuple(d) for d in cursor.description], hold)
        return Result("DECLARE CURSOR")

    def _declared(self: Any, name: str) -> Declared:
        declared = self.cursors.get(name)
        if declared is None:
            raise ServerError(f'cursor "{name}" does not exist', "34000")
        return declared

    async def _close_cursors(self: Any, names: list[str]) -> None:
        await self._close_streams(
            [self.cursors.pop(name).cursor for name in names if name in self.cursors]
        )

    async def _end_transaction_cursors(self: Any) -> None:
        """COMMIT and ROLLBACK close the cursors declared WITHOUT HOLD, as in PostgreSQL."""
        await self._close_cursors([n for n, d in self.cursors.items() if not d.hold])

    def _cursor_description(self: Any, name: str) -> Result | None:
        """Describe (portal) of a declared cursor's name: its columns, as PostgreSQL answers."""
        declared = self.cursors.get(name)
        return None if declared is None else Result("", declared.description)
