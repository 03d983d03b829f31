"""Elementwise ops: arithmetic with ONNX (numpy) broadcasting between row tensors and
constants, float unary functions, and Equal."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from sqlml.backends.spark.compiled.tensors import (
    Tensor,
    Unsupported,
    _col,
    _dtype_of,
    _f32,
    _from_array,
    _row,
)

if TYPE_CHECKING:
    from sqlml.backends.spark.compiled.compiler import Compiler


def _elementwise(a: Any, b: Any, fn: Callable[[Any, Any], Any], dtype: str | None = None) -> Any:
    """A binary op with ONNX (numpy) broadcasting, between row tensors and constants."""
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):
        raise Unsupported("arithmetic on constants")
    rows = [v for v in (a, b) if isinstance(v, Tensor)]
    ndim = max(len(t.shape) + 1 for t in rows)
    for v in (a, b):
        if not isinstance(v, Tensor) and np.asarray(v).ndim > ndim:
            raise Unsupported("a constant of higher rank than the batch tensor")
    left = a.array() if isinstance(a, Tensor) else np.asarray(a)
    right = b.array() if isinstance(b, Tensor) else np.asarray(b)
    # Tensors of lower rank than their partner gain leading 1s, as numpy does; a row tensor's batch
    # dimension must stay first, so both must be of full rank when both are row tensors.
    if isinstance(a, Tensor) and isinstance(b, Tensor) and left.ndim != right.ndim:
        raise Unsupported("broadcasting two batch tensors of different rank")
    left_b, right_b = np.broadcast_arrays(left, right)
    out = np.empty(left_b.shape, dtype=object)
    for index in np.ndindex(left_b.shape):
        out[index] = fn(left_b[index], right_b[index])
    kind = dtype or (rows[0].dtype)
    return _from_array(out, kind)


def _float_op(symbol: str) -> Callable[[Any, Any], Any]:
    ops: dict[str, Callable[[Any, Any], Any]] = {
        "+": lambda x, y: x + y,
        "-": lambda x, y: x - y,
        "*": lambda x, y: x * y,
        "/": lambda x, y: x / y,
    }
    fn = ops[symbol]

    def apply(x: Any, y: Any) -> Any:
        return _f32(fn(_col(x), _col(y)))

    return apply


def _binary(symbol: str) -> Callable[[Compiler, list[Any], dict[str, Any]], list[Any]]:
    def op(c: Compiler, inputs: list[Any], attrs: dict[str, Any]) -> list[Any]:
        for v in inputs:
            kind = v.dtype if isinstance(v, Tensor) else _dtype_of(np.asarray(v))
            if kind != "float":
                raise Unsupported(f"arithmetic on {kind} tensors")
        return [_elementwise(inputs[0], inputs[1], _float_op(symbol), "float")]

    return op


def _unary(fn: Callable[[Any], Any]) -> Callable[[Compiler, list[Any], dict[str, Any]], list[Any]]:
    def op(c: Compiler, inputs: list[Any], attrs: dict[str, Any]) -> list[Any]:
        x = _row(inputs[0], "a unary op")
        if x.dtype != "float":
            raise Unsupported(f"a float op on a {x.dtype} tensor")
        return [Tensor(x.shape, [_f32(fn(i)) for i in x.items], "float")]

    return op


def _relu(x: Any) -> Any:
    from pyspark.sql import functions as F

    return F.when(x < 0, F.lit(0.0)).otherwise(x)


def _sqrt(x: Any) -> Any:
    from pyspark.sql import functions as F

    return F.sqrt(x)


def _sigmoid(x: Any) -> Any:
    return _logistic(x)


def _logistic(x: Any) -> Any:
    """1 / (1 + exp(-x)) in double. ORT's ``ComputeLogistic`` / MLAS kernel in float32 differ
    from it by ~1e-7 absolute (1 - v quantizes small probabilities)."""
    from pyspark.sql import functions as F

    return 1.0 / (1.0 + F.exp(-x))


def _equal(c: Compiler, inputs: list[Any], attrs: dict[str, Any]) -> list[Any]:
    a, b = inputs
    kinds = {v.dtype if isinstance(v, Tensor) else _dtype_of(np.asarray(v)) for v in (a, b)}
    if kinds != {"int64"}:
        raise Unsupported("Equal of other than integers")
    return [_elementwise(a, b, lambda x, y: _col(x) == _col(y), "bool")]
