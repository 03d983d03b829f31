"""One model per group on Spark's executors (``CREATE MODEL … PARTITION BY`` on the Spark engine,
issue 13): ``groupBy(partition columns).applyInArrow``, one task per group, each fitting its
rows with :func:`sqlml.training.fit.fit` — the same options, split and fidelity check as on
DuckDB — and returning one row: the group's values (JSON), its status, reason, ONNX bytes and
JSON metadata. Only those rows reach the driver, never the training rows.

The executors need sqlml's training libraries (scikit-learn, skl2onnx, onnxmltools, xgboost, as
``xgboost.spark`` already does); sqlml itself is shipped to them with the session
(:func:`ship_sqlml`), beside ``sqlml_udfs``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

import pyarrow as pa

from sqlml import progress
from sqlml.backends.spark.errors import spark_errors, translate_error

log = logging.getLogger("sqlml.training")

#: What each group's task returns (one row).
RESULT_SCHEMA = (
    "group_key STRING, training_rows BIGINT, status STRING, reason STRING, onnx BINARY, "
    "spec STRING, metrics STRING, training_info STRING, fidelity STRING, features STRING"
)


def fit_groups_on_executors(
    backend: Any,
    sql: str,
    by: Sequence[str],
    *,
    model: str,
    raw_options: dict[str, Any],
    label: str | None,
    min_group_rows: int,
) -> list[Any]:
    """Each group of ``sql``'s rows by the ``by`` columns fitted on the executors; their
    :class:`~sqlml.training.groups.GroupOutcome` in the order of the values (NULL first)."""
    from sqlml.catalog import decode_key
    from sqlml.training.contract import TrainedModel
    from sqlml.training.groups import GroupOutcome

    ship_sqlml(backend)
    frame = backend.sql(sql)
    types = {f.name: f.type for f in backend.to_arrow(frame.limit(0)).schema}
    columns = [{"name": c, "type": str(types[c])} for c in by]
    train = _group_task(list(by), model, raw_options, label, min_group_rows)
    progress.stage("fitting one model per group on the executors")
    try:
        grouped = frame.groupBy(*[backend.quote(c) for c in by]).applyInArrow(train, RESULT_SCHEMA)
        table = backend.to_arrow(grouped)
    except spark_errors() as exc:
        raise translate_error(exc) from exc
    progress.stage("reading the groups' models", table.num_rows, "groups")
    outcomes = []
    for row in table.to_pylist():
        key = decode_key(row["group_key"], columns)
        trained = None
        if row["status"] == "trained":
            trained = TrainedModel(
                onnx=row["onnx"],
                spec=json.loads(row["spec"]),
                metrics=json.loads(row["metrics"]),
                training_info=json.loads(row["training_info"]),
                fidelity=json.loads(row["fidelity"]),
                features=json.loads(row["features"]),
            )
        outcomes.append(
            GroupOutcome(key, row["training_rows"], row["status"], row["reason"] or "", trained)
        )
        progress.advance()
    return sorted(outcomes, key=lambda o: [(v is not None, v) for v in o.key])


def _group_task(
    by: list[str], model: str, raw_options: dict[str, Any], label: str | None, min_rows: int
) -> Any:
    """The function each group's task runs (on an executor): plain values only in its closure."""

    def train(table: pa.Table) -> pa.Table:
        from sqlml.catalog import encode_key
        from sqlml.errors import Error, OperationalError
        from sqlml.models.options import validate
        from sqlml.training.fit import fit

        key = tuple(table.column(c)[0].as_py() for c in by)
        row: dict[str, Any] = {
            "group_key": encode_key(key),
            "training_rows": table.num_rows,
            "status": "skipped",
            "reason": None,
        }
        if table.num_rows < min_rows:
            row["reason"] = f"{table.num_rows} rows, fewer than min_group_rows = {min_rows}"
        else:
            try:
                trained = fit(
                    table.drop_columns(by),
                    model=model,
                    options=validate(dict(raw_options), model),
                    label=label,
                )
            except OperationalError:
                raise
            except Error as exc:
                row |= {"status": "failed", "reason": str(exc)}
            else:
                row |= {
                    "status": "trained",
                    "onnx": trained.onnx,
                    "spec": json.dumps(trained.spec),
                    "metrics": json.dumps(trained.metrics),
                    "training_info": json.dumps(trained.training_info),
                    "fidelity": json.dumps(trained.fidelity),
                    "features": json.dumps(trained.features),
                }
        names = [field.split()[0] for field in RESULT_SCHEMA.split(", ")]
        return pa.table({name: [row.get(name)] for name in names}, schema=_result_arrow())

    return train


def _result_arrow() -> pa.Schema:
    kinds = {"STRING": pa.string(), "BIGINT": pa.int64(), "BINARY": pa.binary()}
    return pa.schema(
        [
            pa.field(name, kinds[kind])
            for name, kind in (field.split() for field in RESULT_SCHEMA.split(", "))
        ]
    )


_SHIPPED: set[int] = set()


def ship_sqlml(backend: Any) -> None:
    """sqlml as a zip on the executors' path, once per SparkContext (a local session's
    executors share the driver's environment already; a cluster's get the package)."""
    spark = backend.spark
    context = getattr(spark, "sparkContext", None)
    if context is None or id(context) in _SHIPPED:
        return  # Spark Connect: the server's environment
    if context.master.startswith("local"):
        _SHIPPED.add(id(context))
        return
    import tempfile
    import zipfile
    from pathlib import Path

    package = Path(__file__).resolve().parents[2]  # sqlml/training/mllib/groups.py
    archive = Path(tempfile.mkdtemp(prefix="sqlml_")) / "sqlml.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for source in package.rglob("*"):
            if source.is_file() and "__pycache__" not in source.parts:
                zipped.write(source, f"sqlml/{source.relative_to(package)}")
    context.addPyFile(str(archive))
    _SHIPPED.add(id(context))
    log.info("sqlml shipped to the executors for per-group training")
