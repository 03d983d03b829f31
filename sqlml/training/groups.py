"""One model per group — the training half of ``CREATE MODEL … PARTITION BY`` (issue 13).

The training rows are split by the values of the partition columns (NULL is a group of its own, as
in SQL's GROUP BY) in one pass (Arrow's hash grouping, then one ``take`` per group), the partition
columns dropped from each group's features (they are constant within it), and each group fitted by
:func:`sqlml.training.fit.fit` — the same options, validation, automatic split and fidelity gate as a
single model. A group with fewer than ``min_group_rows`` rows is skipped, and one whose training
fails with sqlml's own error (one class, a constant label) is recorded with the reason; neither
fails the call.

Groups train in parallel in a pool of worker processes sized to the cores (``spawn``ed: the parent
holds DuckDB's and ONNX Runtime's threads, which a forked child must not inherit); each group's rows
travel as Arrow IPC and come back as ONNX bytes and JSON-able metadata. Small jobs — fewer groups
than workers, or few rows in all — train in this process, where starting the workers would cost more
than it saves. Each finished group is a progress count (``groups``) and a cancel check; a cancel
stops the workers.
"""

from __future__ import annotations

import concurrent.futures
import concurrent.futures.process
import logging
import multiprocessing
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from sqlml import progress
from sqlml.cancel import checkpoint
from sqlml.errors import Error, ProgrammingError
from sqlml.training.contract import TrainedModel

log = logging.getLogger("sqlml.training")

#: Below this many training rows in all, the groups train in this process.
POOL_MIN_ROWS = 20_000
#: Jobs submitted to the pool per worker at a time.
IN_FLIGHT = 4
_ROW = "__sqlml_group_row"


@dataclass
class GroupOutcome:
    """One group: its partition values (in PARTITION BY order; None for NULL), its row count, and
    ``trained`` (its model), ``skipped`` (too few rows) or ``failed`` (training refused it)."""

    key: tuple[Any, ...]
    rows: int
    status: str
    reason: str = ""
    trained: TrainedModel | None = None


def split_groups(table: pa.Table, by: Sequence[str]) -> list[tuple[tuple[Any, ...], pa.Table]]:
    """``table``'s rows per distinct value of the ``by`` columns, without those columns, in the
    order of the values (NULL first)."""
    names = list(by)
    missing = [name for name in names if name not in table.column_names]
    if missing:
        raise ProgrammingError(
            f"PARTITION BY names {', '.join(missing)}, which the training query does not return; "
            f"its columns are: {', '.join(table.column_names)}."
        )
    indexed = table.select(names).append_column(_ROW, pa.array(range(table.num_rows), pa.int64()))
    grouped = indexed.group_by(names, use_threads=False).aggregate([(_ROW, "list")])
    rest = table.drop_columns(names)
    rows = grouped.column(f"{_ROW}_list")
    keys = [grouped.column(name).to_pylist() for name in names]
    groups = [
        (tuple(column[i] for column in keys), rest.take(rows[i].values))
        for i in range(grouped.num_rows)
    ]
    return sorted(groups, key=lambda group: [(v is not None, v) for v in group[0]])


#: The key of the fallback model's job (trained on every row) among the groups'.
GLOBAL = ("__sqlml_global__",)


def fit_groups(
    table: pa.Table,
    by: Sequence[str],
    *,
    model: str,
    options: Any,
    label: str | None,
    transform: Any = None,
    min_group_rows: int = 1,
    workers: int | None = None,
    fallback: bool = False,
) -> tuple[list[GroupOutcome], GroupOutcome | None]:
    """Train one model per group of ``table`` by the ``by`` columns (see the module docstring),
    and with ``fallback`` one on all its rows (without the ``by`` columns), the first job the
    pool starts. ``workers``: the pool's size (default: the cores; 1: in this process)."""
    groups = split_groups(table, by)
    progress.stage("fitting one model per group", len(groups), "groups")
    outcomes: dict[tuple[Any, ...], GroupOutcome] = {}
    jobs = [(GLOBAL, table.drop_columns(list(by)))] if fallback else []
    for key, part in groups:
        if part.num_rows < min_group_rows:
            reason = f"{part.num_rows} rows, fewer than min_group_rows = {min_group_rows}"
            outcomes[key] = GroupOutcome(key, part.num_rows, "skipped", reason)
            progress.advance()
        else:
            jobs.append((key, part))
    size = min(workers or os.cpu_count() or 1, len(jobs))
    pooled = size > 1 and (workers is not None or table.num_rows >= POOL_MIN_ROWS)
    arguments = (model, options, label, transform)
    if pooled:
        outcomes |= in_pool(jobs, _fit_ipc, arguments, size, _outcome)
        jobs = [(key, part) for key, part in jobs if key not in outcomes]  # a pool that broke
    for key, part in jobs:
        with progress.quiet():  # a group's own counts (trees, rounds) would drown the groups'
            outcomes[key] = _outcome(key, part.num_rows, _fit_here, part, arguments)
        if key != GLOBAL:
            progress.advance()
    return [outcomes[key] for key, _ in groups], outcomes.get(GLOBAL)


def _outcome(key: tuple[Any, ...], rows: int, fit: Any, *args: Any) -> GroupOutcome:
    try:
        return GroupOutcome(key, rows, "trained", trained=fit(*args))
    except Error as exc:
        if isinstance(exc, _STOPS):
            raise
        return GroupOutcome(key, rows, "failed", str(exc))


def in_pool(
    jobs: list[tuple[tuple[Any, ...], pa.Table]],
    worker: Any,
    arguments: tuple[Any, ...],
    size: int,
    outcome: Any,
) -> dict[tuple[Any, ...], Any]:
    """Each job's rows handed to ``worker(Arrow IPC bytes, *arguments)`` in a pool of ``size``
    spawned processes; ``outcome(key, rows, result getter)`` makes what is returned per key (the
    getter raises what the worker raised). Each finished job is a progress count (but
    :data:`GLOBAL`'s) and a cancel check; a cancel stops the workers. A pool that cannot start
    returns what it finished: the caller runs the rest itself."""
    outcomes: dict[tuple[Any, ...], Any] = {}
    pool = concurrent.futures.ProcessPoolExecutor(
        size, mp_context=multiprocessing.get_context("spawn"), initializer=_one_thread
    )
    queue = iter(jobs)
    pending: dict[Any, tuple[tuple[Any, ...], int]] = {}

    def submit() -> None:
        # a few jobs per worker in flight: waiting on every group's future at once would cost
        # time proportional to the number of groups at each completion
        for key, part in queue:
            pending[pool.submit(worker, _ipc(part), *arguments)] = (key, part.num_rows)
            if len(pending) >= IN_FLIGHT * size:
                return

    try:
        submit()
        while pending:
            done, _ = concurrent.futures.wait(
                pending, timeout=0.2, return_when=concurrent.futures.FIRST_COMPLETED
            )
            checkpoint()  # a cancel stops the pool (below)
            for future in done:
                key, rows = pending.pop(future)
                outcomes[key] = outcome(key, rows, future.result)
                if key != GLOBAL:
                    progress.advance()
            submit()
    except concurrent.futures.process.BrokenProcessPool:
        # the workers could not start (a __main__ they cannot import: python reading stdin):
        # the groups left train in this process
        log.warning("the training pool stopped; training the remaining groups in this process")
        pool.shutdown(wait=False, cancel_futures=True)
        return outcomes
    except BaseException:
        for process in list(getattr(pool, "_processes", {}).values()):
            process.terminate()
        pool.shutdown(wait=True, cancel_futures=True)  # joined: nothing left behind
        raise
    pool.shutdown(wait=True)
    return outcomes


def _fit_here(part: pa.Table, arguments: tuple[Any, ...]) -> TrainedModel:
    from sqlml.training.fit import fit

    model, options, label, transform = arguments
    return fit(part, model=model, options=options, label=label, transform=transform)


def _fit_ipc(data: bytes, model: str, options: Any, label: str | None, transform: Any) -> Any:
    """In a worker process: one group's rows (Arrow IPC) fitted."""
    part = pa.ipc.open_stream(data).read_all()
    return _fit_here(part, (model, options, label, transform))


def _ipc(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def _one_thread() -> None:
    """Each worker one thread: the pool already uses every core. The libraries loaded by now
    (numpy's BLAS) are limited through threadpoolctl, those loaded later (scikit-learn's OpenMP)
    read the environment."""
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = "1"
    from sqlml_udfs import scoring
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
    scoring.DEFAULT_THREADS = 1  # the fidelity check's and evaluation's sessions


def _stops() -> tuple[type[Error], ...]:
    from sqlml.errors import OperationalError

    return (OperationalError,)  # a cancel or a timeout stops every group, not just this one


_STOPS = _stops()
