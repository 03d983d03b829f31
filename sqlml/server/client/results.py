"""What one statement produced (rows as an Arrow table, or just a command tag), read off the cursor
and encoded for the client."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

import sqlml
from sqlml.dbapi import first_keyword
from sqlml.server import pgcompat, protocol
from sqlml.server import types as pgtypes
from sqlml.server.errors import ServerError


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


_DDL = re.compile(
    r"^\s*(CREATE|DROP|ALTER)\s+(?:OR\s+REPLACE\s+)?(?:(?:TEMP|TEMPORARY|PERSISTENT|UNIQUE)\s+)?"
    r"(TABLE|VIEW|SCHEMA|SEQUENCE|INDEX|MACRO|FUNCTION|TYPE|SECRET|DATABASE)\b",
    re.I,
)


def read_result(cursor: sqlml.Cursor, sql: str) -> Result:
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
