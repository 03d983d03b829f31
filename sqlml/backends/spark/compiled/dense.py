"""Dense layers (MatMul, Gemm, the linear models), reductions, Softmax and Normalizer, and the
post-transforms linear and tree classifiers share."""

from __future__ import annotations

from collections.abc import Callable
from functools import reduce
from typing import TYPE_CHECKING, Any

import numpy as np

from sqlml.backends.spark.compiled.elementwise import _elementwise, _float_op, _logistic
from sqlml.backends.spark.compiled.limits import MAX_DENSE_TERMS
from sqlml.backends.spark.compiled.shapes import _axes
from sqlml.backends.spark.compiled.tensors import (
    Tensor,
    Unsupported,
    _const,
    _f32,
    _from_array,
    _number,
    _row,
    _text,
    _vector,
    quote,
)

if TYPE_CHECKING:
    from sqlml.backends.spark.compiled.compiler import Compiler


def _row_names(c: Compiler, x: Tensor, op: str) -> tuple[list[str], np.ndarray, np.ndarray]:
    """The columns a dense layer multiplies, and per column the (offset, scale) of a Scaler to
    fold into its weights: ``(v - o) * s * w = v * (s * w) - o * s * w``. When every item of
    ``x`` is a Scaler's output (Compiler.affine), the layer reads the Scaler's inputs and the
    Scaler's columns are never computed; else offsets 0 and scales 1."""
    items = _vector(x, op)
    found = [c.affine.get(id(item)) for item in items]
    if items and all(found):
        parts = [entry for entry in found if entry]
        names = c.names(Tensor(x.shape, [p[1] for p in parts], x.dtype))
        return names, np.array([p[2] for p in parts]), np.array([p[3] for p in parts])
    names = c.names(Tensor(x.shape, items, x.dtype))
    return names, np.zeros(len(names)), np.ones(len(names))


def _folded(
    c: Compiler, row: tuple[list[str], np.ndarray, np.ndarray], weights: Any, bias: float = 0.0
) -> Any:
    """:func:`_dot` of a row from :func:`_row_names`: the weights (float32, as ORT holds them)
    times the folded scales, the offsets into the bias."""
    names, offsets, scales = row
    w = np.asarray(weights, dtype=np.float32).astype(np.float64) * scales
    return _dot(c, names, w, float(bias) - float(np.dot(w, offsets)), rounded=False)


def _dot(
    c: Compiler, names: list[str], weights: np.ndarray, bias: float = 0.0, rounded: bool = True
) -> Any:
    """sum_i row[i] * weights[i] + bias in double, zero weights dropped (``rounded``: the weights
    taken as float32, as ORT holds them; else as given).

    Built as one SQL expression over columns sqlml itself named (never a user's column or
    value) and numbers, because every Column call is a round trip to the JVM: a 20-feature,
    3-class model would otherwise take ~200 of them per output."""
    from pyspark.sql import functions as F

    terms = []
    for name, w in zip(names, weights, strict=True):
        w = float(np.float32(w)) if rounded else float(w)
        if w == 0.0:
            continue
        terms.append(quote(name) if w == 1.0 else f"{quote(name)} * ({_number(w)})")
    c.dense_terms += len(terms)
    if c.dense_terms > MAX_DENSE_TERMS:
        raise Unsupported(f"dense layers of more than {MAX_DENSE_TERMS} multiply-adds")
    if bias != 0.0 or not terms:
        terms.append(f"({_number(bias)})")
    return F.expr(" + ".join(terms))


def _matmul(c: Compiler, inputs: list[Any], attrs: dict[str, Any]) -> list[Any]:
    x = _row(inputs[0], "MatMul")
    row = _row_names(c, x, "MatMul")
    weights = _const(inputs[1], "weight").astype(np.float32)
    if weights.ndim != 2 or weights.shape[0] != len(row[0]):
        raise Unsupported("MatMul by other than a [d, k] matrix")
    out = [_folded(c, row, weights[:, j]) for j in range(weights.shape[1])]
    return [c.bind(Tensor((len(out),), out, "float"))]


def _gemm(c: Compiler, inputs: list[Any], attrs: dict[str, Any]) -> list[Any]:
    if attrs.get("transA", 0):
        raise Unsupported("Gemm with transA")
    x = _row(inputs[0], "Gemm")
    row = _row_names(c, x, "Gemm")
    weights = _const(inputs[1], "weight").astype(np.float32)
    if attrs.get("transB", 0):
        weights = weights.T
    if weights.ndim != 2 or weights.shape[0] != len(row[0]):
        raise Unsupported("Gemm by other than a [d, k] matrix")
    alpha = float(np.float32(attrs.get("alpha", 1.0)))
    beta = float(np.float32(attrs.get("beta", 1.0)))
    k = weights.shape[1]
    product = []
    for j in range(k):
        scaled = np.float32(weights[:, j].astype(np.float64) * alpha)
        product.append(_folded(c, row, scaled))
    out = Tensor((k,), product, "float")
    if len(inputs) > 2 and inputs[2] is not None and beta != 0.0:
        bias = inputs[2]
        if isinstance(bias, Tensor):
            bias = _elementwise(bias, np.float32(beta), _float_op("*"), "float")
        else:
            bias = np.asarray(bias, dtype=np.float32) * np.float32(beta)
        out = _elementwise(out, bias, _float_op("+"), "float")
    return [c.bind(out)]


def _reduce(kind: str) -> Callable[[Compiler, list[Any], dict[str, Any]], list[Any]]:
    def op(c: Compiler, inputs: list[Any], attrs: dict[str, Any]) -> list[Any]:
        x = _row(inputs[0], kind)
        if x.dtype != "float":
            raise Unsupported(f"{kind} of a {x.dtype} tensor")
        array = x.array()
        axes = _axes(inputs[1] if len(inputs) > 1 else None, attrs)
        if axes is None or not axes:
            if attrs.get("noop_with_empty_axes", 0):
                return [x]
            axes = list(range(1, array.ndim))
        axes = sorted(a + array.ndim if a < 0 else a for a in axes)
        if 0 in axes:
            raise Unsupported(f"{kind} over the batch axis")
        keep = [i for i in range(array.ndim) if i not in axes]
        moved = np.transpose(array, keep + axes)
        outer = moved.shape[: len(keep)]
        flat = moved.reshape((*outer, -1))
        out = np.empty(outer, dtype=object)
        for index in np.ndindex(outer):
            terms = list(flat[index])
            if kind == "ReduceSumSquare":
                terms = [t * t for t in terms]
            out[index] = _f32(reduce(lambda p, q: p + q, terms))
        if attrs.get("keepdims", 1):
            out = out.reshape([1 if i in axes else s for i, s in enumerate(array.shape)])
        return [c.bind(_from_array(out, "float"))]

    return op


def _softmax(c: Compiler, inputs: list[Any], attrs: dict[str, Any]) -> list[Any]:
    x = _row(inputs[0], "Softmax")
    axis = attrs.get("axis", -1)
    if len(x.shape) != 1 or axis not in (-1, 1):
        raise Unsupported("Softmax other than over a [N, k] tensor's last axis")
    return [_softmax_items(c, x.items)]


def _softmax_items(c: Compiler, items: list[Any]) -> Tensor:
    """ORT's ``ComputeSoftmax``: exp(x - max) / sum, in float32."""
    from pyspark.sql import functions as F

    top = c.bind(Tensor((1,), [F.greatest(*items) if len(items) > 1 else items[0]], "float"))
    exps = c.bind(
        Tensor((len(items),), [_f32(F.exp(_f32(i - top.items[0]))) for i in items], "float")
    )
    total = c.bind(Tensor((1,), [_f32(reduce(lambda p, q: p + q, exps.items))], "float"))
    return Tensor((len(items),), [_f32(e / total.items[0]) for e in exps.items], "float")


def _post_transform(c: Compiler, scores: list[Any], transform: str) -> Tensor:
    if transform == "NONE":
        return Tensor((len(scores),), scores, "float")
    if transform == "LOGISTIC":
        return Tensor((len(scores),), [_logistic(s) for s in scores], "float")
    if transform == "SOFTMAX":
        return _softmax_items(c, scores)
    raise Unsupported(f"post_transform {transform}")


def _linear_classifier(c: Compiler, inputs: list[Any], attrs: dict[str, Any]) -> list[Any]:
    x = _row(inputs[0], "LinearClassifier")
    row = _row_names(c, x, "LinearClassifier")
    coefficients = np.asarray(attrs["coefficients"], dtype=np.float32).reshape(-1, len(row[0]))
    intercepts = np.asarray(attrs.get("intercepts", [0.0] * len(coefficients)), np.float32)
    labels = attrs.get("classlabels_ints") or attrs.get("classlabels_strings") or []
    transform = _text(attrs.get("post_transform", b"NONE"))
    if coefficients.shape[0] != len(labels) or coefficients.shape[0] < 2:
        raise Unsupported("a LinearClassifier with one coefficient row (binary, one score)")
    # multi_class (1 for multinomial models) does not change ORT's computation: scores, then the
    # post_transform.
    scores = c.bind(
        Tensor(
            (len(labels),),
            [_folded(c, row, coefficients[j], float(intercepts[j])) for j in range(len(labels))],
            "float",
        )
    )
    return [None, _post_transform(c, scores.items, transform)]


def _normalizer(c: Compiler, inputs: list[Any], attrs: dict[str, Any]) -> list[Any]:
    """ai.onnx.ml Normalizer over a [N, k] row: x / sum|x| (L1), x / max x (MAX), x / |x| (L2)."""
    from pyspark.sql import functions as F

    x = _row(inputs[0], "Normalizer")
    items = _vector(x, "Normalizer")
    norm = _text(attrs.get("norm", b"MAX"))
    if norm == "L1":
        total = reduce(lambda p, q: p + q, [F.abs(i) for i in items])
    elif norm == "L2":
        total = F.sqrt(reduce(lambda p, q: p + q, [i * i for i in items]))
    elif norm == "MAX":
        total = F.greatest(*items) if len(items) > 1 else items[0]
    else:
        raise Unsupported(f"Normalizer norm {norm}")
    (denominator,) = c.bind(Tensor((1,), [_f32(total)], "float")).items
    return [Tensor(x.shape, [_f32(i / denominator) for i in items], "float")]


def _linear_regressor(c: Compiler, inputs: list[Any], attrs: dict[str, Any]) -> list[Any]:
    x = _row(inputs[0], "LinearRegressor")
    row = _row_names(c, x, "LinearRegressor")
    targets = int(attrs.get("targets", 1))
    coefficients = np.asarray(attrs["coefficients"], dtype=np.float32).reshape(targets, len(row[0]))
    intercepts = np.asarray(attrs.get("intercepts", [0.0] * targets), dtype=np.float32)
    if _text(attrs.get("post_transform", b"NONE")) != "NONE":
        raise Unsupported("LinearRegressor with a post_transform")
    out = [_folded(c, row, coefficients[j], float(intercepts[j])) for j in range(targets)]
    return [c.bind(Tensor((targets,), out, "float"))]
