"""PEP 249 (DB-API 2.0) over sqlml's executor: ``sqlml.connect()``.

Goes further than DuckDB's own module where the PEP asks for it: InterfaceError for use after close,
the Date/Time/Binary constructors and type objects, ``description`` None after statements that return no
rows, ``rowcount`` for DML, an error from fetch when there is no result set, and rollback() without a
transaction as a no-op.

All cursors of a connection share one engine connection (and so one transaction and its temporary
tables, as the PEP intends). A cursor's unread rows are kept when another cursor executes.

The module is a package: ``types`` holds the module globals, type objects and constructors,
``connection`` ``connect()`` and ``Connection``, ``cursor`` ``Cursor`` and ``first_keyword``.
"""

from __future__ import annotations

import logging

from sqlml.dbapi.connection import DIALECTS, Connection, connect
from sqlml.dbapi.cursor import Cursor, first_keyword
from sqlml.dbapi.types import (
    BINARY,
    DATETIME,
    NUMBER,
    ROWID,
    STRING,
    Binary,
    Date,
    DateFromTicks,
    DBAPITypeObject,
    Time,
    TimeFromTicks,
    Timestamp,
    TimestampFromTicks,
    apilevel,
    paramstyle,
    threadsafety,
)
from sqlml.errors import (
    DatabaseError,
    DataError,
    Error,
    IntegrityError,
    InterfaceError,
    InternalError,
    NotSupportedError,
    OperationalError,
    ProgrammingError,
    Warning,
)

log = logging.getLogger("sqlml")

__all__ = [
    "BINARY",
    "DATETIME",
    "DIALECTS",
    "NUMBER",
    "ROWID",
    "STRING",
    "Binary",
    "Connection",
    "Cursor",
    "DBAPITypeObject",
    "DataError",
    "DatabaseError",
    "Date",
    "DateFromTicks",
    "Error",
    "IntegrityError",
    "InterfaceError",
    "InternalError",
    "NotSupportedError",
    "OperationalError",
    "ProgrammingError",
    "Time",
    "TimeFromTicks",
    "Timestamp",
    "TimestampFromTicks",
    "Warning",
    "apilevel",
    "connect",
    "first_keyword",
    "paramstyle",
    "threadsafety",
]
