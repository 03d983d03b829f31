"""Row weights from a column of the training query: INSTANCE_WEIGHT_COL of BigQuery's boosted tree and
random forest models, each row's weight in the loss (scikit-learn's ``sample_weight``). BigQuery
refuses it with class weights (models.options); given both, they would multiply."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sqlml.errors import SchemaError, TrainingError


def instance_weights(
    table: pa.Table, column: str, class_weights: np.ndarray | None, model: str
) -> np.ndarray:
    """The weights of ``table``'s rows, read from ``column`` (numeric, no NULL, none negative, not
    all zero)."""
    if column not in table.column_names:
        raise SchemaError(
            f"instance_weight_col '{column}' of CREATE MODEL {model} is not a column of the "
            f"training query; its columns are: {', '.join(table.column_names)}."
        )
    values = table.column(column)
    kind = values.type
    if not (pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind)):
        raise SchemaError(
            f"instance_weight_col '{column}' of CREATE MODEL {model} must be a numeric column; "
            f"it is {kind}."
        )
    if values.null_count:
        raise TrainingError(
            f"instance_weight_col '{column}' of CREATE MODEL {model} is NULL on "
            f"{values.null_count} training row(s); give every row a weight (COALESCE(..., 1))."
        )
    weights = np.asarray(pc.cast(values, pa.float64()).to_numpy(zero_copy_only=False))
    if not np.all(np.isfinite(weights)) or np.any(weights < 0) or not np.any(weights > 0):
        raise TrainingError(
            f"instance_weight_col '{column}' of CREATE MODEL {model} must hold finite weights "
            f"≥ 0, not all zero."
        )
    return weights if class_weights is None else weights * class_weights
