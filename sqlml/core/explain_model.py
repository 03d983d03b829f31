"""Redshift ML's ``EXPLAIN_MODEL('model')``: the model's explainability report as JSON, in the shape
https://docs.aws.amazon.com/redshift/latest/dg/r_explain_model_function.html documents::

    {"explanations": {"kernel_shap": {"label0": {"global_shap_values": {"x0": 0.05, ...},
                                                 "expected_value": 0.50}}},
     "version": "1.0"}

Built from what ML.GLOBAL_EXPLAIN gives (the mean |attribution| per feature, recorded at CREATE
MODEL; Redshift-form models record it always) and, as ``expected_value``, the baseline prediction
the attributions start from (ML.EXPLAIN_PREDICT's ``baseline_prediction_value`` of the baseline
row: medians and modes of the training rows; a linear model's intercept). One entry, ``label0``:
the output that sqlml explains (the prediction; a classifier's predicted class).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from sqlml.errors import ProgrammingError
from sqlml.plan.jobs import MLCall

if TYPE_CHECKING:
    from sqlml.core.executor import Executor


def explain_model(executor: Executor, name: str, column: str) -> pa.Table:
    """One row, one column (``explain_model`` unless aliased): the report as JSON text."""
    from sqlml import functions
    from sqlml.training.insights import GLOBAL_EXPLAIN

    record = executor.catalog.get(name, statement="EXPLAIN_MODEL")
    if record.spec.get("task") not in ("classification", "regression"):
        raise ProgrammingError(
            f"EXPLAIN_MODEL applies to classification and regression models; model "
            f"{record.name} is a {record.model_type} model."
        )
    if GLOBAL_EXPLAIN not in record.training_info:
        raise ProgrammingError(
            f"EXPLAIN_MODEL needs the attributions recorded at CREATE MODEL (Redshift's form "
            f"records them; BigQuery's with OPTIONS (enable_global_explain = TRUE)); model "
            f"{record.name} has none. Retrain it: CREATE OR REPLACE MODEL {record.name} ..."
        )
    call = MLCall("GLOBAL_EXPLAIN", name, None, {})
    rows = functions.call(executor.backend, executor.catalog, executor.scorer, call, [])
    table = executor.backend.materialize(rows)
    values = dict(
        zip(
            table.column("feature").to_pylist(),
            table.column("attribution").to_pylist(),
            strict=True,
        )
    )
    report = {
        "explanations": {
            "kernel_shap": {
                "label0": {
                    "global_shap_values": values,
                    "expected_value": _expected_value(executor, record),
                }
            }
        },
        "version": "1.0",
    }
    return pa.table({column: pa.array([json.dumps(report)], pa.string())})


def _expected_value(executor: Executor, record: Any) -> float | None:
    """The prediction the attributions start from, at the recorded baseline row."""
    from sqlml.measures.attribution import EXPLAIN_BASELINE, explain_rows

    info = record.training_info
    baseline = info.get(EXPLAIN_BASELINE)
    if baseline is None:
        return None
    columns = {}
    for feature in record.spec["features"]:
        value = baseline["values"].get(feature["name"])
        kind = pa.float64() if feature["kind"] == "numeric" else pa.string()
        columns[feature["name"]] = pa.array([value], kind)
    seed = int(record.options.get("random_seed", 42))
    explanation = explain_rows(executor.scorer(record), record.spec, info, columns, seed=seed)
    return float(explanation.baseline[0])
