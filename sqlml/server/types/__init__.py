"""DuckDB types as PostgreSQL types: OIDs for RowDescription, values in text and binary format.

Results arrive as Arrow tables. Text encoding is columnar (Arrow compute casts, then numpy assembles
whole DataRow messages), because per-value Python formatting would dominate the time of a large
``ML.PREDICT`` result. Nested values (lists, structs, maps — such as the ``predicted_<label>_probs``
column) are sent as JSON text with the ``json`` OID, which drivers turn into Python/Java objects.

``oids``: type OIDs and the DuckDB-to-PostgreSQL type mapping; ``text`` and ``binary``: the two
result encodings; ``rows``: DataRow messages from encoded columns; ``params``: Bind parameters
decoded from text or binary.
"""

from sqlml.server.types.binary import BINARY_OIDS, binary_column, binary_value, numeric_binary
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
    INTERVAL,
    JSON,
    JSONB,
    NAME,
    NUMERIC,
    OID,
    TEXT,
    TIME,
    TIMESTAMP,
    TIMESTAMPTZ,
    TIMETZ,
    TYPE_NAMES,
    UNKNOWN,
    UUID,
    VARCHAR,
    pg_type,
)
from sqlml.server.types.params import decode_param, parse_array_text
from sqlml.server.types.rows import data_rows
from sqlml.server.types.text import interval_text, json_text, json_values, text_column

__all__ = [
    "ARRAY_ELEMENTS",
    "BINARY_OIDS",
    "BOOL",
    "BPCHAR",
    "BYTEA",
    "DATE",
    "FLOAT4",
    "FLOAT8",
    "INT2",
    "INT4",
    "INT8",
    "INTERVAL",
    "JSON",
    "JSONB",
    "NAME",
    "NUMERIC",
    "OID",
    "TEXT",
    "TIME",
    "TIMESTAMP",
    "TIMESTAMPTZ",
    "TIMETZ",
    "TYPE_NAMES",
    "UNKNOWN",
    "UUID",
    "VARCHAR",
    "binary_column",
    "binary_value",
    "data_rows",
    "decode_param",
    "interval_text",
    "json_text",
    "json_values",
    "numeric_binary",
    "parse_array_text",
    "pg_type",
    "text_column",
]
