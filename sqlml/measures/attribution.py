"""Feature attributions (ML.EXPLAIN_PREDICT, ML.GLOBAL_EXPLAIN): exact ones from a linear model's
coefficients, and sampled Shapley values (Strumbelj & Kononenko, 2014) scored through the stored
ONNX graph for every other model. Shared by CREATE MODEL (global attributions, recorded) and the
functions (per row); see :mod:`sqlml.functions.explain` for what is explained.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sqlml_udfs.scoring import feature_array

if TYPE_CHECKING:
    pass


#: Keys of what CREATE MODEL records for these (sqlml.training.insights): a linear model's weights
#: and the baseline row the attributions start from.
LINEAR_WEIGHTS = "linear_weights"
EXPLAIN_BASELINE = "explain_baseline"
#: False in LINEAR_WEIGHTS when its features are not the model's inputs (TRANSFORM outputs that
#: ML.* functions compute in the graph): the attributions are then sampled Shapley values.
ATTRIBUTES_INPUTS = "attributes_inputs"

DEFAULT_PATHS = 10


# Rows handed to ONNX Runtime per call while walking the Shapley paths: bounds memory per batch.
SCORING_BUDGET = 65_536


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
    target: np.ndarray | None = None,
) -> Explanation:
    """Attributions of the rows in ``columns`` (Arrow arrays by feature name).

    ``target`` is, per row, the index of the class whose output is explained (classifiers only);
    by default each row's most probable class.
    """
    if LINEAR_WEIGHTS in info and info[LINEAR_WEIGHTS].get(ATTRIBUTES_INPUTS, True):
        return linear_attributions(info[LINEAR_WEIGHTS], columns, target)
    return sampled_shapley(scorer, spec, info[EXPLAIN_BASELINE], columns, num_paths, seed, target)


def linear_attributions(
    weights: dict[str, Any], columns: dict[str, Any], target: np.ndarray | None = None
) -> Explanation:
    """BigQuery's exact attributions of a linear model: the weight times the feature's value.

    The baseline is the intercept of the model trained on standardized numbers; a number's
    attribution is its weight times its standardized value (NULL is imputed, so contributes its
    fill value's), a category's is the weight of the row's category (its one-hot value is 1, the
    others' 0; a category unseen in training has none: 0). They add up exactly to the linear score
    (the prediction, or the logit of the explained class).
    """
    intercept = np.asarray(weights["intercept"], dtype=np.float64)  # (outputs,)
    features = weights["features"]
    n = len(next(iter(columns.values()))) if columns else 0
    parts = np.zeros((n, len(features), len(intercept)))
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
            parts[:, j, :] = padded[:, index].T
    rows = np.arange(n)
    if len(intercept) > 1:  # multiclass: one score per class
        scores = intercept[None, :] + parts.sum(axis=1)
        chosen = np.argmax(scores, axis=1) if target is None else np.asarray(target)
        return Explanation(parts[rows, :, chosen], intercept[chosen], scores[rows, chosen])
    # one score: a regression, or the logit of the second class (the first's is its negation)
    sign = np.ones(n)
    if target is not None:
        sign = np.where(np.asarray(target) == 0, -1.0, 1.0)
    values = parts[:, :, 0] * sign[:, None]
    baseline = intercept[0] * sign
    return Explanation(values, baseline, baseline + values.sum(axis=1))


def sampled_shapley(
    scorer: Any,
    spec: dict[str, Any],
    baseline_info: dict[str, Any],
    columns: dict[str, Any],
    num_paths: int,
    seed: int,
    target: np.ndarray | None = None,
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
        _shapley_chunk(
            scorer, spec, features, values, base, from_row, position, start, chunk, target
        )
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
    target: np.ndarray | None,
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
    chosen = None if target is None else np.asarray(target)[start : start + size]
    at_baseline, at_row, middle_values = _explained(outputs, spec, rows, paths, steps, chosen)
    walk = np.empty((rows, paths, steps + 2))
    walk[:, :, 0] = at_baseline[:, None]
    walk[:, :, -1] = at_row[:, None]
    walk[:, :, 1:-1] = middle_values
    marginal = np.diff(walk, axis=2)  # (rows, paths, features): the change at each step
    index = np.broadcast_to(position[None, :, :], marginal.shape)
    attributions = np.take_along_axis(marginal, index, axis=2).mean(axis=1)
    return Explanation(attributions, at_baseline, at_row)


def _explained(
    outputs: list[np.ndarray],
    spec: dict[str, Any],
    rows: int,
    paths: int,
    steps: int,
    target: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The explained output at the baseline, at each row, and along each row's paths.

    Scored rows are laid out as [baseline, the rows, then each row's paths × steps]. A classifier
    explains the probability of each row's ``target`` class (by default its most probable one),
    so the baseline's value differs per row.
    """
    if spec["task"] == "regression":
        value = np.asarray(outputs[0], dtype=np.float64).reshape(-1)
        return (
            np.full(rows, value[0]),
            value[1 : 1 + rows],
            value[1 + rows :].reshape(rows, paths, steps),
        )
    probs = np.asarray(outputs[1], dtype=np.float64)
    chosen = np.argmax(probs[1 : 1 + rows], axis=1) if target is None else target
    middle = probs[1 + rows :].reshape(rows, paths * steps, probs.shape[1])
    picked = np.take_along_axis(middle, chosen[:, None, None], axis=2)
    return (
        probs[0, chosen],
        probs[1 + np.arange(rows), chosen],
        picked.reshape(rows, paths, steps),
    )
