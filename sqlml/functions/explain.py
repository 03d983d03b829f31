"""ML.EXPLAIN_PREDICT and ML.GLOBAL_EXPLAIN: how much each feature moved a prediction.

What is explained: a regressor's prediction; a classifier's output for each row's predicted class
(with ``threshold``, a binary classifier's predicted class at that cutoff), as BigQuery does.

- linear_reg and logistic_reg are explained exactly from their coefficients (recorded at CREATE
  MODEL), as BigQuery defines it: the baseline is the model's intercept (on standardized
  numbers), a number's attribution its weight times its standardized value, a category's the
  weight of the row's category. For logistic_reg the linear score is the logit (log-odds) of the
  explained class, so ``prediction_value`` and ``baseline_prediction_value`` are logits.
- Every other model is explained by sampled Shapley values (Štrumbelj & Kononenko, 2014): along
  ``num_paths`` random orders of the features, each row walks from the baseline row (training
  medians and modes) to itself one feature at a time; a feature's attribution is its mean marginal
  change. Every path telescopes to prediction − baseline, so the attributions add up to it exactly
  and ``approximation_error`` is 0 up to float rounding. All intermediate rows of a batch are
  scored by the stored ONNX graph in one call, and the orders are drawn from the model's
  ``random_seed``, the same for every row, so results are reproducible. BigQuery uses Tree SHAP
  for trees and integrated gradients for DNNs; sqlml's sampled Shapley values estimate the same
  Shapley values, so ``integrated_gradients_num_steps`` (DNNs) and ``approx_feature_contrib``
  (trees) are accepted where BigQuery documents them and change nothing (a notice says so).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from sqlml.errors import ProgrammingError, SchemaError
from sqlml.functions import (
    CallContext,
    binary_classifier,
    boolean,
    classifier,
    positive_int,
    probability,
    register,
)
from sqlml.measures.attribution import EXPLAIN_BASELINE, LINEAR_WEIGHTS
from sqlml.training.insights import GLOBAL_EXPLAIN, GLOBAL_EXPLAIN_CLASSES

if TYPE_CHECKING:
    from sqlml.catalog import ModelRecord

from sqlml.measures.attribution import DEFAULT_PATHS, explain_rows

DEFAULT_TOP_K = 5
CLASS_LEVEL_TOP = 10  # ML.GLOBAL_EXPLAIN's features per class, as BigQuery returns


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
    options={
        "top_k_features": positive_int,
        "threshold": probability,
        "num_paths": positive_int,
        "integrated_gradients_num_steps": positive_int,
        "approx_feature_contrib": boolean,
    },
    input="required",
    applies=supervised,
    groups="each",
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
    _ignored_options(ctx)
    scorer = ctx.scorer()
    reader = ctx.input_stream(keep_input=True)
    kept = ctx.input_fields(reader.schema)  # as ML.PREDICT: without a TRANSFORM's SQL outputs
    predicted = scorer.output_schema()[0]  # predicted_<label>
    is_classifier = record.spec["task"] == "classification"
    added = [predicted] + ([pa.field("probability", pa.float64())] if is_classifier else [])
    added += EXPLAIN_FIELDS
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
            outputs = scorer.run(columns)
            target = None
            if is_classifier:
                probs = scorer.probabilities(outputs)
                target = scorer.class_index(probs, threshold)
                scored = [
                    scorer.classes.take(pa.array(target)),
                    pa.array(probs[np.arange(len(target)), target], type=pa.float64()),
                ]
            else:
                scored = [pa.array(np.asarray(outputs[0], dtype=np.float64).reshape(-1))]
            explanation = explain_rows(
                scorer, record.spec, info, columns, num_paths=paths, seed=seed, target=target
            )
            explained = [
                top_attributions(explanation.attributions, names, top_k),
                pa.array(explanation.baseline, type=pa.float64()),
                pa.array(explanation.prediction, type=pa.float64()),
                pa.array(explanation.approximation_error, type=pa.float64()),
            ]
            yield pa.RecordBatch.from_arrays(
                [batch.column(f.name) for f in kept] + scored + explained, schema=schema
            )

    return pa.RecordBatchReader.from_batches(schema, batches())


def _ignored_options(ctx: CallContext) -> None:
    """BigQuery's options for its other attribution methods: where BigQuery documents them,
    accepted with a notice (sqlml's method takes neither); elsewhere, refused as BigQuery does."""
    record = ctx.record
    family = _family(record)
    documented = {
        "integrated_gradients_num_steps": (("dnn",), "DNN models", "integrated gradients"),
        "approx_feature_contrib": (
            ("boosted_tree", "forest"),
            "boosted tree and random forest models",
            "Tree SHAP",
        ),
    }
    for option, (families, which, method) in documented.items():
        if option not in ctx.options:
            continue
        if family not in families:
            raise SchemaError(
                f"The '{option}' option of ML.EXPLAIN_PREDICT applies to {which}; model "
                f"{record.name} is a {record.model_type} model. Drop the option."
            )
        ctx.notices.append(
            f"ML.EXPLAIN_PREDICT: '{option}' is accepted and ignored: sqlml explains "
            f"{record.model_type} models with sampled Shapley values (num_paths), not with "
            f"BigQuery's {method}."
        )


def _family(record: ModelRecord) -> str:
    from sqlml.models.registry import MODEL_TYPES

    entry = MODEL_TYPES.get(record.spec.get("model_type") or record.model_type)
    return entry.family if entry is not None else ""


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
    groups="each",
)
def global_explain(ctx: CallContext) -> pa.Table:
    """The mean |attribution| per feature, recorded at CREATE MODEL with enable_global_explain;
    with class_level_explain, per class: the label's value, then the top 10 features."""
    record = ctx.record
    rows = record.training_info.get(GLOBAL_EXPLAIN)
    if rows is None:
        raise ProgrammingError(
            f"ML.GLOBAL_EXPLAIN needs a model trained with enable_global_explain = TRUE; model "
            f"{record.name} was not. Retrain it: CREATE OR REPLACE MODEL {record.name} "
            f"OPTIONS (..., enable_global_explain = TRUE) AS ..."
        )
    if ctx.options.get("class_level_explain") and classifier(record) is None:
        return _class_level(ctx)
    return pa.table(
        {
            "feature": pa.array([r["feature"] for r in rows], type=pa.string()),
            "attribution": pa.array([r["attribution"] for r in rows], type=pa.float64()),
        }
    )


def _class_level(ctx: CallContext) -> pa.Table:
    record = ctx.record
    per_class = record.training_info.get(GLOBAL_EXPLAIN_CLASSES)
    if per_class is None:
        raise ProgrammingError(
            f"ML.GLOBAL_EXPLAIN with class_level_explain = TRUE needs the per-class attributions "
            f"that this version of sqlml records at CREATE MODEL; model {record.name} was trained "
            f"by an earlier one. Retrain it: CREATE OR REPLACE MODEL {record.name} ..."
        )
    label = record.spec["label"]
    classes, features, values = [], [], []
    for entry in per_class:
        for row in entry["attributions"][:CLASS_LEVEL_TOP]:
            value = entry["class"]
            classes.append(str(value).lower() if isinstance(value, bool) else str(value))
            features.append(row["feature"])
            values.append(row["attribution"])
    return pa.table(
        {
            label: pa.array(classes, type=pa.string()),  # BigQuery: a STRING, the class's name
            "feature": pa.array(features, type=pa.string()),
            "attribution": pa.array(values, type=pa.float64()),
        }
    )
