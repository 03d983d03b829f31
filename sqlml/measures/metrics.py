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

CLASSIFICATION_METRICS = (
    "precision",
    "recall",
    "accuracy",
    "f1_score",
    "log_loss",
    "roc_auc",
    "average_precision",
)
REGRESSION_METRICS = (
    "mean_absolute_error",
    "mean_squared_error",
    "mean_squared_log_error",
    "median_absolute_error",
    "r2_score",
    "explained_variance",
)
CLUSTERING_METRICS = ("davies_bouldin_index", "mean_squared_distance")
DIMENSIONALITY_REDUCTION_METRICS = ("total_explained_variance_ratio",)


def metric_names(task: str) -> tuple[str, ...]:
    return {
        "classification": CLASSIFICATION_METRICS,
        "regression": REGRESSION_METRICS,
        "clustering": CLUSTERING_METRICS,
        "dimensionality_reduction": DIMENSIONALITY_REDUCTION_METRICS,
    }[task]


def evaluate(
    scorer: Any, table: pa.Table, spec: dict[str, Any], threshold: float | None = None
) -> dict[str, float | None]:
    """Every metric of the model's task on ``table`` (which must hold the label, unless k-means)."""
    task = spec["task"]
    if table.num_rows == 0:
        return {name: None for name in metric_names(task)}
    if task == "clustering":
        columns = {f["name"]: table.column(f["name"]) for f in spec["features"]}
        return _clustering(scorer.distances(scorer.run(columns)), spec)
    if task == "dimensionality_reduction":
        columns = {f["name"]: table.column(f["name"]) for f in spec["features"]}
        return _explained_variance(scorer.run(columns))
    truth, outputs = _labelled_outputs(scorer, table, spec)
    if len(truth) == 0:
        return {name: None for name in metric_names(task)}
    if task == "regression":
        return _regression(
            pc.cast(truth, pa.float64()).to_numpy(), np.asarray(outputs[0], np.float64).reshape(-1)
        )
    raw = np.asarray(outputs[1], dtype=np.float64)
    return scored_classification(scorer, class_indices(truth, spec), raw, spec, threshold)


def weighted_metrics(weighted: list[tuple[int, dict[str, Any]]]) -> dict[str, float | None]:
    """Several models' metrics (a partitioned model's groups) averaged, each weighted by its rows:
    exact for the mean_* errors, an average for the others; a metric a model lacks is left out
    of its mean."""
    names = {name for _, values in weighted for name in values}
    out: dict[str, float | None] = {}
    for name in sorted(names):
        pairs = [(n, v[name]) for n, v in weighted if isinstance(v.get(name), (int, float))]
        total = sum(n for n, _ in pairs)
        out[name] = sum(n * value for n, value in pairs) / total if total else None
    return out


def scored_classification(
    scorer: Any,
    y: np.ndarray,
    raw: np.ndarray,
    spec: dict[str, Any],
    threshold: float | None = None,
) -> dict[str, float | None]:
    """ML.EVALUATE's classifier metrics from true class indices and the graph's probabilities
    (:func:`class_scores`), for a caller that has scored the rows already."""
    if len(y) == 0:
        return {name: None for name in metric_names("classification")}
    # float32 graph outputs sum to 1 only within ~1e-7; log_loss wants them exact.
    probs = raw / np.clip(raw.sum(axis=1, keepdims=True), 1e-12, None)
    # Labels are decided on the probabilities ML.PREDICT reports, so that a threshold equal to one
    # of them (as optimize_threshold picks) classifies that row the same way in both.
    predicted = scorer.class_index(raw, threshold)
    return _classification(y, predicted, probs, len(spec["classes"]))


def classification_metrics(
    y: np.ndarray, predicted: np.ndarray, probs: np.ndarray, n_classes: int
) -> dict[str, float | None]:
    """ML.EVALUATE's classifier metrics from class indices and probabilities (every class)."""
    return _classification(y, predicted, probs, n_classes)


def regression_metrics(y: np.ndarray, predicted: np.ndarray) -> dict[str, float | None]:
    """ML.EVALUATE's regressor metrics from the labels and the predictions."""
    return _regression(y, predicted)


def clustering_metrics(distances: np.ndarray, spec: dict[str, Any]) -> dict[str, float | None]:
    """ML.EVALUATE's k-means metrics from each row's distances to the centroids."""
    return _clustering(distances, spec)


def _labelled_outputs(
    scorer: Any, table: pa.Table, spec: dict[str, Any]
) -> tuple[pa.ChunkedArray, list[np.ndarray]]:
    """The label column and the graph's outputs, for the rows of ``table`` whose label is set."""
    columns = {f["name"]: table.column(f["name"]) for f in spec["features"]}
    outputs = scorer.run(columns) if table.num_rows else []
    truth = table.column(spec["label"])
    if truth.null_count:
        keep = pc.is_valid(truth)
        mask = keep.to_numpy(zero_copy_only=False)
        truth = truth.filter(keep)
        outputs = [np.asarray(o)[mask] for o in outputs]
    return truth, outputs


def class_indices(truth: Any, spec: dict[str, Any]) -> np.ndarray:
    """Each label value's position in the model's sorted classes; unseen values are an error."""
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
    return np.array([index_of[v] for v in values], dtype=np.int64)


def class_scores(
    scorer: Any, table: pa.Table, spec: dict[str, Any]
) -> tuple[np.ndarray, np.ndarray]:
    """True class indices and class probabilities, exactly as ML.PREDICT reports them, of the rows
    of ``table`` whose label is set: what confusion matrices, ROC curves and threshold tuning use."""
    truth, outputs = _labelled_outputs(scorer, table, spec)
    if len(truth) == 0:
        return np.zeros(0, np.int64), np.zeros((0, len(spec["classes"])), np.float64)
    return class_indices(truth, spec), np.asarray(outputs[1], dtype=np.float64)


def _classification(
    y: np.ndarray, predicted: np.ndarray, probs: np.ndarray, n_classes: int
) -> dict[str, float | None]:
    from sklearn import metrics as m

    labels = list(range(n_classes))
    binary = n_classes == 2
    # one confusion matrix for precision, recall, accuracy and F1 (scikit-learn's scores each build
    # their own: 0.13 s of 250,000 rows against 1 ms), with their zero_division=0 convention
    confusion = np.bincount(
        y.astype(np.int64) * n_classes + predicted.astype(np.int64), minlength=n_classes**2
    ).reshape(n_classes, n_classes)
    hits = np.diag(confusion).astype(np.float64)
    called, actual = confusion.sum(axis=0), confusion.sum(axis=1)
    precision, recall, f1 = (
        np.divide(top, bottom, out=np.zeros(n_classes), where=bottom > 0)
        for top, bottom in ((hits, called), (hits, actual), (2 * hits, called + actual))
    )
    pick = (lambda v: float(v[1])) if binary else (lambda v: float(np.mean(v)))
    # the probability of each row's own class, clipped at 1e-15: the mean log loss
    own = np.clip(probs[np.arange(len(y)), y], 1e-15, 1.0)
    result: dict[str, float | None] = {
        "precision": pick(precision),
        "recall": pick(recall),
        "accuracy": float(hits.sum() / len(y)),
        "f1_score": pick(f1),
        "log_loss": float(-np.mean(np.log(own))),
    }
    present = len(np.unique(y))
    if present < 2 or (not binary and present < n_classes):
        # one-vs-rest needs rows of every class: the curve of a class without positives is
        # undefined (as for average_precision)
        result["roc_auc"] = None
    elif binary:
        result["roc_auc"] = float(m.roc_auc_score(y, probs[:, 1]))
    else:
        result["roc_auc"] = float(
            m.roc_auc_score(y, probs, multi_class="ovr", average="macro", labels=labels)
        )
    result["average_precision"] = _average_precision(y, probs, n_classes)
    return result


def _average_precision(y: np.ndarray, probs: np.ndarray, n_classes: int) -> float | None:
    """Area under the precision-recall curve (scikit-learn's step-wise sum): of the positive class
    for binary models, else the macro mean over one-vs-rest; None when a class has no rows, as the
    curve of a class without positives is undefined."""
    from sklearn import metrics as m

    if len(np.unique(y)) < n_classes:
        return None
    if n_classes == 2:
        return float(m.average_precision_score(y, probs[:, 1]))
    onehot = (y[:, None] == np.arange(n_classes)[None, :]).astype(np.int64)
    return float(m.average_precision_score(onehot, probs, average="macro"))


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


def _explained_variance(outputs: list[np.ndarray]) -> dict[str, float | None]:
    """The share of the rows' total variance (after the model's preprocessing) that the principal
    components keep: variance of the projections over variance of the centered rows (the graph's
    two outputs). On the training rows this is the sum of the components' explained variance
    ratios."""
    projected = np.asarray(outputs[0], dtype=np.float64)
    centered = np.asarray(outputs[1], dtype=np.float64)
    total = float(np.var(centered, axis=0).sum()) if len(centered) > 1 else 0.0
    if total <= 0:
        return {"total_explained_variance_ratio": None}
    return {"total_explained_variance_ratio": float(np.var(projected, axis=0).sum()) / total}


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


# --- confusion matrices, ROC curves and threshold tuning (binary: P(second class) >= threshold) ---


def confusion_matrix(y: np.ndarray, predicted: np.ndarray, n_classes: int) -> list[list[int]]:
    """Counts of (true class, predicted class) pairs: rows are true classes, in sorted order."""
    counts = np.bincount(y * n_classes + predicted, minlength=n_classes * n_classes)
    return counts.reshape(n_classes, n_classes).astype(int).tolist()


def threshold_counts(
    y: np.ndarray, scores: np.ndarray, thresholds: np.ndarray
) -> dict[str, np.ndarray]:
    """True/false positives at each threshold, a row being positive when its score is ≥ it."""
    positive = np.sort(scores[y == 1])
    negative = np.sort(scores[y == 0])
    thresholds = np.asarray(thresholds, dtype=np.float64)
    tp = len(positive) - np.searchsorted(positive, thresholds, side="left")
    fp = len(negative) - np.searchsorted(negative, thresholds, side="left")
    return {
        "true_positives": tp.astype(np.int64),
        "false_positives": fp.astype(np.int64),
        "true_negatives": (len(negative) - fp).astype(np.int64),
        "false_negatives": (len(positive) - tp).astype(np.int64),
    }


def curve_thresholds(scores: np.ndarray, max_points: int | None = None) -> np.ndarray:
    """Every distinct score, highest first; or, past ``max_points``, the scores at evenly spaced
    quantiles, so a stored curve stays small while each of its points is still exact."""
    distinct = np.unique(scores)
    if max_points is not None and len(distinct) > max_points:
        quantiles = np.linspace(0.0, 1.0, max_points)
        distinct = np.unique(np.quantile(scores, quantiles, method="inverted_cdf"))
    return distinct[::-1]


def roc_curve(
    y: np.ndarray,
    scores: np.ndarray,
    thresholds: np.ndarray | None = None,
    max_points: int | None = None,
) -> dict[str, list[float] | list[int]]:
    """ROC points as JSON-able lists: threshold and the four counts at it."""
    if thresholds is None:
        thresholds = curve_thresholds(scores, max_points)
    counts = threshold_counts(y, scores, thresholds)
    curve: dict[str, list[float] | list[int]] = {"threshold": [float(t) for t in thresholds]}
    curve.update({name: values.tolist() for name, values in counts.items()})
    return curve


def best_threshold(y: np.ndarray, scores: np.ndarray, objective: str) -> tuple[float, float]:
    """The distinct score that, used as the threshold, maximizes ``objective``; ties go to the
    highest such threshold (the fewest positive predictions). Returns (threshold, objective)."""
    candidates = curve_thresholds(scores)
    counts = threshold_counts(y, scores, candidates)
    tp, fp = counts["true_positives"], counts["false_positives"]
    tn, fn = counts["true_negatives"], counts["false_negatives"]
    if objective == "f1":
        denominator = 2 * tp + fp + fn
        values = np.where(denominator > 0, 2 * tp / np.maximum(denominator, 1), 0.0)
    elif objective == "accuracy":
        values = (tp + tn) / len(y)
    elif objective == "balanced_accuracy":
        values = (tp / (tp + fn) + tn / (tn + fp)) / 2
    else:
        raise ValueError(f"unknown threshold objective {objective!r}")
    best = int(np.argmax(values))
    return float(candidates[best]), float(values[best])
