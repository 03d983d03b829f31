"""Result values in PostgreSQL's binary format (clients ask for it per column)."""

from __future__ import annotations

import datetime as dt
import decimal
import struct
import uuid
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.compute as pc

from sqlml.server.types.oids import (
    BOOL,
    BPCHAR,
    BYTEA,
    DATE,
    FLOAT4,
    FLOAT8,
    INT2,
    INT4,
    INT8,
    INTERVAL,
    JSON,
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
    UUID,
    VARCHAR,
)
from sqlml.server.types.text import json_text


def _micros(delta: dt.timedelta) -> int:
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def numeric_binary(value: decimal.Decimal | int) -> bytes:
    """PostgreSQL's numeric send format: base-10000 digits with a weight, sign and scale."""
    value = decimal.Decimal(value)
    if value.is_nan():
        return struct.pack("!hhHh", 0, 0, 0xC000, 0)
    sign_bit, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    scale = max(0, -exponent)
    text = "".join(map(str, digits))
    if exponent > 0:
        text += "0" * exponent
        exponent = 0
    elif exponent < 0:
        text = text.zfill(scale + 1)
    integer, fraction = (text[:exponent] or "0", text[exponent:]) if exponent < 0 else (text, "")
    integer = integer.lstrip("0")
    integer = "0" * (-len(integer) % 4) + integer
    fraction = fraction + "0" * (-len(fraction) % 4)
    groups = [int(integer[i : i + 4]) for i in range(0, len(integer), 4)]
    weight = len(groups) - 1
    groups += [int(fraction[i : i + 4]) for i in range(0, len(fraction), 4)]
    while groups and groups[0] == 0:
        groups.pop(0)
        weight -= 1
    while groups and groups[-1] == 0:
        groups.pop()
    if not groups:
        weight = 0
    sign = 0x4000 if sign_bit else 0
    return struct.pack(f"!hhHh{len(groups)}H", len(groups), weight, sign, scale, *groups)


def binary_value(value: Any, oid: int, tz: ZoneInfo) -> bytes:
    """One non-null value in binary format; raises NotImplementedError for a type without one."""
    if oid == BOOL:
        return b"\x01" if value else b"\x00"
    if oid == INT2:
        return struct.pack("!h", value)
    if oid == INT4:
        return struct.pack("!i", value)
    if oid in (INT8, OID):
        return struct.pack("!q", value)
    if oid == FLOAT4:
        return struct.pack("!f", value)
    if oid == FLOAT8:
        return struct.pack("!d", value)
    if oid == NUMERIC:
        return numeric_binary(value)
    if oid == BYTEA:
        return bytes(value)
    if oid == DATE:
        return struct.pack("!i", (value - PG_EPOCH_DATE).days)
    if oid == TIMESTAMP:
        return struct.pack("!q", _micros(value - PG_EPOCH))
    if oid == TIMESTAMPTZ:
        return struct.pack("!q", _micros(value - PG_EPOCH_UTC))
    if oid == TIME:
        return struct.pack("!q", _micros(dt.datetime.combine(PG_EPOCH_DATE, value) - PG_EPOCH))
    if oid == UUID:
        return uuid.UUID(str(value)).bytes
    if oid == INTERVAL:
        if isinstance(value, dt.timedelta):
            return struct.pack("!qii", _micros(value) - value.days * 86_400_000_000, value.days, 0)
        return struct.pack("!qii", value.nanoseconds // 1000, value.days, value.months)
    if oid == JSON:
        return (value if isinstance(value, str) else json_text(value)).encode()
    if oid in (TEXT, VARCHAR, NAME, BPCHAR):
        return str(value).encode()
    raise NotImplementedError(oid)


BINARY_OIDS = frozenset(
    {BOOL, INT2, INT4, INT8, OID, FLOAT4, FLOAT8, NUMERIC, BYTEA, DATE, TIMESTAMP, TIMESTAMPTZ}
    | {TIME, UUID, INTERVAL, JSON, TEXT, VARCHAR, NAME, BPCHAR}
)


def binary_column(array: pa.Array | pa.ChunkedArray, oid: int, tz: ZoneInfo) -> pa.Array:
    """A column in binary format (clients ask for it per column; JDBC does for prepared queries)."""
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks() if array.num_chunks != 1 else array.chunk(0)
    kind = array.type
    if (pa.types.is_timestamp(kind) or pa.types.is_time(kind)) and kind.unit == "ns":
        micro = pa.timestamp("us", kind.tz) if pa.types.is_timestamp(kind) else pa.time64("us")
        array = pc.cast(array, micro, safe=False)
    values = array.to_pylist()
    return pa.array([None if v is None else binary_value(v, oid, tz) for v in values], pa.binary())
