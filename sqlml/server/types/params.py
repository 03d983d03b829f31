"""Bind parameters: a driver's values, in text or binary format, decoded by their type OIDs."""

from __future__ import annotations

import datetime as dt
import decimal
import re
import struct
import uuid
from collections.abc import Callable
from typing import Any

from sqlml.server.types.oids import (
    ARRAY_ELEMENTS,
    BOOL,
    BPCHAR,
    BYTEA,
    DATE,
    FLOAT4,
    FLOAT8,
    INT2,
    INT4,
    INT8,
    JSON,
    JSONB,
    NAME,
    NUMERIC,
    OID,
    PG_EPOCH,
    PG_EPOCH_DATE,
    PG_EPOCH_UTC,
    TEXT,
    TIME,
    TIMESTAMP,
    TIMESTAMPTZ,
    TYPE_NAMES,
    UNKNOWN,
    UUID,
    VARCHAR,
)

_TRUE = {"t", "true", "y", "yes", "on", "1"}
_FALSE = {"f", "false", "n", "no", "off", "0"}


def _bool_text(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError(f"invalid input syntax for type boolean: {text!r}")


def _float_text(text: str) -> float:
    return float({"infinity": "inf", "-infinity": "-inf"}.get(text.strip().lower(), text))


def _bytea_text(text: str) -> bytes:
    if text.startswith("\\x"):
        return bytes.fromhex(text[2:])
    return text.encode("latin-1").decode("unicode_escape").encode("latin-1")


def _timestamp_text(text: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(text.strip().replace(" BC", ""))
    return value


def _timestamptz_text(text: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(text.strip())
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


#: pgjdbc's setDate() sends a date with the zone of its Calendar, typed unknown: "2026-05-06 +09".
#: PostgreSQL's date input ignores the zone; DuckDB's refuses it.
_DATE_WITH_ZONE = re.compile(r"(\d{4,}-\d\d-\d\d(?: BC)?) [+-]\d\d(?::?\d\d){0,2}")


def _date_text(text: str) -> dt.date:
    match = _DATE_WITH_ZONE.fullmatch(text.strip())
    return dt.date.fromisoformat(match.group(1) if match else text.strip())


_TEXT_PARSERS: dict[int, Callable[[str], Any]] = {
    BOOL: _bool_text,
    INT2: int,
    INT4: int,
    INT8: int,
    OID: int,
    FLOAT4: _float_text,
    FLOAT8: _float_text,
    NUMERIC: decimal.Decimal,
    DATE: _date_text,
    TIME: dt.time.fromisoformat,
    TIMESTAMP: _timestamp_text,
    TIMESTAMPTZ: _timestamptz_text,
    BYTEA: _bytea_text,
    UUID: uuid.UUID,
}


def _numeric_from_binary(data: bytes) -> decimal.Decimal:
    count, weight, sign, scale = struct.unpack_from("!hhHh", data)
    if sign == 0xC000:
        return decimal.Decimal("NaN")
    digits = struct.unpack_from(f"!{count}H", data, 8)
    value = decimal.Decimal(0)
    for i, digit in enumerate(digits):
        value += decimal.Decimal(digit).scaleb(4 * (weight - i))
    value = value.quantize(decimal.Decimal(1).scaleb(-scale)) if scale else value
    return -value if sign == 0x4000 else value


_BINARY_PARSERS: dict[int, Callable[[bytes], Any]] = {
    BOOL: lambda b: b != b"\x00",
    INT2: lambda b: struct.unpack("!h", b)[0],
    INT4: lambda b: struct.unpack("!i", b)[0],
    INT8: lambda b: struct.unpack("!q", b)[0],
    OID: lambda b: struct.unpack("!I", b)[0],
    FLOAT4: lambda b: struct.unpack("!f", b)[0],
    FLOAT8: lambda b: struct.unpack("!d", b)[0],
    NUMERIC: _numeric_from_binary,
    BYTEA: bytes,
    UUID: lambda b: uuid.UUID(bytes=b),
    DATE: lambda b: PG_EPOCH_DATE + dt.timedelta(days=struct.unpack("!i", b)[0]),
    TIMESTAMP: lambda b: PG_EPOCH + dt.timedelta(microseconds=struct.unpack("!q", b)[0]),
    TIMESTAMPTZ: lambda b: PG_EPOCH_UTC + dt.timedelta(microseconds=struct.unpack("!q", b)[0]),
    JSONB: lambda b: b[1:].decode(),
}
_TEXTUAL = {TEXT, VARCHAR, BPCHAR, NAME, JSON, UNKNOWN, 0}


def parse_array_text(text: str, element: Callable[[str], Any]) -> list[Any]:
    """A one-dimensional PostgreSQL array literal such as ``{1,2,NULL}`` or ``{"a b",c}``."""
    text = text.strip()
    if not (text.startswith("{") and text.endswith("}")):
        raise ValueError(f"malformed array literal: {text[:40]!r}")
    body, items, i = text[1:-1], [], 0
    while i < len(body):
        if body[i] == '"':
            j, chars = i + 1, []
            while j < len(body) and body[j] != '"':
                if body[j] == "\\" and j + 1 < len(body):
                    j += 1
                chars.append(body[j])
                j += 1
            items.append(element("".join(chars)))
            i = j + 2  # closing quote and comma
        else:
            j = body.find(",", i)
            j = len(body) if j < 0 else j
            raw = body[i:j].strip()
            if raw.startswith("{"):
                raise ValueError("multidimensional array parameters are not supported")
            items.append(None if raw.upper() == "NULL" else element(raw))
            i = j + 1
    return items


def decode_param(data: bytes | None, oid: int, binary: bool) -> Any:
    """A Bind parameter as a Python value for DuckDB, by its type OID and format.

    Unknown types go to DuckDB as text, which casts them where the statement gives a type.
    Raises ValueError (a malformed value) or NotImplementedError (no binary decoder).
    """
    if data is None:
        return None
    if binary:
        if oid in _BINARY_PARSERS:
            return _BINARY_PARSERS[oid](data)
        if oid in _TEXTUAL or oid == JSONB:
            return data.decode("utf-8")
        raise NotImplementedError(TYPE_NAMES.get(oid, str(oid)))
    text = data.decode("utf-8")
    if oid in ARRAY_ELEMENTS:
        element = ARRAY_ELEMENTS[oid]
        return parse_array_text(text, _TEXT_PARSERS.get(element, str))
    parser = _TEXT_PARSERS.get(oid)
    if parser is None and oid == 0 and _DATE_WITH_ZONE.fullmatch(text):
        return _DATE_WITH_ZONE.fullmatch(text).group(1)  # type: ignore[union-attr]
    return parser(text) if parser else text
