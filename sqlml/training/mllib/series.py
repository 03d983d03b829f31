"""Many time series on Spark's executors (ARIMA_PLUS on the Spark engine, issue 14):
``groupBy(id columns).applyInArrow``, one task per series, each fitting its rows with
:func:`sqlml.training.forecast.fit_series` — the same pipeline as on DuckDB — and returning one
row: the series' id (JSON), its row count, its error message or its spec and forecast graph. Only
those rows reach the driver, never the training rows.

The executors need statsforecast (beside sqlml's other training libraries); sqlml itself is shipped
to a cluster's executors with the session (:func:`sqlml.training.mllib.groups.ship_sqlml`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pyarrow as pa

from sqlml import progress
from sqlml.backends.spark.errors import spark_errors, translate_error
from sqlml.training.mllib.groups import ship_sqlml

#: What each series' task returns (one row).
RESULT_SCHEMA = "series_key STRING, training_rows BIGINT, error STRING, spec STRING, onnx BINARY"
_KINDS = {"STRING": pa.string(), "BIGINT": pa.int64(), "BINARY": pa.binary()}


def fit_series_on_executors(
    backend: Any,
    sql: str,
    ids: Sequence[str],
    timestamp: str,
    data: str,
    options: dict[str, Any],
    base: dict[str, str],
    id_cols: list[dict[str, str]],
) -> list[Any]:
    """Each series of ``sql``'s rows by the ``ids`` columns fitted on the executors (all rows one
    series without ids); their :class:`~sqlml.training.forecast.SeriesResult` in the order of the
    ids (NULL first)."""
    from sqlml.catalog import decode_key
    from sqlml.training.forecast import SeriesResult

    ship_sqlml(backend)
    quote = backend.quote
    frame = backend.sql(
        f"SELECT {', '.join(quote(c) for c in [*ids, timestamp, data])} FROM ({sql}) AS __sqlml_ts"
    )
    task = _series_task(list(ids), timestamp, data, options, base, id_cols)
    progress.stage("fitting one model per time series on the executors")
    try:
        grouped = (
            frame.groupBy(*[quote(c) for c in ids]) if ids else frame.groupBy()
        ).applyInArrow(task, RESULT_SCHEMA)
        table = backend.to_arrow(grouped)
    except spark_errors() as exc:
        raise translate_error(exc) from exc
    results = [
        SeriesResult(
            decode_key(row["series_key"], id_cols),
            row["training_rows"],
            row["error"] or "",
            json.loads(row["spec"]) if row["spec"] else {},
            row["onnx"],
        )
        for row in table.to_pylist()
    ]
    return sorted(results, key=lambda r: [(v is not None, v) for v in r.key])


def _series_task(
    ids: list[str],
    timestamp: str,
    data: str,
    options: dict[str, Any],
    base: dict[str, str],
    id_cols: list[dict[str, str]],
) -> Any:
    """The function each series' task runs (on an executor): plain values only in its closure."""

    def fit(table: pa.Table) -> pa.Table:
        from sqlml.training.forecast import fit_or_error, fit_rows, series_result

        key = tuple(table.column(c)[0].as_py() for c in ids)
        fitted = fit_or_error(
            key, table.num_rows, lambda: fit_rows(table, timestamp, data, options)
        )
        result = series_result(key, table.num_rows, fitted, base, id_cols)
        from sqlml.catalog import encode_key

        row = {
            "series_key": encode_key(key),
            "training_rows": table.num_rows,
            "error": result.error or None,
            "spec": json.dumps(result.spec) if not result.error else None,
            "onnx": result.onnx,
        }
        fields = [field.split() for field in RESULT_SCHEMA.split(", ")]
        schema = pa.schema([pa.field(name, _KINDS[kind]) for name, kind in fields])
        return pa.table({name: [row[name]] for name, _ in fields}, schema=schema)

    return fit
