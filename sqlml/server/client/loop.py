"""A client's protocol state machine: its life cycle, the message loop, and the simple query protocol.

The start-up, extended-protocol and statement-running parts are mixed in from their own modules.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import logging
import secrets
import ssl
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import sqlml
from sqlml.server import pgcompat, protocol
from sqlml.server.client.copying import Copying
from sqlml.server.client.cursors import Cursors, Declared
from sqlml.server.client.extended import ExtendedQuery, Portal, Prepared
from sqlml.server.client.startup import Fatal, Startup
from sqlml.server.client.statements import FLUSH_BYTES, Statements
from sqlml.server.copy import copy_out
from sqlml.server.copy_in import copy_in
from sqlml.server.errors import ServerError, message, sqlstate
from sqlml.server.protocol import Buffer, ProtocolViolation

if TYPE_CHECKING:
    from sqlml.server.server import Server

log = logging.getLogger("sqlml.server")

_ids = itertools.count(1)


class ClientSession(Startup, ExtendedQuery, Copying, Cursors, Statements):
    """The protocol state machine for one connection."""

    def __init__(
        self, server: Server, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.server = server
        self.config = server.config
        self.engine = server.engine
        self.reader = reader
        self.writer = writer
        self.id = next(_ids)
        self.secret = secrets.randbits(31)
        self.peer = writer.get_extra_info("peername")
        self.out = bytearray()
        self.user = ""
        self.settings = pgcompat.Settings.create(
            "", server.timezone, self.config.read_only, self.config.lock_timeout
        )
        self.statements: dict[str, Prepared] = {}
        self.portals: dict[str, Portal] = {}
        self.cursors: dict[str, Declared] = {}  # DECLAREd cursors by name
        self.failed = False  # an error inside this client's transaction: only ROLLBACK helps
        self.skipping = False  # after an extended-protocol error, until Sync

    # --- lifecycle ------------------------------------------------------------------------------

    async def serve(self) -> None:
        try:
            started = await asyncio.wait_for(self.startup(), self.config.startup_timeout)
            if started:
                await self.loop()
        except Fatal as exc:
            await self._fatal(exc.sqlstate, str(exc))
        except ProtocolViolation as exc:
            log.info("session %d (%s): protocol violation: %s", self.id, self.peer, exc)
            await self._fatal(exc.sqlstate, str(exc))
        except TimeoutError:
            log.info("session %d (%s): timed out waiting for the client", self.id, self.peer)
            await self._fatal("08006", "timed out waiting for the client")
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError) as exc:
            log.debug("session %d (%s): connection closed: %r", self.id, self.peer, exc)
        except asyncio.CancelledError:  # Server.stop(): say why, then end quietly
            await self._fatal("57P01", "terminating connection: the server is shutting down")
        except Exception:
            log.exception("session %d (%s): internal error", self.id, self.peer)
            await self._fatal("XX000", "internal error in sqlml serve; see the server log")
        finally:
            await self.close()

    async def close(self) -> None:
        self.server.forget(self)
        await self.engine.end_session(self.id)
        self.writer.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.writer.wait_closed(), 2)

    async def _fatal(self, code: str, text: str) -> None:
        with contextlib.suppress(Exception):
            self.out += protocol.error_response(code, text, severity="FATAL")
            await asyncio.wait_for(self.flush(), 2)

    async def flush(self) -> None:
        if self.out:
            data, self.out = bytes(self.out), bytearray()
            self.writer.write(data)
        await asyncio.wait_for(self.writer.drain(), self.config.write_timeout)

    def gone(self) -> bool:
        return self.reader.at_eof() or self.writer.transport.is_closing()

    # --- the message loop ---------------------------------------------------------------------

    async def loop(self) -> None:
        handlers: dict[bytes, Callable[[bytes], Any]] = {
            b"Q": self.on_query,
            b"P": self.on_parse,
            b"B": self.on_bind,
            b"D": self.on_describe,
            b"E": self.on_execute,
            b"C": self.on_close,
            b"S": self.on_sync,
            b"H": self.on_flush,
            b"F": self.on_function_call,
        }
        while True:
            idle = None
            if self.engine.in_transaction(self.id) and self.config.idle_in_transaction_timeout:
                idle = self.config.idle_in_transaction_timeout
            try:
                kind, body = await protocol.read_message(
                    self.reader, self.config.max_message_bytes, self.config.read_timeout, idle
                )
            except TimeoutError:
                if idle is None:
                    raise
                raise Fatal(
                    "25P03", "terminating connection due to idle-in-transaction timeout"
                ) from None
            if kind == b"X":
                return
            if kind in (
                b"d",
                b"c",
                b"f",
            ):  # copy messages outside COPY: ignored, as PostgreSQL does
                continue
            handler = handlers.get(kind)
            if handler is None:
                raise ProtocolViolation(f"invalid frontend message type {kind!r}")
            if self.skipping and kind != b"S":
                continue  # after an error in the extended protocol, up to Sync
            await handler(body)
            if len(self.out) >= FLUSH_BYTES:
                await self.flush()

    def _status(self) -> str:
        if not self.engine.in_transaction(self.id):
            return "I"
        return "E" if self.failed else "T"

    async def _ready(self) -> None:
        self.out += protocol.ready(self._status())
        await self.flush()

    def _error(self, exc: BaseException) -> None:
        code = sqlstate(exc)
        if code == "XX000" and not isinstance(exc, sqlml.Error):
            log.exception("session %d: internal error", self.id, exc_info=exc)
        if self.engine.in_transaction(self.id):
            self.failed = True
        text = message(exc)
        log.debug("session %d: error %s: %s", self.id, code, text)
        self.out += protocol.error_response(code, text)

    # --- simple query ---------------------------------------------------------------------------

    async def on_query(self, body: bytes) -> None:
        self.skipping = False
        text = Buffer(body).cstring()
        try:  # COPY TO STDOUT / FROM STDIN as clients send it: alone (options are not SQL)
            copy, incoming = copy_out(text), copy_in(text)
        except ServerError as exc:  # a COPY with options it cannot take
            self._error(exc)
            await self._ready()
            return
        if copy is not None or incoming is not None:
            try:
                if copy is not None:
                    await self._copy_out(copy)
                else:
                    assert incoming is not None
                    await self._copy_in(incoming)
            except Exception as exc:  # the client's to see, as any statement's
                self._error(exc)
            await self._forget_portals()
            await self._ready()
            return
        try:
            statements = await self._split(text)
        except (sqlml.Error, ServerError) as exc:
            self._error(exc)
            await self._ready()
            return
        if not statements:
            self.out += protocol.EMPTY_QUERY
        for statement in statements:
            try:
                if statement.placeholders:
                    raise ServerError(
                        "the statement has parameter placeholders but the simple query protocol "
                        "sends no values; use a driver's parameters (extended protocol)",
                        "42P02",
                    )
                # a COPY among several statements (a ServerError of its options: below)
                copy, incoming = copy_out(statement.sql), copy_in(statement.sql)
                if copy is not None:
                    await self._copy_out(copy)
                    continue
                if incoming is not None:
                    await self._copy_in(incoming)
                    continue
                result = await self.run(statement.sql, [])
                self._notices(result)
                if result.description is not None:
                    formats = [0] * len(result.description)
                    self.out += protocol.row_description(result.fields(formats))
                    await self._rows(result, formats, 0, result.rows)
                self.out += protocol.command_complete(result.tag)
            except Exception as exc:  # every statement error is the client's to see
                self._error(exc)
                break
        await self._forget_portals()
        await self._ready()

    async def _split(self, text: str) -> list[Any]:
        from sqlml.sql import split_statements

        if len(text.encode("utf-8")) > self.config.max_query_bytes:
            raise ServerError(
                f"the query text is over the server's limit of {self.config.max_query_bytes} "
                f"bytes; split it, or load data with COPY from a file",
                "54000",
            )
        limits = self.server.connection.limits
        if len(text) < 10_000:
            return split_statements(text, limits=limits)
        return await asyncio.get_running_loop().run_in_executor(
            None, functools.partial(split_statements, text, limits=limits)
        )

    async def on_function_call(self, body: bytes) -> None:
        self._error(ServerError("the function call protocol is not supported", "0A000"))
        await self._ready()
