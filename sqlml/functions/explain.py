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
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sqlml_udfs.scoring import feature_array

from sqlml.errors import NotSupportedError, ProgrammingError, SchemaError
from sqlml.functions import (
    CallContext,
    binary_classifier,
    boolean,
    positive_int,
    probability,
    register,
)
from sqlml.training.insights import EXPLAIN_BASELINE, GLOBAL_EXPLAIN, LINEAR_WEIGHTS

if TYPE_CHECKING:
    from sqlml.catalog import ModelRecord

DEFAULT_TOP_K = 5
DEFAULT_PATHS = 10
# Rows handed to ONNX Runtime per call while walking the Shapley paths: bounds memory per batch.
SCORING_BUDGET = 65_536

ATTRIBUTION = pa.struct([("feature", pa.string()), ("attribution", pa.float64())])
EXPLAIN_FIELDS = [
    pa.field("top_feature_attributions", pa.list_(ATTRIBUTION)),
    pa.field("baseline_prediction_value", pa.float64()),
    pa.field("prediction_value", pa.float64()),
    pa.field("approximation_error", pa.float64()),
]


@dataclass
class Explanation:
    """Per input row: one attribution per feature (model order), the baseline and the prediction."""

    attributions: np.ndarray  # (rows, features)
    baseline: np.ndarray  # (rows,)
    prediction: np.ndarray  # (rows,)

    @property
    def approximation_error(self) -> np.ndarray:
        return np.abs(self.attributions.sum(axis=1) - (self.prediction - self.baseline))


def explain_rows(
    scorer: Any,
    spec: dict[str, Any],
    info: dict[str, Any],
    columns: dict[str, Any],
    *,
    num_paths: int = DEFAULT_PATHS,
    seed: int = 42,
) -> Explanation:
    """Attributions of the rows in ``columns`` (Arrow arrays by feature name)."""
    if LINEAR_WEIGHTS in info:
        return linear_attributions(info[LINEAR_WEIGHTS], columns)
    return sampled_shapley(scorer, spec, info[EXPLAIN_BASELINE], columns, num_paths, seed)


# --- linear models: exact ----------------------------------------------------------------------------


def linear_attributions(weights: dict[str, Any], columns: dict[str, Any]) -> Explanation:
    """Exact contributions to the linear score (prediction, or logit) relative to the baseline."""
    intercept = np.asarray(weights["intercept"], dtype=np.float64)  # (outputs,)
    features = weights["features"]
    n = len(next(iter(columns.values()))) if columns else 0
    parts = np.zeros((n, len(features), len(intercept)))
    baseline = intercept.copy()
    for j, feature in enumerate(features):
        w = np.asarray(feature["weights"], dtype=np.float64)
        if feature["kind"] == "numeric":
            x = feature_array(columns[feature["name"]], "numeric", np.float64)
            fill = feature["impute"] if feature["impute"] is not None else feature["mean"]
            x = np.where(np.isnan(x), fill, x)
            parts[:, j, :] = ((x - feature["mean"]) / feature["scale"])[:, None] * w[None, :]
        else:
            encoded = pa.array(feature_array(columns[feature["name"]], "categorical"), pa.string())
            found = pc.index_in(encoded, value_set=pa.array(feature["categories"], pa.string()))
            index = pc.fill_null(found, -1).to_numpy(zero_copy_only=False).astype(np.int64)
            padded = np.concatenate([w, np.zeros((len(w), 1))], axis=1)  # unseen: all zeros
            expected = w @ np.asarray(feature["frequencies"], dtype=np.float64)
            parts[:, j, :] = padded[:, index].T - expected[None, :]
            baseline += expected
    scores = baseline[None, :] + parts.sum(axis=1)  # (rows, outputs)
    chosen = np.argmax(scores, axis=1) if scores.shape[1] > 1 else np.zeros(n, dtype=np.int64)
    rows = np.arange(n)
    return Explanation(parts[rows, :, chosen], baseline[chosen], scores[rows, chosen])


# --- every other model: sampled Shapley ---------------------------------------------------------------


def sampled_shapley(
    scorer: Any,
    spec: dict[str, Any],
    baseline_info: dict[str, Any],
    columns: dict[str, Any],
    num_paths: int,
    seed: int,
) -> Explanation:
    features = spec["features"]
    m = len(features)
    values = [_model_values(columns[f["name"]], f["kind"]) for f in features]
    base = [_baseline_value(baseline_info["values"].get(f["name"]), f["kind"]) for f in features]
    n = len(values[0]) if values else 0
    rng = np.random.default_rng(seed)
    orders = np.array([rng.permutation(m) for _ in range(num_paths)], dtype=np.int64)
    position = np.argsort(orders, axis=1)  # position[p, j]: the step at which feature j joins
    # Intermediate row t (1..m-1) of path p has the row's own value for features joined before t.
    from_row = position[:, None, :] < np.arange(1, m)[None, :, None]  # (paths, m-1, features)
    per_row = num_paths * (m - 1) + 1
    chunk = max(1, SCORING_BUDGET // per_row)
    results = [
        _shapley_chunk(scorer, spec, features, values, base, from_row, position, start, chunk)
        for start in range(0, n, chunk)
    ]
    if not results:
        empty = np.zeros(0)
        return Explanation(np.zeros((0, m)), empty, empty)
    return Explanation(
        np.concatenate([r.attributions for r in results]),
        np.concatenate([r.baseline for r in results]),
        np.concatenate([r.prediction for r in results]),
    )


def _model_values(column: Any, kind: str) -> np.ndarray:
    return feature_array(column, kind, np.float32)


def _baseline_value(value: Any, kind: str) -> Any:
    if kind == "numeric":
        return np.float32(np.nan if value is None else value)
    return str(value)


def _shapley_chunk(
    scorer: Any,
    spec: dict[str, Any],
    features: list[dict[str, str]],
    values: list[np.ndarray],
    base: list[Any],
    from_row: np.ndarray,
    position: np.ndarray,
    start: int,
    size: int,
) -> Explanation:
    """Score [baseline, rows, every intermediate row of every path] in one ONNX Runtime call."""
    paths, steps = from_row.shape[0], from_row.shape[1]
    feeds = {}
    for j, feature in enumerate(features):
        own = values[j][start : start + size]
        dtype = np.float32 if feature["kind"] == "numeric" else object
        middle = np.where(from_row[None, :, :, j], own[:, None, None], base[j])
        stacked = np.concatenate([np.array([base[j]], dtype=dtype), own, middle.reshape(-1)])
        feeds[feature["name"]] = stacked.astype(dtype, copy=False).reshape(-1, 1)
    rows = len(values[0][start : start + size])
    outputs = scorer.session.run(None, feeds)
    at_baseline, at_row, middle_values = _explained(outputs, spec, rows, paths, steps)
    walk = np.empty((rows, paths, steps + 2))
    walk[:, :, 0] = at_baseline[:, None]
    walk[:, :, -1] = at_row[:, None]
    walk[:, :, 1:-1] = middle_values
    marginal = np.diff(walk, axis=2)  # (rows, paths, features): the change at each step
    index = np.broadcast_to(position[None, :, :], marginal.shape)
    attributions = np.take_along_axis(marginal, index, axis=2).mean(axis=1)
    return Explanation(attributions, at_baseline, at_row)


def _explained(
    outputs: list[np.ndarray], spec: dict[str, Any], rows: int, paths: int, steps: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The explained output at the baseline, at each row, and along each row's paths.

    Scored rows are laid out as [baseline, the rows, then each row's paths × steps]. A multiclass
    model explains each row's predicted class, so the baseline's value differs per row.
    """
    if spec["task"] == "regression":
        value = np.asarray(outputs[0], dtype=np.float64).reshape(-1)
    else:
        probs = np.asarray(outputs[1], dtype=np.float64)
        if probs.shape[1] > 2:
            return _explained_multiclass(probs, rows, paths, steps)
        value = probs[:, 1]
    return (
        np.full(rows, value[0]),
        value[1 : 1 + rows],
        value[1 + rows :].reshape(rows, paths, steps),
    )


def _explained_multiclass(
    probs: np.ndarray, rows: int, paths: int, steps: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    chosen = np.argmax(probs[1 : 1 + rows], axis=1)
    middle = probs[1 + rows :].reshape(rows, paths * steps, probs.shape[1])
    picked = np.take_along_axis(middle, chosen[:, None, None], axis=2)
    return (
        probs[0, chosen],
        probs[1 + np.arange(rows), chosen],
        picked.reshape(rows, paths, steps),
    )


# --- the SQL functions ------------------------------------------------------------------------------


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
