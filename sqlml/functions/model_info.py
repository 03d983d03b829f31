"""ML.FEATURE_INFO, ML.TRAINING_INFO, ML.WEIGHTS, ML.FEATURE_IMPORTANCE: what a model learned;
and SHOW MODEL's rows, what the catalog holds about a model.

Each function reads what CREATE MODEL recorded in the model's training info (see
:mod:`sqlml.training.insights`); none takes input rows. Output columns are BigQuery ML's.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pyarrow as pa
from sqlml_udfs.scoring import NULL_CATEGORY, label_arrow_type

from sqlml.errors import NotSupportedError, ProgrammingError
from sqlml.functions import CallContext, boolean, register
from sqlml.measures.attribution import LINEAR_WEIGHTS
from sqlml.models.registry import LINEAR, TREES
from sqlml.training.insights import (
    FEATURE_IMPORTANCE,
    FEATURE_INFO,
    ITERATIONS,
    LINEAR_TYPES,
    UNAVAILABLE,
)

if TYPE_CHECKING:
    from sqlml.catalog import ModelRecord

INTERCEPT = "__INTERCEPT__"
CATEGORY_WEIGHT = pa.struct([("category", pa.string()), ("weight", pa.float64())])


def recorded(record: ModelRecord, key: str, function: str) -> Any:
    """What CREATE MODEL recorded under ``key``; models from before it did get a clear error."""
    value = record.training_info.get(key)
    reason = record.training_info.get(UNAVAILABLE, {}).get(key)
    if value is None and reason:
        raise NotSupportedError(
            f"ML.{function} is not available for model {record.name}: {reason}."
        )
    if value is None:
        raise ProgrammingError(
            f"Model {record.name} was trained by an earlier sqlml that did not record what "
            f"ML.{function} needs; retrain it with CREATE OR REPLACE MODEL {record.name}."
        )
    return value


def linear_model(record: ModelRecord) -> str | None:
    return None if record.model_type in LINEAR_TYPES else "linear_reg and logistic_reg models"


def tree_model(record: ModelRecord) -> str | tuple[str, str] | None:
    if record.model_type in TREES:
        return None
    why = "random forest and boosted tree models"
    if record.model_type in LINEAR:
        return why, (
            f"A linear model's importance is in its weights: SELECT * FROM ML.WEIGHTS(MODEL "
            f"{record.name}, STRUCT(TRUE AS standardize)) compares the features on one scale, "
            f"and ML.GLOBAL_EXPLAIN ranks them (CREATE MODEL with enable_global_explain = TRUE)."
        )
    return why


@register("FEATURE_INFO", input="none", groups="each")
def feature_info(ctx: CallContext) -> pa.Table:
    """Statistics of each feature over the training rows."""
    rows = recorded(ctx.record, FEATURE_INFO, "FEATURE_INFO")
    doubles = ("min", "max", "mean", "median", "stddev")
    columns: dict[str, pa.Array] = {"input": pa.array([r["input"] for r in rows], pa.string())}
    for name in doubles:
        columns[name] = pa.array([r[name] for r in rows], pa.float64())
    for name in ("category_count", "null_count"):
        columns[name] = pa.array([r[name] for r in rows], pa.int64())
    # BigQuery: the dimension of an ARRAY<STRUCT> (sparse) input, NULL for every other input;
    # sqlml has no ARRAY<STRUCT> inputs.
    columns["dimension"] = pa.nulls(len(rows), pa.int64())
    return pa.table(columns)


@register("TRAINING_INFO", input="none", groups="each")
def training_info(ctx: CallContext) -> pa.Table:
    """One row per training iteration (boosting round, DNN epoch), else one for the final model."""
    rows = recorded(ctx.record, ITERATIONS, "TRAINING_INFO")
    types = {
        "training_run": pa.int64(),
        "iteration": pa.int64(),
        "loss": pa.float64(),
        "eval_loss": pa.float64(),
        "learning_rate": pa.float64(),
        "duration_ms": pa.int64(),
    }
    return pa.table({name: pa.array([r[name] for r in rows], t) for name, t in types.items()})


@register(
    "WEIGHTS", options={"standardize": boolean}, input="none", applies=linear_model, groups="each"
)
def weights(ctx: CallContext) -> pa.Table:
    """The coefficients, on the original scale of the features unless standardize = TRUE.

    The model standardizes numeric features itself, so its fitted weights are on the standardized
    scale: w_std for a feature with training mean μ and standard deviation σ is w_std / σ on the
    original scale, and the intercept absorbs −Σ w_std·μ/σ. One-hot category weights are the same
    on both scales.
    """
    record = ctx.record
    fitted = recorded(record, LINEAR_WEIGHTS, "WEIGHTS")
    standardize = ctx.options.get("standardize", False)
    classes = fitted["classes"]
    out: dict[str, list[Any]] = {"processed_input": [], "weight": [], "category_weights": []}
    labels: list[Any] = []
    for k, intercept in enumerate(fitted["intercept"]):
        for feature in fitted["features"]:
            out["processed_input"].append(feature["name"])
            if feature["kind"] == "numeric":
                weight = feature["weights"][k]
                out["weight"].append(weight if standardize else weight / feature["scale"])
                out["category_weights"].append([])
                if not standardize:
                    intercept -= weight * feature["mean"] / feature["scale"]
            else:
                out["weight"].append(None)
                out["category_weights"].append(
                    [
                        {"category": None if c == NULL_CATEGORY else c, "weight": w}
                        for c, w in zip(feature["categories"], feature["weights"][k], strict=True)
                    ]
                )
        out["processed_input"].append(INTERCEPT)
        out["weight"].append(intercept)
        out["category_weights"].append([])
        if classes is not None:
            labels += [classes[k]] * (len(fitted["features"]) + 1)
    columns: dict[str, pa.Array] = {}
    if classes is not None:
        columns["class_label"] = pa.array(labels, label_arrow_type(record.spec))
    columns["processed_input"] = pa.array(out["processed_input"], pa.string())
    columns["weight"] = pa.array(out["weight"], pa.float64())
    columns["category_weights"] = pa.array(out["category_weights"], pa.list_(CATEGORY_WEIGHT))
    return pa.table(columns)


@register("FEATURE_IMPORTANCE", input="none", applies=tree_model, groups="each")
def feature_importance(ctx: CallContext) -> pa.Table:
    """Split counts, impurity importance and cover per feature, by importance_gain descending."""
    rows = recorded(ctx.record, FEATURE_IMPORTANCE, "FEATURE_IMPORTANCE")
    return pa.table(
        {
            "feature": pa.array([r["feature"] for r in rows], pa.string()),
            "importance_weight": pa.array([r["importance_weight"] for r in rows], pa.float64()),
            "importance_gain": pa.array([r["importance_gain"] for r in rows], pa.float64()),
            "importance_cover": pa.array([r["importance_cover"] for r in rows], pa.float64()),
        }
    )


#: The options that describe a model (CREATE / ALTER MODEL), which SHOW MODEL lists by name.
DESCRIPTIVE = ("description", "labels", "expiration_timestamp")


def show_model(record: ModelRecord) -> pa.Table:
    """``SHOW MODEL name``: (key, value) rows, Redshift's SHOW MODEL keys first, then BigQuery's
    descriptive options (description, labels, expiration), metrics and training options. An
    expired model's state is EXPIRED: it stays until ALTER MODEL extends it or DROP MODEL drops
    it, and every other statement refuses it."""
    options = record.options
    expires = record.expires_at
    labels = options.get("labels") or {}
    rows = [
        ("Model Name", record.name),
        ("Version", str(record.version)),
        ("Model State", "EXPIRED" if record.expired() else "READY"),
        ("Created", record.created_at.isoformat(sep=" ")),
        ("Model Type", record.model_type),
        ("Problem Type", record.spec["task"]),
        ("Target Column", record.label or ""),
        ("Decision Threshold", _text(record.spec.get("threshold"))),
        ("Function Name", record.function_name or ""),
        ("Function Parameters", " ".join(_parameters(record, "name"))),
        ("Function Parameter Types", " ".join(_parameters(record, "type"))),
        ("Training Rows", str(record.training_info.get("training_rows", ""))),
        ("Training Duration (s)", str(record.training_info.get("duration_seconds", ""))),
        ("Training Query", record.training_sql),
        ("Description", options.get("description") or ""),
        ("Labels", ", ".join(f"{k}:{v}" for k, v in labels.items())),
        ("Expiration", f"{expires:%Y-%m-%d %H:%M:%S} UTC" if expires else ""),
    ]
    if record.partition_by:  # one model per group: how many trained, and what scores the rest
        counts = record.spec.get("groups", {})
        rows += [
            ("Partition By", ", ".join(c["name"] for c in record.partition_by)),
            ("Groups Trained", str(counts.get("trained", 0))),
            ("Groups Skipped", str(counts.get("skipped", 0))),
            ("Groups Failed", str(counts.get("failed", 0))),
            ("Min Group Rows", str(record.spec.get("min_group_rows", 1))),
            ("Fallback", record.spec.get("fallback", "")),
        ]
    series = record.spec.get("time_series")
    if series is not None:  # a time-series model: its series, fitted and not
        counts = record.spec.get("series", {})
        rows += [
            ("Time Series Timestamp Column", series["timestamp_col"]),
            ("Time Series Data Column", series["data_col"]),
            ("Time Series Id Columns", ", ".join(c["name"] for c in series["id_cols"])),
            ("Time Series Fitted", str(counts.get("fitted", 0))),
            ("Time Series Failed", str(counts.get("failed", 0))),
            ("Horizon", str(series["horizon"])),
        ]
    rows += [(f"Metric: {k}", "" if v is None else f"{v:.6g}") for k, v in record.metrics.items()]
    rows += [
        (f"Option: {k}", json.dumps(v)) for k, v in sorted(options.items()) if k not in DESCRIPTIVE
    ]
    return pa.table({"key": [k for k, _ in rows], "value": [v for _, v in rows]})


def _parameters(record: ModelRecord, part: str) -> list[str]:
    """The FUNCTION's parameters' names or types: a partitioned model's partition columns
    first."""
    from sqlml.catalog import _arrow_type
    from sqlml.types import sql_type

    first = [
        c["name"] if part == "name" else sql_type(_arrow_type(c["type"]))
        for c in record.partition_by
    ]
    return first + [f.get(part, "") for f in record.features]


def _text(value: Any) -> str:
    return "" if value is None else f"{value:.6g}" if isinstance(value, float) else str(value)
