"""ARRAY<number> features as the model sees them: one numeric feature per element.

BigQuery's automatic preprocessing (https://cloud.google.com/bigquery/docs/auto-preprocessing)
takes an ARRAY of numbers as its elements; every array of the column has the same length. A
column ``v`` of length k is the graph's numeric inputs ``v[1]`` … ``v[k]`` (float32 ``[N, 1]``,
1-based as SQL arrays are), each imputed and scaled as a number column is; a NULL array or element
is missing (the imputer fills it). Training and scoring both compute them here.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

#: The feature kind of an ARRAY<number> column; its entry also has ``length``.
ARRAY = "array"


def element_names(name: str, length: int) -> list[str]:
    return [f"{name}[{i}]" for i in range(1, length + 1)]


def is_numeric_list(dtype: pa.DataType) -> bool:
    listed = pa.types.is_list(dtype) or pa.types.is_large_list(dtype)
    listed = listed or pa.types.is_fixed_size_list(dtype)
    if not listed:
        return False
    value = dtype.value_type
    return pa.types.is_integer(value) or pa.types.is_floating(value) or pa.types.is_decimal(value)


def lengths(column: Any) -> set[int]:
    """The distinct lengths of a column's non-NULL arrays."""
    return {int(v) for v in pc.unique(pc.list_value_length(column).drop_null()).to_pylist()}


def as_text(column: pa.Array) -> np.ndarray:
    """Arrays as JSON text (``[1.0, 2.5]``; NULL stays None): how a non-numeric feature's value
    travels through the callers that hold one value per feature (the explain functions)."""
    return np.array(
        [
            None if v is None else json.dumps([None if e is None else float(e) for e in v])
            for v in column.to_pylist()
        ],
        dtype=object,
    )


def array_arrays(
    column: Any, name: str, length: int, null: str, float_dtype: type = np.float32
) -> dict[str, np.ndarray]:
    """The graph inputs of one ARRAY column, by name: element i of every row (NaN where the
    array or the element is NULL). Arrow lists, or their JSON text (``null`` as NULL)."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if not isinstance(column, pa.Array):
        texts = np.asarray(column, dtype=object).reshape(-1)
        rows = [None if t is None or t == null else json.loads(t) for t in texts]
        column = pa.array(rows, pa.list_(pa.float64()))
    found = lengths(column)
    if found - {length}:
        raise ValueError(
            f"the arrays of column {name!r} must all have {length} elements, as in training; "
            f"found {', '.join(str(n) for n in sorted(found - {length}))}"
        )
    n = len(column)
    values = np.full((n, length), np.nan, dtype=np.float64)
    valid = pc.is_valid(column).to_numpy(zero_copy_only=False)
    if valid.any():
        flat = pc.cast(pc.list_flatten(column.filter(pa.array(valid))), pa.float64())
        values[valid] = flat.to_numpy(zero_copy_only=False).reshape(-1, length)
    names = element_names(name, length)
    return {names[i]: values[:, i].astype(float_dtype) for i in range(length)}
