"""ML.EVALUATE: one row of metrics with BigQuery's names, on new rows or as recorded at training."""

from __future__ import annotations

import pyarrow as pa

from sqlml.errors import ProgrammingError, SchemaError
from sqlml.functions import CallContext, binary_classifier, probability, register
from sqlml.measures import metrics


@register("EVALUATE", options={"threshold": probability})
def evaluate(ctx: CallContext) -> pa.Table:
    record = ctx.record
    task = record.spec["task"]
    threshold = ctx.options.get("threshold")
    if threshold is not None and (reason := binary_classifier(record)):
        raise SchemaError(
            f"The 'threshold' option of ML.EVALUATE applies to {reason}; model {record.name} is "
            f"not one."
        )
    if not ctx.has_input:
        if threshold is not None:
            raise ProgrammingError(
                "ML.EVALUATE with a threshold needs evaluation rows: TABLE t or (SELECT ...)."
            )
        values = record.metrics
    else:
        table = ctx.input_table(need_label=task != "clustering")
        values = metrics.evaluate(ctx.scorer(), table, record.spec, threshold)
    names = metrics.metric_names(task)
    return pa.table({n: pa.array([values.get(n)], type=pa.float64()) for n in names})
