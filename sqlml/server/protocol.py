"""PostgreSQL frontend/backend protocol 3.0: framing, message builders and parsers.

Pure functions over bytes, so every rule about lengths and layouts is testable without sockets.
Reference: https://www.postgresql.org/docs/current/protocol-message-formats.html
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

PROTOCOL_3_0 = 196608  # 3 << 16
SSL_REQUEST = 80877103
GSSENC_REQUEST = 80877104
CANCEL_REQUEST = 80877102
MAX_STARTUP_BYTES = 10_000  # as PostgreSQL: a startup packet is small

_I32 = struct.Struct("!i")
_I16 = struct.Struct("!h")
_HEADER = struct.Struct("!ci")


class ProtocolViolation(Exception):
    """A client broke the protocol; the connection must end with this (SQLSTATE ``08P01``)."""

    sqlstate = "08P01"


class MessageTooLarge(ProtocolViolation):
    """A length field over the server's limit (SQLSTATE ``54000``)."""

    sqlstate = "54000"


# --- reading --------------------------------------------------------------------------------


async def read_startup(reader: asyncio.StreamReader, timeout: float) -> tuple[int, bytes]:
    """The first packet of a connection: ``(code, payload)`` (no type byte, length first)."""
    header = await asyncio.wait_for(reader.readexactly(4), timeout)
    (length,) = _I32.unpack(header)
    if length < 8 or length > MAX_STARTUP_BYTES:
        raise ProtocolViolation(f"invalid startup packet length {length}")
    body = await asyncio.wait_for(reader.readexactly(length - 4), timeout)
    (code,) = _I32.unpack_from(body)
    return code, body[4:]


async def read_message(
    reader: asyncio.StreamReader, max_bytes: int, body_timeout: float, idle_timeout: float | None
) -> tuple[bytes, bytes]:
    """One typed message ``(type, body)``.

    ``idle_timeout`` bounds the wait for the next message (None: wait as long as the client likes);
    once a header has arrived its body must follow within ``body_timeout``, so a client that sends
    a length and stalls cannot hold a connection slot forever.
    """
    header = await asyncio.wait_for(reader.readexactly(5), idle_timeout)
    kind, length = _HEADER.unpack(header)
    if length < 4:
        raise ProtocolViolation(f"invalid message length {length} for message type {kind!r}")
    if length - 4 > max_bytes:
        raise MessageTooLarge(
            f"message of {length - 4} bytes is over the server's limit of {max_bytes} bytes"
        )
    body = await asyncio.wait_for(reader.readexactly(length - 4), body_timeout)
    return kind, body


class Buffer:
    """A cursor over a message body, raising ProtocolViolation on a short or malformed body."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def int32(self) -> int:
        return self._unpack(_I32)

    def int16(self) -> int:
        return self._unpack(_I16)

    def byte(self) -> bytes:
        if self.pos >= len(self.data):
            raise ProtocolViolation("message ends early")
        value = self.data[self.pos : self.pos + 1]
        self.pos += 1
        return value

    def cstring(self) -> str:
        end = self.data.find(b"\0", self.pos)
        if end < 0:
            raise ProtocolViolation("string is not NUL-terminated")
        raw = self.data[self.pos : end]
        self.pos = end + 1
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ProtocolViolation(f"invalid UTF-8 in a string: {exc.reason}") from None

    def bytes(self, count: int) -> bytes:
        if count < 0 or self.pos + count > len(self.data):
            raise ProtocolViolation("message ends early")
        value = self.data[self.pos : self.pos + count]
        self.pos += count
        return value

    def rest(self) -> bytes:
        value = self.data[self.pos :]
        self.pos = len(self.data)
        return value

    def _unpack(self, fmt: struct.Struct) -> int:
        if self.pos + fmt.size > len(self.data):
            raise ProtocolViolation("message ends early")
        (value,) = fmt.unpack_from(self.data, self.pos)
        self.pos += fmt.size
        return int(value)


def parse_startup(payload: bytes) -> dict[str, str]:
    """Startup parameters: ``key\\0value\\0 ... \\0``."""
    buf = Buffer(payload)
    params: dict[str, str] = {}
    while buf.pos < len(payload):
        key = buf.cstring()
        if not key:
            break
        params[key] = buf.cstring()
    return params


@dataclass(frozen=True)
class Parse:
    name: str
    query: str
    param_types: tuple[int, ...]


@dataclass(frozen=True)
class Bind:
    portal: str
    statement: str
    param_formats: tuple[int, ...]
    params: tuple[bytes | None, ...]
    result_formats: tuple[int, ...]


def parse_parse(body: bytes) -> Parse:
    buf = Buffer(body)
    name, query = buf.cstring(), buf.cstring()
    count = buf.int16()
    if count < 0:
        raise ProtocolViolation("negative parameter type count")
    return Parse(name, query, tuple(buf.int32() for _ in range(count)))


def parse_bind(body: bytes) -> Bind:
    buf = Buffer(body)
    portal, statement = buf.cstring(), buf.cstring()
    formats = _int16s(buf)
    count = buf.int16()
    if count < 0:
        raise ProtocolViolation("negative parameter count")
    params: list[bytes | None] = []
    for _ in range(count):
        length = buf.int32()
        params.append(None if length == -1 else buf.bytes(length))
    return Bind(portal, statement, formats, tuple(params), _int16s(buf))


def _int16s(buf: Buffer) -> tuple[int, ...]:
    count = buf.int16()
    if count < 0:
        raise ProtocolViolation("negative format count")
    values = tuple(buf.int16() for _ in range(count))
    if any(v not in (0, 1) for v in values):
        raise ProtocolViolation(f"unknown format code in {values}")
    return values


def formats_for(codes: Sequence[int], count: int, what: str) -> list[int]:
    """Bind's format codes expanded to one per item (none: all text; one: all alike)."""
    if not codes:
        return [0] * count
    if len(codes) == 1:
        return [codes[0]] * count
    if len(codes) != count:
        raise ProtocolViolation(f"{len(codes)} {what} format codes for {count} {what}s")
    return list(codes)


# --- writing --------------------------------------------------------------------------------


def message(kind: bytes, body: bytes = b"") -> bytes:
    return kind + _I32.pack(len(body) + 4) + body


def cstr(text: str) -> bytes:
    return text.replace("\0", "").encode("utf-8") + b"\0"


def auth(code: int, extra: bytes = b"") -> bytes:
    return message(b"R", _I32.pack(code) + extra)


def parameter_status(name: str, value: str) -> bytes:
    return message(b"S", cstr(name) + cstr(value))


def backend_key(pid: int, secret: int) -> bytes:
    return message(b"K", _I32.pack(pid) + _I32.pack(secret))


def ready(status: str) -> bytes:
    return message(b"Z", status.encode())


def command_complete(tag: str) -> bytes:
    return message(b"C", cstr(tag))


def error_response(
    sqlstate: str,
    text: str,
    severity: str = "ERROR",
    detail: str | None = None,
    hint: str | None = None,
) -> bytes:
    """ErrorResponse ('E') or, with severity NOTICE/WARNING, a NoticeResponse ('N')."""
    fields = [(b"S", severity), (b"V", severity), (b"C", sqlstate), (b"M", text)]
    if detail:
        fields.append((b"D", detail))
    if hint:
        fields.append((b"H", hint))
    body = b"".join(code + cstr(value) for code, value in fields) + b"\0"
    return message(b"E" if severity in ("ERROR", "FATAL", "PANIC") else b"N", body)


def notice(text: str, severity: str = "NOTICE", sqlstate: str = "00000") -> bytes:
    return error_response(sqlstate, text, severity=severity)


@dataclass(frozen=True)
class Field:
    """One column of a RowDescription."""

    name: str
    type_oid: int
    type_size: int = -1
    type_modifier: int = -1
    format: int = 0


def row_description(fields: Iterable[Field]) -> bytes:
    items = list(fields)
    body = [_I16.pack(len(items))]
    for f in items:
        body.append(
            cstr(f.name)
            + struct.pack("!ihihih", 0, 0, f.type_oid, f.type_size, f.type_modifier, f.format)
        )
    return message(b"T", b"".join(body))


def parameter_description(oids: Sequence[int]) -> bytes:
    return message(b"t", _I16.pack(len(oids)) + b"".join(_I32.pack(o) for o in oids))


def data_row(cells: Sequence[bytes | None]) -> bytes:
    parts = [_I16.pack(len(cells))]
    for cell in cells:
        parts.append(b"\xff\xff\xff\xff" if cell is None else _I32.pack(len(cell)) + cell)
    return message(b"D", b"".join(parts))


def negotiate_protocol(minor: int, unrecognized: Sequence[str]) -> bytes:
    body = _I32.pack(minor) + _I32.pack(len(unrecognized)) + b"".join(cstr(o) for o in unrecognized)
    return message(b"v", body)


PARSE_COMPLETE = message(b"1")
BIND_COMPLETE = message(b"2")
CLOSE_COMPLETE = message(b"3")
NO_DATA = message(b"n")
EMPTY_QUERY = message(b"I")
PORTAL_SUSPENDED = message(b"s")
AUTH_OK = auth(0)
