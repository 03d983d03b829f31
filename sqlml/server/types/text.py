"""Result columns in PostgreSQL's text format, built with Arrow compute; nested values as JSON."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import math
import re
import uuid
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sqlml.server.types.oids import JSON, TEXT, UUID


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        if value and all(isinstance(v, tuple) and len(v) == 2 for v in value):
            return {str(k): _jsonable(v) for k, v in value}  # a MAP arrives as (key, value) pairs
        return [_jsonable(v) for v in value]
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, decimal.Decimal):
        return float(value) if value.is_finite() else None
    if isinstance(value, bytes):
        return "\\x" + value.hex()
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat(sep=" ") if isinstance(value, dt.datetime) else value.isoformat()
    if isinstance(value, pa.MonthDayNano):
        return interval_text(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def json_text(value: Any) -> str:
    return json.dumps(_jsonable(value), separators=(",", ":"), ensure_ascii=False, default=str)


def interval_text(value: Any) -> str:
    """PostgreSQL's ``IntervalStyle = postgres`` text, e.g. ``1 year 2 mons 3 days 04:05:06.5``."""
    if isinstance(value, dt.timedelta):
        months, days, micros = 0, value.days, value.seconds * 1_000_000 + value.microseconds
    else:
        months, days, micros = value.months, value.days, value.nanoseconds // 1000
    parts = []
    years, months = divmod(months, 12) if months >= 0 else (-((-months) // 12), -((-months) % 12))
    for amount, unit in ((years, "year"), (months, "mon"), (days, "day")):
        if amount:
            parts.append(f"{amount} {unit}{'' if abs(amount) == 1 else 's'}")
    if micros or not parts:
        sign = "-" if micros < 0 else ""
        seconds, fraction = divmod(abs(micros), 1_000_000)
        minutes, seconds = divmod(seconds, 60)
        hours, minutes = divmod(minutes, 60)
        clock = f"{sign}{hours:02d}:{minutes:02d}:{seconds:02d}"
        if fraction:
            clock += f".{fraction:06d}".rstrip("0")
        parts.append(clock)
    return " ".join(parts)


def _offset_text(value: dt.datetime) -> str:
    text = value.isoformat(sep=" ")
    match = re.search(r"([+-]\d\d):(\d\d)(?::(\d\d))?$", text)
    if match and match.group(2) == "00" and not match.group(3):
        text = text[: match.start()] + match.group(1)
    return text


def _python_column(array: pa.Array, convert: Callable[[Any], str]) -> pa.Array:
    return pa.array(
        [None if v is None else convert(v) for v in array.to_pylist()], type=pa.string()
    )


_FRACTION_ZEROS = r"\.?0+$"


# JSON text built with Arrow compute: nested results (ML.PREDICT's probability lists) stay fast.
_CONTROL = r"[\x00-\x08\x0b\x0c\x0e-\x1f]"
_NEEDS_ESCAPE = r"[\x00-\x1f\"\\\\]"
_ESCAPES = [("\\", "\\\\"), ('"', '\\"'), ("\n", "\\n"), ("\r", "\\r"), ("\t", "\\t")]
_NULL_TEXT = pa.scalar(None, pa.string())


def _join(*parts: pa.Array | str) -> pa.Array:
    return pc.binary_join_element_wise(*parts, "")


def _keep_nulls(array: pa.Array, text: pa.Array) -> pa.Array:
    return pc.if_else(array.is_valid(), text, _NULL_TEXT) if array.null_count else text


def _json_string(array: pa.Array) -> pa.Array:
    text = array if pa.types.is_string(array.type) else pc.cast(array, pa.string())
    if len(text) and pc.any(pc.match_substring_regex(text, _NEEDS_ESCAPE)).as_py():
        if pc.any(pc.match_substring_regex(text, _CONTROL)).as_py():
            values = text.to_pylist()
            dumped = [None if v is None else json.dumps(v, ensure_ascii=False) for v in values]
            return pa.array(dumped, pa.string())
        for raw, escaped in _ESCAPES:
            text = pc.replace_substring(text, raw, escaped)
    return _join('"', text, '"')


def _json_list(
    offsets: np.ndarray, values: pa.Array, array: pa.Array, open_: str, close: str
) -> pa.Array:
    items = pa.ListArray.from_arrays(pa.array(offsets - offsets[0], pa.int32()), values)
    return _keep_nulls(array, _join(open_, pc.binary_join(items, ","), close))


def json_values(array: pa.Array) -> pa.Array | None:
    """Each value as JSON text (NULL stays NULL), or None when a type needs the Python path."""
    kind = array.type
    if pa.types.is_null(kind):
        return pa.nulls(len(array), pa.string())
    if pa.types.is_dictionary(kind):
        return json_values(array.dictionary_decode())
    if pa.types.is_boolean(kind):
        return pc.if_else(array, "true", "false")
    if pa.types.is_integer(kind) or pa.types.is_decimal(kind):
        return pc.cast(array, pa.string())
    if pa.types.is_floating(kind):
        return pc.if_else(pc.is_finite(array), pc.cast(array, pa.string()), _NULL_TEXT)
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return _keep_nulls(array, _json_string(array))
    if pa.types.is_date(kind) or (pa.types.is_timestamp(kind) and kind.tz is None):
        return _keep_nulls(array, _json_string(text_column(array, TEXT, ZoneInfo("UTC"))))
    if pa.types.is_struct(kind):
        fields = array.flatten()
        parts: list[pa.Array | str] = []
        for index, child in enumerate(fields):
            rendered = json_values(child)
            if rendered is None:
                return None
            name = json.dumps(kind.field(index).name, ensure_ascii=False)
            parts += ["," if index else "{", f"{name}:", pc.fill_null(rendered, "null")]
        if not parts:
            return _keep_nulls(array, pa.array(["{}"] * len(array), pa.string()))
        return _keep_nulls(array, _join(*parts, "}"))
    if pa.types.is_fixed_size_list(kind):
        return json_values(pc.cast(array, pa.list_(kind.value_type)))
    if pa.types.is_map(kind):
        offsets = np.asarray(array.offsets)
        keys = array.keys.slice(offsets[0], offsets[-1] - offsets[0])
        items = array.items.slice(offsets[0], offsets[-1] - offsets[0])
        rendered = json_values(items)
        if rendered is None:
            return None
        pairs = _join(_json_string(keys), ":", pc.fill_null(rendered, "null"))
        return _json_list(offsets, pairs, array, "{", "}")
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        offsets = np.asarray(array.offsets)
        values = array.values.slice(offsets[0], offsets[-1] - offsets[0])
        rendered = json_values(values)
        if rendered is None:
            return None
        return _json_list(offsets, pc.fill_null(rendered, "null"), array, "[", "]")
    return None


def text_column(array: pa.Array | pa.ChunkedArray, oid: int, tz: ZoneInfo) -> pa.Array:
    """A column as a string array holding PostgreSQL's text form of each value (NULLs kept)."""
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks() if array.num_chunks != 1 else array.chunk(0)
    kind = array.type
    if pa.types.is_dictionary(kind):
        array, kind = array.dictionary_decode(), kind.value_type
    if pa.types.is_null(kind):
        return pa.nulls(len(array), pa.string())
    if oid == JSON and not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
        rendered = json_values(array)
        return rendered if rendered is not None else _python_column(array, json_text)
    if pa.types.is_boolean(kind):
        return pc.if_else(array, "t", "f")
    if pa.types.is_integer(kind) or pa.types.is_decimal(kind):
        return pc.cast(array, pa.string())
    if pa.types.is_floating(kind):
        text = pc.cast(array, pa.string())
        if pc.all(pc.is_finite(array)).as_py() is not False:
            return text
        text = pc.replace_substring_regex(text, "^inf$", "Infinity")
        text = pc.replace_substring_regex(text, "^-inf$", "-Infinity")
        return pc.replace_substring_regex(text, "^-?nan$", "NaN")
    if pa.types.is_string(kind):
        return array
    if pa.types.is_large_string(kind) or pa.types.is_string_view(kind):
        return pc.cast(array, pa.string())
    if pa.types.is_date(kind):
        return pc.cast(array, pa.string())
    if (pa.types.is_timestamp(kind) or pa.types.is_time(kind)) and kind.unit == "ns":
        # PostgreSQL keeps microseconds, and drivers parse at most six fractional digits.
        micro = pa.timestamp("us", kind.tz) if pa.types.is_timestamp(kind) else pa.time64("us")
        array, kind = pc.cast(array, micro, safe=False), micro
    if pa.types.is_timestamp(kind) and kind.tz is None:
        text = pc.cast(array, pa.string())
        return text if kind.unit == "s" else pc.replace_substring_regex(text, _FRACTION_ZEROS, "")
    if pa.types.is_timestamp(kind):
        return _python_column(array, lambda v: _offset_text(v.astimezone(tz)))
    if pa.types.is_time(kind):
        text = pc.cast(array, pa.string())
        return text if kind.unit == "s" else pc.replace_substring_regex(text, _FRACTION_ZEROS, "")
    if pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
        if oid == UUID and pa.types.is_fixed_size_binary(kind):
            return _python_column(array, lambda v: str(uuid.UUID(bytes=v)))
        return _python_column(array, lambda v: "\\x" + v.hex())
    if pa.types.is_fixed_size_binary(kind):
        if kind.byte_width == 16 and oid == UUID:
            return _python_column(array, lambda v: str(uuid.UUID(bytes=v)))
        return _python_column(array, lambda v: "\\x" + v.hex())
    if kind == pa.month_day_nano_interval() or pa.types.is_duration(kind):
        return _python_column(array, interval_text)
    return _python_column(array, json_text if oid == JSON else str)
