"""Score Arrow record batches with an ONNX model.

The spec is the JSON document stored with every model (catalog column ``spec`` and ONNX metadata key
``sqlml.spec``)::

    {"task": "classification" | "regression" | "clustering",
     "label": "churned",                      # None for clustering
     "label_type": "string" | "int64" | "bool" | "double",
     "classes": [...],                        # classifiers: order of the probability columns
     "threshold": 0.5,                        # binary classifiers: P(classes[1]) >= threshold -> classes[1]
     "features": [{"name": "age", "kind": "numeric" | "categorical"}, ...],
     "outputs": {"label": "label", "scores": "probabilities"|"variable"|"scores"}}

Numeric features enter the graph as float32 ``[N, 1]`` tensors (NULL becomes NaN, which the graph's
imputer fills); categorical ones as string ``[N, 1]`` tensors with NULL mapped to ``NULL_CATEGORY`` so
that NULL is a category of its own, and booleans spelled ``true``/``false`` as SQL casts them.
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

NULL_CATEGORY = "__sqlml_null__"

_ARROW_LABEL_TYPES = {
    "string": pa.string(),
    "int64": pa.int64(),
    "bool": pa.bool_(),
    "double": pa.float64(),
}


def label_arrow_type(spec: dict[str, Any]) -> pa.DataType:
    return _ARROW_LABEL_TYPES[spec.get("label_type") or "double"]


def _ort_session(onnx_bytes: bytes, threads: int | None) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or max(1, (os.cpu_count() or 1))
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
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
    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        column = pc.cast(column, pa.string())
    return pc.fill_null(column, NULL_CATEGORY).to_numpy(zero_copy_only=False).astype(object)


class Scorer:
    """One model, ready to score: an ONNX Runtime session plus its spec.

    Sessions are expensive to build (a 100-tree forest takes ~1 s), so callers go through
    :func:`get_scorer`, which caches one per model version.
    """

    def __init__(self, onnx_bytes: bytes, spec: dict[str, Any], threads: int | None = None) -> None:
        self.spec = spec
        self.session = _ort_session(onnx_bytes, threads)
        self.features: list[dict[str, str]] = spec["features"]
        self.task: str = spec["task"]
        outputs = [o.name for o in self.session.get_outputs()]
        self._output_names = outputs
        self._input_names = {i.name for i in self.session.get_inputs()}
        if self.task == "classification":
            self.classes = pa.array(spec["classes"], type=label_arrow_type(spec))

    # --- feeding ------------------------------------------------------------------------------

    def feeds(self, columns: dict[str, pa.Array | pa.ChunkedArray]) -> dict[str, np.ndarray]:
        """Turn Arrow columns (by feature name) into the graph's named input tensors."""
        return {
            f["name"]: feature_array(columns[f["name"]], f["kind"], np.float32).reshape(-1, 1)
            for f in self.features
        }

    def run(self, columns: dict[str, Any]) -> list[np.ndarray]:
        return self.session.run(None, self.feeds(columns))

    # --- outputs ------------------------------------------------------------------------------

    def probabilities(self, outputs: list[np.ndarray]) -> np.ndarray:
        return np.asarray(outputs[1], dtype=np.float64)

    @staticmethod
    def distances(outputs: list[np.ndarray]) -> np.ndarray:
        """k-means distances to every centroid, one column per centroid."""
        return np.asarray(outputs[1], dtype=np.float64)

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
        label = self.spec.get("label")
        if self.task == "classification":
            label_type = label_arrow_type(self.spec)
            prob = pa.struct([("label", label_type), ("prob", pa.float64())])
            return [
                pa.field(f"predicted_{label}", label_type),
                pa.field(f"predicted_{label}_probs", pa.list_(prob)),
            ]
        if self.task == "regression":
            return [pa.field(f"predicted_{label}", pa.float64())]
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
