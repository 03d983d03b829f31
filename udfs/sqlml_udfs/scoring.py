"""Score Arrow record batches with an ONNX model.

The spec is the JSON document stored with every model (catalog column ``spec`` and ONNX metadata key
``sqlml.spec``)::

    {"task": "classification" | "regression" | "clustering" | "dimensionality_reduction",
     "label": "churned",                      # None for clustering
     "label_type": "string" | "int64" | "bool" | "double",
     "classes": [...],                        # classifiers: order of the probability columns
     "threshold": 0.5,                        # binary classifiers: P(classes[1]) >= threshold -> classes[1]
     "features": [{"name": "age", "kind": "numeric" | "categorical"}, ...],
     "outputs": {"label": "label", "scores": "probabilities"|"variable"|"scores"},
                                              # graph output names (imported models); absent:
                                              # outputs in the graph's order [label, scores] or
                                              # [prediction]; a regressor's prediction is "scores"
     "inputs": {"X": ["a", "b"]},             # a graph input fed several columns (imported
                                              # models); absent: one input per feature, by name
     "num_principal_components": 3,           # PCA: graph outputs projections, then centered rows
     "transform_sql": [{"name": "b2", "sql": "b * 2", "columns": ["b"]}]}  # TRANSFORM outputs
                                              # computed in SQL before scoring (graph inputs too)

Numeric features enter the graph as float32 ``[N, 1]`` tensors (NULL becomes NaN, which the graph's
imputer fills); categorical ones as string ``[N, 1]`` tensors with NULL mapped to ``NULL_CATEGORY`` so
that NULL is a category of its own, and booleans spelled ``true``/``false`` as SQL casts them. An
imported graph may declare other inputs: double, int64 or int32 tensors, rank 1 ``[N]``, or one
``[N, k]`` tensor fed k columns (``inputs``); the scorer reads each input's type and rank from the
session and converts to them (integers refuse NULL).
"""

from __future__ import annotations

import json
import os
import threading
from collections import OrderedDict
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sqlml_udfs.arrays import ARRAY, array_arrays, as_text, is_numeric_list
from sqlml_udfs.temporal import TIMESTAMP, graph_features, timestamp_arrays

NULL_CATEGORY = "__sqlml_null__"

_ARROW_LABEL_TYPES = {
    "string": pa.string(),
    "int64": pa.int64(),
    "bool": pa.bool_(),
    "double": pa.float64(),
}


def label_arrow_type(spec: dict[str, Any]) -> pa.DataType:
    return _ARROW_LABEL_TYPES[spec.get("label_type") or "double"]


#: ONNX Runtime threads of a session that names none (None: one per core); a worker process
#: of a pool that already uses every core sets 1.
DEFAULT_THREADS: int | None = None


def _ort_session(onnx_bytes: bytes, threads: int | None, light: bool = False) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or DEFAULT_THREADS or max(1, (os.cpu_count() or 1))
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    if light:  # one of many small sessions (a partitioned model's groups): quick to build
        # no arena (each would keep the memory of its largest batch), and only the basic graph
        # optimizations (semantics-preserving rewrites; the rest cost more than they save here)
        options.enable_cpu_mem_arena = False
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    return ort.InferenceSession(onnx_bytes, options, providers=["CPUExecutionProvider"])


def feature_array(
    column: pa.Array | pa.ChunkedArray, kind: str, float_dtype: type = np.float32
) -> np.ndarray:
    """One feature column as the 1-D numpy array the model sees: floats with NaN for NULL, or
    strings with NULL as :data:`NULL_CATEGORY` and booleans as 'true'/'false'.

    Training (float64, for scikit-learn) and scoring (float32, for the ONNX graph) both go through
    here, so the two can never encode a value differently.
    """
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if kind == "numeric":
        if pa.types.is_boolean(column.type):
            column = pc.cast(column, pa.int8())
        arrow_float = pa.float32() if float_dtype is np.float32 else pa.float64()
        values = pc.cast(column, arrow_float, safe=False)
        array = values.to_numpy(zero_copy_only=False)
        return array.astype(float_dtype, copy=False)
    if is_numeric_list(column.type):  # an ARRAY feature's value as one text (sqlml_udfs.arrays)
        column = pa.array(as_text(column), pa.string())
    elif not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        column = pc.cast(column, pa.string())
    return pc.fill_null(column, NULL_CATEGORY).to_numpy(zero_copy_only=False).astype(object)


def model_arrays(
    columns: dict[str, Any], features: list[dict[str, Any]], float_dtype: type = np.float32
) -> dict[str, np.ndarray]:
    """Every graph input of a model sqlml trained, by name, from its feature columns: each
    feature's :func:`feature_array`, a TIMESTAMP feature's seconds and parts
    (:mod:`sqlml_udfs.temporal`). Training (float64) and scoring (float32) both call this."""
    arrays: dict[str, np.ndarray] = {}
    for feature in features:
        name, kind = feature["name"], feature["kind"]
        if kind == TIMESTAMP:
            origin = int(feature.get("origin", 0))
            arrays.update(timestamp_arrays(columns[name], name, NULL_CATEGORY, float_dtype, origin))
        elif kind == ARRAY:
            length = int(feature["length"])
            arrays.update(array_arrays(columns[name], name, length, NULL_CATEGORY, float_dtype))
        else:
            arrays[name] = feature_array(columns[name], kind, float_dtype)
    return arrays


class _RawFeeds:
    """An ONNX Runtime session that takes a TIMESTAMP or ARRAY feature's own values (as text, the way
    :func:`feature_array` writes them) in place of its graph inputs, for callers that build a
    feed per feature (the sampled Shapley walk); everything else is the session's."""

    def __init__(self, session: Any, features: list[dict[str, Any]]) -> None:
        self._session = session
        self._expanded = {f["name"]: f for f in features if f["kind"] in (TIMESTAMP, ARRAY)}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._session, name)

    def run(self, output_names: Any, feeds: dict[str, Any], *args: Any) -> Any:
        # ``ts`` is also the name of the seconds input: text under it is the column's own value.
        raw = [n for n in self._expanded if n in feeds and feeds[n].dtype == object]
        if raw:
            feeds = dict(feeds)
            values = {name: feeds.pop(name).reshape(-1) for name in raw}
            expanded = model_arrays(values, [self._expanded[n] for n in raw])
            feeds.update({k: v.reshape(-1, 1) for k, v in expanded.items()})
        return self._session.run(output_names, feeds, *args)


_NUMERIC_INPUTS = {
    "tensor(float)": np.float32,
    "tensor(double)": np.float64,
    "tensor(int64)": np.int64,
    "tensor(int32)": np.int32,
}


def _input_array(
    column: pa.Array | pa.ChunkedArray, feature: str, onnx_type: str, input_name: str
) -> np.ndarray:
    """One column as a graph input of another type than sqlml's own float32 / string."""
    if onnx_type == "tensor(string)":
        return feature_array(column, "categorical")
    dtype = _NUMERIC_INPUTS[onnx_type]
    if dtype in (np.float32, np.float64):
        return feature_array(column, "numeric", dtype)
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if column.null_count:
        raise ValueError(
            f"column {feature!r} has NULL values, which the model's integer input "
            f"{input_name!r} cannot hold; filter them out or COALESCE them in the input query"
        )
    try:
        values = pc.cast(column, pa.int64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise ValueError(
            f"column {feature!r} does not fit the model's integer input {input_name!r} ({exc}); "
            f"CAST it to an integer in the input query"
        ) from None
    return np.asarray(values.to_numpy(zero_copy_only=False)).astype(dtype, copy=False)


def _output_order(outputs: Any, task: str) -> list[str] | None:
    """Graph output names in the order the scorer reads them, from the spec's ``outputs``."""
    if not outputs:
        return None
    if isinstance(outputs, list):
        return [str(name) for name in outputs]
    if task == "regression":
        return [outputs.get("prediction") or outputs["scores"]]
    return [outputs.get("label") or outputs["scores"], outputs["scores"]]


class Scorer:
    """One model, ready to score: an ONNX Runtime session plus its spec.

    Sessions are expensive to build (a 100-tree forest takes ~1 s), so callers go through
    :func:`get_scorer`, which caches one per model version.
    """

    def __init__(
        self,
        onnx_bytes: bytes,
        spec: dict[str, Any],
        threads: int | None = None,
        light: bool = False,
    ) -> None:
        self.spec = spec
        self.session = _ort_session(onnx_bytes, threads, light)
        self.features: list[dict[str, str]] = spec["features"]
        self._graph_features = graph_features(self.features)
        if any(f["kind"] in (TIMESTAMP, ARRAY) for f in self.features):  # several inputs each
            self.session = _RawFeeds(self.session, self.features)
        self.task: str = spec["task"]
        outputs = [o.name for o in self.session.get_outputs()]
        self._output_names = outputs
        self._input_names = {i.name for i in self.session.get_inputs()}
        if self.task == "classification":
            self.classes = pa.array(spec["classes"], type=label_arrow_type(spec))
        self._fetch = _output_order(spec.get("outputs"), self.task)
        self._plan = self._feed_plan()

    # --- feeding ------------------------------------------------------------------------------

    def _feed_plan(self) -> list[tuple[str, list[str], str, int]] | None:
        """How each graph input is fed: (input, feature names, ONNX type, rank); None when every
        input is its feature's own float32 or string ``[N, 1]`` tensor (every graph sqlml trains),
        which :meth:`feeds` serves on its fastest path."""
        kinds = {f["name"]: f["kind"] for f in self._graph_features}
        grouped: dict[str, list[str]] = self.spec.get("inputs") or {}
        plan = []
        simple = not grouped
        for graph_input in self.session.get_inputs():
            names = grouped.get(graph_input.name, [graph_input.name])
            missing = [n for n in names if n not in kinds]
            if missing:
                raise ValueError(
                    f"graph input {graph_input.name!r} needs column(s) {missing} that the model's "
                    f"spec does not list as features"
                )
            if graph_input.type != "tensor(string)" and graph_input.type not in _NUMERIC_INPUTS:
                raise ValueError(
                    f"graph input {graph_input.name!r} is {graph_input.type}; sqlml feeds float, "
                    f"double, int64, int32 and string tensors"
                )
            rank = len(graph_input.shape) if graph_input.shape is not None else 2
            plan.append((graph_input.name, names, graph_input.type, rank))
            own = "tensor(float)" if kinds[names[0]] == "numeric" else "tensor(string)"
            simple = simple and rank == 2 and graph_input.type == own
        return None if simple else plan

    def feeds(self, columns: dict[str, pa.Array | pa.ChunkedArray]) -> dict[str, np.ndarray]:
        """Turn Arrow columns (by feature name) into the graph's named input tensors."""
        if self._plan is None:
            arrays = model_arrays(columns, self.features, np.float32)
            return {name: array.reshape(-1, 1) for name, array in arrays.items()}
        feeds = {}
        for name, features, onnx_type, rank in self._plan:
            parts = [_input_array(columns[f], f, onnx_type, name) for f in features]
            array = parts[0].reshape(-1, 1) if len(parts) == 1 else np.column_stack(parts)
            feeds[name] = array.reshape(-1) if rank == 1 else array
        return feeds

    def run(self, columns: dict[str, Any]) -> list[np.ndarray]:
        """The graph's outputs: [label, probabilities | distances] or [prediction, ...]."""
        if self._fetch is None:
            return self.session.run(None, self.feeds(columns))
        unique = list(dict.fromkeys(self._fetch))
        values = dict(zip(unique, self.session.run(unique, self.feeds(columns)), strict=True))
        return [values[name] for name in self._fetch]

    # --- outputs ------------------------------------------------------------------------------

    def probabilities(self, outputs: list[np.ndarray]) -> np.ndarray:
        return np.asarray(outputs[1], dtype=np.float64)

    @staticmethod
    def distances(outputs: list[np.ndarray]) -> np.ndarray:
        """k-means distances to every centroid, one column per centroid."""
        return np.asarray(outputs[1], dtype=np.float64)

    def function_columns(self, columns: dict[str, Any]) -> list[tuple[str, pa.Array]]:
        """What a model's FUNCTION returns (Redshift ML): ML.PREDICT's columns, but a k-means
        model's cluster is SageMaker's ``closest_cluster``, 0 to k - 1, where ML.PREDICT's
        CENTROID_ID (BigQuery) counts from 1
        (https://docs.aws.amazon.com/redshift/latest/dg/tutorial_k-means_clustering.html)."""
        out = self.predict_columns(columns)
        if self.task == "clustering":
            name, ids = out[0]
            out[0] = (name, pc.subtract(ids, pa.scalar(1, ids.type)))
        return out

    def predict_columns(
        self, columns: dict[str, Any], threshold: float | None = None
    ) -> list[tuple[str, pa.Array]]:
        """The columns ML.PREDICT appends, as ``(name, array)`` pairs in output order."""
        outputs = self.run(columns)
        label = self.spec.get("label")
        if self.task == "classification":
            probs = self.probabilities(outputs)
            index = self.class_index(probs, threshold)
            predicted = self.classes.take(pa.array(index))
            return [
                (f"predicted_{label}", predicted),
                (f"predicted_{label}_probs", self.probs_list(probs)),
            ]
        if self.task == "regression":
            values = np.asarray(outputs[0], dtype=np.float64).reshape(-1)
            return [(f"predicted_{label}", pa.array(values))]
        if self.task == "clustering":
            distances = self.distances(outputs)
            return [
                ("centroid_id", pa.array(np.argmin(distances, axis=1) + 1, type=pa.int64())),
                ("nearest_centroids_distance", self.distance_list(distances)),
            ]
        if self.task == "dimensionality_reduction":
            projected = np.asarray(outputs[0], dtype=np.float64)
            return [
                (f"principal_component_{i + 1}", pa.array(projected[:, i]))
                for i in range(projected.shape[1])
            ]
        raise ValueError(f"unknown task {self.task!r}")

    def class_index(self, probs: np.ndarray, threshold: float | None = None) -> np.ndarray:
        if threshold is None:
            threshold = self.spec.get("threshold")
        if probs.shape[1] == 2 and threshold is not None:
            return (probs[:, 1] >= threshold).astype(np.int64)
        return np.argmax(probs, axis=1).astype(np.int64)

    def probs_list(self, probs: np.ndarray) -> pa.Array:
        rows, k = probs.shape
        labels = self.classes.take(pa.array(np.tile(np.arange(k), rows)))
        values = pa.StructArray.from_arrays(
            [labels, pa.array(probs.reshape(-1))], names=["label", "prob"]
        )
        offsets = pa.array(np.arange(0, rows * k + 1, k, dtype=np.int32))
        return pa.ListArray.from_arrays(offsets, values)

    @staticmethod
    def distance_list(distances: np.ndarray) -> pa.Array:
        rows, k = distances.shape
        order = np.argsort(distances, axis=1, kind="stable")
        ids = (order + 1).reshape(-1).astype(np.int64)
        sorted_distances = np.take_along_axis(distances, order, axis=1).reshape(-1)
        values = pa.StructArray.from_arrays(
            [pa.array(ids), pa.array(sorted_distances)], names=["centroid_id", "distance"]
        )
        offsets = pa.array(np.arange(0, rows * k + 1, k, dtype=np.int32))
        return pa.ListArray.from_arrays(offsets, values)

    def output_schema(self) -> list[pa.Field]:
        """The fields :meth:`predict_columns` produces, known before any batch is scored."""
        return output_fields(self.spec)


def output_fields(spec: dict[str, Any]) -> list[pa.Field]:
    """ML.PREDICT's added fields for a model's spec: BigQuery's prediction columns by task."""
    label = spec.get("label")
    task = spec["task"]
    if task == "classification":
        label_type = label_arrow_type(spec)
        prob = pa.struct([("label", label_type), ("prob", pa.float64())])
        return [
            pa.field(f"predicted_{label}", label_type),
            pa.field(f"predicted_{label}_probs", pa.list_(prob)),
        ]
    if task == "regression":
        return [pa.field(f"predicted_{label}", pa.float64())]
    if task == "dimensionality_reduction":
        count = spec["num_principal_components"]
        return [pa.field(f"principal_component_{i + 1}", pa.float64()) for i in range(count)]
    distance = pa.struct([("centroid_id", pa.int64()), ("distance", pa.float64())])
    return [
        pa.field("centroid_id", pa.int64()),
        pa.field("nearest_centroids_distance", pa.list_(distance)),
    ]


_CACHE: OrderedDict[str, Scorer] = OrderedDict()
_CACHE_LOCK = threading.Lock()
_CACHE_SIZE = 16


def get_scorer(key: str, onnx_bytes: bytes | None, spec: dict[str, Any] | str | None) -> Scorer:
    """The cached :class:`Scorer` for ``key`` (a model name + version + fingerprint).

    ``onnx_bytes`` and ``spec`` may be None when the caller knows the key is cached; on a miss they
    are required.
    """
    with _CACHE_LOCK:
        scorer = _CACHE.get(key)
        if scorer is not None:
            _CACHE.move_to_end(key)
            return scorer
    if onnx_bytes is None or spec is None:
        raise KeyError(key)
    if isinstance(spec, str):
        spec = json.loads(spec)
    scorer = Scorer(onnx_bytes, spec)
    with _CACHE_LOCK:
        _CACHE[key] = scorer
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return scorer
