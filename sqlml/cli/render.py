"""The output formats of query results: aligned table, csv and json, written as rows are fetched."""

from __future__ import annotations

import csv
import datetime as _dt
import decimal
import json
import math
import unicodedata
from collections.abc import Iterable
from typing import Any, TextIO

import sqlml

FORMATS = ("table", "csv", "json")
CHUNK = 1000  # rows per fetchmany()
MAX_CELL = 60  # characters of one value shown in table format

# --- value rendering --------------------------------------------------------------------------------


def _jsonable(value: Any) -> Any:
    """``value`` with nested containers made JSON-friendly (str keys, no NaN)."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if isinstance(value, decimal.Decimal) and value.is_finite():
        as_float = float(value)
        return as_float if decimal.Decimal(repr(as_float)) == value else str(value)
    return value


def _compact_json(value: Any) -> str:
    return json.dumps(_jsonable(value), default=str, separators=(",", ":"), ensure_ascii=False)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | decimal.Decimal) and not isinstance(value, bool)


def _scalar_text(value: Any) -> str:
    """Text of a non-null scalar, shared by the table and csv formats."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        text = repr(value)
        return f"{value:.12g}" if len(text) > 16 else text
    if isinstance(value, dict | list | tuple):
        return _compact_json(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return "\\x" + bytes(value).hex()
    if isinstance(value, _dt.datetime | _dt.date | _dt.time):
        return value.isoformat(sep=" ") if isinstance(value, _dt.datetime) else value.isoformat()
    return str(value)


def _cell(value: Any) -> str:
    """A value as shown in a table cell: one line, at most MAX_CELL characters."""
    if value is None:
        return "NULL"
    text = _scalar_text(value).replace("\r", "\\r").replace("\n", "\\n").replace("\t", "\\t")
    if len(text) > MAX_CELL:
        text = text[: MAX_CELL - 3] + "..."
    return text


def _width(text: str) -> int:
    """Columns ``text`` takes on a terminal (wide East Asian characters take two)."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int, right: bool) -> str:
    fill = " " * (width - _width(text))
    return fill + text if right else text + fill


# --- result writers ---------------------------------------------------------------------------------


def _fetch_chunks(cursor: sqlml.Cursor) -> Iterable[list[tuple[Any, ...]]]:
    while True:
        rows = cursor.fetchmany(CHUNK)
        if rows:
            yield rows
        if len(rows) < CHUNK:
            return


def write_table(cursor: sqlml.Cursor, out: TextIO, max_rows: int) -> None:
    """Aligned columns, a header and a ``(N rows)`` footer; at most ``max_rows`` rows (0: all)."""
    names = [str(d[0]) for d in cursor.description or []]
    shown: list[tuple[Any, ...]] = []
    total = 0
    for rows in _fetch_chunks(cursor):
        total += len(rows)
        room = len(rows) if max_rows <= 0 else max(0, max_rows - len(shown))
        shown.extend(rows[:room])
    cells = [[_cell(v) for v in row] for row in shown]
    numeric = [
        any(row[i] is not None for row in shown)
        and all(row[i] is None or _is_number(row[i]) for row in shown)
        for i in range(len(names))
    ]
    widths = [max([_width(n)] + [_width(r[i]) for r in cells]) for i, n in enumerate(names)]
    out.write(" | ".join(_pad(n, w, False) for n, w in zip(names, widths, strict=True)).rstrip())
    out.write("\n" + "-+-".join("-" * w for w in widths) + "\n")
    for row in cells:
        parts = (_pad(c, w, r) for c, w, r in zip(row, widths, numeric, strict=True))
        out.write(" | ".join(parts).rstrip() + "\n")
    footer = f"({total} row{'' if total == 1 else 's'}"
    if len(shown) < total:
        footer += f", showing first {len(shown)}"
    out.write(footer + ")\n")


def write_csv(cursor: sqlml.Cursor, out: TextIO) -> None:
    """A header line then the rows; NULL is an empty field, nested values are JSON."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([d[0] for d in cursor.description or []])
    for rows in _fetch_chunks(cursor):
        writer.writerows([["" if v is None else _scalar_text(v) for v in row] for row in rows])


def write_json(cursor: sqlml.Cursor, out: TextIO) -> None:
    """One JSON array of objects, an object per line, streamed."""
    names = [str(d[0]) for d in cursor.description or []]
    out.write("[")
    first = True
    for rows in _fetch_chunks(cursor):
        for row in rows:
            record = _jsonable(dict(zip(names, row, strict=True)))
            out.write(("\n" if first else ",\n") + json.dumps(record, default=str))
            first = False
    out.write("\n]\n" if not first else "]\n")
