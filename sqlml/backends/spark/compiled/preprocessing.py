"""ai.onnx.ml preprocessing: Imputer, Scaler, OneHotEncoder and LabelEncoder."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from sqlml.backends.spark.compiled.tensors import Tensor, Unsupported, _lit, _row

if TYPE_CHECKING:
    from sqlml.backends.spark.compiled.compiler import Compiler


def _imputer(c: Compiler, inputs: list[Any], attrs: dict[str, Any]) -> list[Any]:
    from pyspark.sql import functions as F

    x = _row(inputs[0], "Imputer")
    values = attrs.get("imputed_value_floats")
    replaced = attrs.get("replaced_value_float", 0.0)
    if x.dtype != "float" or not values:
        raise Unsupported("an Imputer of integers")
    width = x.shape[-1] if x.shape else 1
    if len(values) not in (1, width):
        raise Unsupported("an Imputer whose values do not match its input")
    items = []
    for k, item in enumerate(x.items):
        fill = float(np.float32(values[k % width if len(values) > 1 else 0]))
        raw = c.raw.get(id(item))
        if raw is not None and math.isnan(replaced):  # NULL or NaN, without coalescing first
            column = raw[1]
            items.append(F.when(column.isNull() | F.isnan(column), fill).otherwise(column))
            continue
        hit = F.isnan(item) if math.isnan(replaced) else item == float(np.float32(replaced))
        items.append(F.when(hit, fill).otherwise(item))
    return [Tensor(x.shape, items, "float")]


def _scaler(c: Compiler, inputs: list[Any], attrs: dict[str, Any]) -> list[Any]:
    x = _row(inputs[0], "Scaler")
    if x.dtype != "float":
        raise Unsupported("a Scaler of integers")
    offset = [float(np.float32(v)) for v in attrs.get("offset", [0.0])]
    scale = [float(np.float32(v)) for v in attrs.get("scale", [1.0])]
    width = x.shape[-1] if x.shape else 1
    items, parts = [], []
    for k, item in enumerate(x.items):
        o = offset[k % width] if len(offset) > 1 else offset[0]
        s = scale[k % width] if len(scale) > 1 else scale[0]
        if c.exact:  # rounded to float32 at each step as ORT does: trees compare thresholds
            items.append(((item - o).cast("float") * s).cast("float"))
        else:
            items.append((item - o) * s)
        parts.append((item, o, s))
    bound = c.bind(Tensor(x.shape, items, "float"))
    if not c.exact:
        for ref, (item, o, s) in zip(bound.items, parts, strict=True):
            c.affine[id(ref)] = (ref, item, o, s)
    return [bound]


def _one_hot(c: Compiler, inputs: list[Any], attrs: dict[str, Any]) -> list[Any]:
    from pyspark.sql import functions as F

    x = _row(inputs[0], "OneHotEncoder")
    if attrs.get("zeros", 1) != 1:
        raise Unsupported("OneHotEncoder with zeros=0 (an unknown category is an error)")
    if "cats_strings" in attrs:
        if x.dtype != "string":
            raise Unsupported("OneHotEncoder of strings over a non-string input")
        cats: list[Any] = [v.decode() for v in attrs["cats_strings"]]
    else:
        if x.dtype not in ("int64", "float"):
            raise Unsupported("OneHotEncoder of integers over a string input")
        cats = [int(v) for v in attrs["cats_int64s"]]
    items = []
    for item in x.items:
        for cat in cats:
            items.append(F.when(item == _lit(cat), 1.0).otherwise(0.0))
    return [Tensor((*x.shape, len(cats)), items, "float")]


def _label_encoder(c: Compiler, inputs: list[Any], attrs: dict[str, Any]) -> list[Any]:
    from pyspark.sql import functions as F

    x = _row(inputs[0], "LabelEncoder")
    if x.dtype != "string" or "keys_strings" not in attrs or "values_int64s" not in attrs:
        raise Unsupported("a LabelEncoder other than strings to integers")
    keys = [k.decode() for k in attrs["keys_strings"]]
    values = [int(v) for v in attrs["values_int64s"]]
    default = int(attrs.get("default_int64", -1))
    items = []
    for item in x.items:
        expr = None
        for key, value in zip(keys, values, strict=True):
            expr = (
                F.when(item == key, F.lit(value))
                if expr is None
                else expr.when(item == key, F.lit(value))
            )
        items.append(F.lit(default) if expr is None else expr.otherwise(F.lit(default)))
    return [Tensor(x.shape, items, "int64")]
