"""ML.PREDICT: the input rows, streamed through ONNX Runtime, with BigQuery's prediction columns."""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa

from sqlml.errors import SchemaError
from sqlml.functions import CallContext, binary_classifier, probability, register


@register("PREDICT", options={"threshold": probability}, input="required")
def predict(ctx: CallContext) -> pa.RecordBatchReader:
    threshold = ctx.options.get("threshold")
    if threshold is not None and (reason := binary_classifier(ctx.record)):
        raise SchemaError(
            f"The 'threshold' option of ML.PREDICT applies to {reason}; model "
            f"{ctx.record.name} is not one."
        )
    if ctx.backend.scores_in_engine:  # e.g. Spark: scored on the executors, not through here
        sql = ctx.call.input_sql
        return ctx.backend.predict_relation(ctx.record, sql, ctx.params, threshold)
    scorer = ctx.scorer()
    reader = ctx.input_stream(keep_input=True)
    kept = ctx.input_fields(reader.schema)  # without the TRANSFORM's SQL outputs
    added = scorer.output_schema()
    clash = [f.name for f in added if f.name in {k.name for k in kept}]
    if clash:
        raise SchemaError(
            f"The input of ML.PREDICT already has column(s) {', '.join(clash)}, which the "
            f"prediction adds; rename or drop them in the input query."
        )
    schema = pa.schema(kept + added)
    names = [f["name"] for f in ctx.record.spec["features"]]

    def batches() -> Iterator[pa.RecordBatch]:
        for batch in reader:
            if batch.num_rows == 0:
                continue
            view = ctx.model_view(batch)
            columns = {name: view.column(name) for name in names}
            scored = scorer.predict_columns(columns, threshold)
            yield pa.RecordBatch.from_arrays(
                [batch.column(f.name) for f in kept] + [array for _, array in scored], schema=schema
            )

    return pa.RecordBatchReader.from_batches(schema, batches())
