"""One client connection: start-up, authentication, then the simple and extended query protocols.

Every failure a client can cause ends here: a SQL error becomes an ErrorResponse and the session
goes on; a protocol violation, an oversized message or a stalled read ends this connection only.
Nothing a client sends can stop the server or reach another client's session.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import logging
import re
import secrets
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pyarrow as pa

import sqlml
from sqlml.dbapi import first_keyword
from sqlml.server import auth, pgcompat, protocol
from sqlml.server import types as pgtypes
from sqlml.server.errors import ServerError, message, sqlstate
from sqlml.server.protocol import Buffer, ProtocolViolation

if TYPE_CHECKING:
    from sqlml.server.server import Server

log = logging.getLogger("sqlml.server")

FLUSH_BYTES = 256 * 1024
ROWS_PER_CHUNK = 8192
_ids = itertools.count(1)


class Fatal(Exception):
    """End this connection after sending a FATAL ErrorResponse."""

    def __init__(self, sqlstate: str, text: str) -> None:
        super().__init__(text)
        self.sqlstate = sqlstate


@dataclass
class Result:
    """What one statement produced: rows (an Arrow table and its description) or just a tag."""

    tag: str
    description: list[tuple[Any, ...]] | None = None
    table: pa.Table | None = None
    notices: list[str] = field(default_factory=list)
    _encoded: dict[tuple[int, ...], list[pa.Array]] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        return 0 if self.table is None else self.table.num_rows

    def fields(self, formats: list[int]) -> list[protocol.Field]:
        out = []
        for (name, kind, *_), fmt in zip(self.description or [], formats, strict=True):
            oid, size, modifier = pgtypes.pg_type(str(kind))
            if fmt == 1 and oid not in pgtypes.BINARY_OIDS:
                raise ServerError(
                    f"binary format for column {name!r} of type {kind} is not supported; "
                    f"request text format",
                    "0A000",
                )
            out.append(protocol.Field(str(name), oid, size, modifier, fmt))
        return out

    def columns(self, formats: list[int], settings: pgcompat.Settings) -> list[pa.Array]:
        """Each column encoded as PostgreSQL text or binary values (computed once per formats)."""
        key = tuple(formats)
        if key not in self._encoded:
            assert self.table is not None
            tz = settings.tz()
            columns = []
            for field_, column in zip(self.fields(formats), self.table.columns, strict=True):
                if field_.format:
                    columns.append(pgtypes.binary_column(column, field_.type_oid, tz))
                else:
                    columns.append(pgtypes.text_column(column, field_.type_oid, tz))
            self._encoded[key] = columns
        return self._encoded[key]


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


def _positional(text: str, spans: tuple[tuple[int, int], ...]) -> str:
    """``$n`` placeholders as ``(?)``, for statements with ML calls.

    sqlml hands each ML call the values of the placeholders inside it, by position of appearance,
    while PostgreSQL numbers them; with one ``(?)`` per appearance (and the values repeated to
    match) both agree. The parentheses keep ``$1::DOUBLE`` a cast of the parameter.
    """
    out, position = [], 0
    for start, end in spans:
        out += [text[position:start], "(?)"]
        position = end
    out.append(text[position:])
    return "".join(out)


class ClientSession:
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

    # --- start-up and authentication ----------------------------------------------------------

    async def startup(self) -> bool:
        """SSL negotiation, the startup packet and authentication; False for a cancel request."""
        tls = False
        timeout = self.config.startup_timeout
        while True:
            code, payload = await protocol.read_startup(self.reader, timeout)
            if code == protocol.SSL_REQUEST and not tls:
                tls = await self._start_tls()
            elif code == protocol.GSSENC_REQUEST:
                self.writer.write(b"N")
            elif code == protocol.CANCEL_REQUEST:
                buf = Buffer(payload)
                self.server.cancel(buf.int32(), buf.int32())
                return False
            else:
                break
        if code >> 16 != 3:
            raise Fatal("0A000", f"unsupported frontend protocol {code >> 16}.{code & 0xFFFF}")
        if self.server.ssl_context is not None and not tls:
            raise Fatal("28000", "this server accepts TLS connections only; use sslmode=require")
        params = protocol.parse_startup(payload)
        extensions = sorted(k for k in params if k.startswith("_pq_."))
        if code & 0xFFFF or extensions:
            self.out += protocol.negotiate_protocol(0, extensions)
        self.user = params.get("user", "")
        if not self.user:
            raise Fatal("28000", "no user name specified in the startup packet")
        await self.authenticate()
        self.settings = pgcompat.Settings.create(
            self.user, self.server.timezone, self.config.read_only, self.config.lock_timeout
        )
        self._apply_startup(params)
        log.info(
            "session %d: %s connected from %s%s",
            self.id,
            self.user,
            self.peer,
            " over TLS" if tls else "",
        )
        self.out += protocol.AUTH_OK
        for name in pgcompat.REPORTED:
            self.out += protocol.parameter_status(name, self.settings.values[name])
        self.out += protocol.backend_key(self.id, self.secret)
        self.out += protocol.ready("I")
        await self.flush()
        return True

    async def _start_tls(self) -> bool:
        context = self.server.ssl_context
        if context is None:
            self.writer.write(b"N")
            return False
        if self.reader._buffer:  # type: ignore[attr-defined]  # noqa: SLF001
            raise ProtocolViolation("data received before the TLS handshake")
        self.writer.write(b"S")
        await self.writer.drain()
        await self.writer.start_tls(context)
        return True

    def _apply_startup(self, params: dict[str, str]) -> None:
        options = params.get("options", "")
        for match in re.finditer(r"(?:-c\s*|--)([\w.]+)=((?:\\.|\S)+)", options):
            params.setdefault(match.group(1), match.group(2).replace("\\ ", " "))
        for name, value in params.items():
            if name in ("user", "database", "options", "replication") or name.startswith("_pq_."):
                continue
            key = self.settings.canonical(name) or name
            try:
                self.settings.set(key, value)
            except ServerError as exc:
                raise Fatal(exc.sqlstate, str(exc)) from None
        self.settings.defaults = dict(self.settings.values)

    async def authenticate(self) -> None:
        secret = self.server.password
        if secret is None:
            return
        try:
            if self.config.auth_method == "md5":
                await self._md5(secret)
            else:
                await self._scram()
        except auth.AuthFailed as exc:
            log.warning("session %d: authentication failed for %r: %s", self.id, self.user, exc)
            raise Fatal("28P01", f'password authentication failed for user "{self.user}"') from None

    async def _password_message(self) -> bytes:
        kind, body = await protocol.read_message(
            self.reader, 64 * 1024, self.config.startup_timeout, self.config.startup_timeout
        )
        if kind != b"p":
            raise ProtocolViolation(f"expected a password message, got {kind!r}")
        return body

    async def _md5(self, password: str) -> None:
        salt = secrets.token_bytes(4)
        self.out += protocol.auth(5, salt)
        await self.flush()
        answer = Buffer(await self._password_message()).cstring()
        if not auth.md5_ok(password, self.user, salt, answer):
            raise auth.AuthFailed("wrong password")

    async def _scram(self) -> None:
        self.out += protocol.auth(10, protocol.cstr(auth.MECHANISM) + b"\0")
        await self.flush()
        buf = Buffer(await self._password_message())
        mechanism = buf.cstring()
        if mechanism != auth.MECHANISM:
            raise auth.AuthFailed(f"unsupported SASL mechanism {mechanism!r}")
        length = buf.int32()
        first = buf.bytes(length).decode("utf-8", "replace") if length >= 0 else ""
        exchange = auth.ScramExchange(self.server.scram)
        self.out += protocol.auth(11, exchange.server_first_message(first).encode())
        await self.flush()
        final = (await self._password_message()).decode("utf-8", "replace")
        self.out += protocol.auth(12, exchange.server_final_message(final).encode())

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
        self.portals.clear()
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

    # --- running one statement ------------------------------------------------------------------

    async def run(self, sql: str, params: list[Any]) -> Result:
        """Run one statement: answered here (SET, SHOW, transactions) or on the connection."""
        log.debug("session %d: %s", self.id, sql[:2000])
        command = pgcompat.command(sql)
        if command is not None:
            local = await self._command(command)
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
        def work(cursor: sqlml.Cursor) -> Result:
            cursor.execute(rewritten, params or None)
            return _result(cursor, rewritten)

        return await self._call(work)

    async def _call(self, fn: Callable[[sqlml.Cursor], Result]) -> Result:
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
        )

    async def _command(self, command: pgcompat.Command) -> Result | None:
        kind = command.kind
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
            self.statements.clear()
            self.portals.clear()
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
        if command.kind == "commit" and not failed:
            await self._on_engine("COMMIT", [])
            return Result("COMMIT")
        await self._on_engine("ROLLBACK", [])
        return Result("ROLLBACK")

    def _warn(self, text: str, code: str) -> None:
        self.out += protocol.notice(text, "WARNING", code)

    def _notices(self, result: Result) -> None:
        if self.settings.values.get("client_min_messages", "notice").lower() in (
            "warning",
            "error",
            "log",
            "fatal",
            "panic",
        ):
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

    # --- extended query ---------------------------------------------------------------------------

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
                    _positional(statement.sql, statement.placeholders)
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
            portal.result = await self.run(portal.prepared.sql, portal.params)
            self._notices(portal.result)

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
            if result.description is not None and not portal.done:
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
                for key in [k for k, p in self.portals.items() if p.prepared is prepared]:
                    del self.portals[key]
        elif target == b"P":
            self.portals.pop(name, None)
        else:
            raise ProtocolViolation(f"invalid Close target {target!r}")
        self.out += protocol.CLOSE_COMPLETE

    async def on_sync(self, body: bytes) -> None:
        self.skipping = False
        if not self.engine.in_transaction(self.id):
            self.portals.clear()
        await self._ready()

    async def on_flush(self, body: bytes) -> None:
        await self.flush()

    async def on_function_call(self, body: bytes) -> None:
        self._error(ServerError("the function call protocol is not supported", "0A000"))
        await self._ready()


_DDL = re.compile(
    r"^\s*(CREATE|DROP|ALTER)\s+(?:OR\s+REPLACE\s+)?(?:(?:TEMP|TEMPORARY|PERSISTENT|UNIQUE)\s+)?"
    r"(TABLE|VIEW|SCHEMA|SEQUENCE|INDEX|MACRO|FUNCTION|TYPE|SECRET|DATABASE)\b",
    re.I,
)


def _result(cursor: sqlml.Cursor, sql: str) -> Result:
    """Read everything the statement left on ``cursor`` (runs on the worker thread)."""
    notices = [text for _kind, text in cursor.messages]
    keyword = first_keyword(sql)
    if cursor.description is None:
        return Result(_tag(cursor, sql, keyword), notices=notices)
    table = cursor.fetch_arrow_table()
    description = [tuple(d) for d in cursor.description]
    rows = table.num_rows
    if keyword == "INSERT":
        tag = f"INSERT 0 {rows}"
    elif keyword in ("UPDATE", "DELETE", "MERGE"):
        tag = f"{keyword} {rows}"
    else:
        tag = f"SELECT {rows}"
    return Result(tag, description, table, notices)


def _tag(cursor: sqlml.Cursor, sql: str, keyword: str) -> str:
    status = cursor.statusmessage or keyword
    if status != keyword:  # sqlml's own statements: CREATE MODEL, DROP MODEL, EXPORT MODEL ...
        return status
    count = max(cursor.rowcount, 0)
    if keyword == "INSERT":
        return f"INSERT 0 {count}"
    if keyword in ("UPDATE", "DELETE", "MERGE", "COPY"):
        return f"{keyword} {count}"
    match = _DDL.match(sql)
    if match:
        return f"{match.group(1).upper()} {match.group(2).upper()}"
    if keyword in ("END",):
        return "COMMIT"
    if keyword == "ABORT":
        return "ROLLBACK"
    return keyword or "OK"
