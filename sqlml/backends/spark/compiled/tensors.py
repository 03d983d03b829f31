"""One row's tensor as Spark Column expressions, :class:`Unsupported`, and the small helpers
every op uses to turn tensor items and model constants into Columns or SQL text."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np


class Unsupported(Exception):
    """The graph (or its inputs) cannot be compiled; ``op`` names the ONNX op when one is to blame."""

    def __init__(self, reason: str, op: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.op = op


@dataclass
class Tensor:
    """One row's tensor: ``shape`` excludes the batch dimension; ``items`` are Columns in row-major
    order; ``dtype`` is "float", "int64", "string" or "bool"."""

    shape: tuple[int, ...]
    items: list[Any]
    dtype: str

    def array(self) -> np.ndarray:
        """The items as an object array of full shape ``(1, *shape)`` (the batch dimension as 1)."""
        out = np.empty(len(self.items), dtype=object)
        for i, item in enumerate(self.items):  # a slice assignment would probe each Column
            out[i] = item  # for the sequence protocol: a JVM round trip apiece
        return out.reshape((1, *self.shape))


def _from_array(array: np.ndarray, dtype: str) -> Tensor:
    if array.ndim == 0 or array.shape[0] != 1:
        raise Unsupported("a result whose first dimension is not the batch")
    return Tensor(tuple(array.shape[1:]), list(array.reshape(-1)), dtype)


def _dtype_of(array: np.ndarray) -> str:
    if array.dtype.kind == "f":
        return "float"
    if array.dtype.kind in "iu":
        return "int64"
    if array.dtype.kind == "b":
        return "bool"
    return "string"


def quote(name: str) -> str:
    """A column name as Spark's column resolver reads it literally (dots, spaces, backticks)."""
    return "`" + name.replace("`", "``") + "`"


def _lit(value: Any) -> Any:
    from pyspark.sql import functions as F

    if isinstance(value, (float, np.floating)):
        return F.lit(float(value))
    if isinstance(value, (bool, np.bool_)):
        return F.lit(bool(value))
    if isinstance(value, (int, np.integer)):
        return F.lit(int(value))
    if isinstance(value, bytes):
        return F.lit(value.decode())
    return F.lit(value)


def _col(value: Any) -> Any:
    """A Column for a tensor item or a numpy scalar."""
    from pyspark.sql import Column

    if isinstance(value, Column):
        return value
    if isinstance(value, (np.floating, float)):
        return float(value)
    if isinstance(value, (np.integer, int)) and not isinstance(value, (bool, np.bool_)):
        return int(value)
    return _lit(value)


def _f32(expr: Any) -> Any:
    """Where ORT rounds a float op's result to float32. sqlml keeps the double (more precise; the
    difference is within float32 rounding) and rounds only where a later discrete decision could
    see it: graph inputs, the Scaler feeding tree thresholds, and the outputs. Each Column call is
    a round trip to the JVM, so fewer casts also build the query faster."""
    return expr


def _row(value: Any, op: str) -> Tensor:
    if not isinstance(value, Tensor):
        raise Unsupported(f"{op} of constants only")
    return value


def _const(value: Any, what: str) -> np.ndarray:
    if isinstance(value, Tensor):
        raise Unsupported(f"{what} computed from the input (sqlml compiles constant {what}s only)")
    return np.asarray(value)


def _number(value: float) -> str:
    """A model constant as a Spark SQL double literal (``repr`` round-trips a double exactly)."""
    value = float(value)
    if not math.isfinite(value):
        raise Unsupported("a non-finite constant in a dense layer or tree")
    return f"{value!r}D"


def _vector(x: Tensor, op: str) -> list[Any]:
    if x.dtype != "float" or len(x.shape) != 1:
        raise Unsupported(f"{op} of a {x.dtype} tensor of shape [N, {x.shape}]")
    return x.items


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
