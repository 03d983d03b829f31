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

import pyarrow as pa

from sqlml.errors import ProgrammingError, SchemaError
from sqlml.functions import CallContext, register

if TYPE_CHECKING:
    from sqlml.catalog import ModelRecord

from sqlml.measures.anomalies import OUTPUTS, SCORES, SPEC_KEY, cutoff


def _contamination(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 0.5:
        raise ValueError("a number in [0, 0.5]")
    return float(value)


def _applies(record: ModelRecord) -> str | None:
    task = record.spec.get("task")
    return None if task in SCORES or task == "forecasting" else "k-means, PCA and ARIMA_PLUS models"


def _threshold(value: Any) -> float:
    from sqlml.functions.forecasting import confidence

    return confidence(value)


@register(
    "DETECT_ANOMALIES",
    options={"contamination": _contamination, "anomaly_prob_threshold": _threshold},
    input="optional",
    applies=_applies,
    groups="each",
)
def detect_anomalies(ctx: CallContext) -> pa.RecordBatchReader:
    record = ctx.record
    if record.spec.get("task") == "forecasting":  # against the forecast (functions/forecasting.py)
        from sqlml.functions.forecast_checks import detect_anomalies_forecast

        return detect_anomalies_forecast(ctx)
    if "anomaly_prob_threshold" in ctx.options:
        raise ProgrammingError(
            f"The anomaly_prob_threshold option of ML.DETECT_ANOMALIES applies to time-series "
            f"models (ARIMA_PLUS); model {record.name} takes STRUCT(<c> AS contamination)."
        )
    if not ctx.has_input:
        raise ProgrammingError(
            f"ML.DETECT_ANOMALIES(MODEL {record.name}, ...) needs input rows: TABLE t or "
            f"(SELECT ...)."
        )
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
