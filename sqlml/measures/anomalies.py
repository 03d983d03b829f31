"""Anomaly scores of k-means and PCA models (ML.DETECT_ANOMALIES): the maths, shared by CREATE MODEL
(which records the training rows' score quantiles in the spec) and the function (which compares).

- k-means: ``normalized_distance`` is the distance to the nearest centroid divided by that centroid's
  mean distance over the training rows it holds, with ``centroid_id``.
- PCA: ``mean_squared_error`` of the preprocessed row against its reconstruction.

Both come from the ONNX graph's outputs, at training as at query time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

if TYPE_CHECKING:
    pass


ANOMALY_QUANTILES = 1001


SPEC_KEY = "anomaly_detection"


def cutoff(recorded: dict[str, Any], contamination: float) -> float:
    """The training rows' (1 − contamination) quantile of the score, from the stored quantiles."""
    quantiles = np.asarray(recorded["quantiles"], dtype=np.float64)
    levels = np.linspace(0.0, 1.0, len(quantiles))
    return float(np.interp(1.0 - contamination, levels, quantiles))


def _nearest(outputs: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    distances = np.asarray(outputs[1], dtype=np.float64)
    index = np.argmin(distances, axis=1)
    return index, distances[np.arange(len(index)), index]


def kmeans_scores(outputs: list[np.ndarray], recorded: dict[str, Any]) -> list[np.ndarray]:
    """normalized_distance and centroid_id (1-based) of each row."""
    index, nearest = _nearest(outputs)
    scales = np.asarray(recorded["scales"], dtype=np.float64)
    return [nearest / scales[index], index + 1]


def reconstruction_error(outputs: list[np.ndarray]) -> np.ndarray:
    """Mean squared reconstruction error per row: the graph's second output is the centered,
    preprocessed row x, its first the projections z on orthonormal components, so
    |x − reconstruction|² = |x|² − |z|²."""
    projected = np.asarray(outputs[0], dtype=np.float64)
    centered = np.asarray(outputs[1], dtype=np.float64)
    residual = np.sum(centered**2, axis=1) - np.sum(projected**2, axis=1)
    return np.maximum(residual, 0.0) / centered.shape[1]


def pca_scores(outputs: list[np.ndarray], recorded: dict[str, Any]) -> list[np.ndarray]:
    return [reconstruction_error(outputs)]


SCORES = {"clustering": kmeans_scores, "dimensionality_reduction": pca_scores}


OUTPUTS = {
    "clustering": [
        pa.field("is_anomaly", pa.bool_()),
        pa.field("normalized_distance", pa.float64()),
        pa.field("centroid_id", pa.int64()),
    ],
    "dimensionality_reduction": [
        pa.field("is_anomaly", pa.bool_()),
        pa.field("mean_squared_error", pa.float64()),
    ],
}


def record_distribution(scorer: Any, table: pa.Table, spec: dict[str, Any]) -> dict[str, Any]:
    """At CREATE MODEL: the training rows' score quantiles (and, for k-means, each centroid's mean
    distance, the scale of its normalized distances), as stored in the spec under SPEC_KEY."""
    columns = {f["name"]: table.column(f["name"]) for f in spec["features"]}
    outputs = scorer.run(columns)
    recorded: dict[str, Any] = {}
    if spec["task"] == "clustering":
        index, nearest = _nearest(outputs)
        k = np.asarray(outputs[1]).shape[1]
        overall = float(np.mean(nearest)) if len(nearest) else 0.0
        fallback = overall if overall > 0 else 1.0
        scales = []
        for cluster in range(k):
            mine = nearest[index == cluster]
            mean = float(np.mean(mine)) if len(mine) else 0.0
            scales.append(mean if mean > 0 else fallback)
        recorded["score"] = "normalized_distance"
        recorded["scales"] = scales
        scores = kmeans_scores(outputs, recorded)[0]
    else:
        recorded["score"] = "mean_squared_error"
        scores = reconstruction_error(outputs)
    levels = np.linspace(0.0, 1.0, ANOMALY_QUANTILES)
    recorded["quantiles"] = [float(v) for v in np.quantile(scores, levels)]
    return recorded
