"""Scoring inside Spark's Python workers: ``mapInArrow`` for ML.PREDICT, Arrow UDFs for functions.

Spark serializes the small functions built here to its executors, as it does every Python function
it runs; the model itself travels once per executor as a broadcast of its ONNX bytes (never a
serialized Python object; on Spark Connect, which has no broadcast, the bytes ride in the
function itself, once per task), and
each Python worker keeps one ONNX Runtime session per model version in :data:`_SCORERS`, so no batch
ever rebuilds a session. Needs numpy, pyarrow and onnxruntime on the executors, nothing else: no
pyspark import happens here (the broadcast arrives as an object with a ``value``).
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Any

import pyarrow as pa

from sqlml_udfs.scoring import Scorer

# One ORT thread per Spark task: each task already holds one executor core.
WORKER_THREADS = 1
_SCORERS: OrderedDict[str, Scorer] = OrderedDict()
_LOCK = threading.Lock()
_SIZE = 8


def worker_scorer(key: str, onnx: Any, spec: dict[str, Any] | str) -> Scorer:
    """This worker's scorer for model version ``key``; ``onnx`` is a broadcast (or plain bytes),
    read only on a miss, so a warm worker never touches the bytes again."""
    with _LOCK:
        scorer = _SCORERS.get(key)
        if scorer is not None:
            _SCORERS.move_to_end(key)
            return scorer
    data = onnx.value if hasattr(onnx, "value") else onnx
    scorer = Scorer(data, json.loads(spec) if isinstance(spec, str) else spec, WORKER_THREADS)
    with _LOCK:
        _SCORERS[key] = scorer
        while len(_SCORERS) > _SIZE:
            _SCORERS.popitem(last=False)
    return scorer


def predict_batches(
    key: str,
    onnx: Any,
    spec: str,
    threshold: float | None,
    kept: list[str],
    output_names: list[str],
) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """The function ``DataFrame.mapInArrow`` runs for ML.PREDICT: each batch's ``kept`` columns,
    then the prediction columns (``output_names``, as :meth:`Scorer.output_schema` names them)."""

    def score(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        scorer = worker_scorer(key, onnx, spec)
        names = [f["name"] for f in scorer.features]
        for batch in batches:
            if batch.num_rows == 0:
                continue
            columns = {name: batch.column(name) for name in names}
            scored = scorer.predict_columns(columns, threshold)
            arrays = [batch.column(name) for name in kept] + [array for _, array in scored]
            yield pa.RecordBatch.from_arrays(arrays, names=kept + output_names)

    return score


def predict_groups(
    by: list[str],
    models: Any,
    fallback: tuple[str, bytes, str] | None,
    threshold: float | None,
    kept: list[str],
    added: list[pa.Field],
) -> Callable[[pa.Table], pa.Table]:
    """The function ``groupBy(by).applyInArrow`` runs for ML.PREDICT of a partitioned model:
    one group's rows, its ``kept`` columns, then the prediction columns (``added``) from its
    model — ``models`` (a broadcast, or the dict itself) maps the group's values to (cache key,
    ONNX bytes, spec JSON) — or the ``fallback``'s, or NULL without one."""

    def score(table: pa.Table) -> pa.Table:
        key = tuple(table.column(name)[0].as_py() for name in by)
        catalog = models.value if hasattr(models, "value") else models
        entry = catalog.get(key, fallback)
        arrays = [table.column(name) for name in kept]
        if entry is None:
            scored = [pa.nulls(table.num_rows, f.type) for f in added]
        else:
            scorer = worker_scorer(*entry)
            names = [f["name"] for f in scorer.features]
            columns = {name: table.column(name).combine_chunks() for name in names}
            scored = [
                array.cast(f.type)
                for (_, array), f in zip(
                    scorer.predict_columns(columns, threshold), added, strict=True
                )
            ]
        return pa.Table.from_arrays(arrays + scored, names=kept + [f.name for f in added])

    return score


def group_function(
    width: int,
    models: Any,
    fallback: tuple[str, bytes, str] | None,
    output: int,
    result_type: pa.DataType,
) -> Callable[..., pa.Array]:
    """A partitioned model's Redshift-style function over Arrow arrays: the first ``width`` are
    the partition columns, the rest the features; each group's rows scored by its model
    (``models``, as for :func:`predict_groups`), else the ``fallback``'s, else NULL."""
    from sqlml_udfs.groups import by_group

    def call(*arrays: pa.Array) -> pa.Array:
        import pyarrow.compute as pc

        keys, values = arrays[:width], arrays[width:]
        catalog = models.value if hasattr(models, "value") else models

        def score(key: tuple[Any, ...], rows: pa.Array) -> list[tuple[str, pa.Array]]:
            entry = catalog.get(key, fallback)
            if entry is None:
                return [("value", pa.nulls(len(rows), result_type))]
            scorer = worker_scorer(*entry)
            if len(values) != len(scorer.features):
                raise ValueError(
                    f"the model's function takes {width} partition column(s) and "
                    f"{len(scorer.features)} feature(s); got {len(arrays)} argument(s)"
                )
            columns = {
                f["name"]: pc.take(v, rows) for f, v in zip(scorer.features, values, strict=True)
            }
            result = scorer.function_columns(columns)[output][1]
            return [("value", result.cast(result_type))]

        return by_group(keys, len(arrays[0]), score)[0][1]

    return call


def remove_folder(path: str) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """A one-row ``mapInArrow`` job that deletes ``path`` (a folder Spark wrote) from where the
    workers see it, through pyarrow's file systems: a Spark Connect client has no JVM of its own
    to reach Spark's. Yields one row: the error, or an empty string."""

    def remove(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        from pyarrow import fs

        for _ in batches:
            pass
        try:
            filesystem, inner = fs.FileSystem.from_uri(path)
            filesystem.delete_dir(inner)
            error = ""
        except Exception as exc:  # reported to the driver, which logs it
            error = f"{type(exc).__name__}: {exc}"
        yield pa.RecordBatch.from_arrays([pa.array([error], pa.string())], names=["error"])

    return remove


def scalar_function(key: str, onnx: Any, spec: str, output: int) -> Callable[..., pa.Array]:
    """A Redshift-style scoring function over Arrow arrays (one per feature, in feature order):
    ``output`` 0 is the prediction, 1 a classifier's probabilities."""

    def call(*arrays: pa.Array) -> pa.Array:
        scorer = worker_scorer(key, onnx, spec)
        if len(arrays) != len(scorer.features):  # Spark does not check a Python UDF's arity
            names = ", ".join(f["name"] for f in scorer.features)
            raise ValueError(
                f"the model's function takes {len(scorer.features)} argument(s) ({names}); "
                f"got {len(arrays)}"
            )
        columns = {f["name"]: array for f, array in zip(scorer.features, arrays, strict=True)}
        return scorer.function_columns(columns)[output][1]

    return call
