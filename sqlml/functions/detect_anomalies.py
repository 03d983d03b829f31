"""ML.DETECT_ANOMALIES for k-means and PCA models: flag the rows that fit the model worst.

A row's anomaly score is measured against the training rows' own scores, recorded at CREATE MODEL as
``ANOMALY_QUANTILES`` evenly spaced quantiles in the model's spec; ``contamination`` c flags the rows
scoring above the training rows' (1 − c) quantile, so about c of rows like the training data are
flagged.

- k-means: ``normalized_distance`` is the distance to the nearest centroid divided by that centroid's
  mean distance over the training rows it holds (so a spread-out cluster is not all anomalies),
  with ``centroid_id``.
- PCA: ``mean_squared_error`` is the mean squared difference between the preprocessed row and its
  reconstruction from the principal components.

Both are computed from the ONNX graph's outputs, at training as at query time, so the cut-off and
the scores come from the same arithmetic.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from sqlml.errors import ProgrammingError, SchemaError
from sqlml.functions import CallContext, register

if TYPE_CHECKING:
    from sqlml.catalog import ModelRecord

ANOMALY_QUANTILES = 1001
SPEC_KEY = "anomaly_detection"


def _contamination(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 0.5:
        raise ValueError("a number in [0, 0.5]")
    return float(value)


def _applies(record: ModelRecord) -> str | None:
    return None if record.spec.get("task") in SCORES else "k-means and PCA models"


@register(
    "DETECT_ANOMALIES",
    options={"contamination": _contamination},
    input="required",
    applies=_applies,
)
def detect_anomalies(ctx: CallContext) -> pa.RecordBatchReader:
    record = ctx.record
    contamination = ctx.options.get("contamination")
    if contamination is None:
        raise ProgrammingError(
            f"ML.DETECT_ANOMALIES(MODEL {record.name}, ...) needs STRUCT(<c> AS contamination), "
            f"the share of rows to flag, in [0, 0.5]; as in STRUCT(0.02 AS contamination)."
        )
    recorded = record.spec.get(SPEC_KEY)
    if not recorded:
        raise ProgrammingError(
            f"Model {record.name} was trained before sqlml recorded its anomaly scores; retrain "
            f"it (CREATE OR REPLACE MODEL) to use ML.DETECT_ANOMALIES."
        )
    limit = cutoff(recorded, contamination)
    scorer = ctx.scorer()
    task = record.spec["task"]
    reader = ctx.input_stream(keep_input=True)
    kept = ctx.input_fields(reader.schema)
    added = OUTPUTS[task]
    clash = [f.name for f in added if f.name in {k.name for k in kept}]
    if clash:
        raise SchemaError(
            f"The input of ML.DETECT_ANOMALIES already has column(s) {', '.join(clash)}, which it "
            f"adds; rename or drop them in the input query."
        )
    schema = pa.schema(kept + added)
    names = [f["name"] for f in record.spec["features"]]

    def batches() -> Iterator[pa.RecordBatch]:
        for batch in reader:
            if batch.num_rows == 0:
                continue
            view = ctx.model_view(batch)
            outputs = scorer.run({name: view.column(name) for name in names})
            columns = SCORES[task](outputs, recorded)
            flagged = pa.array(columns[0] > limit)
            arrays = [flagged, pa.array(columns[0], pa.float64())] + [
                pa.array(c, f.type) for c, f in zip(columns[1:], added[2:], strict=True)
            ]
            yield pa.RecordBatch.from_arrays(
                [batch.column(f.name) for f in kept] + arrays, schema=schema
            )

    return pa.RecordBatchReader.from_batches(schema, batches())


def cutoff(recorded: dict[str, Any], contamination: float) -> float:
    """The training rows' (1 − contamination) quantile of the score, from the stored quantiles."""
    quantiles = np.asarray(recorded["quantiles"], dtype=np.float64)
    levels = np.linspace(0.0, 1.0, len(quantiles))
    return float(np.interp(1.0 - contamination, levels, quantiles))


# --- scores -------------------------------------------------------------------------------------


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
