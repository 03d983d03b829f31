"""The functions of a time-series model (ARIMA_PLUS, issue 14): ML.FORECAST, ML.EXPLAIN_FORECAST,
ML.ARIMA_EVALUATE and ML.ARIMA_COEFFICIENTS, with BigQuery's arguments and output columns
(bigqueryml-syntax-forecast, -explain-forecast, -arima-evaluate, -arima-coefficients).

Everything was computed at CREATE MODEL (:mod:`sqlml.core.forecasting`): a series' forecast, its
standard errors and its decomposed history are arrays in the series' ONNX graph, read here
without a session, the series one after the other from the catalog (memory bounded by a window of
series, not by their number). The prediction interval of a confidence level is the forecast ±
the normal quantile times the standard error, as the ARIMA's own intervals are. Series that could
not be fitted are left out of the forecasts, as BigQuery leaves them; ML.ARIMA_EVALUATE gives each
of them a row with its ``error_message``.
"""

from __future__ import annotations

from collections.abc import Iterator
from statistics import NormalDist
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from sqlml.catalog import _arrow_type
from sqlml.errors import NotSupportedError, OptionError, ProgrammingError
from sqlml.functions import CallContext, boolean, positive_int, register

if TYPE_CHECKING:
    from sqlml.catalog import GroupRecord, ModelRecord

#: ML.FORECAST's and ML.EXPLAIN_FORECAST's defaults (BigQuery's).
DEFAULT_HORIZON = 3
DEFAULT_CONFIDENCE = 0.95
#: Series read from the catalog at a time.
WINDOW = 64
#: ML.EXPLAIN_FORECAST's seasonal columns, in BigQuery's order.
SEASONAL_COLUMNS = ("YEARLY", "QUARTERLY", "MONTHLY", "WEEKLY", "DAILY")


def _time_series(record: ModelRecord) -> str | None:
    if record.spec.get("task") == "forecasting":
        return None
    return "time-series models (model_type 'ARIMA_PLUS')"


def confidence(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
        raise ValueError("a number in [0, 1)")
    return float(value)


_FORECAST_OPTIONS = {"horizon": positive_int, "confidence_level": confidence}


def horizon_of(ctx: CallContext, default: int = DEFAULT_HORIZON) -> int:
    horizon = ctx.options.get("horizon", default)
    stored = int(ctx.record.spec["time_series"]["horizon"])
    if horizon > stored:
        raise OptionError(
            f"horizon = {horizon} in ML.{ctx.call.function} exceeds the horizon model "
            f"{ctx.record.name} was trained with ({stored}): its forecasts stop there. Ask for at "
            f"most {stored} points, or train again with OPTIONS (horizon = {horizon})."
        )
    return horizon


def id_fields(record: ModelRecord) -> list[pa.Field]:
    return [pa.field(c["name"], _arrow_type(c["type"])) for c in record.group_columns]


def id_arrays(record: ModelRecord, keys: list[tuple[Any, ...]], counts: list[int]) -> list[Any]:
    """The id columns of ``keys``, each key repeated ``counts`` times."""
    repeat = np.repeat(np.arange(len(keys)), counts)
    return [
        pa.array([k[i] for k in keys], _arrow_type(c["type"])).take(pa.array(repeat))
        for i, c in enumerate(record.group_columns)
    ]


def _series(ctx: CallContext) -> Iterator[GroupRecord]:
    """The fitted series with their graphs, in order: inside a transaction read now, on the
    statement's own connection (a second one would not see a model trained in it, and the
    statement's query, running when a stream is pulled, holds this one), else streamed."""
    if ctx.backend.in_transaction:
        found = ctx.catalog.group_models(ctx.record, None)
        return iter([found[i] for i in sorted(found)])
    return _streamed(ctx)


def _streamed(ctx: CallContext) -> Iterator[GroupRecord]:
    stream = ctx.catalog.group_stream(ctx.record)
    try:
        yield from stream
    finally:
        stream.close()  # type: ignore[attr-defined]


def windows(ctx: CallContext) -> Iterator[list[tuple[GroupRecord, dict[str, np.ndarray]]]]:
    """The fitted series and their arrays, :data:`WINDOW` at a time (the catalog read is started
    now: see :func:`_series`)."""
    return _windowed(_series(ctx))


def _windowed(
    series: Iterator[GroupRecord],
) -> Iterator[list[tuple[GroupRecord, dict[str, np.ndarray]]]]:
    from sqlml.training.forecast_graph import series_arrays

    window: list[tuple[GroupRecord, dict[str, np.ndarray]]] = []
    for group in series:
        assert group.onnx is not None
        window.append((group, series_arrays(group.onnx)))
        if len(window) == WINDOW:
            yield window
            window = []
    if window:
        yield window


def timestamps(seconds: np.ndarray) -> pa.Array:
    return pa.array(np.asarray(seconds, dtype=np.int64) * 1_000_000, pa.timestamp("us"))


FORECAST_COLUMNS = (
    "forecast_value",
    "standard_error",
    "confidence_level",
    "prediction_interval_lower_bound",
    "prediction_interval_upper_bound",
    "confidence_interval_lower_bound",
    "confidence_interval_upper_bound",
)


@register("FORECAST", options=_FORECAST_OPTIONS, input="none", applies=_time_series)
def forecast(ctx: CallContext) -> pa.RecordBatchReader:
    """ML.FORECAST: ``horizon`` points of each fitted series, its prediction interval at
    ``confidence_level``."""
    record = ctx.record
    horizon = horizon_of(ctx)
    level = ctx.options.get("confidence_level", DEFAULT_CONFIDENCE)
    z = NormalDist().inv_cdf(0.5 + level / 2)
    schema = pa.schema(
        id_fields(record)
        + [pa.field("forecast_timestamp", pa.timestamp("us"))]
        + [pa.field(name, pa.float64()) for name in FORECAST_COLUMNS]
    )

    series = windows(ctx)  # started here, before the statement's query pulls the batches

    def batches() -> Iterator[pa.RecordBatch]:
        for window in series:
            parts = [{k: v[:horizon] for k, v in arrays.items()} for _, arrays in window]
            value = np.concatenate([p["forecast_value"] for p in parts])
            error = np.concatenate([p["standard_error"] for p in parts])
            low, high = value - z * error, value + z * error
            counts = [len(p["forecast_value"]) for p in parts]
            columns = id_arrays(record, [g.key for g, _ in window], counts) + [
                timestamps(np.concatenate([p["forecast_timestamp"] for p in parts])),
                pa.array(value),
                pa.array(error),
                pa.array(np.full(len(value), level)),
                pa.array(low),
                pa.array(high),
                pa.array(low),
                pa.array(high),
            ]
            yield pa.RecordBatch.from_arrays(columns, schema=schema)

    return pa.RecordBatchReader.from_batches(schema, batches())


_EVALUATE = (
    ("non_seasonal_p", pa.int64()),
    ("non_seasonal_d", pa.int64()),
    ("non_seasonal_q", pa.int64()),
    ("has_drift", pa.bool_()),
    ("log_likelihood", pa.float64()),
    ("AIC", pa.float64()),
    ("variance", pa.float64()),
    ("seasonal_periods", pa.list_(pa.string())),
    ("has_holiday_effect", pa.bool_()),
    ("has_spikes_and_dips", pa.bool_()),
    ("has_step_changes", pa.bool_()),
)


@register(
    "ARIMA_EVALUATE",
    options={"show_all_candidate_models": boolean},
    input="none",
    applies=_time_series,
)
def arima_evaluate(ctx: CallContext) -> pa.Table:
    """ML.ARIMA_EVALUATE: each series' chosen model, or its error message."""
    if ctx.options.get("show_all_candidate_models"):
        raise NotSupportedError(
            f"show_all_candidate_models = TRUE in ML.ARIMA_EVALUATE is not supported yet: sqlml "
            f"keeps the chosen model of each series of {ctx.record.name}, not the candidates "
            f"auto_arima tried; leave the option out for the chosen ones."
        )
    groups = ctx.catalog.groups(ctx.record, specs=True)
    record = ctx.record
    columns = dict(
        zip(
            [f.name for f in id_fields(record)],
            id_arrays(record, [g.key for g in groups], [1] * len(groups)),
            strict=True,
        )
    )
    for name, kind in _EVALUATE:
        columns[name] = pa.array([g.spec.get(name) for g in groups], kind)
    columns["error_message"] = pa.array([g.reason or None for g in groups], pa.string())
    return pa.table(columns)


@register("ARIMA_COEFFICIENTS", input="none", applies=_time_series)
def arima_coefficients(ctx: CallContext) -> pa.Table:
    """ML.ARIMA_COEFFICIENTS: each fitted series' AR and MA coefficients and its intercept (d =
    0) or drift (d = 1; 0 for d = 2)."""
    record = ctx.record
    groups = [g for g in ctx.catalog.groups(record, specs=True) if g.status == "trained"]
    columns = dict(
        zip(
            [f.name for f in id_fields(record)],
            id_arrays(record, [g.key for g in groups], [1] * len(groups)),
            strict=True,
        )
    )
    for name in ("ar_coefficients", "ma_coefficients"):
        columns[name] = pa.array([g.spec[name] for g in groups], pa.list_(pa.float64()))
    columns["intercept_or_drift"] = pa.array(
        [g.spec["intercept_or_drift"] for g in groups], pa.float64()
    )
    return pa.table(columns)


_EXPLAIN = (
    ("time_series_type", pa.string()),
    ("time_series_data", pa.float64()),
    ("time_series_adjusted_data", pa.float64()),
    ("standard_error", pa.float64()),
    ("confidence_level", pa.float64()),
    ("prediction_interval_lower_bound", pa.float64()),
    ("prediction_interval_upper_bound", pa.float64()),
    ("trend", pa.float64()),
    *((f"seasonal_period_{name.lower()}", pa.float64()) for name in SEASONAL_COLUMNS),
    ("holiday_effect", pa.float64()),
    ("spikes_and_dips", pa.float64()),
    ("step_changes", pa.float64()),
    ("residual", pa.float64()),
)


@register("EXPLAIN_FORECAST", options=_FORECAST_OPTIONS, input="none", applies=_time_series)
def explain_forecast(ctx: CallContext) -> pa.RecordBatchReader:
    """ML.EXPLAIN_FORECAST: each fitted series' history on its grid, decomposed (trend, each
    season, spikes and dips, residual), then its ``horizon`` forecast points decomposed the
    same way (the seasons carried forward, as the fit extrapolates them)."""
    record = ctx.record
    if not record.spec["time_series"].get("decomposed"):
        raise ProgrammingError(
            f"ML.EXPLAIN_FORECAST needs the decomposition that decompose_time_series = FALSE "
            f"left out of model {record.name}; train it again without that option."
        )
    horizon = horizon_of(ctx)
    level = ctx.options.get("confidence_level", DEFAULT_CONFIDENCE)
    z = NormalDist().inv_cdf(0.5 + level / 2)
    schema = pa.schema(
        id_fields(record)
        + [pa.field("time_series_timestamp", pa.timestamp("us"))]
        + [pa.field(name, kind) for name, kind in _EXPLAIN]
    )

    series = windows(ctx)  # started here, before the statement's query pulls the batches

    def batches() -> Iterator[pa.RecordBatch]:
        for window in series:
            rows = [explained(group, arrays, horizon, z, level) for group, arrays in window]
            counts = [len(r["time_series_timestamp"]) for r in rows]
            ids = id_arrays(record, [g.key for g, _ in window], counts)
            columns = ids + [
                pa.concat_arrays([r[field.name] for r in rows])
                for field in schema
                if field.name not in {f.name for f in id_fields(record)}
            ]
            yield pa.RecordBatch.from_arrays(columns, schema=schema)

    return pa.RecordBatchReader.from_batches(schema, batches())


def explained(
    group: GroupRecord, arrays: dict[str, np.ndarray], horizon: int, z: float, level: float
) -> dict[str, pa.Array]:
    from sqlml.training.forecast import SEASONS

    data = arrays["history_data"]
    known = ~np.isnan(data)
    x = np.arange(len(data))
    filled = np.interp(x, x[known], data[known])  # history rows include the interpolated points
    n, h = len(filled), min(horizon, len(arrays["forecast_value"]))
    periods = dict(SEASONS[group.spec["frequency"]])
    seasons = {}
    for name in SEASONAL_COLUMNS:
        past = arrays.get(f"history_seasonal_{name.lower()}")
        if past is not None:
            p = periods[name]
            ahead = past[n - p + (np.arange(h) % p)]  # the last season carried forward
            seasons[name] = np.concatenate([past, ahead])
    spikes = arrays.get("history_spikes_and_dips", np.zeros(n))
    value = arrays["forecast_value"][:h]
    error = arrays["standard_error"][:h]
    total_season = sum(seasons.values()) if seasons else np.zeros(n + h)
    past_holidays = arrays.get("history_holiday_effect")
    holidays = np.zeros(n + h)
    if past_holidays is not None:
        holidays = np.concatenate([past_holidays, arrays["forecast_holiday_effect"][:h]])
    trend = np.concatenate([arrays["history_trend"], value - total_season[n:] - holidays[n:]])
    adjusted = trend + total_season + holidays
    residual = filled - adjusted[:n] - spikes
    sigma = np.sqrt(group.spec["variance"]) if group.spec.get("variance") is not None else None
    history, ahead = [True] * n, [False] * h
    nulls = np.full(h, np.nan)

    def column(values: np.ndarray, mask: list[bool] | None = None) -> pa.Array:
        return pa.array(values, pa.float64(), mask=None if mask is None else np.asarray(mask))

    out = {
        "time_series_timestamp": timestamps(
            np.concatenate([arrays["history_time"], arrays["forecast_timestamp"][:h]])
        ),
        "time_series_type": pa.array(["history"] * n + ["forecast"] * h, pa.string()),
        "time_series_data": column(np.concatenate([filled, value])),
        "time_series_adjusted_data": column(np.concatenate([adjusted[:n], value])),
        "standard_error": column(
            np.concatenate([np.full(n, sigma if sigma is not None else np.nan), error]),
            [sigma is None] * n + ahead,
        ),
        "confidence_level": column(np.full(n + h, level)),
        "prediction_interval_lower_bound": column(
            np.concatenate([np.full(n, np.nan), value - z * error]), history + ahead
        ),
        "prediction_interval_upper_bound": column(
            np.concatenate([np.full(n, np.nan), value + z * error]), history + ahead
        ),
        "trend": column(trend),
        "holiday_effect": (
            column(holidays) if past_holidays is not None else pa.nulls(n + h, pa.float64())
        ),
        "spikes_and_dips": (
            column(np.concatenate([spikes, nulls]), [False] * n + [True] * h)
            if spikes.any()
            else pa.nulls(n + h, pa.float64())
        ),
        "step_changes": pa.nulls(n + h, pa.float64()),
        "residual": column(np.concatenate([residual, nulls]), [False] * n + [True] * h),
    }
    for name in SEASONAL_COLUMNS:
        key = f"seasonal_period_{name.lower()}"
        out[key] = column(seasons[name]) if name in seasons else pa.nulls(n + h, pa.float64())
    return out


def redshift_forecast(backend: Any, catalog: Any, record: ModelRecord) -> pa.Table:
    """Redshift's ``FORECAST(model)``: each fitted series' forecast over the model's horizon —
    ``id`` (the series' id column; one column per id column, by name, when there are several),
    ``time``, then one column per PERCENTILES entry (``p10`` the forecast's 10 % quantile, normal
    errors; ``mean`` the forecast itself)."""
    from types import SimpleNamespace

    from sqlml.plan.redshift import DEFAULT_PERCENTILES, percentile_columns

    if record.spec.get("task") != "forecasting":
        raise ProgrammingError(
            f"FORECAST({record.name}) reads a forecast model (MODEL_TYPE FORECAST, or "
            f"model_type 'ARIMA_PLUS'); model {record.name} is a {record.model_type} model: "
            f"score it with its FUNCTION or ML.PREDICT."
        )
    wanted = percentile_columns(
        str(record.options.get("percentiles") or DEFAULT_PERCENTILES), record.name
    )
    source = SimpleNamespace(backend=backend, catalog=catalog, record=record)
    keys, counts, stamps, values, errors = [], [], [], [], []
    for window in windows(source):  # type: ignore[arg-type]
        for group, arrays in window:
            keys.append(group.key)
            counts.append(len(arrays["forecast_value"]))
            stamps.append(arrays["forecast_timestamp"])
            values.append(arrays["forecast_value"])
            errors.append(arrays["standard_error"])
    value = np.concatenate(values) if values else np.array([])
    error = np.concatenate(errors) if errors else np.array([])
    ids = id_arrays(record, keys, counts)
    names = [f.name for f in id_fields(record)]
    columns: dict[str, Any] = dict(zip(["id"] if len(ids) == 1 else names, ids, strict=True))
    columns["time"] = timestamps(np.concatenate(stamps) if stamps else np.array([], np.int64))
    for name, quantile in wanted:
        shift = 0.0 if quantile is None else NormalDist().inv_cdf(quantile)
        columns[name] = pa.array(value + shift * error, pa.float64())
    return pa.table(columns)
