"""ML.ROC_CURVE: recall and false positive rate of a binary classifier at each threshold.

A row counts as positive when its probability of the positive class (the second class in sorted
order, as ML.PREDICT reports it) is at least the threshold. Without thresholds the curve has a point
at every distinct probability, highest threshold first (scikit-learn's ``roc_curve`` with
``drop_intermediate=False``, less its extra point at +inf); with them, a row per threshold as given.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from sqlml.errors import ProgrammingError
from sqlml.functions import CallContext, binary_classifier, positive_int, register
from sqlml.functions.trials import require_optimal
from sqlml.measures import metrics

COUNTS = ("true_positives", "false_positives", "true_negatives", "false_negatives")


@register("ROC_CURVE", options={"trial_id": positive_int}, applies=binary_classifier, groups="each")
def roc_curve(ctx: CallContext) -> pa.Table:
    require_optimal(ctx)  # a tuned model stores its optimal trial's model
    thresholds = ctx.call.thresholds
    if ctx.has_input:
        table = ctx.input_table(need_label=True)
        y, probs = metrics.class_scores(ctx.scorer(), table, ctx.record.spec)
        given = None if thresholds is None else np.asarray(thresholds, dtype=np.float64)
        curve: dict[str, Any] = metrics.roc_curve(y, probs[:, 1], given)
    else:
        curve = _stored(ctx)
    return _table(curve)


def _stored(ctx: CallContext) -> dict[str, Any]:
    """The curve recorded at training on the evaluation split (at most 1,000 exact points)."""
    name = ctx.record.name
    if ctx.call.thresholds is not None:
        raise ProgrammingError(
            f"ML.ROC_CURVE with thresholds needs evaluation rows: ML.ROC_CURVE(MODEL {name}, "
            f"TABLE t, [...]); the curve stored at training has its own thresholds."
        )
    curve = ctx.record.training_info.get("roc_curve")
    if curve is None:
        raise ProgrammingError(
            f"Model {name} has no ROC curve recorded at training (it had no evaluation rows, or "
            f"predates this function); pass rows: ML.ROC_CURVE(MODEL {name}, TABLE t)."
        )
    return curve


def _table(curve: dict[str, Any]) -> pa.Table:
    counts = {name: np.asarray(curve[name], dtype=np.int64) for name in COUNTS}
    positives = counts["true_positives"] + counts["false_negatives"]
    negatives = counts["false_positives"] + counts["true_negatives"]
    return pa.table(
        {
            "threshold": pa.array(curve["threshold"], type=pa.float64()),
            "recall": _rate(counts["true_positives"], positives),
            "false_positive_rate": _rate(counts["false_positives"], negatives),
            **{name: pa.array(values, type=pa.int64()) for name, values in counts.items()},
        }
    )


def _rate(part: np.ndarray, whole: np.ndarray) -> pa.Array:
    """part / whole, NULL where there is nothing to divide by (no positives, or no negatives)."""
    values = part / np.maximum(whole, 1)
    return pa.array(values, type=pa.float64(), mask=whole == 0)
