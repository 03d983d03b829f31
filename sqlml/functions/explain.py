"""ML.EXPLAIN_PREDICT and ML.GLOBAL_EXPLAIN: how much each feature moved a prediction.

What is explained: a regressor's prediction; a binary classifier's probability of the positive class
(the second in sorted order); a multiclass classifier's probability of the predicted class.

- linear_reg and logistic_reg are explained exactly from their coefficients (recorded at CREATE
  MODEL): a feature's attribution is its contribution to the linear score relative to the baseline,
  which is the training mean of each number and the training frequency of each category (so the
  baseline prediction of a linear_reg is its mean prediction over the training rows). For
  logistic_reg the linear score is the logit (log-odds) of the explained class, so
  ``prediction_value`` and ``baseline_prediction_value`` are logits; that keeps the attributions
  exact, where in probability space they could only be approximated.
- Every other model is explained by sampled Shapley values (Štrumbelj & Kononenko, 2014): along
  ``num_paths`` random orders of the features, each row walks from the baseline row (training
  medians and modes) to itself one feature at a time; a feature's attribution is its mean marginal
  change. Every path telescopes to prediction − baseline, so the attributions add up to it exactly
  and ``approximation_error`` is 0 up to float rounding. All intermediate rows of a batch are
  scored by the stored ONNX graph in one call, and the orders are drawn from the model's
  ``random_seed``, the same for every row, so results are reproducible.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from sqlml.errors import NotSupportedError, ProgrammingError, SchemaError
from sqlml.functions import (
    CallContext,
    binary_classifier,
    boolean,
    positive_int,
    probability,
    register,
)
from sqlml.measures.attribution import EXPLAIN_BASELINE, LINEAR_WEIGHTS
from sqlml.training.insights import GLOBAL_EXPLAIN

if TYPE_CHECKING:
    from sqlml.catalog import ModelRecord

from sqlml.measures.attribution import DEFAULT_PATHS, explain_rows

DEFAULT_TOP_K = 5


ATTRIBUTION = pa.struct([("feature", pa.string()), ("attribution", pa.float64())])


EXPLAIN_FIELDS = [
    pa.field("top_feature_attributions", pa.list_(ATTRIBUTION)),
    pa.field("baseline_prediction_value", pa.float64()),
    pa.field("prediction_value", pa.float64()),
    pa.field("approximation_error", pa.float64()),
]


def supervised(record: ModelRecord) -> str | None:
    supervised_tasks = ("classification", "regression")
    return None if record.spec.get("task") in supervised_tasks else "supervised models"


@register(
    "EXPLAIN_PREDICT",
    options={"top_k_features": positive_int, "threshold": probability, "num_paths": positive_int},
    input="required",
    applies=supervised,
)
def explain_predict(ctx: CallContext) -> pa.RecordBatchReader:
    """ML.PREDICT's columns, then the attributions and the values they explain."""
    record = ctx.record
    threshold = ctx.options.get("threshold")
    if threshold is not None and (reason := binary_classifier(record)):
        raise SchemaError(
            f"The 'threshold' option of ML.EXPLAIN_PREDICT applies to {reason}; model "
            f"{record.name} is not one."
        )
    info = record.training_info
    if LINEAR_WEIGHTS not in info and EXPLAIN_BASELINE not in info:
        raise ProgrammingError(
            f"Model {record.name} was trained by an earlier sqlml that did not record what "
            f"ML.EXPLAIN_PREDICT needs; retrain it with CREATE OR REPLACE MODEL {record.name}."
        )
    scorer = ctx.scorer()
    reader = ctx.input_stream(keep_input=True)
    kept = ctx.input_fields(reader.schema)  # as ML.PREDICT: without a TRANSFORM's SQL outputs
    added = scorer.output_schema() + EXPLAIN_FIELDS
    clash = [f.name for f in added if f.name in {k.name for k in kept}]
    if clash:
        raise SchemaError(
            f"The input of ML.EXPLAIN_PREDICT already has column(s) {', '.join(clash)}, which "
            f"the explanation adds; rename or drop them in the input query."
        )
    schema = pa.schema(kept + added)
    names = [f["name"] for f in record.spec["features"]]
    top_k = min(ctx.options.get("top_k_features", DEFAULT_TOP_K), len(names))
    paths = ctx.options.get("num_paths", DEFAULT_PATHS)
    seed = int(record.options.get("random_seed", 42))

    def batches() -> Iterator[pa.RecordBatch]:
        for batch in reader:
            if batch.num_rows == 0:
                continue
            view = ctx.model_view(batch)
            columns = {name: view.column(name) for name in names}
            scored = scorer.predict_columns(columns, threshold)
            explanation = explain_rows(
                scorer, record.spec, info, columns, num_paths=paths, seed=seed
            )
            explained = [
                top_attributions(explanation.attributions, names, top_k),
                pa.array(explanation.baseline, type=pa.float64()),
                pa.array(explanation.prediction, type=pa.float64()),
                pa.array(explanation.approximation_error, type=pa.float64()),
            ]
            yield pa.RecordBatch.from_arrays(
                [batch.column(f.name) for f in kept] + [array for _, array in scored] + explained,
                schema=schema,
            )

    return pa.RecordBatchReader.from_batches(schema, batches())


def top_attributions(attributions: np.ndarray, names: list[str], k: int) -> pa.Array:
    """Each row's k largest attributions by absolute value, as a list of {feature, attribution}."""
    rows = attributions.shape[0]
    order = np.argsort(-np.abs(attributions), axis=1, kind="stable")[:, :k]
    features = pa.array(names, type=pa.string()).take(pa.array(order.reshape(-1)))
    values = pa.array(np.take_along_axis(attributions, order, axis=1).reshape(-1))
    items = pa.StructArray.from_arrays([features, values], fields=list(ATTRIBUTION))
    offsets = pa.array(np.arange(0, rows * k + 1, k, dtype=np.int32))
    return pa.ListArray.from_arrays(offsets, items, type=pa.list_(ATTRIBUTION))


@register(
    "GLOBAL_EXPLAIN",
    options={"class_level_explain": boolean},
    input="none",
    applies=supervised,
)
def global_explain(ctx: CallContext) -> pa.Table:
    """The mean |attribution| per feature, recorded at CREATE MODEL with enable_global_explain."""
    record = ctx.record
    if ctx.options.get("class_level_explain"):
        raise NotSupportedError(
            "ML.GLOBAL_EXPLAIN with class_level_explain = TRUE is not supported yet; drop the "
            "option (or set it to FALSE) for the model-level attributions."
        )
    rows = record.training_info.get(GLOBAL_EXPLAIN)
    if rows is None:
        raise ProgrammingError(
            f"ML.GLOBAL_EXPLAIN needs a model trained with enable_global_explain = TRUE; model "
            f"{record.name} was not. Retrain it: CREATE OR REPLACE MODEL {record.name} "
            f"OPTIONS (..., enable_global_explain = TRUE) AS ..."
        )
    return pa.table(
        {
            "feature": pa.array([r["feature"] for r in rows], type=pa.string()),
            "attribution": pa.array([r["attribution"] for r in rows], type=pa.float64()),
        }
    )
