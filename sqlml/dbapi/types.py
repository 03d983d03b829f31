"""PEP 249's module globals, type objects and constructors: ``apilevel``, ``STRING``, ``Date``, ...

The type objects compare equal to the engine type names in ``cursor.description``.
"""

from __future__ import annotations

import datetime as _dt
import re
import time as _time

apilevel = "2.0"
threadsafety = 1  # threads may share the module, not connections
paramstyle = "qmark"  # '?' ; DuckDB's '$1' and '$name' (with a mapping) work too

# --- type objects and constructors ----------------------------------------------------------------


class DBAPITypeObject:
    """Compares equal to every engine type name of its group (``cursor.description[i][1]``)."""

    def __init__(self, *names: str) -> None:
        self.names = frozenset(names)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, DBAPITypeObject):
            return self.names == other.names
        text = str(other).upper()
        if "[" in text or text.startswith(("STRUCT", "MAP", "UNION")):
            return False  # nested types belong to no PEP 249 group
        base = re.split(r"[( ]", text, maxsplit=1)[0]
        return base in self.names

    def __hash__(self) -> int:
        return hash(self.names)

    def __repr__(self) -> str:
        return f"DBAPITypeObject({', '.join(sorted(self.names))})"


STRING = DBAPITypeObject("VARCHAR", "CHAR", "TEXT", "STRING", "UUID", "JSON", "ENUM")
BINARY = DBAPITypeObject("BLOB", "BYTEA", "BINARY", "VARBINARY", "BIT", "BITSTRING")
NUMBER = DBAPITypeObject(
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "HUGEINT",
    "UTINYINT",
    "USMALLINT",
    "UINTEGER",
    "UBIGINT",
    "UHUGEINT",
    "FLOAT",
    "DOUBLE",
    "DECIMAL",
    "REAL",
    "BOOLEAN",
)
DATETIME = DBAPITypeObject(
    "DATE",
    "TIME",
    "TIMESTAMP",
    "TIMESTAMP_S",
    "TIMESTAMP_MS",
    "TIMESTAMP_NS",
    "TIMESTAMPTZ",
    "INTERVAL",
    "TIME_NS",
)
ROWID = DBAPITypeObject("ROWID")

Date = _dt.date
Time = _dt.time
Timestamp = _dt.datetime


def DateFromTicks(ticks: float) -> _dt.date:  # noqa: N802 - names fixed by PEP 249
    return Date(*_time.localtime(ticks)[:3])


def TimeFromTicks(ticks: float) -> _dt.time:  # noqa: N802
    return Time(*_time.localtime(ticks)[3:6])


def TimestampFromTicks(ticks: float) -> _dt.datetime:  # noqa: N802
    return Timestamp(*_time.localtime(ticks)[:6])


def Binary(value: bytes | bytearray | memoryview | str) -> bytes:  # noqa: N802
    return value.encode() if isinstance(value, str) else bytes(value)
