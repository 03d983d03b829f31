"""ML.CONFUSION_MATRIX: BigQuery's shape, one row per true class and one count column per class."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
from sqlml_udfs.scoring import label_arrow_type

from sqlml.errors import ProgrammingError, SchemaError
from sqlml.functions import (
    CallContext,
    binary_classifier,
    classifier,
    positive_int,
    probability,
    register,
)
from sqlml.functions.trials import require_optimal
from sqlml.measures import metrics


@register(
    "CONFUSION_MATRIX",
    options={"threshold": probability, "trial_id": positive_int},
    applies=classifier,
    groups="each",
)
def confusion_matrix(ctx: CallContext) -> pa.Table:
    require_optimal(ctx)  # a tuned model stores its optimal trial's model
    record = ctx.record
    classes = record.spec["classes"]
    threshold = ctx.options.get("threshold")
    if threshold is not None and (reason := binary_classifier(record)):
        raise SchemaError(
            f"The 'threshold' option of ML.CONFUSION_MATRIX applies to {reason}; model "
            f"{record.name} has {len(classes)} classes."
        )
    if ctx.has_input:
        table = ctx.input_table(need_label=True)
        scorer = ctx.scorer()
        y, probs = metrics.class_scores(scorer, table, record.spec)
        counts = metrics.confusion_matrix(y, scorer.class_index(probs, threshold), len(classes))
    else:
        counts = _stored(ctx, threshold)
    return _table(record.spec, counts)


def _stored(ctx: CallContext, threshold: float | None) -> list[list[int]]:
    """The matrix recorded at training, on the evaluation split, at the model's own threshold."""
    if threshold is not None:
        raise ProgrammingError(
            "ML.CONFUSION_MATRIX with a threshold needs evaluation rows: TABLE t or (SELECT ...)."
        )
    counts = ctx.record.training_info.get("confusion_matrix")
    if counts is None:
        raise ProgrammingError(
            f"Model {ctx.record.name} has no confusion matrix recorded at training (it had no "
            f"evaluation rows, or predates this function); pass rows: "
            f"ML.CONFUSION_MATRIX(MODEL {ctx.record.name}, TABLE t)."
        )
    return counts


def _table(spec: dict[str, Any], counts: list[list[int]]) -> pa.Table:
    classes = spec["classes"]
    columns: dict[str, pa.Array] = {
        "expected_label": pa.array(classes, type=label_arrow_type(spec))
    }
    matrix = np.asarray(counts, dtype=np.int64).reshape(len(classes), len(classes))
    for name, j in zip(class_column_names(classes), range(len(classes)), strict=True):
        columns[name] = pa.array(matrix[:, j], type=pa.int64())
    return pa.table(columns)


def class_column_names(classes: list[Any]) -> list[str]:
    """A column name per class, as BigQuery makes them: the label text, booleans as false/true,
    integers prefixed with ``_`` (``_0``, ``_1``, ``_-1``). Names equal regardless of case (SQL
    column names are case-insensitive), or equal to ``expected_label``, get ``_2``, ``_3``, ...
    """
    taken = {"expected_label"}
    names = []
    for value in classes:
        if isinstance(value, bool):
            base = "true" if value else "false"
        elif isinstance(value, int):
            base = f"_{value}"
        else:
            base = str(value)
        name, suffix = base, 2
        while name.lower() in taken:
            name, suffix = f"{base}_{suffix}", suffix + 1
        taken.add(name.lower())
        names.append(name)
    return names
