"""EXPLAIN <ML statement>: one row per step, (step, engine, reason, sql), and nothing runs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from sqlml.plan import Job
from sqlml.plan.jobs import (
    AlterModelJob,
    DropModelJob,
    ExplainJob,
    ExportModelJob,
    MLQuery,
    PassThrough,
    ShowModelJob,
    TrainJob,
)
from sqlml.plan.sources import FileSource

if TYPE_CHECKING:
    from sqlml.core.executor import Executor


EXPLAIN_SCHEMA = pa.schema(
    [("step", pa.string()), ("engine", pa.string()), ("reason", pa.string()), ("sql", pa.string())]
)


@dataclass(frozen=True)
class ExplainTarget:
    """What EXPLAIN needs to describe a job: its engine and why, and where models are kept."""

    engine: str
    reason: str
    local_training_rows: int | None  # Spark's limit for collected training (None: not Spark)
    catalog_engine: str
    catalog: str


def explain_only_engine(executor: Executor, job: ExplainJob) -> pa.Table:
    """EXPLAIN on a connection with one engine: every step runs there."""
    backend = executor.backend
    place = ExplainTarget(
        backend.name,
        "the connection's only engine",
        backend.local_training_rows,
        executor.catalog.backend.name,
        backend.catalog_place,
    )
    return explain_table(explain_steps(job.job, place, executor))


def explain_table(rows: list[tuple[str, str, str, str | None]]) -> pa.Table:
    columns = list(zip(*rows, strict=True)) if rows else [(), (), (), ()]
    return pa.Table.from_arrays(
        [pa.array([_text(v) for v in c], pa.string()) for c in columns], schema=EXPLAIN_SCHEMA
    )


def _text(value: str | None) -> str | None:
    """A step's text as UTF-8 can hold it: a lone surrogate (text that no engine could run
    either) is shown as its ``\\udXXX`` escape rather than failing the EXPLAIN."""
    if value is None:
        return None
    return value.encode("utf-8", "backslashreplace").decode("utf-8")


def explain_steps(job: Job, place: ExplainTarget, executor: Executor) -> list[tuple[Any, ...]]:
    """One row per step of ``job`` as it will run: (step, engine, reason, sql)."""
    if isinstance(job, TrainJob):
        return _explain_training(job, place, executor)
    if isinstance(job, MLQuery):
        return _explain_ml_query(job, place)
    if isinstance(job, PassThrough):
        return [("statement", place.engine, place.reason, job.sql)]
    what = {
        DropModelJob: "deletes every version of the model from",
        AlterModelJob: "writes the model's live version again, with the new options, to",
        ExportModelJob: "reads the model's ONNX bytes from",
        ShowModelJob: "reads",
    }[type(job)]
    return [("catalog", place.catalog_engine, f"{what} {place.catalog}", None)]


def _explain_training(
    job: TrainJob, place: ExplainTarget, executor: Executor
) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = []
    if job.query_sql:
        rows.append(("training query", place.engine, place.reason, job.query_sql))
        rows.append(("training", place.engine, _training_path(job, place), None))
    else:
        path = job.options.get("model_path")
        rows.append(
            ("import", place.catalog_engine, f"reads and checks the ONNX file {path!r}", None)
        )
    version = executor.catalog.next_version(job.name)
    stored = f"model {job.name} is stored as version {version} in {place.catalog}"
    if job.if_not_exists:
        stored += " (skipped if the model exists: IF NOT EXISTS)"
    insert = f"INSERT INTO sqlml.models ({', '.join(_catalog_columns())}) VALUES (…)"
    rows.append(("catalog", place.catalog_engine, stored, insert))
    return rows


def _catalog_columns() -> tuple[str, ...]:
    from sqlml.catalog import COLUMNS

    return COLUMNS


def _training_path(job: TrainJob, place: ExplainTarget) -> str:
    forced = str(job.options.get("engine") or "").lower()
    if place.local_training_rows is None:  # DuckDB
        if forced == "spark":
            return (
                "fails: OPTIONS (engine = 'spark') needs a connection with Spark "
                "(sqlml.connect(database, spark_master=...))"
            )
        return "scikit-learn on the rows read into this process"
    from sqlml.models.registry import MODEL_TYPES

    entry = MODEL_TYPES.get(str(job.options.get("model_type") or "").lower())
    # Types without an MLlib estimator (pca, dnn_regressor): numpy jobs on the executors compute
    # them (sqlml.training.mllib); the rest are Spark MLlib estimators.
    executors = (
        "numpy on the executors (statistics / L-BFGS gradients as Spark jobs)"
        if entry is not None and entry.spark is not None and entry.spark.path == "numpy"
        else "Spark MLlib on the executors"
    )
    if forced == "spark":
        return f"{executors} (OPTIONS engine = 'spark')"
    if forced == "duckdb":
        return "scikit-learn on the rows collected to the driver (OPTIONS engine = 'duckdb')"
    return (
        f"{executors} when the query has more than local_training_rows rows "
        f"({place.local_training_rows:,}), else scikit-learn on the collected rows"
    )


def _explain_ml_query(job: MLQuery, place: ExplainTarget) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = []
    for call in job.calls:
        step = f"ML.{call.function}(MODEL {call.model})"
        if call.input_sql is None:
            rows.append((step, place.catalog_engine, "reads the model only: no input rows", None))
        else:
            how = (
                "scored on the executors (mapInArrow, ONNX Runtime)"
                if place.engine == "spark" and call.function == "PREDICT"
                else "read as Arrow batches through ONNX Runtime in this process"
            )
            rows.append((f"{step} input", place.engine, f"{place.reason}; {how}", call.input_sql))
    sql = job.sql  # each call's rows under its slot name, as sqlml.plan.slots wrote it
    reason = "the ML calls' results are read as temporary " + (
        "views" if place.engine == "spark" else "Arrow sources"
    )
    if job.bare:
        reason = "the ML call's rows are the result as they are (no further SQL runs)"
    rows.append(("statement", place.engine, reason, sql))
    return rows


def spark_reader(source: FileSource, paths: Sequence[str]) -> str:
    """The Spark call that reads a file source, as EXPLAIN shows it (see SparkBackend.read_files)."""
    listed = ", ".join(repr(p) for p in paths)
    if source.format == "parquet":
        return f"spark.read.parquet({listed})"
    return f'spark.read.option("header", True).option("inferSchema", True).csv([{listed}])'
