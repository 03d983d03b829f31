"""ML.TRIAL_INFO: one row per trial of a tuned (or automl) model, as recorded at CREATE MODEL.

BigQuery returns ``hyperparameters`` as a STRUCT; trials of an automl model have different keys (each
model type its own), so sqlml returns it, and the objective metrics, as JSON text.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pyarrow as pa

from sqlml.functions import CallContext, register

if TYPE_CHECKING:
    from sqlml.catalog import ModelRecord

SCHEMA = pa.schema(
    [
        ("trial_id", pa.int64()),
        ("hyperparameters", pa.string()),
        ("hparam_tuning_evaluation_metrics", pa.string()),
        ("training_loss", pa.float64()),
        ("eval_loss", pa.float64()),
        ("status", pa.string()),
        ("error_message", pa.string()),
        ("is_optimal", pa.bool_()),
        ("model_type", pa.string()),
    ]
)


def tuned(record: ModelRecord) -> str | None:
    if "trials" in record.training_info:
        return None
    return (
        "models trained with hyperparameter tuning (OPTIONS num_trials > 1, or an option given as "
        "HPARAM_RANGE(...) or HPARAM_CANDIDATES([...])) or with model_type = 'automl'"
    )


@register("TRIAL_INFO", input="none", applies=tuned, groups="each")
def trial_info(ctx: CallContext) -> pa.Table:
    info = ctx.record.training_info
    objective = info["tuning"]["objective"]
    trials = sorted(info["trials"], key=lambda t: t["trial_id"])
    best = info.get("best_trial_id")
    rows = {
        "trial_id": [t["trial_id"] for t in trials],
        "hyperparameters": [json.dumps(t["hyperparameters"], sort_keys=True) for t in trials],
        "hparam_tuning_evaluation_metrics": [
            None if t["eval_loss"] is None else json.dumps({objective: t["eval_loss"]})
            for t in trials
        ],
        "training_loss": [t.get("training_loss") for t in trials],
        "eval_loss": [t["eval_loss"] for t in trials],
        "status": [t["status"] for t in trials],
        "error_message": [t.get("error_message") for t in trials],
        "is_optimal": [t["trial_id"] == best for t in trials],
        "model_type": [t["model_type"] for t in trials],
    }
    return pa.table(rows, schema=SCHEMA)
