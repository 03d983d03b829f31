"""ML.TRANSFORM: the input rows through a model's TRANSFORM clause, with its training statistics.

https://cloud.google.com/bigquery/docs/reference/standard-sql/bigqueryml-syntax-transform: "returns
the columns specified in the model's TRANSFORM clause", and the page's example shows the input's
other columns after them (culmen_depth_mm, which the TRANSFORM does not read, and the label). So:
the TRANSFORM's feature outputs in their order, then every input column that no output reads or is
named after, in the input's order (the label among them). A model without TRANSFORM is an error, as
in BigQuery.

The ML.* outputs are computed here from the statistics CREATE MODEL recorded (the training info's
``transform`` entry), with BigQuery's output types: a scaler's DOUBLE, ML.IMPUTER's filled value,
ML.LABEL_ENCODER's BIGINT (1 … n in the sorted vocabulary, 0 for NULL and unknown values),
ML.ONE_HOT_ENCODER's ARRAY<STRUCT<index, value>>, ML.BUCKETIZE's and ML.QUANTILE_BUCKETIZE's
``bin_k``, ML.POLYNOMIAL_EXPAND's STRUCT. The outputs computed in SQL are the model's own SQL,
computed by the engine.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sqlml_udfs.scoring import NULL_CATEGORY

from sqlml.errors import NotSupportedError, ProgrammingError
from sqlml.functions import CallContext, register

if TYPE_CHECKING:
    from sqlml.catalog import ModelRecord

ONE_HOT = pa.struct([("index", pa.int64()), ("value", pa.float64())])


def transform_model(record: ModelRecord) -> str | None:
    has = bool(record.spec.get("transform_inputs"))
    return None if has else "models trained with a TRANSFORM clause"


@register("TRANSFORM", input="required", applies=transform_model)
def ml_transform(ctx: CallContext) -> pa.Table:
    record = ctx.record
    outputs = record.training_info.get("transform")
    if outputs is None:
        raise ProgrammingError(
            f"Model {record.name} was trained by an earlier sqlml that did not record its "
            f"TRANSFORM's statistics; retrain it with CREATE OR REPLACE MODEL {record.name}."
        )
    table = ctx.input_table()
    graph_names = {
        entry.get("output", entry["name"]): entry["name"]
        for entry in record.spec.get("transform_sql") or []
    }
    names: list[str] = []
    arrays: list[pa.ChunkedArray | pa.Array] = []
    read: set[str] = set()
    for row in outputs:
        output = row["output"]
        read.update(row["input"])
        if row["computed_in"] == "pass-through":
            array = table.column(row["input"][0])
        elif row["computed_in"] == "sql":
            array = table.column(graph_names[output])
        elif row.get("function") == "ML.POLYNOMIAL_EXPAND":
            array = _polynomial(row, table)
        else:
            array = _apply(row, table.column(row["input"][0]), record.name)
        names.append(output)
        arrays.append(array)
    taken = {n.lower() for n in names} | {n.lower() for n in read}
    hidden = set(graph_names.values()) - set(graph_names)
    for name in table.column_names:
        if name.lower() not in taken and name not in hidden:
            names.append(name)
            arrays.append(table.column(name))
    return pa.table(arrays, names=names)


def _polynomial(row: dict[str, Any], table: pa.Table) -> pa.Array:
    """ML.POLYNOMIAL_EXPAND: a STRUCT with a field per product of degree <= the degree, named by
    joining the columns' names (f1, f1_f1, f1_f2, ...), in name order as the page's example shows;
    its values are text, as the page documents them (STRUCT<STRING>), NULL where an input is."""
    columns = list(row["input"])
    degree = int(row.get("degree") or (row.get("statistics") or {}).get("degree", 2))
    values = {c: _floats(table.column(c)) for c in columns}
    fields: dict[str, list[str | None]] = {}
    for size in range(1, degree + 1):
        for combo in itertools.combinations_with_replacement(columns, size):
            product = np.prod([values[c] for c in combo], axis=0)
            fields["_".join(combo)] = [None if np.isnan(v) else repr(float(v)) for v in product]
    names = sorted(fields)
    arrays = [pa.array(fields[n], pa.string()) for n in names]
    return pa.StructArray.from_arrays(arrays, names=names)


def _apply(row: dict[str, Any], column: pa.ChunkedArray, model: str) -> pa.Array:
    function, stats = row["function"], row.get("statistics") or {}
    if function in ("ML.ONE_HOT_ENCODER", "ML.LABEL_ENCODER", "ML.IMPUTER") and (
        pa.types.is_string(column.type)
        or pa.types.is_large_string(column.type)
        or pa.types.is_dictionary(column.type)
    ):
        return _categorical(function, stats, column, row, model)
    if function in ("ML.ONE_HOT_ENCODER", "ML.LABEL_ENCODER"):
        column = pc.cast(column, pa.string())
        return _categorical(function, stats, column, row, model)
    x = _floats(column)
    if function == "ML.STANDARD_SCALER":
        return _doubles((x - stats["mean"]) / (stats["stddev"] or 1.0))
    if function == "ML.MIN_MAX_SCALER":
        span = (stats["max"] - stats["min"]) or 1.0
        return _doubles(np.clip((x - stats["min"]) / span, 0.0, 1.0))
    if function == "ML.MAX_ABS_SCALER":
        return _doubles(x / (stats["max_abs"] or 1.0))
    if function == "ML.ROBUST_SCALER":
        if "median" in stats:
            x = x - stats["median"]
        if "quantile_range" in stats:
            x = x / (stats["quantile_range"] or 1.0)
        return _doubles(x)
    if function == "ML.IMPUTER":
        return _doubles(np.where(np.isnan(x), stats["fill_value"], x))
    if function in ("ML.BUCKETIZE", "ML.QUANTILE_BUCKETIZE"):
        splits = np.asarray(stats["split_points"], dtype=np.float32)
        x32 = x.astype(np.float32)
        index = (x32[:, None] >= splits[None, :]).sum(axis=1) + 1
        labels = [None if np.isnan(v) else f"bin_{i}" for v, i in zip(x, index, strict=True)]
        return pa.array(labels, pa.string())
    raise NotSupportedError(
        f"ML.TRANSFORM of the output {row['output']} ({function}) of model {model} is not "
        f"supported yet; ML.PREDICT and ML.EVALUATE apply it."
    )


def _categorical(
    function: str, stats: dict[str, Any], column: pa.ChunkedArray, row: dict[str, Any], model: str
) -> pa.Array:
    if pa.types.is_dictionary(column.type):
        column = pc.cast(column, column.type.value_type)
    values = [None if v in (None, NULL_CATEGORY) else v for v in column.to_pylist()]
    if function == "ML.IMPUTER":
        fill = stats["fill_value"]
        fill = None if fill == NULL_CATEGORY else fill
        return pa.array([fill if v is None else v for v in values], pa.string())
    dropped = stats.get("dropped")  # dummy encoding: in the vocabulary, with value 0
    categories = sorted([*stats["categories"], *([dropped] if dropped is not None else [])])
    code = {c: i for i, c in enumerate(categories, start=1)}
    if function == "ML.LABEL_ENCODER":
        return pa.array([code.get(v, 0) if v is not None else 0 for v in values], pa.int64())
    encoded = [
        [
            {
                "index": code.get(v, 0) if v is not None else 0,
                "value": 0.0 if v is not None and v == dropped else 1.0,
            }
        ]
        for v in values
    ]
    return pa.array(encoded, pa.list_(ONE_HOT))


def _floats(column: pa.ChunkedArray) -> np.ndarray:
    values = pc.cast(column, pa.float64())
    return np.asarray(values.to_numpy(zero_copy_only=False), dtype=np.float64)


def _doubles(values: np.ndarray) -> pa.Array:
    return pa.array(values, pa.float64(), from_pandas=True)  # NaN -> NULL, as BigQuery's NULL
