"""Spark ML pipelines as ONNX graphs that take raw columns, built from ``ai.onnx.ml`` operators.

sqlml's own converter rather than onnxmltools' ``convert_sparkml``: that one needs the assembled
feature vector as input, writes every tree to a temporary folder it never deletes, and takes ~30 s
for a 50-tree forest. Here the fitted values are read out of the Spark models (numbers, or for tree
ensembles one Parquet read of their saved nodes) and written into a graph with the same inputs and
outputs as the scikit-learn models: one float32 ``[N, 1]`` input per numeric column (NaN for NULL)
and one string ``[N, 1]`` input per categorical column (NULL as ``__sqlml_null__``), and the outputs
``label`` + ``probabilities`` [N, k] (classifiers), ``variable`` [N, 1] (regressors), ``label`` +
``scores`` [N, k] distances (k-means). So the same :class:`~sqlml_udfs.scoring.Scorer` and spec serve
a model whichever engine trained it.

The graph mirrors the pipeline :mod:`sqlml.training.mllib` fits: mean imputation of the
numbers (``Imputer``), optionally standard scaling (``Scaler``), one-hot encoding of the categories
with unseen values in a slot of their own (``LabelEncoder`` + ``Equal``, as Spark's
``StringIndexer(handleInvalid='keep')`` + ``OneHotEncoder(handleInvalid='keep')`` do), the blocks
concatenated in the assembler's order, then the model's head.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from onnx import TensorProto, helper, numpy_helper

from sqlml.errors import TrainingError

OPSET = [helper.make_opsetid("", 18), helper.make_opsetid("ai.onnx.ml", 3)]


@dataclass
class Layout:
    """The preprocessing, as fitted: what turns raw columns into the model's feature vector."""

    numeric: list[str]  # numeric feature names, in assembler order
    surrogates: list[float]  # their imputed values (means)
    mean: list[float] | None  # standard scaling of the numeric block, when the model scales
    std: list[float] | None
    categorical: list[tuple[str, list[str]]] = field(default_factory=list)  # (name, labels)

    @property
    def width(self) -> int:
        return len(self.numeric) + sum(len(labels) + 1 for _, labels in self.categorical)


class _Graph:
    """A small builder: unique names, initializers from numpy, nodes in order."""

    def __init__(self) -> None:
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self._count = 0

    def name(self, hint: str) -> str:
        self._count += 1
        return f"{hint}_{self._count}"

    def const(self, value: Any, hint: str = "c") -> str:
        name = self.name(hint)
        array = np.asarray(value)
        if array.dtype.kind in "UO":
            tensor = helper.make_tensor(
                name, TensorProto.STRING, array.shape, [str(v).encode() for v in array.ravel()]
            )
        else:
            tensor = numpy_helper.from_array(array, name)
        self.initializers.append(tensor)
        return name

    def op(
        self,
        op_type: str,
        inputs: list[str],
        hint: str | None = None,
        domain: str = "",
        output: str | None = None,
        **attributes: Any,
    ) -> str:
        out = output or self.name(hint or op_type.lower())
        self.nodes.append(
            helper.make_node(op_type, inputs, [out], domain=domain or None, **attributes)
        )
        return out


def training_features(graph: _Graph, layout: Layout) -> str:
    """Raw inputs -> the assembled float32 feature matrix [N, width]."""
    blocks = []
    if layout.numeric:
        raw = (
            layout.numeric[0]
            if len(layout.numeric) == 1
            else graph.op("Concat", list(layout.numeric), "numeric", axis=1)
        )
        imputed = graph.op(
            "Imputer",
            [raw],
            "imputed",
            domain="ai.onnx.ml",
            imputed_value_floats=[float(v) for v in layout.surrogates],
            replaced_value_float=float("nan"),
        )
        if layout.mean is not None and layout.std is not None:
            std = np.asarray(layout.std, dtype=np.float64)
            # Spark's StandardScaler gives 0 for a constant column; so does a scale of 0.
            scale = np.where(std > 0, 1.0 / np.where(std > 0, std, 1.0), 0.0)
            imputed = graph.op(
                "Scaler",
                [imputed],
                "scaled",
                domain="ai.onnx.ml",
                offset=[float(v) for v in layout.mean],
                scale=[float(v) for v in scale],
            )
        blocks.append(imputed)
    for name, labels in layout.categorical:
        index = graph.op(
            "LabelEncoder",
            [name],
            "index",
            domain="ai.onnx.ml",
            keys_strings=list(labels),
            values_int64s=list(range(len(labels))),
            default_int64=len(labels),
        )
        slots = graph.const(np.arange(len(labels) + 1, dtype=np.int64).reshape(1, -1), "slots")
        hot = graph.op("Equal", [index, slots], "hot")
        blocks.append(graph.op("Cast", [hot], "onehot", to=TensorProto.FLOAT))
    if len(blocks) == 1:
        return blocks[0]
    return graph.op("Concat", blocks, "features", axis=1)


def _dense(graph: _Graph, x: str, weights: np.ndarray, bias: np.ndarray) -> str:
    """x @ weights + bias, in float32 ([d, k] weights)."""
    w = graph.const(np.asarray(weights, dtype=np.float32), "w")
    b = graph.const(np.asarray(bias, dtype=np.float32).reshape(1, -1), "b")
    return graph.op("Add", [graph.op("MatMul", [x, w], "xw"), b], "z")


def _classifier_outputs(graph: _Graph, probabilities: str, classes: list[Any]) -> None:
    """``label`` (the argmax class, as sklearn's graphs give it) beside ``probabilities``."""
    graph.op("Identity", [probabilities], output="probabilities")
    index = graph.op("ArgMax", [probabilities], "argmax", axis=1, keepdims=0)
    values = np.asarray(
        [str(c) for c in classes] if isinstance(classes[0], str) else [int(c) for c in classes],
        dtype=object if isinstance(classes[0], str) else np.int64,
    )
    graph.op("Gather", [graph.const(values, "classes"), index], output="label", axis=0)


def _binary_probabilities(graph: _Graph, p1: str) -> str:
    one = graph.const(np.ones((1, 1), dtype=np.float32), "one")
    p0 = graph.op("Sub", [one, p1], "p0")
    return graph.op("Concat", [p0, p1], "probs", axis=1)


# --- heads --------------------------------------------------------------------------------------


@dataclass
class LinearHead:
    """Logistic (``classes`` given) or linear regression: ``coefficients`` [k or 1, d]."""

    coefficients: np.ndarray
    intercepts: np.ndarray
    classes: list[Any] | None = None


@dataclass
class MLPHead:
    """A multilayer perceptron: sigmoid hidden layers, softmax output; layers as (W [in, out], b)."""

    layers: list[tuple[np.ndarray, np.ndarray]]
    classes: list[Any]


@dataclass
class KMeansHead:
    centers: np.ndarray  # [k, d]


@dataclass
class TreeHead:
    """A tree ensemble: per tree, its nodes as parallel arrays (see :func:`tree_arrays`).

    ``kind``: "forest_classifier" (leaf class frequencies averaged), "forest_regressor" (leaf
    values averaged), "boosted_classifier" (weighted sum of leaf values is the margin m, and
    P(class 1) = 1 / (1 + exp(-2m)) as in Spark's log loss) or "boosted_regressor" (weighted sum).
    """

    kind: str
    trees: list[dict[str, np.ndarray]]
    weights: list[float]
    classes: list[Any] | None = None


@dataclass
class XGBoostHead:
    """XGBoost trained on the executors: its scikit-learn-API estimator (booster cut to the kept
    round), converted by onnxmltools as on DuckDB and spliced in after the preprocessing;
    ``classes`` None for a regressor."""

    estimator: Any
    classes: list[Any] | None = None


def _xgboost(graph: _Graph, x: str, head: XGBoostHead, width: int) -> None:
    """onnxmltools' graph of the booster, its input wired to the feature matrix and its names
    prefixed; classifiers keep its probabilities (P(class i) in Spark's label index order)."""
    from onnxmltools import convert_xgboost
    from onnxmltools.convert.common.data_types import FloatTensorType

    from sqlml.models import boosting

    estimator = boosting.for_onnx(head.estimator)
    # onnxmltools emits ai.onnx.ml tree ensembles (and Identity / Cast), valid at OPSET too
    converted = convert_xgboost(
        estimator, initial_types=[("features", FloatTensorType([None, width]))]
    )
    if head.classes is not None:
        boosting.assign_tree_classes(converted, estimator)
    inner = converted.graph
    source = inner.input[0].name

    def renamed(name: str) -> str:
        return x if name == source else (f"xgb_{name}" if name else name)

    for tensor in inner.initializer:
        copy = type(tensor)()
        copy.CopyFrom(tensor)
        copy.name = renamed(tensor.name)
        graph.initializers.append(copy)
    for node in inner.node:
        copy = type(node)()
        copy.CopyFrom(node)
        copy.name = renamed(node.name)
        copy.input[:] = [renamed(n) for n in node.input]
        copy.output[:] = [renamed(n) for n in node.output]
        graph.nodes.append(copy)
    outputs = {o.name: renamed(o.name) for o in inner.output}
    if head.classes is None:
        graph.op("Identity", [outputs["variable"]], output="variable")
        return
    _classifier_outputs(graph, outputs["probabilities"], head.classes)


def _linear(graph: _Graph, x: str, head: LinearHead) -> None:
    coefficients = np.atleast_2d(head.coefficients)
    z = _dense(graph, x, coefficients.T, np.asarray(head.intercepts).reshape(-1))
    if head.classes is None:
        graph.op("Identity", [z], output="variable")
        return
    if coefficients.shape[0] == 1:
        probabilities = _binary_probabilities(graph, graph.op("Sigmoid", [z], "p1"))
    else:
        probabilities = graph.op("Softmax", [z], "softmax", axis=1)
    _classifier_outputs(graph, probabilities, head.classes)


def _mlp(graph: _Graph, x: str, head: MLPHead) -> None:
    for i, (weights, bias) in enumerate(head.layers):
        x = _dense(graph, x, weights, bias)
        last = i == len(head.layers) - 1
        x = graph.op("Softmax", [x], "softmax", axis=1) if last else graph.op("Sigmoid", [x])
    _classifier_outputs(graph, x, head.classes)


def _kmeans(graph: _Graph, x: str, head: KMeansHead) -> None:
    """Euclidean distances from the differences themselves ([N, k, d]), not from the expansion
    |x|² - 2x·c + |c|², which loses small distances to float32 cancellation far from 0."""
    centers = np.asarray(head.centers, dtype=np.float32)
    rows = graph.op("Unsqueeze", [x, graph.const(np.array([1], dtype=np.int64), "axis")], "rows")
    diff = graph.op("Sub", [rows, graph.const(centers[None, :, :], "centers")], "diff")
    axes = graph.const(np.array([2], dtype=np.int64), "axes")
    squared = graph.op("ReduceSumSquare", [diff, axes], "d2", keepdims=0)
    graph.op("Sqrt", [squared], output="scores")
    graph.op("ArgMin", ["scores"], output="label", axis=1, keepdims=0)


def _trees(graph: _Graph, x: str, head: TreeHead) -> None:
    forest = head.kind.startswith("forest")
    classes = head.classes
    targets = len(classes) if head.kind == "forest_classifier" and classes else 1
    attrs: dict[str, list[Any]] = {
        key: []
        for key in (
            "nodes_treeids",
            "nodes_nodeids",
            "nodes_featureids",
            "nodes_modes",
            "nodes_values",
            "nodes_truenodeids",
            "nodes_falsenodeids",
            "target_treeids",
            "target_nodeids",
            "target_ids",
            "target_weights",
        )
    }
    count = len(head.trees)
    for tree_id, (tree, weight) in enumerate(zip(head.trees, head.weights, strict=True)):
        scale = 1.0 / count if forest else weight
        _add_tree(attrs, tree_id, tree, scale, targets)
    raw = graph.op(
        "TreeEnsembleRegressor",
        [x],
        "trees",
        domain="ai.onnx.ml",
        n_targets=targets,
        aggregate_function="SUM",
        post_transform="NONE",
        **attrs,
    )
    if head.kind in ("forest_regressor", "boosted_regressor"):
        graph.op("Identity", [raw], output="variable")
        return
    assert classes is not None
    if head.kind == "forest_classifier":
        # Spark divides the summed leaf frequencies by their total (the number of trees).
        total = graph.op("ReduceSum", [raw, graph.const(np.array([1], np.int64))], keepdims=1)
        probabilities = graph.op("Div", [raw, total], "probs")
    else:
        two = graph.const(np.full((1, 1), 2.0, dtype=np.float32), "two")
        p1 = graph.op("Sigmoid", [graph.op("Mul", [raw, two], "margin2")], "p1")
        probabilities = _binary_probabilities(graph, p1)
    _classifier_outputs(graph, probabilities, classes)


def _add_tree(
    attrs: dict[str, list[Any]],
    tree_id: int,
    tree: dict[str, np.ndarray],
    scale: float,
    targets: int,
) -> None:
    """One tree's nodes and leaf values into the TreeEnsembleRegressor attribute lists.

    Continuous splits go left when x <= threshold (BRANCH_LEQ). Spark splits a binary (one-hot)
    feature as a categorical one by the categories that go left: {0} is x <= 0.5, {1} is x > 0.5.
    """
    ids = tree["id"]
    for i, node in enumerate(ids):
        left, right = int(tree["left"][i]), int(tree["right"][i])
        attrs["nodes_treeids"].append(tree_id)
        attrs["nodes_nodeids"].append(int(node))
        if left < 0:
            attrs["nodes_featureids"].append(0)
            attrs["nodes_modes"].append("LEAF")
            attrs["nodes_values"].append(0.0)
            attrs["nodes_truenodeids"].append(0)
            attrs["nodes_falsenodeids"].append(0)
            values = tree["leaf"][i]
            for target in range(targets):
                attrs["target_treeids"].append(tree_id)
                attrs["target_nodeids"].append(int(node))
                attrs["target_ids"].append(target)
                attrs["target_weights"].append(float(values[target]) * scale)
            continue
        attrs["nodes_featureids"].append(int(tree["feature"][i]))
        categories = tree["categories"][i]
        if categories < 0:
            mode, value = "BRANCH_LEQ", float(tree["threshold"][i])
        elif categories == 2 and list(tree["left_set"][i]) in ([0.0], [1.0]):
            mode = "BRANCH_LEQ" if list(tree["left_set"][i]) == [0.0] else "BRANCH_GT"
            value = 0.5
        else:
            raise TrainingError(
                f"sqlml cannot convert a Spark tree split on a categorical feature with "
                f"{categories} categories to ONNX."
            )
        attrs["nodes_modes"].append(mode)
        attrs["nodes_values"].append(value)
        attrs["nodes_truenodeids"].append(left)
        attrs["nodes_falsenodeids"].append(right)


def tree_arrays(nodes: Any, task: str, classes: int) -> list[dict[str, np.ndarray]]:
    """Trees from the node table Spark writes when it saves a tree ensemble (``data/`` Parquet:
    ``treeID`` and ``nodeData`` {id, prediction, impurityStats, leftChild, rightChild, split}).

    A leaf's value is its prediction, or for a forest classifier its class frequencies (Spark's
    per-tree probability vector).
    """
    data = nodes.to_pydict()
    by_tree: dict[int, list[dict[str, Any]]] = {}
    for tree_id, node in zip(data["treeID"], data["nodeData"], strict=True):
        by_tree.setdefault(int(tree_id), []).append(node)
    trees = []
    for tree_id in sorted(by_tree):
        rows = sorted(by_tree[tree_id], key=lambda n: n["id"])
        leaves = []
        for n in rows:
            if task == "classification":
                stats = np.asarray(n["impurityStats"] or [0.0] * classes, dtype=np.float64)
                total = stats.sum()
                leaves.append(stats / total if total > 0 else stats)
            else:
                leaves.append(np.array([n["prediction"]], dtype=np.float64))
        trees.append(
            {
                "id": np.array([n["id"] for n in rows]),
                "left": np.array([n["leftChild"] for n in rows]),
                "right": np.array([n["rightChild"] for n in rows]),
                "feature": np.array([n["split"]["featureIndex"] for n in rows]),
                "categories": np.array([n["split"]["numCategories"] for n in rows]),
                "threshold": np.array(
                    [(n["split"]["leftCategoriesOrThreshold"] or [0.0])[0] for n in rows]
                ),
                "left_set": [n["split"]["leftCategoriesOrThreshold"] or [] for n in rows],
                "leaf": leaves,
            }
        )
    return trees


# --- the whole graph --------------------------------------------------------------------------------


_HEADS = {LinearHead: _linear, MLPHead: _mlp, KMeansHead: _kmeans, TreeHead: _trees}


def to_onnx(features: list[dict[str, str]], layout: Layout, head: Any) -> bytes:
    """The model as ONNX bytes: inputs in ``features`` order, outputs as described above."""
    graph = _Graph()
    x = training_features(graph, layout)
    if isinstance(head, XGBoostHead):
        _xgboost(graph, x, head, layout.width)
    else:
        _HEADS[type(head)](graph, x, head)
    inputs = [
        helper.make_tensor_value_info(
            f["name"],
            TensorProto.FLOAT if f["kind"] == "numeric" else TensorProto.STRING,
            [None, 1],
        )
        for f in features
    ]
    outputs = _output_infos(head)
    model = helper.make_model(
        helper.make_graph(graph.nodes, "sqlml_spark", inputs, outputs, graph.initializers),
        opset_imports=OPSET,
        producer_name="sqlml",
    )
    model.ir_version = 9
    return model.SerializeToString()


def _output_infos(head: Any) -> list[Any]:
    if isinstance(head, KMeansHead):
        return [
            helper.make_tensor_value_info("label", TensorProto.INT64, [None]),
            helper.make_tensor_value_info("scores", TensorProto.FLOAT, [None, len(head.centers)]),
        ]
    classes = getattr(head, "classes", None)
    if classes is None:
        return [helper.make_tensor_value_info("variable", TensorProto.FLOAT, [None, 1])]
    label_type = TensorProto.STRING if isinstance(classes[0], str) else TensorProto.INT64
    return [
        helper.make_tensor_value_info("label", label_type, [None]),
        helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [None, len(classes)]),
    ]
