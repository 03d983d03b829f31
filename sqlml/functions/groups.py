"""Models trained PARTITION BY columns (issue 13): scoring each row with its group's model,
evaluating per group, and ML.GROUP_INFO, the list of groups.

ML.PREDICT reads its input ordered by the partition columns, so each group's rows arrive
together: a batch is cut into runs of equal partition values, and each run is scored by its
group's ONNX Runtime session (a group unseen at training, or skipped, by the fallback model, or
NULL with ``fallback = 'none'``). Sessions are loaded from ``sqlml.model_groups`` a window of runs
at a time and kept in a small LRU cache, so memory is bounded by the batch size and
:data:`LOADED_MODELS`, not by the number of groups.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sqlml_udfs.scoring import output_fields

from sqlml.catalog import GroupRecord, _arrow_type
from sqlml.errors import SchemaError
from sqlml.functions import GROUP_RUNNER, CallContext, check_clash, register
from sqlml.measures import metrics

if TYPE_CHECKING:
    from sqlml.catalog import ModelRecord

#: Group models kept loaded at once (ONNX Runtime sessions), and loaded per catalog read.
LOADED_MODELS = 64


class GroupScorers:
    """The scorer of each group of a partitioned model, loaded on demand, at most
    :data:`LOADED_MODELS` at once; the fallback's for keys without a model (None: no fallback)."""

    def __init__(self, ctx: CallContext) -> None:
        self.ctx = ctx
        self.record = ctx.record
        groups = ctx.catalog.groups(self.record, brief=True)
        self.index = {g.key: g.index for g in groups if g.status == "trained"}
        self.loaded: OrderedDict[int, tuple[Any, GroupRecord]] = OrderedDict()
        self._fallback: Any = None
        # Inside a transaction the graphs are read now, on the statement's own connection (a
        # second one would not see a model trained in it); else as the runs need them.
        self._read: dict[int, GroupRecord] | None = None
        if ctx.backend.in_transaction:
            self._read = ctx.catalog.group_models(self.record, None, scoring=True)
        self._builders: ThreadPoolExecutor | None = None
        self._stream: Iterator[GroupRecord] | None = None
        self._position = -1  # the last group index read from the stream

    def fallback(self) -> Any:
        if not self.record.onnx:
            return None
        if self._fallback is None:
            self._fallback = self.ctx.scorer()
        return self._fallback

    def prefetch(self, keys: Sequence[tuple[Any, ...]]) -> None:
        """Load the models of ``keys`` not loaded yet, in one catalog read."""
        from sqlml_udfs.scoring import Scorer

        wanted = {self.index[k] for k in keys if k in self.index} - set(self.loaded)
        if not wanted:
            return
        if self._read is not None:
            read = {index: self._read[index] for index in wanted}
        else:
            read = self._from_stream(wanted)
        # ONNX Runtime builds sessions without the GIL: one thread per core builds the window's
        groups = list(read.values())
        if self._builders is None:
            self._builders = ThreadPoolExecutor(os.cpu_count() or 1)
        built = self._builders.map(lambda g: Scorer(g.onnx, g.spec, threads=1, light=True), groups)
        for group, scorer in zip(groups, built, strict=True):
            self.loaded[group.index] = (scorer, group)
        while len(self.loaded) > max(LOADED_MODELS, len(wanted)):
            self.loaded.popitem(last=False)

    def _from_stream(self, wanted: set[int]) -> dict[int, GroupRecord]:
        """The groups ``wanted``, read forward from the catalog's stream of groups (the input
        comes in the same order); one the stream has passed (a group read again after it left
        the cache) by a query of its own."""
        behind = sorted(i for i in wanted if i <= self._position)
        read = (
            self.ctx.catalog.group_models(self.record, behind, aside=True, scoring=True)
            if behind
            else {}
        )
        ahead = wanted - set(behind)
        if self._stream is None and ahead:
            self._stream = self.ctx.catalog.group_stream(self.record)
        while ahead:
            assert self._stream is not None
            group = next(self._stream, None)
            if group is None:
                break
            self._position = group.index
            if group.index in ahead:
                read[group.index] = group
                ahead.discard(group.index)
        return read

    def close(self) -> None:
        """Let the sessions and the threads that built them go."""
        self.loaded.clear()
        if self._stream is not None:
            self._stream.close()  # type: ignore[attr-defined]
            self._stream = None
        if self._builders is not None:
            self._builders.shutdown(wait=False)
            self._builders = None

    def get(self, key: tuple[Any, ...]) -> tuple[Any, dict[str, Any] | None]:
        """The scorer of the group ``key`` and its spec (the fallback's for a key without a
        model; (None, None) without a fallback)."""
        index = self.index.get(key)
        if index is None:
            scorer = self.fallback()
            return scorer, (self.record.spec if scorer is not None else None)
        if index not in self.loaded:
            self.prefetch([key])
        self.loaded.move_to_end(index)
        scorer, group = self.loaded[index]
        return scorer, group.spec


def partition_names(record: ModelRecord) -> list[str]:
    return [c["name"] for c in record.partition_by]


def check_partition_columns(record: ModelRecord, schema: pa.Schema, where: str) -> None:
    missing = [name for name in partition_names(record) if name not in schema.names]
    if missing:
        raise SchemaError(
            f"The input of {where} lacks column(s) {', '.join(missing)}, which model "
            f"{record.name} is PARTITION BY: each row is scored by the model of its group; add "
            f"them to the input query."
        )


def runs(batch: pa.RecordBatch | pa.Table, by: Sequence[str]) -> list[tuple[int, int, tuple]]:
    """``batch``'s runs of equal values of the ``by`` columns (NULL equal to NULL):
    (offset, length, the values)."""
    n = batch.num_rows
    if n == 0:
        return []
    change = np.zeros(n, dtype=bool)
    change[0] = True
    for name in by:
        column = batch.column(name)
        if isinstance(column, pa.ChunkedArray):
            column = column.combine_chunks()
        if pa.types.is_dictionary(column.type):
            column = column.cast(column.type.value_type)
        if n > 1:
            a, b = column.slice(1), column.slice(0, n - 1)
            both = pc.and_(pc.is_valid(a), pc.is_valid(b))
            differs = pc.if_else(both, pc.not_equal(a, b), pc.xor(pc.is_null(a), pc.is_null(b)))
            change[1:] |= differs.to_numpy(zero_copy_only=False).astype(bool)
    starts = np.flatnonzero(change)
    ends = np.append(starts[1:], n)
    keys = batch.select(list(by)).take(pa.array(starts)).to_pylist()
    return [
        (int(s), int(e - s), tuple(row[name] for name in by))
        for s, e, row in zip(starts, ends, keys, strict=True)
    ]


def predict_groups(ctx: CallContext, threshold: float | None) -> pa.RecordBatchReader:
    """ML.PREDICT of a partitioned model (see the module docstring)."""
    record = ctx.record
    by = partition_names(record)
    if ctx.backend.capabilities.scores_in_engine and not record.spec.get("transform_sql"):
        return _groups_in_engine(ctx, threshold)  # e.g. Spark: a task per group
    reader = ctx.input_stream(keep_input=True, order_by=by)
    check_partition_columns(record, reader.schema, "ML.PREDICT")
    kept = ctx.input_fields(reader.schema)
    added = output_fields(record.spec)
    check_clash(kept, added)
    schema = pa.schema(kept + added)
    names = [f["name"] for f in record.spec["features"]]
    scorers = GroupScorers(ctx)

    def scored(view: pa.RecordBatch, key: tuple, start: int, length: int) -> list[pa.Array]:
        scorer, _spec = scorers.get(key)
        if scorer is None:
            return [pa.nulls(length, f.type) for f in added]
        part = view.slice(start, length)
        columns = {name: part.column(name) for name in names}
        return [
            array.cast(f.type)
            for (_, array), f in zip(scorer.predict_columns(columns, threshold), added, strict=True)
        ]

    def batches() -> Iterator[pa.RecordBatch]:
        try:
            for batch in reader:
                if batch.num_rows == 0:
                    continue
                view = ctx.model_view(batch)
                pieces: list[list[pa.Array]] = []
                found = runs(batch, by)
                for window in range(0, len(found), LOADED_MODELS):
                    chunk = found[window : window + LOADED_MODELS]
                    scorers.prefetch([key for _, _, key in chunk])
                    pieces += [scored(view, key, start, length) for start, length, key in chunk]
                columns = [pa.concat_arrays([p[i] for p in pieces]) for i in range(len(added))]
                yield pa.RecordBatch.from_arrays(
                    [batch.column(f.name) for f in kept] + columns, schema=schema
                )
        finally:
            scorers.close()

    return pa.RecordBatchReader.from_batches(schema, batches())


def _groups_in_engine(ctx: CallContext, threshold: float | None) -> Any:
    """The input as an engine relation, checked here, each group scored on the engine by its
    model; the groups' graphs go to the engine once (a broadcast), read in one pass."""
    from sqlml.functions import check_columns

    record = ctx.record
    assert ctx.call.input_sql is not None
    relation = ctx.backend.relation(ctx.call.input_sql, ctx.params)
    schema = ctx.backend.relation_schema(relation)
    check_columns(record, schema, "ML.PREDICT")
    check_partition_columns(record, schema, "ML.PREDICT")
    added = output_fields(record.spec)
    check_clash(list(schema), added)
    models, fallback = ctx.catalog.engine_models(record)
    return ctx.backend.score_groups(
        relation,
        partition_names(record),
        models,
        fallback,
        threshold,
        added,
        f"{record.cache_key}#groups",
    )


def key_columns(record: ModelRecord, keys: list[tuple[Any, ...]]) -> dict[str, pa.Array]:
    """The partition columns of ``keys`` (one row each), in their training types."""
    return {
        c["name"]: pa.array([k[i] for k in keys], _arrow_type(c["type"]))
        for i, c in enumerate(record.group_columns)
    }


def evaluate_groups(ctx: CallContext, threshold: float | None) -> pa.Table:
    """ML.EVALUATE of a partitioned model: a row per group (its partition values first), then
    the overall row (``is_overall``), whose metrics are the groups' averaged by their rows.
    Without input rows, each group's evaluation split as recorded at training; with them, the
    input's rows of each group scored by its model (the fallback's for the others)."""
    record = ctx.record
    names = metrics.metric_names(record.spec["task"])
    rows: list[tuple[tuple, int, dict[str, Any]]] = []
    if not ctx.has_input:
        for group in ctx.catalog.groups(record):
            if group.status == "trained":
                rows.append((group.key, group.rows, group.metrics))
    else:
        from sqlml.training.groups import split_groups

        table = ctx.input_table(need_label=record.spec["task"] != "clustering")
        check_partition_columns(record, table.schema, "ML.EVALUATE")
        scorers = GroupScorers(ctx)
        parts = split_groups(table, partition_names(record))
        scorers.prefetch([key for key, _ in parts][:LOADED_MODELS])
        for key, part in parts:
            scorer, spec = scorers.get(key)
            values = (
                metrics.evaluate(scorer, part, spec, threshold)
                if scorer is not None and spec is not None
                else {}
            )
            rows.append((key, part.num_rows, values))
    overall = metrics.weighted_metrics([(n, v) for _, n, v in rows if v])
    columns = key_columns(record, [k for k, _, _ in rows])
    columns = {n: pa.concat_arrays([a, pa.nulls(1, a.type)]) for n, a in columns.items()}
    columns["is_overall"] = pa.array([False] * len(rows) + [True])
    for name in names:
        values = [v.get(name) for _, _, v in rows] + [overall.get(name)]
        columns[name] = pa.array(values, pa.float64())
    return pa.table(columns)


@register("GROUP_INFO", input="none", groups="own")
def group_info(ctx: CallContext) -> pa.Table:
    """ML.GROUP_INFO(MODEL m): each group of a partitioned model — its partition values, status
    (trained, skipped, failed), training rows, reason, training seconds and metrics."""
    record = ctx.record
    groups = ctx.catalog.groups(record)
    names = metrics.metric_names(record.spec["task"])
    columns = key_columns(record, [g.key for g in groups])
    columns["status"] = pa.array([g.status for g in groups], pa.string())
    columns["training_rows"] = pa.array([g.rows for g in groups], pa.int64())
    columns["reason"] = pa.array([g.reason or None for g in groups], pa.string())
    columns["training_seconds"] = pa.array(
        [g.training_info.get("duration_seconds") for g in groups], pa.float64()
    )
    for name in names:
        columns[name] = pa.array([g.metrics.get(name) for g in groups], pa.float64())
    return pa.table(columns)


def each_group(handler: Any, ctx: CallContext) -> pa.Table:
    """A function's ``handler`` run once per group of a partitioned model, each result's rows
    led by the group's partition values, in group order. Without input rows, every trained
    group; with them, each group the input holds, its rows given to its model (the groups
    without one last, to the fallback's, when there is one)."""
    import dataclasses

    from sqlml.training.groups import split_groups

    record = ctx.record
    where = f"ML.{ctx.call.function}"
    trained = {g.key: g for g in ctx.catalog.groups(record, brief=True) if g.status == "trained"}
    parts: dict[tuple, pa.Table] | None = None
    if ctx.has_input:
        assert ctx.call.input_sql is not None
        table = ctx.backend.arrow(ctx.call.input_sql, ctx.params)
        check_partition_columns(record, table.schema, where)
        parts = dict(split_groups(table, partition_names(record)))
    fallback = None
    if record.onnx:
        spec = {k: v for k, v in record.spec.items() if k not in _PARTITION_KEYS}
        fallback = dataclasses.replace(record, spec=spec)
    out = []

    def run(key: tuple, model: Any) -> None:
        result = _run_for(handler, ctx, model, parts[key] if parts is not None else None)
        for i, (name, array) in enumerate(key_columns(record, [key] * result.num_rows).items()):
            result = result.add_column(i, name, array)
        out.append(result)

    # the groups' graphs in one forward pass (a filtered read of a few scans every graph)
    wanted = set(trained) if parts is None else set(parts) & set(trained)
    for group in ctx.catalog.group_stream(record, full=True) if wanted else ():
        if group.key in wanted:
            model = dataclasses.replace(
                record,
                spec=group.spec,
                metrics=group.metrics,
                training_info=group.training_info,
                onnx=group.onnx or b"",
            )
            run(group.key, model)
    if parts is not None and fallback is not None:  # the input's groups without a model
        for key in parts:
            if key not in trained:
                run(key, fallback)
    if not out:
        raise SchemaError(
            f"{where} of model {record.name}: no group of the input has a model (and there is "
            f"no fallback, fallback = 'none'); its groups are listed by ML.GROUP_INFO."
        )
    return pa.concat_tables(out, promote_options="permissive")


_PARTITION_KEYS = ("partition_by", "groups_version", "fallback", "min_group_rows", "groups")


def _run_for(handler: Any, ctx: CallContext, model: Any, rows: pa.Table | None) -> pa.Table:
    """``handler`` on one group's ``model`` (and its input ``rows``, registered for it)."""
    import dataclasses

    call, params, name = ctx.call, ctx.params, None
    if rows is not None:
        name = ctx.backend.temp_name("group")
        ctx.backend.register_arrow(name, rows)
        call = dataclasses.replace(call, input_sql=f"SELECT * FROM {ctx.backend.quote(name)}")
        params = []
    try:
        sub = CallContext(
            ctx.backend, ctx.catalog, ctx.scorers, model, call, params, ctx.options, ctx.notices
        )
        return ctx.backend.materialize(handler(sub))
    finally:
        if name is not None:
            ctx.backend.unregister_arrow(name)


GROUP_RUNNER.append(each_group)
