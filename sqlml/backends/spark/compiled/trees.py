"""Tree ensembles (TreeEnsembleRegressor / TreeEnsembleClassifier) with ONNX Runtime's float32
rules: float32 thresholds compared with IEEE NaN rules, scores summed in float32 tree by tree, and
ORT's post-transforms and binary-classifier cases (``tree_ensemble_aggregator.h`` /
``ml_common.h``)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from sqlml.backends.spark.compiled.dense import _post_transform
from sqlml.backends.spark.compiled.elementwise import _logistic
from sqlml.backends.spark.compiled.limits import MAX_TREE_NODES
from sqlml.backends.spark.compiled.tensors import (
    Tensor,
    Unsupported,
    _f32,
    _number,
    _row,
    _text,
    _vector,
    quote,
)

if TYPE_CHECKING:
    from sqlml.backends.spark.compiled.compiler import Compiler


@dataclass
class _Trees:
    """A tree ensemble's nodes by (tree, node id), and each leaf's weights by target."""

    nodes: dict[tuple[int, int], tuple[str, int, float, int, int, bool]]
    leaves: dict[tuple[int, int], dict[int, float]]
    roots: list[int]


def _tree_arrays(attrs: dict[str, Any], prefix: str) -> _Trees:
    if "nodes_values" not in attrs and "nodes_values_as_tensor" in attrs:
        raise Unsupported("tree thresholds in double precision")
    if any(k.endswith("_as_tensor") for k in attrs):
        raise Unsupported("tree attributes as double tensors")
    tree_ids = attrs["nodes_treeids"]
    count = len(tree_ids)
    if count > MAX_TREE_NODES:
        raise Unsupported(f"tree ensembles of more than {MAX_TREE_NODES} nodes")
    tracks = attrs.get("nodes_missing_value_tracks_true") or [0] * count
    nodes = {}
    for i in range(count):
        key = (int(tree_ids[i]), int(attrs["nodes_nodeids"][i]))
        nodes[key] = (
            _text(attrs["nodes_modes"][i]),
            int(attrs["nodes_featureids"][i]),
            float(np.float32(attrs["nodes_values"][i])),
            int(attrs["nodes_truenodeids"][i]),
            int(attrs["nodes_falsenodeids"][i]),
            bool(tracks[i]),
        )
    leaves: dict[tuple[int, int], dict[int, float]] = {}
    for t, n, k, w in zip(
        attrs[f"{prefix}_treeids"],
        attrs[f"{prefix}_nodeids"],
        attrs[f"{prefix}_ids"],
        attrs[f"{prefix}_weights"],
        strict=True,
    ):
        slot = leaves.setdefault((int(t), int(n)), {})
        slot[int(k)] = slot.get(int(k), 0.0) + float(np.float32(w))
    roots = sorted({t for t, _ in nodes})
    return _Trees(nodes, leaves, roots)


def _condition(mode: str, x: str, threshold: float, missing_true: bool) -> str:
    """ORT's branch test ``x CMP threshold || (missing_tracks_true && isnan(x))`` as SQL, with
    IEEE NaN rules (Spark's own comparisons order NaN above every number). ``x`` holds float32
    values and the threshold is ORT's float32 one, so comparing them as doubles is exact."""
    if math.isnan(threshold):
        test = "true" if mode == "BRANCH_NEQ" else "false"
    else:
        t = _number(threshold)
        tests = {
            "BRANCH_LEQ": f"{x} <= {t}",
            "BRANCH_LT": f"{x} < {t}",
            "BRANCH_GTE": f"NOT isnan({x}) AND {x} >= {t}",
            "BRANCH_GT": f"NOT isnan({x}) AND {x} > {t}",
            "BRANCH_EQ": f"{x} = {t}",
            "BRANCH_NEQ": f"isnan({x}) OR {x} != {t}",
        }
        if mode not in tests:
            raise Unsupported(f"tree node mode {mode}")
        test = tests[mode]
    return f"({test}) OR isnan({x})" if missing_true else test


def _tree_sql(trees: _Trees, tree: int, features: list[str], leaf: Callable[[int], str]) -> str:
    """One tree as nested CASE WHEN over feature columns sqlml named; ``leaf(node_id)`` gives a
    leaf's value. SQL text of numbers and sqlml's own column names, so a tree of hundreds of
    nodes is one JVM call rather than ~4 per node."""

    def build(node: int, depth: int) -> str:
        entry = trees.nodes.get((tree, node))
        if entry is None:
            raise Unsupported(f"tree {tree} refers to a missing node {node}")
        mode, feature, threshold, true_id, false_id, missing = entry
        if mode == "LEAF":
            return leaf(node)
        if depth > 64 or feature >= len(features):
            raise Unsupported("a tree deeper than 64 levels or over a missing feature")
        test = _condition(mode, quote(features[feature]), threshold, missing)
        left, right = build(true_id, depth + 1), build(false_id, depth + 1)
        return f"CASE WHEN {test} THEN {left} ELSE {right} END"

    return build(0, 0)


def _float_sum(terms: list[str]) -> str:
    """Tree scores summed in float32, tree after tree, as ORT accumulates them (a forest's
    class frequencies then add up to exactly 1, as in ORT, rather than to 1 ± 1e-8)."""
    total = terms[0]
    for term in terms[1:]:
        total = f"CAST({total} + {term} AS FLOAT)"
    return total


def _tree_scores(c: Compiler, x: Tensor, trees: _Trees, targets: int) -> list[Any]:
    """Per target, the sum over trees of the reached leaf's weight (in double)."""
    from pyspark.sql import functions as F

    c.tree_nodes += len(trees.nodes)
    if c.tree_nodes > MAX_TREE_NODES:
        raise Unsupported(f"tree ensembles of more than {MAX_TREE_NODES} nodes")
    features = c.names(Tensor(x.shape, _vector(x, "a tree ensemble"), x.dtype))
    if targets == 1:
        per_tree = [
            F.expr(
                _tree_sql(
                    trees,
                    tree,
                    features,
                    lambda n, t=tree: _number(trees.leaves.get((t, n), {}).get(0, 0.0)),
                )
            )
            for tree in trees.roots
        ]
        names = c.names(c.bind(Tensor((len(per_tree),), per_tree, "float")))
        return [F.expr(_float_sum([quote(n) for n in names]))]
    # The leaf's index per tree, then each target's weight from an array literal: one CASE tree
    # per tree, not one per target.
    leaves = {}
    indices = []
    for tree in trees.roots:
        leaf_ids = sorted(n for (t, n), e in trees.nodes.items() if t == tree and e[0] == "LEAF")
        position = {n: i + 1 for i, n in enumerate(leaf_ids)}
        leaves[tree] = leaf_ids
        indices.append(F.expr(_tree_sql(trees, tree, features, lambda n, p=position: str(p[n]))))
    index_names = c.names(c.bind(Tensor((len(indices),), indices, "int64")))
    sums = []
    for k in range(targets):
        terms = []
        for index, tree in zip(index_names, trees.roots, strict=True):
            weights = [trees.leaves.get((tree, n), {}).get(k, 0.0) for n in leaves[tree]]
            if any(weights):
                values = ", ".join(_number(w) for w in weights)
                terms.append(f"element_at(array({values}), {quote(index)})")
        sums.append(F.expr(_float_sum(terms)) if terms else F.lit(0.0))
    return sums


def _tree_regressor(c: Compiler, inputs: list[Any], attrs: dict[str, Any]) -> list[Any]:
    """ORT's regressor: per target, the leaf weights summed (or averaged) over the trees, plus
    the base value (one base value serves a single target; n of them, n targets)."""
    x = _row(inputs[0], "TreeEnsembleRegressor")
    targets = int(attrs.get("n_targets", 1))
    if _text(attrs.get("post_transform", b"NONE")) != "NONE":
        raise Unsupported("a TreeEnsembleRegressor with a post_transform")
    trees = _tree_arrays(attrs, "target")
    aggregate = _text(attrs.get("aggregate_function", b"SUM"))
    if aggregate not in ("SUM", "AVERAGE"):
        raise Unsupported(f"aggregate_function {aggregate}")
    base = [float(np.float32(v)) for v in attrs.get("base_values") or []]
    if targets == 1:
        base = base[:1] if len(base) == 1 else []
    elif len(base) != targets:
        base = []
    scores = []
    for k, score in enumerate(_tree_scores(c, x, trees, targets)):
        if aggregate == "AVERAGE":
            score = score / float(len(trees.roots))
        if base:
            score = score + base[k]
        scores.append(_f32(score))
    return [c.bind(Tensor((targets,), scores, "float"))]


def _tree_classifier(c: Compiler, inputs: list[Any], attrs: dict[str, Any]) -> list[Any]:
    from pyspark.sql import functions as F

    x = _row(inputs[0], "TreeEnsembleClassifier")
    labels = attrs.get("classlabels_int64s") or attrs.get("classlabels_strings") or []
    n = len(labels)
    transform = _text(attrs.get("post_transform", b"NONE"))
    if _text(attrs.get("aggregate_function", b"SUM")) != "SUM":
        raise Unsupported("a TreeEnsembleClassifier that does not sum")
    trees = _tree_arrays(attrs, "class")
    base = [float(np.float32(v)) for v in attrs.get("base_values") or []]
    ids = {k for weights in trees.leaves.values() for k in weights}
    all_positive = all(w >= 0 for ws in trees.leaves.values() for w in ws.values())
    if n == 2 and len(ids) == 1:
        # ORT's binary case: one score s, its base value, then [1 - s, s] (positive weights) or
        # [logistic(-s), logistic(s)] / [-s, s] (mixed weights).
        (score,) = _tree_scores(c, x, _single_target(trees), 1)
        if len(base) == 2:
            raise Unsupported("a binary TreeEnsembleClassifier with two base values")
        s = c.bind(Tensor((1,), [_f32(score + (base[0] if base else 0.0))], "float")).items[0]
        if transform == "PROBIT":
            raise Unsupported("post_transform PROBIT")
        if all_positive:
            return [None, Tensor((2,), [_f32(F.lit(1.0) - s), s], "float")]
        if transform == "LOGISTIC":
            return [None, Tensor((2,), [_logistic(_f32(-s)), _logistic(s)], "float")]
        return [None, Tensor((2,), [_f32(-s), s], "float")]
    leaves = list(trees.leaves.values())
    if any(set(ws) != set(range(n)) for ws in leaves):
        raise Unsupported("a TreeEnsembleClassifier whose leaves do not score every class")
    scores = [_f32(s) for s in _tree_scores(c, x, trees, n)]
    if n == 2:
        if len(base) == 2:  # ORT: s1 = base[1] + s0, s0 = -s1
            s1 = _f32(scores[0] + base[1])
            scores = [_f32(-s1), s1]
        elif len(base) == 1:
            scores = [_f32(scores[0] + base[0]), scores[1]]
    elif base:
        if len(base) != n:
            raise Unsupported("base_values that do not match the classes")
        scores = [_f32(s + b) for s, b in zip(scores, base, strict=True)]
    bound = c.bind(Tensor((n,), scores, "float"))
    return [None, _post_transform(c, bound.items, transform)]


def _single_target(trees: _Trees) -> _Trees:
    leaves = {key: {0: sum(ws.values())} for key, ws in trees.leaves.items()}
    return _Trees(trees.nodes, leaves, trees.roots)
