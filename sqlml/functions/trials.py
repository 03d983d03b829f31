"""The ``trial_id`` option of the functions BigQuery lets choose a hyperparameter tuning trial
(https://cloud.google.com/bigquery/docs/hp-tuning-overview, "Model serving functions").

A tuned model keeps every trial's record (ML.TRIAL_INFO) and metrics (ML.EVALUATE without input
rows), but, like BigQuery's default, stores one model: the optimal trial's, refitted on every
training row. A function that scores new rows can therefore use that trial only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlml.errors import NotSupportedError, ProgrammingError

if TYPE_CHECKING:
    from sqlml.catalog import ModelRecord
    from sqlml.functions import CallContext


def trials(record: ModelRecord) -> list[dict[str, Any]] | None:
    """The model's trials in trial_id order, or None when it was not tuned."""
    recorded = record.training_info.get("trials")
    return sorted(recorded, key=lambda t: t["trial_id"]) if recorded else None


def chosen_trial(ctx: CallContext) -> dict[str, Any] | None:
    """The trial that ``trial_id`` names (checked), or None without the option."""
    trial_id = ctx.options.get("trial_id")
    if trial_id is None:
        return None
    record = ctx.record
    where = f"ML.{ctx.call.function}"
    recorded = trials(record)
    if recorded is None:
        raise ProgrammingError(
            f"The 'trial_id' option of {where} applies to models trained with hyperparameter "
            f"tuning (num_trials > 1); model {record.name} was not. Drop the option."
        )
    for trial in recorded:
        if trial["trial_id"] == trial_id:
            return trial
    ids = ", ".join(str(t["trial_id"]) for t in recorded)
    raise ProgrammingError(
        f"Model {record.name} has no trial {trial_id}; its trials are {ids} (ML.TRIAL_INFO)."
    )


def require_optimal(ctx: CallContext) -> None:
    """Functions over new rows score the stored model: the optimal trial's."""
    trial = chosen_trial(ctx)
    best = ctx.record.training_info.get("best_trial_id")
    if trial is None or trial["trial_id"] == best:
        return
    raise NotSupportedError(
        f"ML.{ctx.call.function} of trial {trial['trial_id']} of model {ctx.record.name} is not "
        f"supported yet: sqlml stores the model of the optimal trial ({best}) only. Omit "
        f"trial_id (or use {best}); ML.EVALUATE(MODEL {ctx.record.name}) without input rows "
        f"reports every trial's metrics."
    )
