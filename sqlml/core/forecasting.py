"""CREATE MODEL … OPTIONS (model_type = 'ARIMA_PLUS', …): one model per time series, fitted and
forecast at CREATE MODEL as BigQuery does, stored as one version (issue 14).

The training query's rows are read, split by the ``time_series_id_col`` columns (one series per
distinct value; without them, the whole query is one series) and fitted series by series in the
training pool (:func:`sqlml.training.forecast.fit_many`). The version's row in ``sqlml.models``
holds the options and the counts; each series is a row of ``sqlml.model_groups`` — its fitted
parameters (spec), its error message when it could not be fitted, and its forecast and history as a
small ONNX graph (:func:`sqlml.training.forecast.series_graph`) — written in the same transaction,
before the version: the old version answers until it commits. A series that cannot be fitted is an
error row (ML.ARIMA_EVALUATE shows it), not a failed statement; the statement fails only when no
series could be fitted.
"""

from __future__ import annotations

import dataclasses
import time
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from sqlml import progress
from sqlml.catalog import GroupRecord
from sqlml.errors import (
    NotSupportedError,
    OptionError,
    ProgrammingError,
    SchemaError,
    TrainingError,
)
from sqlml.training.contract import TrainedModel, fingerprint

if TYPE_CHECKING:
    from sqlml.catalog import ModelRecord
    from sqlml.core.executor import Executor, Result
    from sqlml.models.options import ModelOptions
    from sqlml.plan.jobs import TrainJob

_NESTED = (pa.types.is_list, pa.types.is_large_list, pa.types.is_struct, pa.types.is_map)


def check_options(options: ModelOptions, job: TrainJob) -> None:
    """What BigQuery's create-time-series page requires of the options together."""
    name = job.name
    if job.partition is not None:
        raise ProgrammingError(
            f"PARTITION BY does not apply to an ARIMA_PLUS model (CREATE MODEL {name}): it fits "
            f"one model per time series already; name the series' columns in "
            f"time_series_id_col = ['{job.partition.columns[0]}']."
        )
    if job.label is not None:
        raise OptionError(
            f"The 'input_label_cols' option does not apply to model_type 'ARIMA_PLUS' (CREATE "
            f"MODEL {name}): a time-series model forecasts its time_series_data_col; name the "
            f"column there."
        )
    if job.transform is not None:
        raise NotSupportedError(
            f"A TRANSFORM clause with an ARIMA_PLUS model (CREATE MODEL {name}) is not supported "
            f"yet; compute the columns in the training query."
        )
    required = ("time_series_timestamp_col", "time_series_data_col")
    if job.form == "redshift":  # FROM (id, time, target): the timestamp column is found by type
        required = ("time_series_data_col",)
    missing = [o for o in required if options.get(o) is None]
    if missing:
        raise OptionError(
            f"CREATE MODEL {name} (model_type 'ARIMA_PLUS') needs the option(s) "
            f"{', '.join(missing)}: the column of each point's time and the column of its value, "
            f"as in OPTIONS (model_type = 'ARIMA_PLUS', time_series_timestamp_col = 'day', "
            f"time_series_data_col = 'sales')."
        )
    order = options.get("non_seasonal_order")
    auto = options.get("auto_arima")
    if order is not None:
        if len(order) != 3 or order[1] > 2:
            raise OptionError(
                f"The 'non_seasonal_order' option of CREATE MODEL {name} is (p, d, q): p and q "
                f"in [0, 5], d in [0, 2]; got {tuple(order)}."
            )
        if auto:
            raise OptionError(
                f"CREATE MODEL {name} sets 'non_seasonal_order' with auto_arima = TRUE (the "
                f"default); a given order needs auto_arima = FALSE."
            )
    elif not auto:
        raise OptionError(
            f"CREATE MODEL {name} sets auto_arima = FALSE without 'non_seasonal_order'; give the "
            f"order, as in non_seasonal_order = (1, 1, 1), or let auto_arima choose it."
        )
    if options.get("include_drift"):
        if auto:
            raise OptionError(
                f"include_drift = TRUE in CREATE MODEL {name} applies with auto_arima = FALSE "
                f"(auto_arima decides on a drift itself)."
            )
        if order is not None and order[1] != 1:
            raise OptionError(
                f"include_drift = TRUE in CREATE MODEL {name} needs d = 1 in non_seasonal_order; "
                f"got d = {order[1]}."
            )
    if options.get("max_time_series_length") is not None and (
        options.get("time_series_length_fraction") is not None
        or "min_time_series_length" in options.given
    ):
        raise OptionError(
            f"CREATE MODEL {name} sets max_time_series_length with time_series_length_fraction "
            f"or min_time_series_length; give the trend's last points one way: a number, or a "
            f"fraction (with its minimum)."
        )
    if "min_time_series_length" in options.given and (
        options.get("time_series_length_fraction") is None
    ):
        raise OptionError(
            f"The 'min_time_series_length' option of CREATE MODEL {name} applies with "
            f"time_series_length_fraction (the fewest points the fraction may leave)."
        )
    seasons = [str(v).upper() for v in options.get("seasonalities") or ["AUTO"]]
    allowed = ("AUTO", "NO_SEASONALITY", "DAILY", "WEEKLY", "MONTHLY", "QUARTERLY", "YEARLY")
    odd = [v for v in seasons if v not in allowed]
    if odd or (len(seasons) > 1 and {"AUTO", "NO_SEASONALITY"} & set(seasons)):
        raise OptionError(
            f"The 'seasonalities' option of CREATE MODEL {name} is ['AUTO'], ['NO_SEASONALITY'] "
            f"or a list of DAILY, WEEKLY, MONTHLY, QUARTERLY, YEARLY; got {seasons}."
        )
    regions = options.get("holiday_region")
    if regions:
        from sqlml.training.holiday_effects import unknown_regions

        unknown = unknown_regions(regions)
        if unknown:
            raise OptionError(
                f"Unknown holiday_region {', '.join(repr(r) for r in unknown)} in CREATE MODEL "
                f"{name}; use GLOBAL, NA, JAPAC, EMEA, LAC or a country code such as 'US'."
            )
    if options.get("time_series_id_col") and not auto:
        raise OptionError(
            f"CREATE MODEL {name} fits many time series (time_series_id_col): auto_arima must be "
            f"TRUE, as each series gets its own order."
        )


def train_forecast(
    executor: Executor,
    job: TrainJob,
    options: ModelOptions,
    existing: ModelRecord | None,
    notices: list[str],
) -> Result:
    from sqlml.core.partitioned import on_executors

    check_options(options, job)
    started = time.perf_counter()
    progress.stage("reading the data")
    if job.calls is not None:
        raise NotSupportedError(
            f"ML calls in the training query of an ARIMA_PLUS model (CREATE MODEL {job.name}) are "
            f"not supported yet; store their rows in a table first."
        )
    version = executor.catalog.next_version(job.name)
    base = {"sqlml.model": job.name, "sqlml.version": str(version)}
    if on_executors(executor.backend, job):
        schema, rows, data_print, results = _fit_on_executors(executor, job, options, base)
        path = "statsforecast, one model per time series on the executors"
    else:
        schema, rows, data_print, results = _fit_here(executor, job, options, base)
        path = "statsforecast, one model per time series"
    timestamp, data, ids = _columns(schema, options, job.name)
    fitted = [r for r in results if not r.error]
    if not fitted:
        reasons = "; ".join(f"{_shown(r.key)}: {r.error}" for r in results[:3])
        raise TrainingError(
            f"CREATE MODEL {job.name}: no time series could be fitted ({len(results)} series; "
            f"{reasons})."
        )
    id_cols = [{"name": c, "type": str(schema.field(c).type)} for c in ids]
    counts = {"fitted": len(fitted), "failed": len(results) - len(fitted)}
    spec: dict[str, Any] = {
        "task": "forecasting",
        "model_type": options.model_type,
        "label": None,
        "features": [],
        "time_series": {
            "timestamp_col": timestamp,
            "data_col": data,
            "id_cols": id_cols,
            "horizon": options.get("horizon"),
            "decomposed": bool(options.get("decompose_time_series")),
        },
        "groups_version": version,
        "series": counts,
    }
    info = {
        "training_path": path,
        "training_rows": rows,
        "time_series": len(results),
        **counts,
        "duration_seconds": round(time.perf_counter() - started, 4),
    }
    trained = TrainedModel(
        onnx=b"",
        spec=spec,
        metrics={},
        training_info=info,
        fidelity={"checked": "stored forecasts"},
        features=[],
        options=options,
        fingerprint=data_print,
    )
    record = dataclasses.replace(executor._record(job, options, trained), onnx=b"")
    assert record.version == version
    groups = [
        GroupRecord(i, r.key, r.rows, "failed", r.error)
        if r.error
        else GroupRecord(i, r.key, r.rows, "trained", spec=r.spec, onnx=r.onnx)
        for i, r in enumerate(results)
    ]
    progress.stage("storing")
    executor._store(record, groups)
    if existing is not None and existing.function_name:
        executor._unregister(existing)
    if counts["failed"]:
        notices.append(
            f"{job.name}: {counts['fitted']} of {len(results)} time series fitted, "
            f"{counts['failed']} could not be (they have no forecast); SELECT * FROM "
            f"ML.ARIMA_EVALUATE(MODEL {job.name}) says why."
        )
    return executor._status("CREATE MODEL", notices)


def _fit_here(
    executor: Executor, job: TrainJob, options: ModelOptions, base: dict[str, str]
) -> tuple[pa.Schema, int, str, list[Any]]:
    """The training rows read into this process, each series fitted in the training pool."""
    from sqlml.training.forecast import fit_many, series_result

    table = executor.backend.arrow(job.query_sql)
    timestamp, data, ids = _columns(table.schema, options, job.name)
    if table.num_rows == 0:
        raise TrainingError(f"The training query of CREATE MODEL {job.name} returned no rows.")
    id_cols = [{"name": c, "type": str(table.schema.field(c).type)} for c in ids]
    fits = fit_many(table, ids, timestamp, data, _fit_options(options))
    results = [series_result(key, rows, fit, base, id_cols) for key, rows, fit in fits]
    return table.schema, table.num_rows, fingerprint(table.schema, table.num_rows, table), results


def _fit_on_executors(
    executor: Executor, job: TrainJob, options: ModelOptions, base: dict[str, str]
) -> tuple[pa.Schema, int, str, list[Any]]:
    """Each series fitted by a task of its own on the engine's workers
    (:mod:`sqlml.training.mllib.series`); only the forecasts reach this process."""
    from sqlml.training.contract import FINGERPRINT_ROWS
    from sqlml.training.mllib.series import fit_series_on_executors

    backend, sql = executor.backend, job.query_sql
    head = backend.arrow(f"SELECT * FROM ({sql}) AS __sqlml_head LIMIT {FINGERPRINT_ROWS}")
    timestamp, data, ids = _columns(head.schema, options, job.name)
    rows = int(backend.query(f"SELECT count(*) FROM ({sql}) AS __sqlml_count")[0][0])
    if rows == 0:
        raise TrainingError(f"The training query of CREATE MODEL {job.name} returned no rows.")
    id_cols = [{"name": c, "type": str(head.schema.field(c).type)} for c in ids]
    results = fit_series_on_executors(
        backend, sql, ids, timestamp, data, _fit_options(options), base, id_cols
    )
    return head.schema, rows, fingerprint(head.schema, rows, head), results


def _fit_options(options: ModelOptions) -> dict[str, Any]:
    order = options.get("non_seasonal_order")
    return {
        "horizon": int(options.get("horizon")),
        "frequency": options.get("data_frequency"),
        "auto_arima": bool(options.get("auto_arima")),
        "auto_arima_max_order": int(options.get("auto_arima_max_order")),
        "non_seasonal_order": tuple(order) if order is not None else None,
        "include_drift": bool(options.get("include_drift")),
        "clean_spikes_and_dips": bool(options.get("clean_spikes_and_dips")),
        "decompose": bool(options.get("decompose_time_series")),
        "holiday_region": options.get("holiday_region"),
        "time_series_length_fraction": options.get("time_series_length_fraction"),
        "min_time_series_length": int(options.get("min_time_series_length")),
        "max_time_series_length": options.get("max_time_series_length"),
        "seasonalities": [str(v).upper() for v in options.get("seasonalities") or ["AUTO"]],
        "trend_smoothing_window_size": options.get("trend_smoothing_window_size"),
    }


def _columns(schema: pa.Schema, options: ModelOptions, model: str) -> tuple[str, str, list[str]]:
    """The timestamp, data and id columns as the training query names them (BigQuery's column
    names are case-insensitive), their types checked."""
    by_lower = {name.lower(): name for name in schema.names}

    def find(option: str, wanted: str) -> str:
        found = by_lower.get(wanted.lower())
        if found is None:
            raise SchemaError(
                f"The '{option}' option of CREATE MODEL {model} names column '{wanted}', which "
                f"the training query does not return; its columns are: {', '.join(schema.names)}."
            )
        return found

    data = find("time_series_data_col", options["time_series_data_col"])
    if options.get("time_series_timestamp_col") is None:  # Redshift's form: by type, the rest ids
        timestamp = _timestamp_column(schema, data, model)
        ids = [n for n in schema.names if n not in (timestamp, data)]
    else:
        timestamp = find("time_series_timestamp_col", options["time_series_timestamp_col"])
        ids = [find("time_series_id_col", c) for c in options.get("time_series_id_col") or []]
    kind = schema.field(timestamp).type
    if not (pa.types.is_timestamp(kind) or pa.types.is_date(kind)):
        raise SchemaError(
            f"The time_series_timestamp_col '{timestamp}' of CREATE MODEL {model} is {kind}; it "
            f"must be a TIMESTAMP, DATE or DATETIME: CAST it in the training query."
        )
    kind = schema.field(data).type
    if not (pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind)):
        raise SchemaError(
            f"The time_series_data_col '{data}' of CREATE MODEL {model} is {kind}; it must be a "
            f"number (INT64, NUMERIC, BIGNUMERIC or FLOAT64)."
        )
    for column in ids:
        kind = schema.field(column).type
        if any(test(kind) for test in _NESTED) or column in (timestamp, data):
            raise SchemaError(
                f"The time_series_id_col '{column}' of CREATE MODEL {model} must be a plain "
                f"column other than the timestamp and data columns (a STRING or INT64); it is "
                f"{kind}."
            )
    return timestamp, data, ids


def _timestamp_column(schema: pa.Schema, data: str, model: str) -> str:
    """The one DATE or TIMESTAMP column of a Redshift FORECAST model's FROM query."""
    times = [
        f.name
        for f in schema
        if f.name != data and (pa.types.is_timestamp(f.type) or pa.types.is_date(f.type))
    ]
    if len(times) != 1:
        raise SchemaError(
            f"The FROM query of CREATE MODEL {model} (MODEL_TYPE FORECAST) needs exactly one DATE "
            f"or TIMESTAMP column, the time of each point, beside the series' id columns and the "
            f"TARGET; it has {len(times)}"
            + (f" ({', '.join(times)})" if times else "")
            + ". CAST the others to text."
        )
    return times[0]


def _shown(key: tuple[Any, ...]) -> str:
    return "the series" if not key else ", ".join("NULL" if v is None else str(v) for v in key)
