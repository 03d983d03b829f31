"""ML.PREDICT: the input rows, streamed through ONNX Runtime, with BigQuery's prediction columns."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pyarrow as pa
from sqlml_udfs.scoring import output_fields

from sqlml.errors import NotSupportedError, SchemaError
from sqlml.functions import (
    CallContext,
    binary_classifier,
    check_clash,
    check_columns,
    positive_int,
    probability,
    register,
)
from sqlml.functions.trials import require_optimal

TRIAL_ID = "trial_id"


def tuned_trial(ctx: CallContext) -> int | None:
    """A tuned model's ML.PREDICT says which trial scored the rows, before the prediction
    columns (https://cloud.google.com/bigquery/docs/hyperparameter-tuning-tutorial prints
    ``trial_id``): the optimal one, whose model is the one stored."""
    best = ctx.record.training_info.get("best_trial_id")
    return None if best is None else int(best)


@register(
    "PREDICT",
    options={"threshold": probability, "trial_id": positive_int},
    input="required",
    groups="own",
)
def predict(ctx: CallContext) -> pa.RecordBatchReader:
    require_optimal(ctx)  # a tuned model stores its optimal trial's model
    threshold = ctx.options.get("threshold")
    if threshold is not None and (reason := binary_classifier(ctx.record)):
        raise SchemaError(
            f"The 'threshold' option of ML.PREDICT applies to {reason}; model "
            f"{ctx.record.name} is not one."
        )
    if ctx.record.partition_by:  # one model per group
        from sqlml.functions.groups import predict_groups

        return predict_groups(ctx, threshold)
    if ctx.record.spec.get("graph_outputs"):
        return _graph_outputs(ctx, threshold)
    # e.g. Spark: scored on its workers; a TRANSFORM's SQL outputs are computed, and the rows
    # scored, in this process
    if ctx.backend.capabilities.scores_in_engine and not ctx.record.spec.get("transform_sql"):
        return _score_in_engine(ctx, threshold)
    scorer = ctx.scorer()
    reader = ctx.input_stream(keep_input=True)
    kept = ctx.input_fields(reader.schema)  # without the TRANSFORM's SQL outputs
    trial = tuned_trial(ctx)
    added = [pa.field(TRIAL_ID, pa.int64())] if trial is not None else []
    added += scorer.output_schema()
    check_clash(kept, added)
    schema = pa.schema(kept + added)
    names = [f["name"] for f in ctx.record.spec["features"]]

    def batches() -> Iterator[pa.RecordBatch]:
        for batch in reader:
            if batch.num_rows == 0:
                continue
            view = ctx.model_view(batch)
            columns = {name: view.column(name) for name in names}
            scored = [array for _, array in scorer.predict_columns(columns, threshold)]
            if trial is not None:
                scored.insert(0, pa.array([trial] * batch.num_rows, pa.int64()))
            yield pa.RecordBatch.from_arrays(
                [batch.column(f.name) for f in kept] + scored, schema=schema
            )

    return pa.RecordBatchReader.from_batches(schema, batches())


# BigQuery's types of an imported ONNX model's output tensors (bigqueryml-syntax-create-onnx).
_OUTPUT_TYPES = {"FLOAT": pa.float64(), "DOUBLE": pa.float64(), "FLOAT16": pa.float64()}
_OUTPUT_TYPES.update({"BFLOAT16": pa.float64(), "BOOL": pa.bool_(), "STRING": pa.string()})
_OUTPUT_TYPES.update(
    {f"{sign}INT{bits}": pa.int64() for sign in ("", "U") for bits in (8, 16, 32, 64)}
)


def _graph_outputs(ctx: CallContext, threshold: float | None) -> pa.RecordBatchReader:
    """An ONNX file imported as BigQuery imports one: the input rows, then one column per output
    of the graph under its name (https://cloud.google.com/bigquery/docs/
    making-predictions-with-sklearn-models-in-onnx-format: ``label`` and ``probabilities``); an
    [N] or [N, 1] tensor is a value per row, an [N, k] one an ARRAY. Scored by ONNX Runtime in
    this process on every engine, as the graph computes it."""
    record = ctx.record
    if threshold is not None:
        raise SchemaError(
            f"The 'threshold' option of ML.PREDICT does not apply to model {record.name}, an "
            f"imported ONNX graph whose outputs ML.PREDICT returns as the graph computes them."
        )
    outputs = record.spec["graph_outputs"]
    scorer = ctx.scorer()
    reader = ctx.input_stream(keep_input=True)
    kept = ctx.input_fields(reader.schema)
    added = []
    for output in outputs:
        value = _OUTPUT_TYPES.get(output["elem"], pa.float64())
        wide = output["rank"] == 2 and output["width"] != 1
        added.append(pa.field(output["name"], pa.list_(value) if wide else value))
    check_clash(kept, added)
    schema = pa.schema(kept + added)
    names = [f["name"] for f in record.spec["features"]]
    fetch = [o["name"] for o in outputs]

    def batches() -> Iterator[pa.RecordBatch]:
        for batch in reader:
            if batch.num_rows == 0:
                continue
            view = ctx.model_view(batch)
            columns = {name: view.column(name) for name in names}
            values = scorer.session.run(fetch, scorer.feeds(columns))
            arrays = [_output_array(v, f.type) for v, f in zip(values, added, strict=True)]
            yield pa.RecordBatch.from_arrays(
                [batch.column(f.name) for f in kept] + arrays, schema=schema
            )

    return pa.RecordBatchReader.from_batches(schema, batches())


def _output_array(value: Any, arrow_type: pa.DataType) -> pa.Array:
    import numpy as np

    array = np.asarray(value)
    if pa.types.is_list(arrow_type):
        rows = array.reshape(array.shape[0], -1)
        flat = pa.array(rows.reshape(-1).tolist(), type=arrow_type.value_type)
        offsets = pa.array(np.arange(0, rows.size + 1, rows.shape[1], dtype=np.int32))
        return pa.ListArray.from_arrays(offsets, flat, type=arrow_type)
    return pa.array(array.reshape(-1).tolist(), type=arrow_type)


def _score_in_engine(ctx: CallContext, threshold: float | None) -> Any:
    """The input as an engine relation, checked here, scored by the engine (no rows pass
    through this process)."""
    record = ctx.record
    if record.spec.get("transform_sql"):
        raise NotSupportedError(
            f"ML.PREDICT of model {record.name}, whose TRANSFORM computes columns in SQL, is not "
            f"yet supported on the {ctx.backend.display_name} engine."
        )
    sql, trial = ctx.call.input_sql, tuned_trial(ctx)
    if trial is not None:  # the trial's column, before the prediction's (as on one machine)
        quote = ctx.backend.quote
        probe = ctx.backend.relation_schema(ctx.backend.relation(sql, ctx.params))
        check_clash(list(probe), [pa.field(TRIAL_ID, pa.int64())])
        sql = f"SELECT *, CAST({int(trial)} AS BIGINT) AS {quote(TRIAL_ID)} FROM ({sql}) AS {quote('__sqlml_input')}"
    relation = ctx.backend.relation(sql, ctx.params)
    schema = ctx.backend.relation_schema(relation)
    check_columns(record, schema, "ML.PREDICT")
    added = output_fields(record.spec)  # no ONNX Runtime session for the schema
    check_clash(list(schema), added)
    return ctx.backend.score_relation(record, relation, threshold, added)
