"""Arrow and Spark types: a Spark schema as the Arrow schema its rows arrive in, an Arrow type as
a Spark one, and sqlml's function type names as Spark DDL types.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa


def arrow_schema(schema: Any) -> pa.Schema:
    """A Spark StructType as the Arrow schema its rows arrive in (timestamps in UTC)."""
    from pyspark.sql.pandas.types import to_arrow_schema

    return to_arrow_schema(schema, timezone="UTC")


def _from_arrow_type(dtype: pa.DataType) -> Any:
    from pyspark.sql.pandas.types import from_arrow_type

    return from_arrow_type(dtype)


_SPARK_TYPES = {"DOUBLE": "double", "BIGINT": "bigint", "VARCHAR": "string", "BOOLEAN": "boolean"}


def spark_type(name: str) -> str:
    """A sqlml function type name (as DuckDB's backend takes them) as a Spark DDL type."""
    if name.startswith("PROBS:"):
        return f"array<struct<label:{_SPARK_TYPES[name.split(':', 1)[1]]},prob:double>>"
    return _SPARK_TYPES[name]
