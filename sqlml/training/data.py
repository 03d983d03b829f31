"""The training rows as a model sees them: feature kinds, unique column names, the data split
(BigQuery's data_split_method), label values and class weights.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sqlml_udfs.arrays import ARRAY, is_numeric_list, lengths
from sqlml_udfs.temporal import TIMESTAMP

from sqlml.errors import NotSupportedError, SchemaError
from sqlml.models.options import ModelOptions
from sqlml.types import sql_type


def check_unique_columns(columns: list[str], model: str) -> None:
    """Refuse a training query with two columns of one name (``SELECT a, b, a, y``): DuckDB and
    Spark compare names without regard to case, so ``A`` and ``a`` are the same column too."""
    seen: dict[str, str] = {}
    for name in columns:
        first = seen.get(name.lower())
        seen.setdefault(name.lower(), name)
        if first is not None:
            same = f"'{name}'" if first == name else f"'{first}' and '{name}'"
            raise SchemaError(
                f"The training query of CREATE MODEL {model} has two columns named {same}; give "
                f"each column its own name (e.g. SELECT …, {_quoted(name)} AS {_quoted(name + '_2')})."
            )


def _quoted(name: str) -> str:
    return name if name.isidentifier() and name.isascii() else '"' + name.replace('"', '""') + '"'


def feature_kind(name: str, dtype: pa.DataType, model: str) -> str:
    """How a column enters the model, as BigQuery's automatic preprocessing says
    (https://cloud.google.com/bigquery/docs/auto-preprocessing): numbers standardized, text,
    booleans, DATE and TIME one-hot encoded, TIMESTAMP (with or without a zone) its Unix seconds
    and parts (sqlml_udfs.temporal)."""
    if pa.types.is_integer(dtype) or pa.types.is_floating(dtype) or pa.types.is_decimal(dtype):
        return "numeric"
    if pa.types.is_string(dtype) or pa.types.is_large_string(dtype) or pa.types.is_boolean(dtype):
        return "categorical"
    if pa.types.is_dictionary(dtype):
        return "categorical"
    if pa.types.is_timestamp(dtype):  # BigQuery's TIMESTAMP transformation: seconds and parts
        return TIMESTAMP
    if pa.types.is_date(dtype) or pa.types.is_time(dtype):  # BigQuery: one-hot, as strings
        return "categorical"
    if is_numeric_list(dtype):  # BigQuery: one feature per element
        return ARRAY
    if pa.types.is_list(dtype) or pa.types.is_large_list(dtype):
        raise NotSupportedError(
            f"ARRAY features of other than numbers (BigQuery's multi-hot encoding) are not "
            f"supported yet: column '{name}' of CREATE MODEL {model} is {sql_type(dtype)}; leave it "
            f"out with SELECT * EXCLUDE ({name})."
        )
    raise SchemaError(
        f"Column '{name}' has type {sql_type(dtype)}, which CREATE MODEL {model} cannot use as a "
        f"feature; cast it to a number or string in the query (e.g. epoch({name}) or "
        f"CAST({name} AS VARCHAR)), or leave it out with SELECT * EXCLUDE ({name})."
    )


def array_length(column: pa.ChunkedArray, name: str, model: str) -> int:
    """The one length of an ARRAY feature's arrays (BigQuery: they must all have the same)."""
    found = sorted(lengths(column))
    if len(found) != 1:
        shown = ", ".join(str(n) for n in found) if found else "only NULL arrays"
        raise SchemaError(
            f"The arrays of column '{name}' of CREATE MODEL {model} must all have the same length "
            f"(one feature per element, as in BigQuery ML); they have {shown}. Pad or cut them "
            f"in the query, or leave the column out."
        )
    return found[0]


#: Options that name a column of the training query.
COLUMN_OPTIONS = ("data_split_col", "kmeans_init_col", "instance_weight_col")


def resolve_column_options(options: ModelOptions, columns: list[str]) -> None:
    """Column names in options match as BigQuery's names do, whatever their case
    (DATA_SPLIT_COL = 'SPLIT_COL' names split_col): each is set to the column's own spelling.
    An exact match wins; an unknown name is left for the check that names the columns."""
    for option in COLUMN_OPTIONS:
        name = options.values.get(option)
        if not isinstance(name, str) or name in columns:
            continue
        matches = [c for c in columns if c.lower() == name.lower()]
        if len(matches) == 1:
            options.values[option] = matches[0]


def split_rows(table: pa.Table, options: ModelOptions, model: str) -> tuple[np.ndarray, np.ndarray]:
    """Row indices of the training and evaluation parts, as BigQuery's data_split_method defines."""
    n = table.num_rows
    method = options.get("data_split_method", "AUTO_SPLIT")
    fraction = options.get("data_split_eval_fraction", 0.2)
    column = options.get("data_split_col")
    rng = np.random.default_rng(options.get("random_seed", 42))
    everything = np.arange(n)
    if method in ("SEQ", "CUSTOM") and not column:
        raise SchemaError(
            f"data_split_method '{method}' of CREATE MODEL {model} needs data_split_col = '<column>'."
        )
    if column and column not in table.column_names:
        raise SchemaError(
            f"data_split_col '{column}' of CREATE MODEL {model} is not a column of the training "
            f"query; its columns are: {', '.join(table.column_names)}."
        )
    if method == "AUTO_SPLIT":
        if n < 500:
            return everything, everything
        eval_size = int(round(n * 0.2)) if n <= 50_000 else 10_000
        shuffled = rng.permutation(n)
        return np.sort(shuffled[eval_size:]), np.sort(shuffled[:eval_size])
    if method == "NO_SPLIT":
        return everything, everything
    if method == "RANDOM":
        eval_size = max(1, int(round(n * fraction)))
        shuffled = rng.permutation(n)
        return np.sort(shuffled[eval_size:]), np.sort(shuffled[:eval_size])
    if method == "SEQ":
        order = pc.sort_indices(table, sort_keys=[(column, "ascending")]).to_numpy()
        eval_size = max(1, int(round(n * fraction)))
        return np.sort(order[: n - eval_size]), np.sort(order[n - eval_size :])
    # CUSTOM: a BOOLEAN column, TRUE for evaluation rows
    flags = table.column(column)
    if not pa.types.is_boolean(flags.type):
        raise SchemaError(
            f"data_split_col '{column}' must be BOOLEAN for data_split_method 'CUSTOM' "
            f"(TRUE marks evaluation rows); it is {sql_type(flags.type)}."
        )
    is_eval = pc.fill_null(flags, False).to_numpy(zero_copy_only=False).astype(bool)
    return np.flatnonzero(~is_eval), np.flatnonzero(is_eval)


def label_values(column: pa.ChunkedArray, task: str, model: str, label: str) -> np.ndarray:
    dtype = column.type
    if task == "regression":
        if not (
            pa.types.is_integer(dtype) or pa.types.is_floating(dtype) or pa.types.is_decimal(dtype)
        ):
            raise SchemaError(
                f"Label '{label}' of CREATE MODEL {model} is {sql_type(dtype)}, but a regression "
                f"model needs a numeric label; use a classifier model_type for categories."
            )
        return pc.cast(column, pa.float64()).to_numpy()
    if pa.types.is_boolean(dtype):
        return pc.cast(column, pa.int64()).to_numpy()
    if pa.types.is_integer(dtype):
        return pc.cast(column, pa.int64()).to_numpy()
    if pa.types.is_string(dtype) or pa.types.is_large_string(dtype):
        return column.to_numpy().astype(str).astype(object)
    raise SchemaError(
        f"Label '{label}' of CREATE MODEL {model} is {sql_type(dtype)}; a classifier needs a "
        f"BOOLEAN, integer or string label (CAST it, or use a regression model_type)."
    )


def json_label(value: Any, label_type: str) -> Any:
    if label_type == "bool":
        return bool(value)
    if label_type == "int64":
        return int(value)
    return str(value)


def explicit_class_weights(
    explicit: dict[str, float], classes: list[Any], label_type: str, model: str
) -> dict[Any, float]:
    """OPTIONS (class_weights = [...]) as a weight per class (keys matched to the classes' text,
    case-insensitively; classes not named weigh 1): the same on every engine."""
    by_text = {str(json_label(c, label_type)).lower(): c for c in classes}
    weights: dict[Any, float] = {}
    for key, weight in explicit.items():
        if key.lower() not in by_text:
            raise SchemaError(
                f"class_weights of CREATE MODEL {model} names label {key!r}, which is not a "
                f"class of the label; classes: "
                f"{', '.join(str(json_label(c, label_type)) for c in classes)}."
            )
        weights[by_text[key.lower()]] = weight
    return {c: weights.get(c, 1.0) for c in classes}


def sample_weights(
    y: np.ndarray, classes: list[Any], options: ModelOptions, model: str, label_type: str
) -> np.ndarray | None:
    weights: dict[Any, float] | None = None
    if options.get("auto_class_weights"):
        counts = {c: int(np.sum(y == c)) for c in classes}
        weights = {c: len(y) / (len(classes) * counts[c]) for c in classes}
    explicit = options.get("class_weights")
    if explicit:
        weights = explicit_class_weights(explicit, classes, label_type, model)
    if weights is None:
        return None
    lookup = np.vectorize(lambda v: weights[v], otypes=[np.float64])
    return lookup(y)
