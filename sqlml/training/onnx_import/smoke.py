"""The proof an imported graph runs: sample rows scored through the scorer ML.PREDICT uses."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
from sqlml_udfs.scoring import Scorer

from sqlml.errors import DataError

SAMPLE_ROWS = 2


def _smoke_test(onnx_bytes: bytes, spec: dict[str, Any], model: str, given: str) -> int:
    """Load the graph in ONNX Runtime and score sample rows through the scorer ML.PREDICT uses, so
    that a graph sqlml cannot feed or read fails now, not at the first query. Returns rows scored.

    String inputs may reject categories they never saw, so a foreign graph with string inputs is
    only loaded (unless its class count must be learned from a run); numbers are zeros and ones.
    """
    provisional = dict(spec)
    count_classes = spec["task"] == "classification" and spec.get("classes") is None
    if count_classes:
        provisional.update(task="clustering", classes=None)  # read outputs without classes
    try:
        scorer = Scorer(onnx_bytes, provisional, threads=1)
    except Exception as exc:  # noqa: BLE001 - onnxruntime's errors have no common base
        raise DataError(
            f"ONNX Runtime cannot load the model of CREATE MODEL {model} ({given!r}): "
            f"{str(exc).strip().splitlines()[0]}."
        ) from None
    foreign = spec.get("model_type") == "onnx"
    strings = any(f["kind"] == "categorical" for f in spec["features"])
    if foreign and strings and not count_classes:
        return 0
    columns = {
        f["name"]: pa.array(["", "a"])
        if f["kind"] == "categorical"
        else pa.array([0.0, 1.0], pa.float64())
        for f in spec["features"]
    }
    try:
        outputs = scorer.run(columns)
        if count_classes:
            width = np.asarray(outputs[1]).shape[1]
            spec["classes"] = list(range(width))
            spec["label_type"] = "int64"
            scorer = Scorer(onnx_bytes, spec, threads=1)
        scored = scorer.predict_columns(columns)
    except Exception as exc:  # noqa: BLE001 - onnxruntime's and numpy's errors alike
        hint = (
            " If the graph takes its columns as one [N, k] input, name them with OPTIONS "
            "(input_columns = [...])."
            if foreign
            else ""
        )
        raise DataError(
            f"ONNX Runtime could not score sample rows with the model of CREATE MODEL {model} "
            f"({given!r}): {str(exc).strip().splitlines()[0]}.{hint}"
        ) from None
    if any(len(array) != SAMPLE_ROWS for _, array in scored):
        raise DataError(
            f"The model of CREATE MODEL {model} ({given!r}) returns {len(scored[0][1])} "
            f"prediction(s) for {SAMPLE_ROWS} rows; its outputs must have one row per input row."
        )
    return SAMPLE_ROWS
