"""CREATE MODEL … PARTITION BY: one model per group of the partition columns' values, stored as
one version (issue 13).

The training query's rows are read (with a TRANSFORM's SQL outputs added), split by the partition
columns and fitted group by group in a pool of workers (:mod:`sqlml.training.groups`), with the
fallback model — the same options on all rows — trained beside them unless ``fallback = 'none'``.
The version's row in ``sqlml.models`` holds the fallback's graph, the partition columns and the
counts; each group is a row of ``sqlml.model_groups`` (its graph, status, reason and metrics),
written in the same transaction, before the version: the old version scores until it commits.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from sqlml import progress
from sqlml.catalog import GroupRecord, ModelRecord, encode_key
from sqlml.errors import NotSupportedError, ProgrammingError, SchemaError, TrainingError
from sqlml.measures.metrics import weighted_metrics
from sqlml.training.contract import TrainedModel, fingerprint

if TYPE_CHECKING:
    from sqlml.core.executor import Executor, Result
    from sqlml.models.options import ModelOptions
    from sqlml.plan.jobs import TrainJob

log = logging.getLogger("sqlml")

#: Arrow types a partition column may have (a group is one value of each).
_NESTED = (pa.types.is_list, pa.types.is_large_list, pa.types.is_struct, pa.types.is_map)


def train_partitioned(
    executor: Executor,
    job: TrainJob,
    options: ModelOptions,
    existing: ModelRecord | None,
    notices: list[str],
) -> Result:
    from sqlml.training.groups import fit_groups

    partition = job.partition
    assert partition is not None
    if options.model_type == "onnx":
        raise ProgrammingError(
            f"PARTITION BY does not apply to model_type 'onnx' (CREATE MODEL {job.name}): an "
            f"imported graph is one model; train one per group with another model_type."
        )
    started = time.perf_counter()
    progress.stage("reading the data")
    path = "scikit-learn, one model per group"
    if on_executors(executor.backend, job):
        columns, schema, rows, data_print, outcomes, fallback = _train_on_executors(
            executor, job, options
        )
        path += " on the executors"
    else:
        table, transform = _training_rows(executor, job, notices)
        columns = _partition_columns(table.schema, partition.columns, job.name, job.label)
        outcomes, fallback = fit_groups(
            table,
            columns,
            model=job.name,
            options=options,
            label=job.label,
            transform=transform,
            min_group_rows=partition.min_group_rows,
            fallback=partition.fallback == "global",
        )
        schema, rows = table.schema, table.num_rows
        data_print = fingerprint(table.schema, table.num_rows, table)
    trained = [o for o in outcomes if o.status == "trained"]
    if not trained:
        reasons = "; ".join(f"{_shown(o.key)}: {o.reason}" for o in outcomes[:3])
        raise TrainingError(
            f"CREATE MODEL {job.name}: no group of PARTITION BY {', '.join(columns)} could be "
            f"trained ({len(outcomes)} groups; {reasons}). Lower min_group_rows, or check the "
            f"label within each group; ML.GROUP_INFO lists the groups of a model that trains."
        )
    if fallback is not None and fallback.status != "trained":
        notices.append(
            f"The fallback model (all rows) of {job.name} could not be trained: {fallback.reason} "
            f"Rows of groups without a model of their own get NULL predictions."
        )
        fallback = None
    first = trained[0].trained
    assert first is not None
    model = fallback.trained if fallback is not None else first
    assert model is not None
    counts = {status: sum(o.status == status for o in outcomes) for status in _STATUSES}
    version = executor.catalog.next_version(job.name)
    spec = dict(model.spec) | {
        "partition_by": [{"name": c, "type": str(schema.field(c).type)} for c in columns],
        "groups_version": version,
        "fallback": "global" if fallback is not None else "none",
        "min_group_rows": partition.min_group_rows,
        "groups": counts,
    }
    # the fallback's own record (what the inspection functions read of it), then the groups'
    info = dict(model.training_info) | {
        "training_path": path,
        "training_rows": rows,
        "groups": counts,
        "duration_seconds": round(time.perf_counter() - started, 4),
    }
    combined = TrainedModel(
        onnx=model.onnx,
        spec=spec,
        metrics=weighted_metrics([(o.rows, o.trained.metrics) for o in trained if o.trained]),
        training_info=info,
        fidelity=model.fidelity if fallback is not None else {"checked": "per group"},
        features=model.features,
        options=options,
        fingerprint=data_print,
    )
    record = executor._record(job, options, combined)
    if fallback is None:
        record = dataclasses.replace(record, onnx=b"")
    groups = [_group_record(i, o) for i, o in enumerate(outcomes)]
    progress.stage("storing")
    executor._store(record, groups)
    if existing is not None and existing.function_name not in (None, record.function_name):
        executor._unregister(existing)
    if record.function_name:  # the partition columns first, then the features
        executor.register_model_function(record)
    skipped = f", {counts['skipped']} skipped" if counts["skipped"] else ""
    failed = f", {counts['failed']} failed" if counts["failed"] else ""
    notices.append(
        f"{job.name}: {counts['trained']} of {len(outcomes)} groups trained{skipped}{failed}"
        + (f"; SELECT * FROM ML.GROUP_INFO(MODEL {job.name}) says why" if skipped or failed else "")
        + "."
    )
    return executor._status("CREATE MODEL", notices)


_STATUSES = ("trained", "skipped", "failed")


def on_executors(backend: Any, job: TrainJob) -> bool:
    """Whether the groups train on the engine's workers: OPTIONS (engine = 'spark'), or more
    rows than the backend trains locally (as a single model's placement); a TRANSFORM or ML
    calls in the training query train here."""
    from sqlml.training.trainers import LOCAL, ON_WORKERS, placement

    if not backend.capabilities.distributed_training or job.transform is not None or job.calls:
        return False
    where = placement(job.options.get("engine"))
    if where in (LOCAL, ON_WORKERS):
        return where == ON_WORKERS
    count = backend.query(f"SELECT count(*) FROM ({job.query_sql}) AS __sqlml_count")[0][0]
    return bool(count > backend.local_training_rows)


def _train_on_executors(executor: Executor, job: TrainJob, options: ModelOptions) -> tuple:
    """The groups fitted by one task each on the engine's workers
    (:mod:`sqlml.training.mllib.groups`), the fallback as a single model there; only the models
    reach this process."""
    from sqlml.errors import Error, OperationalError
    from sqlml.training.contract import FINGERPRINT_ROWS
    from sqlml.training.groups import GLOBAL, GroupOutcome
    from sqlml.training.mllib.groups import fit_groups_on_executors
    from sqlml.training.trainers import ON_WORKERS, trainer_for

    backend, sql, partition = executor.backend, job.query_sql, job.partition
    assert partition is not None
    head = backend.arrow(f"SELECT * FROM ({sql}) AS __sqlml_head LIMIT {FINGERPRINT_ROWS}")
    columns = _partition_columns(head.schema, partition.columns, job.name, job.label)
    rows = int(backend.query(f"SELECT count(*) FROM ({sql}) AS __sqlml_count")[0][0])
    outcomes = fit_groups_on_executors(
        backend,
        sql,
        columns,
        model=job.name,
        raw_options=dict(job.options),
        label=job.label,
        min_group_rows=partition.min_group_rows,
    )
    fallback = None
    if partition.fallback == "global":
        rest = ", ".join(backend.quote(c) for c in head.column_names if c not in columns)
        everything = f"SELECT {rest} FROM ({sql}) AS __sqlml_all"
        try:
            with progress.quiet():
                trained = trainer_for(backend, everything, ON_WORKERS, model=job.name).fit(
                    model=job.name, options=options, label=job.label
                )
            fallback = GroupOutcome(GLOBAL, rows, "trained", trained=trained)
        except OperationalError:
            raise
        except Error as exc:
            fallback = GroupOutcome(GLOBAL, rows, "failed", str(exc))
    return columns, head.schema, rows, fingerprint(head.schema, rows, head), outcomes, fallback


def _training_rows(executor: Executor, job: TrainJob, notices: list[str]) -> tuple[pa.Table, Any]:
    """The training query's rows (its ML calls computed first), and the TRANSFORM over the
    columns that are not partition columns, its SQL outputs added to the rows."""
    registered: list[str] = []
    backend = executor.backend
    try:
        table = backend.arrow(executor._training_query(job, registered, notices))
    finally:
        for name in registered:
            backend.unregister_arrow(name)
    transform = job.transform
    if transform is not None:
        from sqlml.training.transform_columns import training_rows

        assert job.partition is not None
        by = {c.lower() for c in job.partition.columns}
        transform = transform.expand([c for c in table.column_names if c.lower() not in by])
        table = training_rows(backend, table, transform, job.name)
    return table, transform


def _partition_columns(
    schema: pa.Schema, written: Sequence[str], model: str, label: str | None
) -> list[str]:
    """The training query's columns that PARTITION BY names (matched as the engine matches
    names: exactly, else ignoring case), each of a type one value of which makes a group, none
    of them the label."""
    out = []
    for name in written:
        if label is not None and name.lower() == label.lower():
            raise ProgrammingError(
                f"PARTITION BY of CREATE MODEL {model} names '{name}', the label "
                f"(input_label_cols): a group's label would be constant. Partition by another "
                f"column."
            )
        found = name if name in schema.names else None
        if found is None:
            matches = [n for n in schema.names if n.lower() == name.lower()]
            found = matches[0] if len(matches) == 1 else None
        if found is None:
            raise SchemaError(
                f"PARTITION BY of CREATE MODEL {model} names column '{name}', which the training "
                f"query does not return; its columns are: {', '.join(schema.names)}."
            )
        kind = schema.field(found).type
        if any(test(kind) for test in _NESTED):
            raise NotSupportedError(
                f"PARTITION BY column '{found}' of CREATE MODEL {model} is {kind}; partition by "
                f"scalar columns (numbers, strings, booleans, dates, times)."
            )
        out.append(found)
    return out


def _group_record(index: int, outcome: Any) -> GroupRecord:
    trained = outcome.trained
    if trained is None:
        return GroupRecord(index, outcome.key, outcome.rows, outcome.status, outcome.reason)
    info = dict(trained.training_info) | {"fidelity": trained.fidelity}
    return GroupRecord(
        index,
        outcome.key,
        outcome.rows,
        "trained",
        "",
        trained.metrics,
        info,
        trained.spec,
        trained.onnx,
    )


def _shown(key: tuple[Any, ...]) -> str:
    return "(" + ", ".join("NULL" if v is None else repr(v) for v in key) + ")"


# --- the Redshift FUNCTION of a partitioned model ---------------------------------------------------


class GroupFunction:
    """What a partitioned model's FUNCTION computes for a chunk of rows: its first arguments are
    the partition columns, the rest the features; each group's rows are scored by its model (the
    fallback's for a group without one, NULL without a fallback), in the rows' order.

    The engine calls the function with rows in any order, so the groups' graphs are read in one
    pass on the first call (a filtered read of a few groups costs a scan of every graph) and
    kept as bytes; at most :data:`~sqlml.functions.groups.LOADED_MODELS` sessions at once."""

    def __init__(self, catalog: Any, record: ModelRecord) -> None:
        self.catalog = catalog
        self.record = record
        self.width = len(record.partition_by)
        self.graphs: dict[tuple[Any, ...], GroupRecord] | None = None
        self.sessions: dict[tuple[Any, ...], Any] = {}

    def parameters(self) -> list[tuple[str, str]]:
        from sqlml.catalog import _arrow_type
        from sqlml.types import sql_type

        return [(c["name"], sql_type(_arrow_type(c["type"]))) for c in self.record.partition_by]

    def scored(self, arrays: tuple[Any, ...]) -> list[tuple[str, pa.Array]]:
        import pyarrow.compute as pc
        from sqlml_udfs.groups import by_group

        keys, values = arrays[: self.width], arrays[self.width :]
        names = [f["name"] for f in self.record.spec["features"]]

        def score(key: tuple[Any, ...], rows: pa.Array) -> list[tuple[str, pa.Array]]:
            columns = {name: pc.take(v, rows) for name, v in zip(names, values, strict=True)}
            return self._score(key, columns, len(rows))

        return by_group(keys, len(arrays[0]), score)

    def _score(self, key: tuple[Any, ...], columns: dict[str, Any], n: int) -> list[Any]:
        from sqlml_udfs import get_scorer
        from sqlml_udfs.scoring import Scorer, output_fields

        from sqlml.functions.groups import LOADED_MODELS

        if self.graphs is None:
            self.graphs = {g.key: g for g in self.catalog.group_stream(self.record)}
        group = self.graphs.get(key)
        if group is None and not self.record.onnx:  # no fallback: NULL
            return [(f.name, pa.nulls(n, f.type)) for f in output_fields(self.record.spec)]
        if group is None:
            scorer = get_scorer(self.record.cache_key, self.record.onnx, self.record.spec)
        else:
            scorer = self.sessions.pop(key, None) or Scorer(
                group.onnx or b"", group.spec, threads=1, light=True
            )
            self.sessions[key] = scorer  # most recent last
            while len(self.sessions) > LOADED_MODELS:
                self.sessions.pop(next(iter(self.sessions)))
        return scorer.function_columns(columns)


# --- EXPORT MODEL ---------------------------------------------------------------------------------

INDEX_FILE = "index.json"


def export_groups(catalog: Any, record: ModelRecord, folder: Any) -> Any:
    """EXPORT MODEL of a partitioned model (or a time-series model, a group per series: its
    ``partition_by`` are the ``time_series_id_col`` columns, and ``time_series`` in the index says
    which columns the series were read from): into ``folder`` (made if missing; its parent must
    exist), one self-describing ONNX file per trained group (``group-00000.onnx``, … by group
    index; its ``metadata_props`` hold the version's plus ``sqlml.group_key`` and
    ``sqlml.partition_by``), the fallback's ``fallback.onnx``, and ``index.json``: the partition
    columns, and each group's values, status and file — what bare ONNX Runtime needs to pick a
    row's model. Each file is written whole or not at all; the index last."""
    import json
    import os

    from sqlml.errors import OperationalError

    if not folder.parent.exists():
        raise OperationalError(
            f"EXPORT MODEL {record.name}: folder {str(folder.parent)!r} does not exist."
        )
    if folder.exists() and not folder.is_dir():
        raise OperationalError(
            f"EXPORT MODEL {record.name} writes a folder (one ONNX file per group and "
            f"{INDEX_FILE}) for a model trained PARTITION BY columns or over many time series; "
            f"{str(folder)!r} is a file. Name a folder."
        )
    folder.mkdir(exist_ok=True)
    base = record.metadata() | {"sqlml.partition_by": json.dumps(record.group_columns)}

    def write(name: str, data: bytes) -> None:
        path = folder / name
        temporary = path.with_name(path.name + ".tmp")
        try:
            temporary.write_bytes(data)
            os.replace(temporary, path)
        finally:
            temporary.unlink(missing_ok=True)

    entries = []
    groups = catalog.groups(record, brief=True)
    files = {}
    for group in catalog.group_stream(record, full=True):  # every graph in one pass
        index = group.index
        files[index] = f"group-{index:05d}.onnx"
        props = base | {
            "sqlml.group_key": encode_key(group.key),
            "sqlml.spec": json.dumps(group.spec),
            "sqlml.metrics": json.dumps(group.metrics),
            "sqlml.training_info": json.dumps(group.training_info),
        }
        assert group.onnx is not None
        write(files[index], _with_metadata(group.onnx, props, f"{record.name} group {index}"))
    for group in groups:
        entries.append(
            {
                "key": json.loads(encode_key(group.key)),
                "status": group.status,
                "reason": group.reason or None,
                "training_rows": group.rows,
                "file": files.get(group.index),
            }
        )
    fallback = None
    if record.onnx:
        fallback = "fallback.onnx"
        write(fallback, record.onnx)
    index = {
        "model": record.name,
        "version": record.version,
        "model_type": record.model_type,
        "label": record.label,
        "partition_by": record.group_columns,
        "features": record.features,
        **({"time_series": record.spec["time_series"]} if "time_series" in record.spec else {}),
        "fallback": fallback,
        "groups": entries,
    }
    write(INDEX_FILE, json.dumps(index, indent=1).encode())
    return folder


def _with_metadata(onnx_bytes: bytes, props: dict[str, str], doc: str) -> bytes:
    import onnx

    proto = onnx.load_model_from_string(onnx_bytes)
    del proto.metadata_props[:]
    for key, value in props.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    proto.producer_name = "sqlml"
    proto.doc_string = f"sqlml model {doc}"
    return proto.SerializeToString()
