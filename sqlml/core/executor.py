"""Carry out jobs on a backend: train, score, evaluate, and keep the catalog and functions in step.

Every ML table function becomes an Arrow source registered under a temporary name, spliced into the
user's own SQL text in place of the ``ML.<FN>(...)`` call; the engine then runs the statement as
ordinary SQL. ML.PREDICT's source is a stream: the input is read in record batches and scored by ONNX
Runtime as the engine pulls them, so memory stays bounded and the engine never calls Python per row.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from sqlml import progress
from sqlml.catalog import Catalog, ModelRecord
from sqlml.core.model_functions import ModelFunctions
from sqlml.core.streams import SCORING_SHOWN_AFTER, watched
from sqlml.errors import (
    Error,
    IntegrityError,
    ModelExistsError,
    NotSupportedError,
    OperationalError,
    ProgrammingError,
)
from sqlml.models.registry import names, task_of
from sqlml.paths import file_errors, user_path
from sqlml.plan import Job
from sqlml.plan.jobs import (
    AlterModelJob,
    DropModelJob,
    EngineValue,
    ExportModelJob,
    MLCall,
    MLQuery,
    PassThrough,
    ShowModelJob,
    TrainJob,
)
from sqlml.plan.redshift import resolve_target
from sqlml.plan.slots import bind_parameters
from sqlml.training.contract import TrainedModel
from sqlml.training.labels import resolve_family
from sqlml.training.trainers import ON_WORKERS, placement, trainer_for
from sqlml.version import __version__

log = logging.getLogger("sqlml")


@dataclass
class Result:
    """What a job left for the cursor: a pending result on the engine, or a status."""

    has_result: bool
    status: str = ""
    # Rows already read (statements over Arrow sources are read whole, so the sources can be
    # dropped before the cursor returns), with the engine's description of them.
    table: pa.Table | None = None
    description: list[tuple[Any, ...]] | None = None
    rowcount: int = -1
    notices: list[str] = field(default_factory=list)
    #: A streaming cursor's rows, produced as they are read (sqlml.core.streaming.Stream).
    stream: Any = None


class Executor(ModelFunctions):
    """Runs planned jobs on one backend: the core that the DB-API connection, the CLI and the server
    all sit on."""

    def __init__(self, backend: Any, catalog: Catalog | None = None) -> None:
        """``catalog``: another engine's catalog to read and write models through (engine='auto'
        keeps one catalog, in DuckDB, for both engines); by default the backend's own."""
        self.backend = backend
        self.catalog = catalog if catalog is not None else Catalog(backend)
        self.register_model_functions()

    # --- entry point ----------------------------------------------------------------------------

    def run(self, job: Job, params: Sequence[Any] | None = None, stream: int = 0) -> Result:
        """``stream``: a query's rows are produced as they are fetched, in batches of that many
        (sqlml.core.streaming), where the engine can; 0: as usual."""
        if stream:
            from sqlml.core.streaming import streamed

            rows = streamed(self, job, params, stream)
            if rows is not None:
                return Result(
                    has_result=rows.stream is not None,
                    description=rows.description,
                    stream=rows.stream,
                    notices=rows.notices,
                )
        if isinstance(job, PassThrough):
            if params and job.parameters and not self.backend.capabilities.dollar_params:
                # Spark takes `?` and `:name` only: `$1` / `$name` bind as sqlml documents them.
                values = bind_parameters(job.parameters, params)
                return self._execute(job.positional_sql, values)
            return self._execute(job.sql, params)
        if isinstance(job, MLQuery):
            return self._run_ml_query(job, params)
        if params:
            raise ProgrammingError(
                "Parameters are not accepted by CREATE/ALTER/DROP/EXPORT/SHOW MODEL statements; "
                "put the values in the statement or in a table."
            )
        if isinstance(job, TrainJob):
            return self._train(job)
        if isinstance(job, AlterModelJob):
            return self._alter(job)
        if isinstance(job, DropModelJob):
            return self._drop(job)
        if isinstance(job, ExportModelJob):
            return self._export(job)
        if isinstance(job, ShowModelJob):
            return self._show(job)
        raise AssertionError(job)

    def _execute(self, sql: str, params: Sequence[Any] | None) -> Result:
        if (
            not self.backend.capabilities.streams_results
        ):  # e.g. Spark: the rows arrive whole, as Arrow
            return self._read_whole(sql, params)
        self.backend.execute(sql, params)
        return Result(has_result=True)

    def result_table(
        self, table: pa.Table, status: str = "", notices: list[str] | None = None
    ) -> Result:
        name = self.backend.temp_name("result")
        self.backend.register_arrow(name, table)
        try:
            sql = f"SELECT * FROM {self.backend.quote(name)}"
            return self._read_whole(sql, None, status, notices or [])
        finally:
            self.backend.unregister_arrow(name)

    def _read_whole(
        self,
        sql: str,
        params: Sequence[Any] | None,
        status: str = "",
        notices: list[str] | None = None,
    ) -> Result:
        """Run ``sql`` and read its result whole, while the Arrow sources it reads still exist.

        DuckDB keeps a result pending until it is fetched, and a registered source cannot be dropped
        while a result is pending; reading the rows now lets the sources go at once.
        """
        self.backend.execute(sql, params)
        description = self.backend.description()
        table = self.backend.fetch_arrow_table() if description is not None else None
        return Result(
            has_result=True,
            status=status,
            notices=notices or [],
            table=table,
            description=description,
        )

    # --- ML table functions ---------------------------------------------------------------------

    def ml_parameters(self, job: MLQuery, params: Any) -> tuple[list[Any], list[list[Any]]]:
        """The statement's parameter values, and each call's own."""
        values = bind_parameters(job.parameters, params)
        if len(values) != len(job.parameters):
            raise ProgrammingError(
                f"The statement has {len(job.parameters)} parameter placeholder(s) but "
                f"{len(values)} value(s) were given."
            )
        return values, [[values[i] for i in call.parameters] for call in job.calls]

    def _run_ml_query(self, job: MLQuery, params: Any) -> Result:
        values, inner = self.ml_parameters(job, params)
        if job.bare:
            return self._serve_directly(job.calls[0], inner[0])
        registered: list[str] = []
        failures: list[Exception] = []
        notices: list[str] = []
        # rows scored, counted as the engine pulls them: shown when the query takes a while
        progress.stage("scoring", unit="rows", after=SCORING_SHOWN_AFTER)
        try:
            for index, call in enumerate(job.calls):
                name = self.backend.temp_name(call.function.lower())
                source = watched(self.call_function(call, inner[index], notices), failures)
                self.backend.register_arrow(name, source)
                registered.append(name)
            sql = job.render(lambda i: self.backend.quote(registered[i]))
            try:
                return self._read_whole(sql, [values[i] for i in job.outer], notices=notices)
            except Error:
                # The engine wraps an error raised while it pulled a stream (a NULL the model
                # cannot take, say) in its own message, with a Python traceback inside: report
                # sqlml's error itself.
                if failures and isinstance(failures[0], Error):
                    raise failures[0] from None
                raise
        finally:
            for name in registered:
                self.backend.unregister_arrow(name)

    def _serve_directly(self, call: MLCall, params: list[Any]) -> Result:
        """``SELECT * FROM ML.<FN>(...)`` alone: the function's rows are the result.

        Skipping the engine's round trip (registering the stream, scanning it, materialising the
        copy) saves about a third of ML.PREDICT's time on a cheap model.
        """
        notices: list[str] = []
        table = self.backend.materialize(self.call_function(call, params, notices))
        description = self.backend.describe_arrow(table.schema)
        return Result(has_result=True, table=table, description=description, notices=notices)

    def call_function(
        self, call: MLCall, params: list[Any], notices: list[str]
    ) -> pa.Table | pa.RecordBatchReader:
        """One ML call's rows (a stream where the function scores rows)."""
        from sqlml import functions

        return functions.call(self.backend, self.catalog, self.scorer, call, params, notices)

    def scorer(self, record: ModelRecord) -> Any:
        from sqlml_udfs import get_scorer

        return get_scorer(record.cache_key, record.onnx, record.spec)

    # --- CREATE MODEL ---------------------------------------------------------------------------

    def _train(self, job: TrainJob) -> Result:
        from sqlml.models.options import validate

        notices = list(job.notices)
        if job.metadata:  # description, labels, expiration_timestamp (computed first)
            metadata = self._computed(job.metadata, f"CREATE MODEL {job.name}")
            job = dataclasses.replace(job, metadata=metadata)
        existing = self.catalog.find(job.name)
        if existing is not None and not job.replace:
            if job.if_not_exists:
                notices.append(
                    f"Model {job.name} already exists; CREATE MODEL IF NOT EXISTS skipped."
                )
                return self._status("CREATE MODEL", notices)
            raise ModelExistsError(
                f"Model '{job.name}' already exists; use CREATE OR REPLACE MODEL {job.name} to "
                f"train a new version, or DROP MODEL {job.name} first."
            )
        raw = dict(job.options)
        forecasting = raw.get("model_type") in names(task="forecasting")  # Redshift's FORECAST too
        if job.form == "bigquery" or forecasting:
            checked = validate(raw, job.name)  # fail on a bad option before reading any data
            if task_of(checked.model_type) == "forecasting":  # one model per time series
                from sqlml.core.forecasting import train_forecast

                return train_forecast(self, job, checked, existing, notices)
            if job.partition is not None:  # one model per group
                from sqlml.core.partitioned import train_partitioned

                return train_partitioned(self, job, checked, existing, notices)
            if checked.model_type == "onnx":  # an import: a checked file, no training query
                return self._import_onnx(job, checked, existing, notices)
        if job.function_name:
            owner = self.catalog.function_owner(job.function_name)
            if owner is not None and owner != job.name:
                raise IntegrityError(
                    f"FUNCTION {job.function_name} already belongs to model {owner}; choose "
                    f"another name or DROP MODEL {owner}."
                )
            # Checked before training: a name the engine already has (abs, a macro) would
            # store a model whose function can never be registered.
            taken = [
                n
                for n in (job.function_name, f"{job.function_name}_probabilities")
                if owner is None and self.backend.has_function(n)
            ]
            if taken:
                raise IntegrityError(
                    f"FUNCTION {job.function_name}: {self.backend.display_name} already has a "
                    f"function named {taken[0]} (built in, or defined outside sqlml); choose "
                    f"another FUNCTION name."
                )
        registered: list[str] = []  # the rows of the training query's ML calls, while it trains
        progress.stage("reading the data")
        try:
            # An engine that trains on its own workers keeps large tables there; else rows are read.
            trainer = trainer_for(
                self.backend,
                self._training_query(job, registered, notices),
                placement(raw.get("engine")),
                transform=job.transform,
                model=job.name,
            )
            if job.form == "redshift":  # the problem type reads the label: a few rows are enough
                columns = trainer.probe(None).column_names  # Redshift's TARGET is case-insensitive
                job = dataclasses.replace(job, label=resolve_target(job.label, columns, job.name))
                raw["model_type"] = resolve_family(raw["model_type"], job, trainer.probe(job.label))
            options = validate(raw, job.name)
            if placement(options.get("engine")) == ON_WORKERS and not (
                self.backend.capabilities.distributed_training
            ):
                raise NotSupportedError(
                    f"OPTIONS (engine = 'spark') of CREATE MODEL {job.name}: this connection is "
                    f"to {self.backend.display_name}; connect with sqlml.connect(engine='spark', "
                    f"...) to train on Spark, or use engine = 'duckdb' (the default)."
                )
            if job.partition is not None:  # Redshift's form, one model per group
                from sqlml.core.partitioned import train_partitioned

                return train_partitioned(self, job, options, existing, notices)
            trained = trainer.fit(
                model=job.name, options=options, label=job.label, transform=job.transform
            )
        finally:
            for name in registered:
                self.backend.unregister_arrow(name)
        if job.label is None and trained.spec.get("label"):  # BigQuery's default: `label`
            job = dataclasses.replace(job, label=trained.spec["label"])
        # Tuning and automl store what they chose (the winning model_type and values).
        record = self._record(job, trained.options or options, trained)
        progress.stage("storing")
        self._store(record)
        if record.function_name:
            if existing is not None and existing.function_name not in (None, record.function_name):
                self._unregister(existing)
            self.register_model_function(record)
        elif existing is not None and existing.function_name:
            self._unregister(existing)
        notices.extend(trained.training_info.get("notes", []))
        return self._status("CREATE MODEL", notices)

    def _training_query(self, job: TrainJob, registered: list[str], notices: list[str]) -> str:
        """The training query, each of its ML calls' rows computed and registered first."""
        if job.calls is None:
            return job.query_sql
        for call in job.calls.calls:
            name = self.backend.temp_name(call.function.lower())
            self.backend.register_arrow(
                name, self.backend.materialize(self.call_function(call, [], notices))
            )
            registered.append(name)
        return job.calls.render(lambda i: self.backend.quote(registered[i]))

    def _import_onnx(
        self, job: TrainJob, options: Any, existing: ModelRecord | None, notices: list[str]
    ) -> Result:
        """CREATE MODEL m OPTIONS (model_type = 'onnx', model_path = '…'): store a checked file."""

        from sqlml.training.onnx_import import import_model

        imported = import_model(options, model=job.name, label=job.label)
        job = dataclasses.replace(job, label=imported.spec.get("label"))
        imported.fingerprint = imported.training_info["sha256"]  # the file is what it came from
        self._store(self._record(job, imported.options, imported))
        if existing is not None and existing.function_name:
            self._unregister(existing)
        return self._status("CREATE MODEL", notices + imported.training_info.get("notes", []))

    def _record(self, job: TrainJob, options: Any, trained: TrainedModel) -> ModelRecord:
        import onnx
        import onnxruntime
        import skl2onnx
        import sklearn

        versions = {
            "sqlml": __version__,
            "scikit-learn": sklearn.__version__,
            "skl2onnx": skl2onnx.__version__,
            "onnx": onnx.__version__,
            "onnxruntime": onnxruntime.__version__,
            "engine": f"{self.backend.name} {self.backend.version}",
        }
        info = dict(trained.training_info)
        info["fidelity"] = trained.fidelity
        record = ModelRecord(
            name=job.name,
            version=self.catalog.next_version(job.name),
            created_at=dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0),
            model_type=options.model_type,
            label=job.label,
            features=trained.features,
            options={k: v for k, v in options.values.items() if v is not None}
            | {"model_type": options.model_type}
            | {k: v for k, v in job.metadata.items() if v is not None},
            metrics=trained.metrics,
            training_info=info,
            training_sql=job.query_sql,
            data_fingerprint=trained.fingerprint,
            library_versions=versions,
            function_name=job.function_name,
            spec=trained.spec,
            onnx=b"",
        )
        proto = onnx.load_model_from_string(trained.onnx)
        del proto.metadata_props[:]
        for key, value in record.metadata().items():
            entry = proto.metadata_props.add()
            entry.key, entry.value = key, value
        if record.spec.get("transform_sql"):  # graph inputs an exported model needs precomputed
            from sqlml.training.transform_columns import metadata_sql

            entry = proto.metadata_props.add()
            entry.key = "sqlml.transform_sql"
            entry.value = metadata_sql(record.spec["transform_sql"])
        proto.producer_name = "sqlml"
        proto.producer_version = __version__
        proto.doc_string = f"sqlml model {record.name} v{record.version} ({record.model_type})"
        return ModelRecord(**{**record.__dict__, "onnx": proto.SerializeToString()})

    def _store(self, record: ModelRecord, groups: Sequence[Any] = ()) -> None:
        """Write the new version (and a partitioned model's ``groups``, first) in one
        transaction: until it commits, the old version is live."""
        backend = self.catalog.backend  # the catalog's engine, which may not be the session's
        own_transaction = not backend.in_transaction
        self.catalog.ensure(record.name)
        if own_transaction:
            backend.begin()
        try:
            if groups:
                self.catalog.insert_groups(record.name, record.version, list(groups))
            self.catalog.insert(record)
        except Exception:
            if own_transaction:
                backend.rollback()
            raise
        if own_transaction:
            backend.commit()

    # --- ALTER MODEL ----------------------------------------------------------------------------

    def _alter(self, job: AlterModelJob) -> Result:
        """The model's live version written again, as the next version, with the new options: the
        catalog's rows are only ever added (Spark's Parquet catalog has no UPDATE), in one
        transaction, so the change is atomic on both engines; nothing is written if nothing
        changes."""
        notices = list(job.notices)
        record = self.catalog.find(job.name)
        if record is None:
            if job.if_exists:  # BigQuery: IF EXISTS on a missing model has no effect
                return self._status(
                    "ALTER MODEL", [*notices, f"Model {job.name} does not exist; skipped."]
                )
            self.catalog.get(job.name, statement="ALTER MODEL")
        assert record is not None
        changes = self._computed(job.changes, f"ALTER MODEL {job.name}")
        options = {k: v for k, v in (record.options | changes).items() if v is not None}
        if options == record.options:
            return self._status("ALTER MODEL", notices)
        revised = record.revised(self.catalog.next_version(job.name), options)
        self._store(revised)
        if revised.function_name and revised.expired():
            self._unregister(record)
        elif revised.function_name and record.expired():
            self.register_model_function(revised)
        return self._status("ALTER MODEL", notices)

    def _computed(self, values: dict[str, Any], where: str) -> dict[str, Any]:
        """``values`` with each :class:`EngineValue` computed by the engine (epoch seconds)."""
        from sqlml.plan.metadata import from_epoch

        out = dict(values)
        for key, value in values.items():
            if isinstance(value, EngineValue):
                out[key] = from_epoch(self.backend.query(f"SELECT {value.sql}")[0][0], where)
        return out

    # --- DROP / EXPORT / SHOW -----------------------------------------------------------------------

    def _drop(self, job: DropModelJob) -> Result:
        record = self.catalog.find(job.name)
        if record is None:
            if job.if_exists:
                return self._status("DROP MODEL", [f"Model {job.name} does not exist; skipped."])
            self.catalog.get(job.name, statement="DROP MODEL")
        assert record is not None
        self.catalog.delete(job.name)
        self._unregister(record)
        return self._status("DROP MODEL")

    def _export(self, job: ExportModelJob) -> Result:
        record = self.catalog.get(job.name, statement="EXPORT MODEL")
        uri = job.uri
        if uri.startswith("file://"):
            uri = uri[len("file://") :]
        if "://" in uri:
            raise NotSupportedError(
                f"EXPORT MODEL writes local files only; got {job.uri!r}. Export to a path, then copy "
                f"it with your cloud's tools."
            )
        path = user_path(uri, f"The uri of EXPORT MODEL {job.name},")
        if "groups_version" in record.spec:  # a folder: one file per group or series, an index
            from sqlml.core.partitioned import export_groups

            with file_errors(f"EXPORT MODEL {job.name} to", path):
                return self._status(f"EXPORT MODEL {export_groups(self.catalog, record, path)}")
        with file_errors(f"EXPORT MODEL {job.name} to", path):
            if path.is_dir():
                path = path / f"{record.name}.onnx"
            if not path.parent.exists():
                raise OperationalError(
                    f"EXPORT MODEL {job.name}: folder {str(path.parent)!r} does not exist."
                )
            temporary = path.with_name(path.name + ".tmp")
            try:
                temporary.write_bytes(record.onnx)
                os.replace(temporary, path)
            finally:
                temporary.unlink(missing_ok=True)
        return self._status(f"EXPORT MODEL {path}")

    def _show(self, job: ShowModelJob) -> Result:
        if job.report == "forecast" and job.name is not None:  # Redshift's FORECAST(m)
            return self._redshift_forecast(job.name, job.into)
        if job.report and job.name is not None:  # Redshift's SELECT EXPLAIN_MODEL('m')
            from sqlml.core.explain_model import explain_model

            return self.result_table(explain_model(self, job.name, job.column))
        if job.name is None:
            records = self.catalog.latest()
            table = pa.table(
                {
                    "model_name": [r.name for r in records],
                    "version": pa.array([r.version for r in records], pa.int32()),
                    "model_type": [r.model_type for r in records],
                    "label": pa.array([r.label for r in records], pa.string()),
                    "function_name": pa.array([r.function_name for r in records], pa.string()),
                    "created_at": pa.array([r.created_at for r in records], pa.timestamp("us")),
                }
            )
            return self.result_table(table)
        from sqlml.functions.model_info import show_model

        record = self.catalog.get(job.name, statement="SHOW MODEL", allow_expired=True)
        table = show_model(record)
        return self.result_table(table)

    def _redshift_forecast(self, name: str, into: str) -> Result:
        """``SELECT FORECAST(m)``, or ``CREATE TABLE into AS SELECT FORECAST(m)``."""
        from sqlml.functions.forecasting import redshift_forecast

        record = self.catalog.get(name, statement="FORECAST")
        table = redshift_forecast(self.backend, self.catalog, record)
        if not into:
            return self.result_table(table)
        source = self.backend.temp_name("forecast")
        self.backend.register_arrow(source, table)
        try:
            self._execute(
                f"CREATE TABLE {into} AS SELECT * FROM {self.backend.quote(source)}", None
            )
        finally:
            self.backend.unregister_arrow(source)
        return self._status("CREATE TABLE")

    def _status(self, status: str, notices: list[str] | None = None) -> Result:
        for notice in notices or []:
            log.info("%s", notice)
        return Result(has_result=False, status=status, notices=notices or [])
