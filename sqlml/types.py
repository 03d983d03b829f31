"""Arrow types by the names SQL users know, for messages, the catalog and cursor descriptions;
the same names on both engines (DuckDB's spelling)."""

from __future__ import annotations

import pyarrow as pa


def sql_type(dtype: pa.DataType) -> str:
    """A SQL-ish name of an Arrow type, for messages and the catalog."""
    names = {
        pa.int8(): "TINYINT",
        pa.int16(): "SMALLINT",
        pa.int32(): "INTEGER",
        pa.int64(): "BIGINT",
        pa.uint8(): "UTINYINT",
        pa.uint16(): "USMALLINT",
        pa.uint32(): "UINTEGER",
        pa.uint64(): "UBIGINT",
        pa.float32(): "FLOAT",
        pa.float64(): "DOUBLE",
        pa.string(): "VARCHAR",
        pa.large_string(): "VARCHAR",
        pa.bool_(): "BOOLEAN",
        pa.date32(): "DATE",
        pa.binary(): "BLOB",
    }
    if dtype in names:
        return names[dtype]
    if pa.types.is_time(dtype):
        return "TIME"
    if pa.types.is_list(dtype) or pa.types.is_large_list(dtype):
        return f"{sql_type(dtype.value_type)}[]"
    if pa.types.is_decimal(dtype):
        return f"DECIMAL({dtype.precision},{dtype.scale})"
    if pa.types.is_timestamp(dtype):
        return "TIMESTAMP WITH TIME ZONE" if dtype.tz else "TIMESTAMP"
    if pa.types.is_dictionary(dtype):
        return sql_type(dtype.value_type)
    return str(dtype).upper()


def label_type_name(dtype: pa.DataType) -> str:
    if pa.types.is_boolean(dtype):
        return "bool"
    if pa.types.is_integer(dtype):
        return "int64"
    if pa.types.is_string(dtype) or pa.types.is_large_string(dtype):
        return "string"
    return "double"


#: Feature types a model function takes as themselves (the scorer reads them); other non-numeric
#: features are passed as text.
_OWN_PARAMETER_TYPES = ("TIMESTAMP", "TIMESTAMP WITH TIME ZONE", "DATE", "TIME")


def parameter_type(feature: dict[str, str]) -> str:
    """The SQL type of a model function's parameter for ``feature`` (a catalog feature entry)."""
    if feature["kind"] == "numeric":
        return "DOUBLE"
    if feature["kind"] == "array":  # ARRAY<number>: its elements as numbers
        return "DOUBLE[]"
    own = feature.get("type", "")
    return own if own in _OWN_PARAMETER_TYPES else "VARCHAR"
