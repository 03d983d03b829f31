"""PostgreSQL type OIDs, their names and sizes, and the PostgreSQL type of each DuckDB type."""

from __future__ import annotations

import datetime as dt
import re

BOOL, BYTEA, NAME, INT8, INT2, INT4, TEXT, OID, JSON = 16, 17, 19, 20, 21, 23, 25, 26, 114
FLOAT4, FLOAT8, UNKNOWN, BPCHAR, VARCHAR, DATE, TIME = 700, 701, 705, 1042, 1043, 1082, 1083
TIMESTAMP, TIMESTAMPTZ, INTERVAL, TIMETZ, NUMERIC, UUID, JSONB = (
    1114,
    1184,
    1186,
    1266,
    1700,
    2950,
    3802,
)
ARRAY_ELEMENTS = {
    1000: BOOL,
    1001: BYTEA,
    1005: INT2,
    1007: INT4,
    1009: TEXT,
    1015: VARCHAR,
    1016: INT8,
    1021: FLOAT4,
    1022: FLOAT8,
    1231: NUMERIC,
    1182: DATE,
    1115: TIMESTAMP,
    1185: TIMESTAMPTZ,
    2951: UUID,
}

TYPE_NAMES = {
    BOOL: "bool",
    BYTEA: "bytea",
    NAME: "name",
    INT8: "int8",
    INT2: "int2",
    INT4: "int4",
    TEXT: "text",
    OID: "oid",
    JSON: "json",
    FLOAT4: "float4",
    FLOAT8: "float8",
    VARCHAR: "varchar",
    DATE: "date",
    TIME: "time",
    TIMESTAMP: "timestamp",
    TIMESTAMPTZ: "timestamptz",
    INTERVAL: "interval",
    NUMERIC: "numeric",
    UUID: "uuid",
    JSONB: "jsonb",
}

_SIZES = {BOOL: 1, INT2: 2, INT4: 4, INT8: 8, FLOAT4: 4, FLOAT8: 8, DATE: 4, TIME: 8, OID: 4}
_SIZES |= {TIMESTAMP: 8, TIMESTAMPTZ: 8, INTERVAL: 16, UUID: 16}

_SIMPLE = {
    "BOOLEAN": BOOL,
    "TINYINT": INT2,
    "SMALLINT": INT2,
    "UTINYINT": INT2,
    "INTEGER": INT4,
    "USMALLINT": INT4,
    "BIGINT": INT8,
    "UINTEGER": INT8,
    "UBIGINT": NUMERIC,
    "HUGEINT": NUMERIC,
    "UHUGEINT": NUMERIC,
    "VARINT": NUMERIC,
    "BIGNUM": NUMERIC,
    "FLOAT": FLOAT4,
    "DOUBLE": FLOAT8,
    "VARCHAR": TEXT,
    "BLOB": BYTEA,
    "DATE": DATE,
    "TIME": TIME,
    "TIME_NS": TIME,
    "TIME WITH TIME ZONE": TIMETZ,
    "TIMESTAMP": TIMESTAMP,
    "TIMESTAMP_S": TIMESTAMP,
    "TIMESTAMP_MS": TIMESTAMP,
    "TIMESTAMP_NS": TIMESTAMP,
    "TIMESTAMP WITH TIME ZONE": TIMESTAMPTZ,
    "INTERVAL": INTERVAL,
    "UUID": UUID,
    "JSON": JSON,
    '"NULL"': TEXT,
    "NULL": TEXT,
}


def pg_type(duckdb_type: str) -> tuple[int, int, int]:
    """``(oid, size, modifier)`` for a DuckDB type name as ``cursor.description`` gives it."""
    name = duckdb_type.strip().upper()
    if name.endswith("]") or name.startswith(("STRUCT", "MAP", "UNION")):
        return JSON, -1, -1
    match = re.fullmatch(r"DECIMAL\((\d+),\s*(\d+)\)", name)
    if match:
        precision, scale = int(match.group(1)), int(match.group(2))
        return NUMERIC, -1, ((precision << 16) | scale) + 4
    oid = _SIMPLE.get(name, TEXT)  # ENUM, BIT and anything new: their text form
    return oid, _SIZES.get(oid, -1), -1


# The binary format counts dates and times from 2000-01-01.
PG_EPOCH = dt.datetime(2000, 1, 1)
PG_EPOCH_DATE = dt.date(2000, 1, 1)
PG_EPOCH_UTC = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
