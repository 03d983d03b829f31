"""ML.EVALUATE's metrics, with BigQuery ML's names, computed from the ONNX model's own outputs.

Evaluation scores through the same :class:`~sqlml_udfs.Scorer` as ML.PREDICT, so the figures describe
the model that is stored, not the estimator it was converted from.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sqlml.errors import SchemaError

CLASSIFICATION_METRICS = ("precision", "recall", "accuracy", "f1_score", "log_loss", "roc_auc")
REGRESSION_METRICS = (
    "mean_absolute_error",
    "mean_squared_error",
    "mean_squared_log_error",
    "median_absolute_error",
    "r2_score",
    "explained_variance",
)
CLUSTERING_METRICS = ("davies_bouldin_index", "mean_squared_distance")


def metric_names(task: str) -> tuple[str, ...]:
    return {
        "classification": CLASSIFICATION_METRICS,
        "regression": REGRESSION_METRICS,
        "clustering": CLUSTERING_METRICS,
    }[task]


def evaluate(
    scorer: Any, table: pa.Table, spec: dict[str, Any], threshold: float | None = None
) -> dict[str, float | None]:
    """Every metric of the model's task on ``table`` (which must hold the label, unless k-means)."""
    task = spec["task"]
    if table.num_rows == 0:
        return {name: None for name in metric_names(task)}
    columns = {f["name"]: table.column(f["name"]) for f in spec["features"]}
    outputs = scorer.run(columns)
    if task == "clustering":
        return _clustering(scorer.distances(outputs), spec)
    label = spec["label"]
    truth = table.column(label)
    keep = pc.is_valid(truth)
    if truth.null_count:
        mask = keep.to_numpy(zero_copy_only=False)
        truth = truth.filter(keep)
        outputs = [np.asarray(o)[mask] for o in outputs]
    if len(truth) == 0:
        return {name: None for name in metric_names(task)}
    if task == "regression":
        return _regression(
            pc.cast(truth, pa.float64()).to_numpy(), np.asarray(outputs[0], np.float64).reshape(-1)
        )
    probs = np.asarray(outputs[1], dtype=np.float64)
    # float32 graph outputs sum to 1 only within ~1e-7; log_loss wants them exact.
    probs = probs / np.clip(probs.sum(axis=1, keepdims=True), 1e-12, None)
    return _classification(scorer, truth, probs, spec, threshold)


def _classification(
    scorer: Any, truth: Any, probs: np.ndarray, spec: dict[str, Any], threshold: float | None
) -> dict[str, float | None]:
    from sklearn import metrics as m

    classes = spec["classes"]
    index_of = {c: i for i, c in enumerate(classes)}
    values = truth.to_pylist()
    if spec.get("label_type") == "string":
        values = [str(v) for v in values]
    unknown = sorted({str(v) for v in values if v not in index_of})
    if unknown:
        raise SchemaError(
            f"The evaluation data has label values the model never saw: {', '.join(unknown[:5])}; "
            f"the model's classes are {', '.join(map(str, classes))}."
        )
    y = np.array([index_of[v] for v in values], dtype=np.int64)
    predicted = scorer.class_index(probs, threshold)
    labels = list(range(len(classes)))
    binary = len(classes) == 2
    average = "binary" if binary else "macro"
    result: dict[str, float | None] = {
        "precision": float(
            m.precision_score(y, predicted, labels=labels, average=average, zero_division=0)
        ),
        "recall": float(
            m.recall_score(y, predicted, labels=labels, average=average, zero_division=0)
        ),
        "accuracy": float(m.accuracy_score(y, predicted)),
        "f1_score": float(
            m.f1_score(y, predicted, labels=labels, average=average, zero_division=0)
        ),
        "log_loss": float(m.log_loss(y, np.clip(probs, 1e-15, 1.0), labels=labels)),
    }
    present = np.unique(y)
    if len(present) < 2:
        result["roc_auc"] = None
    elif binary:
        result["roc_auc"] = float(m.roc_auc_score(y, probs[:, 1]))
    else:
        try:
            result["roc_auc"] = float(
                m.roc_auc_score(y, probs, multi_class="ovr", average="macro", labels=labels)
            )
        except ValueError:
            result["roc_auc"] = None
    return result


def _regression(y: np.ndarray, predicted: np.ndarray) -> dict[str, float | None]:
    from sklearn import metrics as m

    can_log = bool(np.all(y > -1) and np.all(predicted > -1))
    return {
        "mean_absolute_error": float(m.mean_absolute_error(y, predicted)),
        "mean_squared_error": float(m.mean_squared_error(y, predicted)),
        "mean_squared_log_error": float(np.mean((np.log1p(y) - np.log1p(predicted)) ** 2))
        if can_log
        else None,
        "median_absolute_error": float(m.median_absolute_error(y, predicted)),
        "r2_score": float(m.r2_score(y, predicted)) if len(y) > 1 else None,
        "explained_variance": float(m.explained_variance_score(y, predicted))
        if len(y) > 1
        else None,
    }


def _clustering(distances: np.ndarray, spec: dict[str, Any]) -> dict[str, float | None]:
    """Davies-Bouldin over the model's own centroids, and the mean squared distance to the nearest.

    For cluster i, s_i is the mean distance of its rows to centroid i; the index averages, over
    clusters with rows, the worst (s_i + s_j) / d(c_i, c_j).
    """
    assigned = np.argmin(distances, axis=1)
    nearest = distances[np.arange(len(assigned)), assigned]
    centroid_distances = np.asarray(spec["centroid_distances"], dtype=np.float64)
    k = centroid_distances.shape[0]
    spread = np.array(
        [nearest[assigned == i].mean() if np.any(assigned == i) else np.nan for i in range(k)]
    )
    used = [i for i in range(k) if not np.isnan(spread[i])]
    if len(used) < 2:
        db: float | None = None
    else:
        worst = []
        for i in used:
            worst.append(
                max(
                    (spread[i] + spread[j]) / centroid_distances[i, j]
                    for j in used
                    if j != i and centroid_distances[i, j] > 0
                )
            )
        db = float(np.mean(worst))
    return {"davies_bouldin_index": db, "mean_squared_distance": float(np.mean(nearest**2))}
