"""ML.EVALUATE and ML.DETECT_ANOMALIES of a time-series model (ARIMA_PLUS, issue 14): the stored
forecast (:mod:`sqlml.functions.forecasting`) against actual values, and each point of a series'
history or of new rows against what the model expected there (bigqueryml-syntax-evaluate,
-detect-anomalies)."""

from __future__ import annotations

from statistics import NormalDist
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sqlml.errors import OptionError, ProgrammingError, SchemaError
from sqlml.functions import CallContext
from sqlml.functions.forecasting import (
    DEFAULT_CONFIDENCE,
    arima_evaluate,
    explained,
    horizon_of,
    id_arrays,
    id_fields,
    timestamps,
    windows,
)

if TYPE_CHECKING:
    from sqlml.catalog import ModelRecord


# --- ML.EVALUATE of a time-series model -----------------------------------------------------------


def evaluate_forecast(ctx: CallContext) -> pa.Table:
    """ML.EVALUATE of an ARIMA_PLUS model (bigqueryml-syntax-evaluate, time series): without
    input rows, each fitted series' model (the deprecated form of ML.ARIMA_EVALUATE:
    ``seasonal_periods`` as text, no error rows); with the actual values of the forecast days,
    per series (``perform_aggregation``, the default) the mean absolute, squared and root mean
    squared errors and the mean absolute and symmetric percentage errors (in percent), or per
    timestamp the forecast, its interval at ``confidence_level`` and the errors."""
    record = ctx.record
    aggregate = ctx.options.get("perform_aggregation", True)
    if not ctx.has_input:
        given = [o for o in ("horizon", "confidence_level") if o in ctx.options]
        if given or "perform_aggregation" in ctx.options:
            raise OptionError(
                f"The {', '.join(given or ['perform_aggregation'])} option of ML.EVALUATE "
                f"applies with the actual values to compare the forecast with: ML.EVALUATE(MODEL "
                f"{record.name}, TABLE actuals, STRUCT(...))."
            )
        table = arima_evaluate(ctx).filter(pc.is_null(pc.field("error_message")))
        periods = [", ".join(p) for p in table.column("seasonal_periods").to_pylist()]
        table = table.drop_columns(["error_message"])
        index = table.schema.get_field_index("seasonal_periods")
        return table.set_column(index, "seasonal_periods", pa.array(periods, pa.string()))
    if aggregate and "confidence_level" in ctx.options:
        raise OptionError(
            "The confidence_level option of ML.EVALUATE applies with perform_aggregation = "
            "FALSE (it sets the bounds of each timestamp's row)."
        )
    horizon = horizon_of(ctx, int(record.spec["time_series"]["horizon"]))
    level = ctx.options.get("confidence_level", DEFAULT_CONFIDENCE)
    actual = _actuals(ctx)
    forecasts = {}
    for window in windows(ctx):
        for group, arrays in window:
            forecasts[group.key] = {k: v[:horizon] for k, v in arrays.items()}
    return (_aggregated if aggregate else _per_timestamp)(record, actual, forecasts, level)


def _actuals(
    ctx: CallContext, table: pa.Table | None = None
) -> dict[tuple[Any, ...], tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """The input's values per series: (timestamps as seconds, values, the rows' positions in
    the input)."""
    series = ctx.record.spec["time_series"]
    if table is None:
        assert ctx.call.input_sql is not None
        table = ctx.backend.arrow(ctx.call.input_sql, ctx.params)
    by_lower = {n.lower(): n for n in table.column_names}
    wanted = [c["name"] for c in ctx.record.group_columns]
    wanted += [series["timestamp_col"], series["data_col"]]
    missing = [c for c in wanted if c.lower() not in by_lower]
    if missing:
        raise SchemaError(
            f"The input of ML.{ctx.call.function} lacks column(s) {', '.join(missing)} of time-series model "
            f"{ctx.record.name}: it compares each series' forecast with its actual values."
        )
    *ids, stamp, data = (by_lower[c.lower()] for c in wanted)
    times = table.column(stamp)
    if pa.types.is_date(times.type):
        times = pc.cast(times, pa.timestamp("s"))
    seconds = times.to_numpy(zero_copy_only=False).astype("datetime64[s]").astype(np.int64)
    values = pc.cast(table.column(data), pa.float64()).to_numpy(zero_copy_only=False)
    from sqlml.training.groups import split_groups

    frame = pa.table(
        {
            **{c: table.column(c) for c in ids},
            "__sqlml_s": pa.array(seconds, pa.int64()),
            "__sqlml_v": pa.array(values, pa.float64()),
            "__sqlml_r": pa.array(np.arange(table.num_rows), pa.int64()),
        }
    )
    parts = split_groups(frame, ids) if ids else [((), frame)]  # one pass, Arrow's grouping
    return {
        key: tuple(
            part.column(c).to_numpy(zero_copy_only=False)
            for c in ("__sqlml_s", "__sqlml_v", "__sqlml_r")
        )
        for key, part in parts
    }


def _matched(stamps: np.ndarray, arrays: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Each of ``stamps``' step in the series' forecast (its timestamps ascend), and whether it
    has one."""
    forecast = arrays["forecast_timestamp"]
    at = np.minimum(np.searchsorted(forecast, stamps), max(len(forecast) - 1, 0))
    found = (forecast[at] == stamps) if len(forecast) else np.zeros(len(stamps), dtype=bool)
    return at, found


def _aggregated(record: ModelRecord, actual: dict, forecasts: dict, level: float) -> pa.Table:
    keys, rows = [], []
    for key, arrays in forecasts.items():
        if key not in actual:
            continue
        stamps, values, _ = actual[key]
        at, found = _matched(stamps, arrays)
        found &= ~np.isnan(values)
        if not found.any():
            continue
        predicted = arrays["forecast_value"][at[found]]
        truth = values[found]
        error = predicted - truth
        with np.errstate(divide="ignore", invalid="ignore"):
            mape = np.mean(np.abs(error) / np.abs(truth)) * 100
            smape = np.mean(2 * np.abs(error) / (np.abs(predicted) + np.abs(truth))) * 100
        keys.append(key)
        rows.append(
            (
                float(np.mean(np.abs(error))),
                float(np.mean(error**2)),
                float(np.sqrt(np.mean(error**2))),
                float(mape) if np.isfinite(mape) else None,
                float(smape) if np.isfinite(smape) else None,
            )
        )
    names = (
        "mean_absolute_error",
        "mean_squared_error",
        "root_mean_squared_error",
        "mean_absolute_percentage_error",
        "symmetric_mean_absolute_percentage_error",
    )
    columns = dict(
        zip(
            [f.name for f in id_fields(record)],
            id_arrays(record, keys, [1] * len(keys)),
            strict=True,
        )
    )
    for i, name in enumerate(names):
        columns[name] = pa.array([r[i] for r in rows], pa.float64())
    return pa.table(columns)


def _per_timestamp(record: ModelRecord, actual: dict, forecasts: dict, level: float) -> pa.Table:
    series = record.spec["time_series"]
    data = series["data_col"]
    z = NormalDist().inv_cdf(0.5 + level / 2)
    keys: list[tuple[Any, ...]] = []
    counts: list[int] = []
    stamps_out: list[np.ndarray] = []
    values_out, predicted_out, low_out, high_out = [], [], [], []
    for key in sorted(actual, key=lambda k: [(v is not None, v) for v in k]):
        stamps, values, _ = actual[key]
        order = np.argsort(stamps, kind="stable")
        stamps, values = stamps[order], values[order]
        arrays = forecasts.get(key)
        predicted = np.full(len(stamps), np.nan)
        error = np.full(len(stamps), np.nan)
        if arrays is not None:
            at, found = _matched(stamps, arrays)
            predicted[found] = arrays["forecast_value"][at[found]]
            error[found] = arrays["standard_error"][at[found]]
        keys.append(key)
        counts.append(len(stamps))
        stamps_out.append(stamps)
        values_out.append(values)
        predicted_out.append(predicted)
        low_out.append(predicted - z * error)
        high_out.append(predicted + z * error)

    def column(parts: list[np.ndarray]) -> pa.Array:
        values = np.concatenate(parts) if parts else np.array([])
        return pa.array(values, pa.float64(), mask=np.isnan(values))

    truth = np.concatenate(values_out) if values_out else np.array([])
    predicted = np.concatenate(predicted_out) if predicted_out else np.array([])
    absolute = np.abs(predicted - truth)
    with np.errstate(divide="ignore", invalid="ignore"):
        percentage = absolute / np.abs(truth) * 100
    percentage[~np.isfinite(percentage)] = np.nan
    columns = dict(
        zip([f.name for f in id_fields(record)], id_arrays(record, keys, counts), strict=True)
    )
    columns[series["timestamp_col"]] = timestamps(
        np.concatenate(stamps_out) if stamps_out else np.array([], dtype=np.int64)
    )
    columns[data] = column(values_out)
    columns[f"forecasted_{data}"] = column(predicted_out)
    columns["lower_bound"] = column(low_out)
    columns["upper_bound"] = column(high_out)
    columns["absolute_error"] = column([absolute])
    columns["absolute_percentage_error"] = column([percentage])
    return pa.table(columns)


# --- ML.DETECT_ANOMALIES of a time-series model ---------------------------------------------------

DEFAULT_ANOMALY_THRESHOLD = 0.95


def detect_anomalies_forecast(ctx: CallContext) -> pa.Table:
    """ML.DETECT_ANOMALIES of an ARIMA_PLUS model (bigqueryml-syntax-detect-anomalies): without
    input rows, each fitted series' history against its trend and seasons; with them (and an
    ``anomaly_prob_threshold``), each input row against its series' forecast. A point's
    ``anomaly_probability`` is the normal probability of a smaller deviation, 2 Φ(|d| / σ) - 1,
    with σ the model's standard deviation (history) or the forecast's standard error; the bounds
    are the expected value ± the quantile of ``anomaly_prob_threshold``. Rows of series the model
    does not know, or outside its forecast, get NULL results."""
    record = ctx.record
    series = record.spec["time_series"]
    threshold = ctx.options.get("anomaly_prob_threshold")
    if "contamination" in ctx.options:
        raise OptionError(
            f"ML.DETECT_ANOMALIES of time-series model {record.name} takes STRUCT(<p> AS "
            f"anomaly_prob_threshold), not contamination."
        )
    if ctx.has_input and threshold is None:
        raise OptionError(
            f"ML.DETECT_ANOMALIES(MODEL {record.name}, STRUCT(<p> AS anomaly_prob_threshold), "
            f"TABLE t) needs the threshold to judge new rows, as BigQuery does; as in STRUCT(0.95 "
            f"AS anomaly_prob_threshold)."
        )
    threshold = DEFAULT_ANOMALY_THRESHOLD if threshold is None else threshold
    z = NormalDist().inv_cdf(0.5 + threshold / 2)
    if not ctx.has_input:
        if not series.get("decomposed"):
            raise ProgrammingError(
                f"ML.DETECT_ANOMALIES of model {record.name}'s history needs the decomposition "
                f"that decompose_time_series = FALSE left out; train it again without that "
                f"option, or pass new rows."
            )
        return _history_anomalies(ctx, z, threshold)
    return _new_anomalies(ctx, z, threshold)


def _probability(deviation: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    from scipy.special import erf

    with np.errstate(divide="ignore", invalid="ignore"):
        return erf(np.abs(deviation) / (sigma * np.sqrt(2)))


def _history_anomalies(ctx: CallContext, z: float, threshold: float) -> pa.Table:
    record = ctx.record
    series = record.spec["time_series"]
    keys, counts, parts = [], [], []
    for window in windows(ctx):
        for group, arrays in window:
            parts_of = explained(group, arrays, 0, z, threshold)
            data = parts_of["time_series_data"].to_numpy(zero_copy_only=False)
            expected = parts_of["time_series_adjusted_data"].to_numpy(zero_copy_only=False)
            sigma = np.sqrt(group.spec["variance"] or 0.0)
            known = ~np.isnan(arrays["history_data"])  # interpolated points are not judged
            keys.append(group.key)
            counts.append(int(known.sum()))
            parts.append(
                (
                    arrays["history_time"][known],
                    data[known],
                    expected[known],
                    np.full(int(known.sum()), sigma),
                )
            )
    return _anomaly_table(record, series, keys, counts, parts, z, threshold, None)


def _new_anomalies(ctx: CallContext, z: float, threshold: float) -> pa.Table:
    record = ctx.record
    series = record.spec["time_series"]
    assert ctx.call.input_sql is not None
    table = ctx.backend.arrow(ctx.call.input_sql, ctx.params)
    actual = _actuals(ctx, table)
    forecasts: dict[tuple[Any, ...], dict[str, np.ndarray]] = {}
    for window in windows(ctx):
        for group, arrays in window:
            forecasts[group.key] = arrays
    keys, counts, parts = [], [], []
    for key, (stamps, values, rows) in actual.items():
        expected = np.full(len(stamps), np.nan)
        sigma = np.full(len(stamps), np.nan)
        arrays = forecasts.get(key)
        if arrays is not None:
            at, found = _matched(stamps, arrays)
            expected[found] = arrays["forecast_value"][at[found]]
            sigma[found] = arrays["standard_error"][at[found]]
        keys.append(key)
        counts.append(len(stamps))
        parts.append((stamps, values, expected, sigma, rows))
    return _anomaly_table(record, series, keys, counts, parts, z, threshold, table)


def _anomaly_table(
    record: ModelRecord,
    series: dict[str, Any],
    keys: list[tuple[Any, ...]],
    counts: list[int],
    parts: list[tuple[np.ndarray, ...]],
    z: float,
    threshold: float,
    table: pa.Table | None,
) -> pa.Table:
    def joined(i: int, kind: Any = np.float64) -> np.ndarray:
        arrays = [p[i] for p in parts]
        return np.concatenate(arrays).astype(kind) if arrays else np.array([], dtype=kind)

    stamps, data, expected, sigma = joined(0, np.int64), joined(1), joined(2), joined(3)
    probability = _probability(data - expected, sigma)
    unknown = np.isnan(expected) | np.isnan(sigma)
    columns = dict(
        zip([f.name for f in id_fields(record)], id_arrays(record, keys, counts), strict=True)
    )
    columns[series["timestamp_col"]] = timestamps(stamps)
    columns[series["data_col"]] = pa.array(data, pa.float64(), mask=np.isnan(data))
    columns["is_anomaly"] = pa.array(probability > threshold, pa.bool_(), mask=unknown)
    columns["lower_bound"] = pa.array(expected - z * sigma, pa.float64(), mask=unknown)
    columns["upper_bound"] = pa.array(expected + z * sigma, pa.float64(), mask=unknown)
    columns["anomaly_probability"] = pa.array(probability, pa.float64(), mask=unknown)
    out = pa.table(columns)
    if table is not None:  # followed by the input's other columns, in the input's row order
        out = out.take(pa.array(_inverse(joined(4, np.int64))))
        taken = {n.lower() for n in out.column_names}
        for name in table.column_names:
            if name.lower() not in taken:
                out = out.append_column(name, table.column(name))
    return out


def _inverse(rows: np.ndarray) -> np.ndarray:
    """The positions that put rows numbered ``rows`` back in their input order."""
    inverse = np.empty(len(rows), dtype=np.int64)
    inverse[rows] = np.arange(len(rows))
    return inverse
