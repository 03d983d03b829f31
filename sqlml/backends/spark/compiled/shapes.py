"""Shape ops (Identity, Concat, Reshape, Unsqueeze, Squeeze, Gather) and Cast: they rearrange
or retype a row's items, never touching the batch dimension."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from sqlml.backends.spark.compiled.tensors import (
    Tensor,
    Unsupported,
    _const,
    _f32,
    _from_array,
    _row,
)

if TYPE_CHECKING:
    from sqlml.backends.spark.compiled.compiler import Compiler


def _identity(c: Compiler, inputs: list[Any], attrs: dict[str, Any]) -> list[Any]:
    return [inputs[0]]


def _concat(c: Compiler, inputs: list[Any], attrs: dict[str, Any]) -> list[Any]:
    rows = [_row(v, "Concat") for v in inputs]
    ndim = len(rows[0].shape) + 1
    axis = attrs.get("axis", 1)
    axis = axis + ndim if axis < 0 else axis
    if axis == 0:
        raise Unsupported("Concat along the batch axis")
    dtypes = {t.dtype for t in rows}
    if len(dtypes) != 1:
        raise Unsupported("Concat of mixed types")
    out = np.concatenate([t.array() for t in rows], axis=axis)
    return [_from_array(out, rows[0].dtype)]


def _reshape(c: Compiler, inputs: list[Any], attrs: dict[str, Any]) -> list[Any]:
    x = _row(inputs[0], "Reshape")
    shape = [int(s) for s in _const(inputs[1], "shape")]
    full = (1, *x.shape)
    if not shape or shape[0] not in (-1, 0, 1) or attrs.get("allowzero", 0):
        raise Unsupported("a Reshape that moves the batch dimension")
    shape[0] = 1
    shape = [full[i] if s == 0 and i < len(full) else s for i, s in enumerate(shape)]
    return [_from_array(x.array().reshape(shape), x.dtype)]


def _axes(value: Any, attrs: dict[str, Any]) -> list[int] | None:
    if value is not None:
        return [int(a) for a in _const(value, "axes").reshape(-1)]
    axes = attrs.get("axes")
    return None if axes is None else [int(a) for a in axes]


def _unsqueeze(c: Compiler, inputs: list[Any], attrs: dict[str, Any]) -> list[Any]:
    x = _row(inputs[0], "Unsqueeze")
    axes = _axes(inputs[1] if len(inputs) > 1 else None, attrs) or []
    out = x.array()
    ndim = out.ndim + len(axes)
    for axis in sorted(a + ndim if a < 0 else a for a in axes):
        if axis == 0:
            raise Unsupported("Unsqueeze before the batch axis")
        out = np.expand_dims(out, axis)
    return [_from_array(out, x.dtype)]


def _squeeze(c: Compiler, inputs: list[Any], attrs: dict[str, Any]) -> list[Any]:
    x = _row(inputs[0], "Squeeze")
    axes = _axes(inputs[1] if len(inputs) > 1 else None, attrs)
    out = x.array()
    if axes is None:
        axes = [i for i in range(1, out.ndim) if out.shape[i] == 1]
    axes = [a + out.ndim if a < 0 else a for a in axes]
    if 0 in axes:
        raise Unsupported("Squeeze of the batch axis")
    return [_from_array(np.squeeze(out, axis=tuple(axes)), x.dtype)]


def _gather(c: Compiler, inputs: list[Any], attrs: dict[str, Any]) -> list[Any]:
    x = _row(inputs[0], "Gather")
    indices = _const(inputs[1], "index").astype(np.int64)
    axis = attrs.get("axis", 0)
    array = x.array()
    axis = axis + array.ndim if axis < 0 else axis
    if axis == 0:
        raise Unsupported("Gather along the batch axis")
    return [_from_array(np.take(array, indices, axis=axis), x.dtype)]


def _cast(c: Compiler, inputs: list[Any], attrs: dict[str, Any]) -> list[Any]:
    from onnx import TensorProto
    from pyspark.sql import functions as F

    x = _row(inputs[0], "Cast")
    to = attrs["to"]
    if to == TensorProto.FLOAT:
        if x.dtype == "float":
            return [x]
        if x.dtype in ("int64", "bool"):
            return [
                Tensor(
                    x.shape,
                    [
                        F.when(i, 1.0).otherwise(0.0) if x.dtype == "bool" else _f32(i)
                        for i in x.items
                    ],
                    "float",
                )
            ]
    if to == TensorProto.INT64 and x.dtype == "bool":
        return [
            Tensor(x.shape, [F.when(i, F.lit(1)).otherwise(F.lit(0)) for i in x.items], "int64")
        ]
    if to == TensorProto.INT64 and x.dtype == "int64":
        return [x]
    raise Unsupported(f"Cast of a {x.dtype} tensor to ONNX type {to}")
