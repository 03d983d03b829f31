"""The extended query protocol: Parse, Bind, Describe, Execute, Close, Sync and Flush.

Drivers' parameters arrive here: ``$n`` placeholders, their types and their values (text or binary).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlml.dbapi import first_keyword
from sqlml.plan.slots import one_per_appearance
from sqlml.server import pgcompat, protocol
from sqlml.server import types as pgtypes
from sqlml.server.client.results import Result
from sqlml.server.errors import ServerError
from sqlml.server.protocol import Buffer, ProtocolViolation


@dataclass
class Prepared:
    """A parsed statement (extended protocol): its text, placeholders and parameter types."""

    sql: str
    numbers: list[int]  # the n of each $n, in order of appearance
    param_types: list[int]
    arrays: set[int] = field(default_factory=set)  # the $n used as arrays
    positional: bool = False  # placeholders rewritten to (?): one value per appearance
    empty: bool = False
    description: Result | None = None

    @property
    def count(self) -> int:
        return max(self.numbers, default=0)

    def values(self, decoded: list[Any]) -> list[Any]:
        """The parameter list the statement's text takes, from the values Bind sent."""
        return [decoded[n - 1] for n in self.numbers] if self.positional else decoded


@dataclass
class Portal:
    prepared: Prepared
    params: list[Any]
    formats: list[int] | None  # result format codes as Bind gave them
    result: Result | None = None
    sent: int = 0
    done: bool = False
    #: A query's rows, produced as Execute asks for them (a streaming sqlml cursor on the lane):
    #: JDBC's fetch size (Execute with a row limit) reads a large result batch by batch.
    cursor: Any = None


_STREAMED = ("SELECT", "WITH", "VALUES", "FROM", "TABLE")


_ARRAY_AFTER = re.compile(r"\s*::\s*[\w.\"]+(?:\s*\([\d,\s]*\))?\s*\[\s*\d*\s*\]")
_ARRAY_AROUND = re.compile(r"\b(?:ANY|ALL)\s*\(\s*$", re.I)


def _array_numbers(text: str, spans: tuple[tuple[int, int], ...]) -> set[int]:
    """The n of each ``$n`` that the statement uses as an array (``$1::text[]``, ``= ANY($1)``).

    psycopg sends a list of strings as an untyped ``{a,"b c"}`` literal and leaves the type to the
    server; DuckDB cannot read that syntax, so those values are parsed here.
    """
    numbers = set()
    for start, end in spans:
        if _ARRAY_AFTER.match(text, end) or _ARRAY_AROUND.search(text[max(0, start - 20) : start]):
            with contextlib.suppress(ValueError):
                numbers.add(int(text[start + 1 : end]))
    return numbers


def _numbers(text: str, spans: tuple[tuple[int, int], ...]) -> list[int]:
    """The n of each ``$n`` placeholder, in order of appearance."""
    numbers = []
    for start, end in spans:
        token = text[start:end]
        if not re.fullmatch(r"\$\d+", token):
            raise ServerError(
                f"parameter placeholder {token!r} is not supported: use $1, $2, ...", "42601"
            )
        numbers.append(int(token[1:]))
    return numbers


class ExtendedQuery:
    """The extended protocol's messages, mixed into :class:`~sqlml.server.client.loop.ClientSession`.

    An error in one step is reported and the messages up to the next Sync are skipped.
    """

    async def _extended(self, step: Callable[[], Any]) -> None:
        """Run one extended-protocol step; an error is reported and skips messages until Sync."""
        try:
            await step()
        except ProtocolViolation:
            raise
        except Exception as exc:
            self._error(exc)
            self.skipping = True

    async def on_parse(self, body: bytes) -> None:
        message_ = protocol.parse_parse(body)

        async def step() -> None:
            if message_.name and message_.name in self.statements:
                raise ServerError(f'prepared statement "{message_.name}" already exists', "42P05")
            statements = await self._split(message_.query)
            if len(statements) > 1:
                raise ServerError(
                    "cannot insert multiple commands into a prepared statement", "42601"
                )
            if not statements:
                prepared = Prepared("", [], list(message_.param_types), empty=True)
            else:
                statement = statements[0]
                numbers = _numbers(statement.sql, statement.placeholders)
                types = list(message_.param_types)
                types += [0] * (max(numbers, default=0) - len(types))
                arrays = _array_numbers(statement.sql, statement.placeholders)
                positional = bool(statement.ml_functions)
                sql = (
                    one_per_appearance(statement.sql, statement.placeholders)
                    if positional
                    else statement.sql
                )
                prepared = Prepared(sql, numbers, types, arrays, positional)
            self.statements[message_.name] = prepared
            self.out += protocol.PARSE_COMPLETE

        await self._extended(step)

    async def on_bind(self, body: bytes) -> None:
        bind = protocol.parse_bind(body)

        async def step() -> None:
            prepared = self.statements.get(bind.statement)
            if prepared is None:
                raise ServerError(f'prepared statement "{bind.statement}" does not exist', "26000")
            if bind.portal and bind.portal in self.portals:
                raise ServerError(f'portal "{bind.portal}" already exists', "42P03")
            if len(bind.params) != prepared.count:
                raise ServerError(
                    f"bind message supplies {len(bind.params)} parameters, but the prepared "
                    f"statement requires {prepared.count}",
                    "08P01",
                )
            formats = protocol.formats_for(bind.param_formats, len(bind.params), "parameter")
            values = []
            for index, (data, fmt) in enumerate(zip(bind.params, formats, strict=True)):
                oid = prepared.param_types[index] if index < len(prepared.param_types) else 0
                if oid in (0, pgtypes.TEXT, pgtypes.VARCHAR) and index + 1 in prepared.arrays:
                    oid = 1009  # text[]: an untyped array literal
                try:
                    values.append(pgtypes.decode_param(data, oid, fmt == 1))
                except NotImplementedError:
                    raise ServerError(
                        f"binary format for parameter ${index + 1} of type "
                        f"{pgtypes.TYPE_NAMES.get(oid, oid)} is not supported; send it as text",
                        "0A000",
                    ) from None
                except (ValueError, ArithmeticError, UnicodeDecodeError) as exc:
                    raise ServerError(
                        f"invalid value for parameter ${index + 1}: {exc}", "22P02"
                    ) from None
            params = prepared.values(values)
            self.portals[bind.portal] = Portal(prepared, params, list(bind.result_formats))
            self.out += protocol.BIND_COMPLETE

        await self._extended(step)

    async def on_describe(self, body: bytes) -> None:
        buf = Buffer(body)
        target, name = buf.byte(), buf.cstring()

        async def step() -> None:
            if target == b"S":
                prepared = self.statements.get(name)
                if prepared is None:
                    raise ServerError(f'prepared statement "{name}" does not exist', "26000")
                oids = [oid or pgtypes.TEXT for oid in prepared.param_types]
                self.out += protocol.parameter_description(oids)
                result = await self._describe(prepared)
                self._describe_result(result, None)
            elif target == b"P":
                if name not in self.portals and name in self.cursors:  # a DECLAREd cursor
                    self._describe_result(self._cursor_description(name), None)
                    return
                portal = self._portal(name)
                await self._execute_portal(portal)
                self._describe_result(portal.result, portal.formats)
            else:
                raise ProtocolViolation(f"invalid Describe target {target!r}")

        await self._extended(step)

    def _describe_result(self, result: Result | None, formats: list[int] | None) -> None:
        if result is None or result.description is None:
            self.out += protocol.NO_DATA
            return
        codes = protocol.formats_for(formats or [], len(result.description), "result column")
        self.out += protocol.row_description(result.fields(codes))

    async def _describe(self, prepared: Prepared) -> Result | None:
        """The columns a statement will return, without running it for real where possible."""
        if prepared.empty:
            return None
        if prepared.description is not None:
            return prepared.description
        keyword = first_keyword(prepared.sql)
        command = pgcompat.command(prepared.sql)
        if command is not None:
            if command.kind == "show":
                prepared.description = self._show(command.name)
            return prepared.description
        if keyword not in ("SELECT", "WITH", "VALUES", "TABLE", "FROM"):
            return None
        params = prepared.values([None] * prepared.count)
        sql = f"SELECT * FROM ({prepared.sql}) AS __sqlml_describe LIMIT 0"
        try:
            prepared.description = await self.run(sql, params)
        except Exception:  # noqa: BLE001 - the real error comes when the statement runs
            return None
        return prepared.description

    def _portal(self, name: str) -> Portal:
        portal = self.portals.get(name)
        if portal is None:
            raise ServerError(f'portal "{name}" does not exist', "34000")
        return portal

    async def _execute_portal(self, portal: Portal) -> None:
        if portal.result is None and not portal.prepared.empty:
            sql = portal.prepared.sql
            if first_keyword(sql) in _STREAMED and pgcompat.command(sql) is None:
                portal.result, portal.cursor = await self._stream(sql, portal.params)
            else:
                portal.result = await self.run(sql, portal.params)
            self._notices(portal.result)

    async def _stream(self, sql: str, params: list[Any]) -> tuple[Result, Any]:
        """A query run on a streaming cursor of the client's lane: its description now, its rows
        as Execute asks for them."""
        cursor = await self._open_stream(sql, params)
        notices = [text for _kind, text in cursor.messages]
        if cursor.description is None:  # nothing to stream after all
            await self._close_streams([cursor])
            return Result(first_keyword(sql), notices=notices), None
        return Result("", [tuple(d) for d in cursor.description], notices=notices), cursor

    async def _streamed_rows(self, portal: Portal, limit: int) -> bool:
        """Send up to ``limit`` (0: all) of a streamed portal's rows; True when it is suspended."""
        cursor = portal.cursor
        assert portal.result is not None and portal.result.description is not None

        def fetch(_lane: Any) -> Any:
            return cursor.fetch_arrow_batch(limit) if limit > 0 else cursor.fetch_arrow_table()

        table = await self._call(fetch)
        batch = Result("", portal.result.description, table)
        formats = protocol.formats_for(
            portal.formats or [], len(portal.result.description), "result column"
        )
        await self._rows(batch, formats, 0, batch.rows)
        portal.sent += batch.rows
        if limit > 0 and batch.rows == limit:
            return True
        await self._close_portal_cursors([portal])
        portal.result.tag = f"SELECT {portal.sent}"
        return False

    async def _close_portal_cursors(self, portals: list[Portal]) -> None:
        cursors = [p.cursor for p in portals if p.cursor is not None]
        for portal in portals:
            portal.cursor = None
        await self._close_streams(cursors)

    async def _forget_portals(self, names: list[str] | None = None) -> None:
        """Drop portals (all of them by default), closing the rows they still stream."""
        names = list(self.portals) if names is None else names
        await self._close_portal_cursors([p for n in names if (p := self.portals.pop(n, None))])

    async def on_execute(self, body: bytes) -> None:
        buf = Buffer(body)
        name, limit = buf.cstring(), buf.int32()

        async def step() -> None:
            portal = self._portal(name)
            if portal.prepared.empty:
                self.out += protocol.EMPTY_QUERY
                return
            await self._execute_portal(portal)
            result = portal.result
            assert result is not None
            if portal.cursor is not None and not portal.done:
                if await self._streamed_rows(portal, limit):
                    self.out += protocol.PORTAL_SUSPENDED
                    return
            elif result.description is not None and not portal.done:
                formats = protocol.formats_for(
                    portal.formats or [], len(result.description), "result column"
                )
                stop = result.rows if limit <= 0 else min(result.rows, portal.sent + limit)
                await self._rows(result, formats, portal.sent, stop)
                portal.sent = stop
                if stop < result.rows:
                    self.out += protocol.PORTAL_SUSPENDED
                    return
            portal.done = True
            self.out += protocol.command_complete(result.tag)

        await self._extended(step)

    async def on_close(self, body: bytes) -> None:
        buf = Buffer(body)
        target, name = buf.byte(), buf.cstring()
        if target == b"S":
            prepared = self.statements.pop(name, None)
            if prepared is not None:
                await self._forget_portals(
                    [k for k, p in self.portals.items() if p.prepared is prepared]
                )
        elif target == b"P":
            await self._forget_portals([name])
        else:
            raise ProtocolViolation(f"invalid Close target {target!r}")
        self.out += protocol.CLOSE_COMPLETE

    async def on_sync(self, body: bytes) -> None:
        self.skipping = False
        if not self.engine.in_transaction(self.id):
            await self._forget_portals()
        await self._ready()

    async def on_flush(self, body: bytes) -> None:
        await self.flush()
