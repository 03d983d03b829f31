"""ML.EVALUATE: one row of metrics with BigQuery's names, on new rows or as recorded at training.

A tuned model (num_trials > 1) without input rows gives one row per trial, ``trial_id`` first,
each trial's model scored on the rows that trial was scored on (the evaluation split, or the mean
over num_folds folds); ``STRUCT(n AS trial_id)`` keeps trial n's row. With input rows, the model
that is stored (the optimal trial's) is evaluated, as BigQuery does by default
(https://cloud.google.com/bigquery/docs/hp-tuning-overview, "Model serving functions").
"""

from __future__ import annotations

import pyarrow as pa

from sqlml.errors import OptionError, ProgrammingError, SchemaError
from sqlml.functions import (
    CallContext,
    binary_classifier,
    boolean,
    positive_int,
    probability,
    register,
)
from sqlml.functions.trials import chosen_trial, require_optimal, trials
from sqlml.measures import metrics

_TIME_SERIES_OPTIONS = ("perform_aggregation", "horizon", "confidence_level")


def _confidence(value: object) -> float:
    from sqlml.functions.forecasting import confidence

    return confidence(value)


@register(
    "EVALUATE",
    options={
        "threshold": probability,
        "trial_id": positive_int,
        "perform_aggregation": boolean,
        "horizon": positive_int,
        "confidence_level": _confidence,
    },
    groups="own",
)
def evaluate(ctx: CallContext) -> pa.Table:
    record = ctx.record
    task = record.spec["task"]
    if task == "forecasting":  # the forecast against actual values (functions/forecasting.py)
        from sqlml.functions.forecast_checks import evaluate_forecast

        return evaluate_forecast(ctx)
    given = [o for o in _TIME_SERIES_OPTIONS if o in ctx.options]
    if given:
        raise OptionError(
            f"The {given[0]} option of ML.EVALUATE applies to time-series models (model_type "
            f"'ARIMA_PLUS'); model {record.name} is a {record.model_type} model."
        )
    threshold = ctx.options.get("threshold")
    if threshold is not None and (reason := binary_classifier(record)):
        raise SchemaError(
            f"The 'threshold' option of ML.EVALUATE applies to {reason}; model {record.name} is "
            f"not one."
        )
    if record.partition_by:  # a row per group, then the overall row
        from sqlml.functions.groups import evaluate_groups

        return evaluate_groups(ctx, threshold)
    names = metrics.metric_names(task)
    if not ctx.has_input:
        if threshold is not None:
            raise ProgrammingError(
                "ML.EVALUATE with a threshold needs evaluation rows: TABLE t or (SELECT ...)."
            )
        recorded = trials(record)
        chosen = chosen_trial(ctx)  # checks trial_id, also of an untuned model
        if recorded is not None:
            return _per_trial(ctx, [chosen] if chosen is not None else recorded, names)
        values = record.metrics
    else:
        require_optimal(ctx)
        table = ctx.input_table(need_label=task != "clustering")
        values = metrics.evaluate(ctx.scorer(), table, record.spec, threshold)
    return pa.table({n: pa.array([values.get(n)], type=pa.float64()) for n in names})


def _per_trial(ctx: CallContext, chosen: list[dict], names: tuple[str, ...]) -> pa.Table:
    """One row per trial; the optimal trial's metrics are the stored model's where a trial
    recorded none (a model tuned by an earlier sqlml), NULL for other such trials."""
    best = ctx.record.training_info.get("best_trial_id")
    rows = []
    for trial in chosen:
        values = trial.get("metrics")
        if values is None:
            values = ctx.record.metrics if trial["trial_id"] == best else {}
        rows.append(values)
    columns = {"trial_id": pa.array([t["trial_id"] for t in chosen], type=pa.int64())}
    for name in names:
        columns[name] = pa.array([r.get(name) for r in rows], type=pa.float64())
    return pa.table(columns)
