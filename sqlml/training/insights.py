"""What CREATE MODEL records for the inspection and explanation functions.

A stored model is ONNX + JSON: once CREATE MODEL returns, the fitted scikit-learn estimator is gone.
So everything ML.FEATURE_INFO, ML.TRAINING_INFO, ML.WEIGHTS, ML.FEATURE_IMPORTANCE, ML.EXPLAIN_PREDICT
and ML.GLOBAL_EXPLAIN need is computed here, from the estimator and the training rows, and kept in
the model's training info (``Training.info``) under the keys below.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sqlml_udfs.scoring import feature_array

from sqlml.measures.attribution import ATTRIBUTES_INPUTS, EXPLAIN_BASELINE, LINEAR_WEIGHTS
from sqlml.models.boosting import is_xgboost, round_losses, split_statistics
from sqlml.models.registry import LINEAR, TREES
from sqlml.training.pipeline import has_eval_split
from sqlml.training.transform_layout import (
    UntracedOutput,
    output_layout,
    plain,
    pre_transform_inputs,
)
from sqlml.training.unsupervised import (
    CENTROIDS,
    PRINCIPAL_COMPONENTS,
    kmeans_centroids,
    principal_components,
)

if TYPE_CHECKING:
    from sqlml.training.pipeline import Training

FEATURE_INFO = "feature_info"
ITERATIONS = "iteration_results"
FEATURE_IMPORTANCE = "feature_importance"
GLOBAL_EXPLAIN = "global_explain"
GLOBAL_EXPLAIN_CLASSES = "global_explain_classes"  # classifiers: per class, as GLOBAL_EXPLAIN
# key -> why it could not be recorded for this model (the function then says so)
UNAVAILABLE = "insights_unavailable"

LINEAR_TYPES = LINEAR
GLOBAL_EXPLAIN_ROWS = 1000
GLOBAL_EXPLAIN_PATHS = 10


class UnsupportedLayout(Exception):
    """The preprocessing is not the per-feature imputation / scaling / one-hot encoding that
    weights and split importances are mapped back through (e.g. a TRANSFORM clause's branches)."""


def record_insights(training: Training) -> None:
    """The training stage that fills the keys above (see :func:`sqlml.training.fit.fit`)."""
    info = training.info
    model_type = training.options.model_type
    if training.transform is None:
        info[FEATURE_INFO] = feature_statistics(training.train, training.features)
    else:  # BigQuery: the pre-transform columns of the training query that TRANSFORM reads
        info[FEATURE_INFO] = feature_statistics(
            *pre_transform_inputs(training.train, training.transform, training.model)
        )
    info[ITERATIONS] = iteration_results(training)
    if model_type in LINEAR_TYPES:
        _record(info, LINEAR_WEIGHTS, lambda: linear_weights(training))
    if model_type in TREES:
        _record(info, FEATURE_IMPORTANCE, lambda: tree_importance(training))
    if model_type == "kmeans":  # ML.CENTROIDS
        _record(info, CENTROIDS, lambda: kmeans_centroids(training, _layout(training)))
    if model_type == "pca":  # ML.PRINCIPAL_COMPONENTS, ML.PRINCIPAL_COMPONENT_INFO
        _record(
            info, PRINCIPAL_COMPONENTS, lambda: principal_components(training, _layout(training))
        )
    if training.task in ("classification", "regression"):
        # the sampled Shapley baseline; linear models use it only without LINEAR_WEIGHTS
        medians = None  # FEATURE_INFO's, of the same columns: not computed twice
        if training.transform is None:
            medians = {row["input"]: row["median"] for row in info[FEATURE_INFO]}
        info[EXPLAIN_BASELINE] = baseline_row(training.train, training.features, medians)
        if training.options.get("enable_global_explain"):
            info[GLOBAL_EXPLAIN] = global_attributions(training)
            if training.task == "classification":
                info[GLOBAL_EXPLAIN_CLASSES] = class_attributions(training)


def _layout(training: Training) -> list[dict[str, Any]]:
    return column_layout(training.pipeline.named_steps["preprocess"], training.features)


def _output_layout(training: Training, *, weights: bool) -> list[dict[str, Any]]:
    """Per model feature, its columns of the preprocessed matrix; with a TRANSFORM, per output
    (BigQuery reports the weights and importances of TRANSFORM output features)."""
    preprocess = training.pipeline.named_steps["preprocess"]
    if training.transform is None:
        return column_layout(preprocess, training.features)
    try:
        return output_layout(preprocess, training.transform, training.features, weights=weights)
    except UntracedOutput as exc:
        raise UnsupportedLayout(str(exc)) from None


def _record(info: dict[str, Any], key: str, compute: Callable[[], Any]) -> None:
    try:
        info[key] = compute()
    except UnsupportedLayout as exc:
        info.setdefault(UNAVAILABLE, {})[key] = str(exc)


def _number(value: Any) -> float | None:
    """A JSON-safe float: NaN and infinities (which JSON cannot hold) become None."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


# --- ML.FEATURE_INFO -------------------------------------------------------------------------------


def feature_statistics(table: pa.Table, features: list[dict[str, str]]) -> list[dict[str, Any]]:
    """BigQuery's per-feature statistics over the training rows.

    NaN counts as NULL, as it does for the model (the imputer fills both); stddev is the sample
    standard deviation (BigQuery's STDDEV); category_count counts distinct non-NULL values. Columns
    are summarized in parallel on large tables (Arrow's kernels release the GIL; the medians take
    most of the time)."""
    if table.num_rows < PARALLEL_STATISTICS_ROWS or len(features) < 2:
        return [_column_statistics(table, feature) for feature in features]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=min(len(features), os.cpu_count() or 1)) as pool:
        return list(pool.map(partial(_column_statistics, table), features))


#: Rows from which :func:`feature_statistics` summarizes columns in parallel.
PARALLEL_STATISTICS_ROWS = 100_000


def _column_statistics(table: pa.Table, feature: dict[str, str]) -> dict[str, Any]:
    column = table.column(feature["name"])
    row: dict[str, Any] = {
        "input": feature["name"],
        "min": None,
        "max": None,
        "mean": None,
        "median": None,
        "stddev": None,
        "category_count": None,
    }
    if feature["kind"] == "numeric":
        if pa.types.is_boolean(column.type):
            column = pc.cast(column, pa.int8())
        values = pc.cast(column, pa.float64())
        values = pc.if_else(pc.is_nan(values), pa.scalar(None, pa.float64()), values)
        valid = len(values) - values.null_count
        if valid:
            extremes = pc.min_max(values)
            row["min"] = _number(extremes["min"].as_py())
            row["max"] = _number(extremes["max"].as_py())
            row["mean"] = _number(pc.mean(values).as_py())
            row["median"] = _number(pc.quantile(values, q=0.5)[0].as_py())
        if valid > 1:
            row["stddev"] = _number(pc.stddev(values, ddof=1).as_py())
        row["null_count"] = int(values.null_count)
    elif feature["kind"] == "array":  # ARRAY<number>: no statistics of the arrays as such
        row["null_count"] = int(column.null_count)
    else:
        if pa.types.is_dictionary(column.type):
            column = pc.cast(column, column.type.value_type)
        row["category_count"] = int(pc.count_distinct(column, mode="only_valid").as_py())
        row["null_count"] = int(column.null_count)
    return row


# --- ML.TRAINING_INFO ------------------------------------------------------------------------------


def iteration_results(training: Training) -> list[dict[str, Any]]:
    """One row per boosting round or DNN epoch, else one row for the final model.

    Boosted trees: the loss of the model after each round, on the training rows and on the
    evaluation split (log loss for classifiers, mean squared error for regressors), as XGBoost
    recorded them while it trained (the training loss weighted as the fit was). DNN: scikit-learn's loss
    curve (the optimizer's objective, including the L2 penalty; half the squared error for
    regressors), without an evaluation loss. logistic_reg (Newton steps): one row per step with
    the training log loss, the evaluation split's on the last. Other models: one row, with the training loss (log
    loss, mean squared error, or mean squared distance to the nearest centroid) and the same on
    the evaluation split. eval_loss is NULL without a separate evaluation split (NO_SPLIT, or
    AUTO_SPLIT under 500 rows), as in BigQuery. The total fit time is on the last row only.
    """
    estimator = training.pipeline.named_steps["model"]
    evaluation = training.evaluation if has_eval_split(training) else None
    if is_xgboost(estimator):
        train_losses, recorded = round_losses(estimator)
        eval_losses = recorded or [None] * len(train_losses)
        rate = float(estimator.learning_rate)
    elif hasattr(estimator, "loss_curve_"):
        train_losses = [float(v) for v in estimator.loss_curve_]
        # the evaluation loss per epoch, when the DNN watched the evaluation split (models.dnn)
        watched = getattr(estimator, "sqlml_eval_losses_", None)
        eval_losses = list(watched) if watched else [None] * len(train_losses)
        rate = float(estimator.learning_rate_init)
    else:
        # logistic_reg's Newton steps: the fit computed the training loss after each step; the
        # evaluation split is scored for the final model (the last row)
        known = training.training_loss
        train_losses = known or [_final_loss(training, training.train)]
        final_eval = _final_loss(training, evaluation) if evaluation is not None else None
        eval_losses = [None] * (len(train_losses) - 1) + [final_eval]
        rate = None
    seconds = training.info.get("fit_seconds")
    last = len(train_losses) - 1
    return [
        {
            "training_run": 0,
            "iteration": i,
            "loss": _number(loss),
            "eval_loss": _number(eval_loss),
            "learning_rate": rate,
            "duration_ms": int(round(seconds * 1000))
            if i == last and seconds is not None
            else None,
        }
        for i, (loss, eval_loss) in enumerate(zip(train_losses, eval_losses, strict=True))
    ]


def _final_loss(training: Training, table: pa.Table) -> float | None:
    frame = training.frame(table)
    pipeline = training.pipeline
    if training.task == "classification":
        classes = pipeline.named_steps["model"].classes_
        return _log_loss(classes, training.labels(table), pipeline.predict_proba(frame))
    if training.task == "regression":
        return _squared_error(training.labels(table), pipeline.predict(frame))
    distances = np.asarray(pipeline.transform(frame), dtype=np.float64)
    return float(np.mean(np.min(distances, axis=1) ** 2))


def _log_loss(classes: np.ndarray, y: np.ndarray, probs: np.ndarray) -> float | None:
    """Mean negative log probability of the true class; rows of classes never trained are skipped."""
    index = np.searchsorted(classes, y)
    index = np.clip(index, 0, len(classes) - 1)
    known = classes[index] == y
    if not np.any(known):
        return None
    chosen = np.asarray(probs, dtype=np.float64)[np.flatnonzero(known), index[known]]
    return float(-np.mean(np.log(np.clip(chosen, 1e-15, 1.0))))


def _squared_error(y: np.ndarray, predicted: np.ndarray) -> float:
    diff = np.asarray(y, dtype=np.float64) - np.asarray(predicted, dtype=np.float64).reshape(-1)
    return float(np.mean(diff**2))


# --- the preprocessing layout ------------------------------------------------------------------------


def column_layout(preprocess: Any, features: list[dict[str, str]]) -> list[dict[str, Any]]:
    """Per raw feature, which columns of the preprocessed matrix it became, and how.

    Numeric features: one column, with the imputer's fill value and the scaler's mean and scale
    (mean 0 / scale 1 when the model does not scale). Categorical ones: one column per category of
    the one-hot encoder, in its order.
    """
    stamps = [f["name"] for f in features if f["kind"] not in ("numeric", "categorical")]
    if stamps:  # a TIMESTAMP or an ARRAY is several model inputs (sqlml_udfs)
        raise UnsupportedLayout(
            f"per-input weights of TIMESTAMP or ARRAY feature(s) {', '.join(stamps)} (several "
            f"model inputs each) are not supported yet"
        )
    by_name: dict[str, dict[str, Any]] = {}
    for name, transformer, columns in preprocess.transformers_:
        if name == "remainder" or transformer == "drop":
            continue
        if name not in ("numeric", "categorical"):
            raise UnsupportedLayout(
                "its features are preprocessed by a TRANSFORM clause, which maps columns to model "
                "inputs in ways sqlml does not trace back yet"
            )
        offsets = preprocess.output_indices_[name]
        start = offsets.start
        if name == "numeric":
            impute = transformer.named_steps["impute"]
            scale = transformer.named_steps.get("scale")
            for i, column in enumerate(columns):
                by_name[column] = {
                    "columns": [start + i],
                    "impute": _number(impute.statistics_[i]),
                    "mean": float(scale.mean_[i]) if scale is not None else 0.0,
                    "scale": float(scale.scale_[i]) if scale is not None else 1.0,
                }
        else:
            for column, categories in zip(columns, transformer.categories_, strict=True):
                count = len(categories)
                by_name[column] = {
                    "columns": list(range(start, start + count)),
                    "categories": [str(c) for c in categories],
                }
                start += count
    missing = [f["name"] for f in features if f["name"] not in by_name]
    if missing:
        raise UnsupportedLayout(f"feature(s) {', '.join(missing)} are not plain model inputs")
    return [{"name": f["name"], "kind": f["kind"], **by_name[f["name"]]} for f in features]


# --- ML.WEIGHTS and the exact explanation of linear models -------------------------------------------


def linear_weights(training: Training) -> dict[str, Any]:
    """The fitted coefficients on the standardized scale, with what undoes the scaling.

    One row of coefficients per explained output: linear_reg and binary logistic_reg have one (the
    logit of the second class), multiclass logistic_reg one per class in sorted order. Category
    frequencies over the training rows are the baseline of ML.EXPLAIN_PREDICT's attributions.
    """
    estimator = training.pipeline.named_steps["model"]
    preprocess = training.pipeline.named_steps["preprocess"]
    coef = np.atleast_2d(np.asarray(estimator.coef_, dtype=np.float64))
    intercept = np.atleast_1d(np.asarray(estimator.intercept_, dtype=np.float64))
    if len(intercept) != coef.shape[0]:
        intercept = np.broadcast_to(intercept, (coef.shape[0],))
    layout = _output_layout(training, weights=True)
    encoded = None
    if any(f["kind"] == "categorical" for f in layout):
        encoded = preprocess.transform(training.frame())
    features = []
    for item in layout:
        columns = item["columns"]
        if item["kind"] == "numeric":
            features.append(
                {
                    "name": item["name"],
                    "kind": "numeric",
                    "impute": item["impute"],
                    "mean": item["mean"],
                    "scale": item["scale"],
                    "weights": [float(coef[k, columns[0]]) for k in range(coef.shape[0])],
                }
            )
        else:
            assert encoded is not None
            frequencies = np.asarray(encoded[:, columns], dtype=np.float64).mean(axis=0)
            features.append(
                {
                    "name": item["name"],
                    "kind": "categorical",
                    "categories": item["categories"],
                    "frequencies": [float(v) for v in frequencies],
                    "weights": [[float(v) for v in coef[k, columns]] for k in range(coef.shape[0])],
                }
            )
    classes = training.spec.get("classes")
    weights = {
        "classes": classes if classes and coef.shape[0] > 1 else None,
        "intercept": [float(v) for v in intercept],
        "features": features,
    }
    if training.transform is not None and not plain(training.transform):
        # outputs computed in the graph from its inputs (ML.*): not the model's inputs, so
        # ML.EXPLAIN_PREDICT attributes by sampled Shapley values over the inputs instead
        weights[ATTRIBUTES_INPUTS] = False
    return weights


# --- ML.FEATURE_IMPORTANCE -------------------------------------------------------------------------


def tree_importance(training: Training) -> list[dict[str, Any]]:
    """Per raw feature: splits using it, their mean gain (XGBoost's; scikit-learn's impurity
    importance for forests), and mean cover.

    A categorical feature's one-hot columns count as the feature itself. Cover is the mean number
    of training rows reaching the feature's splits (NULL for a feature no tree splits on).
    """
    estimator = training.pipeline.named_steps["model"]
    layout = _output_layout(training, weights=False)
    owner = np.zeros(sum(len(item["columns"]) for item in layout), dtype=np.int64)
    for index, item in enumerate(layout):
        owner[item["columns"]] = index
    splits = np.zeros(len(layout))
    covered = np.zeros(len(layout))
    if is_xgboost(estimator):  # BigQuery's definitions: XGBoost's weight, mean gain, mean cover
        weight, gain, cover = split_statistics(estimator, len(owner))
        np.add.at(splits, owner, weight)
        np.add.at(covered, owner, cover)
        total = np.zeros(len(layout))
        np.add.at(total, owner, gain)
        return _importance_rows(layout, splits, np.divide(total, np.maximum(splits, 1)), covered)
    for tree in np.ravel(np.asarray(estimator.estimators_, dtype=object)):
        structure = tree.tree_
        internal = structure.children_left != -1
        used = owner[structure.feature[internal]]
        np.add.at(splits, used, 1.0)
        np.add.at(covered, used, structure.n_node_samples[internal].astype(np.float64))
    gain = np.zeros(len(layout))
    np.add.at(gain, owner, np.asarray(estimator.feature_importances_, dtype=np.float64))
    return _importance_rows(layout, splits, gain, covered)


def _importance_rows(
    layout: list[dict[str, Any]], splits: np.ndarray, gain: np.ndarray, covered: np.ndarray
) -> list[dict[str, Any]]:
    rows = [
        {
            "feature": item["name"],
            "importance_weight": float(splits[i]),
            "importance_gain": float(gain[i]),
            "importance_cover": float(covered[i] / splits[i]) if splits[i] else None,
        }
        for i, item in enumerate(layout)
    ]
    return sorted(rows, key=lambda r: -r["importance_gain"])


# --- explanations ----------------------------------------------------------------------------------


def baseline_row(
    table: pa.Table,
    features: list[dict[str, str]],
    medians: dict[str, float | None] | None = None,
) -> dict[str, Any]:
    """The row sampled Shapley attributions start from: medians of numbers, modes of categories.

    Values are stored as the model sees them (categorical ones encoded by ``feature_array``, so NULL
    is the NULL category and booleans are 'true'/'false'); a numeric column with no values has
    None, which the model imputes. ``medians``: the numeric columns' medians, when known (NaN
    counted as NULL, as :func:`feature_statistics` counts it).
    """
    values: dict[str, Any] = {}
    for feature in features:
        column = table.column(feature["name"])
        if feature["kind"] == "numeric" and medians is not None and feature["name"] in medians:
            values[feature["name"]] = medians[feature["name"]]
        elif feature["kind"] == "numeric":
            array = feature_array(column, "numeric", np.float64)
            present = array[~np.isnan(array)]
            values[feature["name"]] = _number(np.median(present)) if len(present) else None
        else:
            array = feature_array(column, "categorical")
            categories, counts = np.unique(array.astype(str), return_counts=True)
            values[feature["name"]] = str(categories[int(np.argmax(counts))])
    return {"values": values}


def _explained_sample(training: Training) -> tuple[dict[str, Any], Callable[..., Any]]:
    """Up to GLOBAL_EXPLAIN_ROWS training rows, and how to explain them (ML.EXPLAIN_PREDICT's
    methods, on the ONNX graph that is stored)."""
    from sqlml.measures.attribution import explain_rows

    seed = int(training.options.get("random_seed", 42))
    n = training.train.num_rows
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(n, size=min(n, GLOBAL_EXPLAIN_ROWS), replace=False))
    sample = training.train.take(rows)
    columns = {f["name"]: sample.column(f["name"]) for f in training.features}
    assert training.scorer is not None

    def explain(target: np.ndarray | None = None) -> Any:
        return explain_rows(
            training.scorer,
            training.spec,
            training.info,
            columns,
            num_paths=GLOBAL_EXPLAIN_PATHS,
            seed=seed,
            target=target,
        )

    return columns, explain


def _ranked(training: Training, attributions: np.ndarray) -> list[dict[str, Any]]:
    means = np.mean(np.abs(attributions), axis=0)
    ranked = sorted(
        zip((f["name"] for f in training.features), means, strict=True), key=lambda p: -p[1]
    )
    return [{"feature": name, "attribution": float(value)} for name, value in ranked]


def global_attributions(training: Training) -> list[dict[str, Any]]:
    """Mean |attribution| per feature over up to GLOBAL_EXPLAIN_ROWS training rows, largest first.

    Each row's attributions are ML.EXPLAIN_PREDICT's: of its predicted class, for classifiers.
    """
    _columns, explain = _explained_sample(training)
    return _ranked(training, explain().attributions)


def class_attributions(training: Training) -> list[dict[str, Any]]:
    """Per class (sorted order): the mean |attribution| per feature of that class's output (its
    logit for logistic_reg, its probability otherwise) over the same rows, largest first."""
    columns, explain = _explained_sample(training)
    rows = len(next(iter(columns.values()))) if columns else 0
    classes = training.spec.get("classes") or []
    return [
        {
            "class": value,
            "attributions": _ranked(
                training, explain(np.full(rows, k, dtype=np.int64)).attributions
            ),
        }
        for k, value in enumerate(classes)
    ]
