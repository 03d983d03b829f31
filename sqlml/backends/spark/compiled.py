"""ML.PREDICT as Spark Column expressions: small ONNX graphs scored by Spark's own codegen.

``mapInArrow`` scoring ships every row JVM → Python → JVM, which costs ~9× a scan on its own. For
the graphs sqlml trains that are small (linear models, k-means, modest tree ensembles) this module
evaluates the ONNX graph *symbolically*: every tensor is a list of Column expressions, one per
element of a row's vector (shapes are static past the batch dimension), and every ONNX node becomes
arithmetic, CASE WHEN trees or array literals over them. Spark then compiles the whole prediction
into its generated code, with no Python worker.

Fidelity to ONNX Runtime: the graphs are float32. Inputs are cast to FLOAT as the scorer feeds
them; the arithmetic then runs in double (more precise than ORT's float32, so results differ by a
few float32 ulps), except where a discrete decision could see the difference: the Scaler rounds to
float32 at each step as ORT does, tree thresholds are ORT's float32 values compared with ORT's NaN
rules (Spark orders NaN above every number, IEEE compares it false), tree scores are summed in
float32 tree by tree, and every output is rounded to float32 before it is widened to DOUBLE, as the
scorer widens ORT's. Tree post-transforms and the binary-classifier cases follow ORT's
``tree_ensemble_aggregator.h`` / ``ml_common.h``.

Every Column call is a round trip to the JVM (~0.1 ms, several ms on a loaded machine), so the
two bulky parts, dot products and tree CASE WHEN nests, are each built as one SQL expression by
``F.expr``: its text holds only numbers (``repr`` of doubles) and column names sqlml generated for
its own intermediate columns, never a user's column name or value; user columns, categories and
class labels go through the Column API (``quote`` backtick-escapes names).

Anything else (an op this module does not know, an attribute form it does not follow, a graph over
the size limits, inputs of other types) raises :class:`Unsupported`; the caller then falls back
to ``mapInArrow`` (``spark_scoring='auto'``) or reports it (``'compiled'``).
"""

from __future__ import annotations

import itertools
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import reduce
from typing import Any

import numpy as np

from sqlml.errors import NotSupportedError

log = logging.getLogger("sqlml.spark")

SCORING_MODES = ("auto", "compiled", "arrow")

# Size limits, measured on local[2] (300k rows, a cached source): a tree ensemble compiles to one
# CASE WHEN tree per ONNX tree, which Spark's optimizer merges into one projection, so the node
# count is the size of one generated method. 8 boosted trees (98 nodes) scored at 2.4x the scan;
# 20 trees (642 nodes) took 30x, slower than mapInArrow: the method passes HotSpot's 8 KB
# bytecode limit for JIT compilation and runs interpreted. Above the limit: mapInArrow.
MAX_TREE_NODES = 256
# Multiply-adds of dense layers (MatMul / Gemm / Linear*): each is one term of a sum expression,
# and the same method-size limit applies. Not measured separately: set so that a 20-feature,
# 10-class linear model or k-means (200 terms) compiles and a default dnn (128 hidden units over
# more than 7 inputs) does not.
MAX_DENSE_TERMS = 1024

NULL_CATEGORY = "__sqlml_null__"
_ML = "ai.onnx.ml"


class Unsupported(Exception):
    """The graph (or its inputs) cannot be compiled; ``op`` names the ONNX op when one is to blame."""

    def __init__(self, reason: str, op: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.op = op


# --- tensors ----------------------------------------------------------------------------------


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


# --- the evaluator ----------------------------------------------------------------------------


class Compiler:
    """Evaluates one ONNX graph over a DataFrame; intermediate results that later nodes reuse
    become columns of the frame (:meth:`bind`), so no expression is duplicated into its users."""

    def __init__(self, model: Any, frame: Any) -> None:
        from onnx import numpy_helper

        self.graph = model.graph
        self.frame = frame
        self.values: dict[str, Any] = {
            t.name: numpy_helper.to_array(t) for t in self.graph.initializer
        }
        self.tree_nodes = 0
        self.dense_terms = 0
        self._names = itertools.count(1)
        self._taken = set(frame.columns)
        self.temp: list[str] = []
        self._refs: dict[int, tuple[Any, str]] = {}  # id(Column) -> (Column, its column name)

    # --- helpers ---

    def bind(self, tensor: Tensor) -> Tensor:
        """Project the tensor's items as new columns; later expressions refer to them by name."""
        from pyspark.sql import functions as F

        names = []
        exprs = {}
        for item in tensor.items:
            name = self._temp_name()
            names.append(name)
            exprs[name] = item
        self.frame = self.frame.withColumns(exprs)
        refs = [F.col(quote(n)) for n in names]
        for ref, name in zip(refs, names, strict=True):
            self._refs[id(ref)] = (ref, name)
        return Tensor(tensor.shape, refs, tensor.dtype)

    def names(self, tensor: Tensor) -> list[str]:
        """The tensor's items as names of frame columns (binding them first if they are not)."""
        found = [self._refs.get(id(item)) for item in tensor.items]
        if all(found):
            return [entry[1] for entry in found if entry]
        return [self._refs[id(item)][1] for item in self.bind(tensor).items]

    def _temp_name(self) -> str:
        while True:
            name = f"__sqlml_c{next(self._names)}"
            if name not in self._taken:
                self._taken.add(name)
                self.temp.append(name)
                return name

    def run(self, outputs: list[str]) -> list[Tensor]:
        """Evaluate just the nodes ``outputs`` depend on."""
        nodes = _needed(self.graph, outputs)
        for node in nodes:
            handler = _OPS.get((node.domain or "", node.op_type))
            if handler is None:
                domain = f"{node.domain}." if node.domain else ""
                raise Unsupported(f"ONNX op {domain}{node.op_type}", f"{domain}{node.op_type}")
            inputs = [self.values[name] if name else None for name in node.input]
            attrs = _attributes(node)
            try:
                results = handler(self, inputs, attrs)
            except Unsupported as exc:
                if exc.op is None:
                    exc.op = node.op_type
                raise
            for name, value in zip(node.output, results, strict=False):
                if name:
                    self.values[name] = value
        found = []
        for name in outputs:
            value = self.values[name]
            if not isinstance(value, Tensor):
                raise Unsupported(f"graph output {name!r} does not depend on the input")
            found.append(value)
        return found


def _needed(graph: Any, outputs: list[str]) -> list[Any]:
    """The nodes that ``outputs`` depend on, in graph order (ONNX graphs are topologically sorted)."""
    producer = {out: node for node in graph.node for out in node.output}
    wanted: set[int] = set()
    stack = list(outputs)
    while stack:
        node = producer.get(stack.pop())
        if node is None or id(node) in wanted:
            continue
        wanted.add(id(node))
        stack.extend(name for name in node.input if name)
    return [node for node in graph.node if id(node) in wanted]


def _attributes(node: Any) -> dict[str, Any]:
    from onnx import helper

    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


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


# --- shape ops ----------------------------------------------------------------------------------


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


# --- ai.onnx.ml preprocessing --------------------------------------------------------------------


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
    items = []
    for k, item in enumerate(x.items):
        o = offset[k % width] if len(offset) > 1 else offset[0]
        s = scale[k % width] if len(scale) > 1 else scale[0]
        # Rounded to float32 at each step as ORT does: trees may compare the result to thresholds.
        items.append(((item - o).cast("float") * s).cast("float"))
    return [c.bind(Tensor(x.shape, items, "float"))]


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


def _equal(c: Compiler, inputs: list[Any], attrs: dict[str, Any]) -> list[Any]:
    a, b = inputs
    kinds = {v.dtype if isinstance(v, Tensor) else _dtype_of(np.asarray(v)) for v in (a, b)}
    if kinds != {"int64"}:
        raise Unsupported("Equal of other than integers")
    return [_elementwise(a, b, lambda x, y: _col(x) == _col(y), "bool")]


# --- dense layers ---------------------------------------------------------------------------------


def _number(value: float) -> str:
    """A model constant as a Spark SQL double literal (``repr`` round-trips a double exactly)."""
    value = float(value)
    if not math.isfinite(value):
        raise Unsupported("a non-finite constant in a dense layer or tree")
    return f"{value!r}D"


def _dot(c: Compiler, names: list[str], weights: np.ndarray, bias: float = 0.0) -> Any:
    """sum_i row[i] * weights[i] + bias in double, zero weights dropped.

    Built as one SQL expression over columns sqlml itself named (never a user's column or
    value) and numbers, because every Column call is a round trip to the JVM: a 20-feature,
    3-class model would otherwise take ~200 of them per output."""
    from pyspark.sql import functions as F

    terms = []
    for name, w in zip(names, weights, strict=True):
        w = float(np.float32(w))
        if w == 0.0:
            continue
        terms.append(quote(name) if w == 1.0 else f"{quote(name)} * ({_number(w)})")
    c.dense_terms += len(terms)
    if c.dense_terms > MAX_DENSE_TERMS:
        raise Unsupported(f"dense layers of more than {MAX_DENSE_TERMS} multiply-adds")
    if bias != 0.0 or not terms:
        terms.append(f"({_number(bias)})")
    return F.expr(" + ".join(terms))


def _vector(x: Tensor, op: str) -> list[Any]:
    if x.dtype != "float" or len(x.shape) != 1:
        raise Unsupported(f"{op} of a {x.dtype} tensor of shape [N, {x.shape}]")
    return x.items


def _matmul(c: Compiler, inputs: list[Any], attrs: dict[str, Any]) -> list[Any]:
    x = _row(inputs[0], "MatMul")
    row = c.names(Tensor(x.shape, _vector(x, "MatMul"), x.dtype))
    weights = _const(inputs[1], "weight").astype(np.float32)
    if weights.ndim != 2 or weights.shape[0] != len(row):
        raise Unsupported("MatMul by other than a [d, k] matrix")
    out = [_dot(c, row, weights[:, j]) for j in range(weights.shape[1])]
    return [c.bind(Tensor((len(out),), out, "float"))]


def _gemm(c: Compiler, inputs: list[Any], attrs: dict[str, Any]) -> list[Any]:
    if attrs.get("transA", 0):
        raise Unsupported("Gemm with transA")
    x = _row(inputs[0], "Gemm")
    row = c.names(Tensor(x.shape, _vector(x, "Gemm"), x.dtype))
    weights = _const(inputs[1], "weight").astype(np.float32)
    if attrs.get("transB", 0):
        weights = weights.T
    if weights.ndim != 2 or weights.shape[0] != len(row):
        raise Unsupported("Gemm by other than a [d, k] matrix")
    alpha = float(np.float32(attrs.get("alpha", 1.0)))
    beta = float(np.float32(attrs.get("beta", 1.0)))
    k = weights.shape[1]
    product = []
    for j in range(k):
        scaled = weights[:, j].astype(np.float64) * alpha
        product.append(_dot(c, row, scaled))
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
    row = c.names(Tensor(x.shape, _vector(x, "LinearClassifier"), x.dtype))
    coefficients = np.asarray(attrs["coefficients"], dtype=np.float32).reshape(-1, len(row))
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
            [_dot(c, row, coefficients[j], float(intercepts[j])) for j in range(len(labels))],
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
    row = c.names(Tensor(x.shape, _vector(x, "LinearRegressor"), x.dtype))
    targets = int(attrs.get("targets", 1))
    coefficients = np.asarray(attrs["coefficients"], dtype=np.float32).reshape(targets, len(row))
    intercepts = np.asarray(attrs.get("intercepts", [0.0] * targets), dtype=np.float32)
    if _text(attrs.get("post_transform", b"NONE")) != "NONE":
        raise Unsupported("LinearRegressor with a post_transform")
    out = [_dot(c, row, coefficients[j], float(intercepts[j])) for j in range(targets)]
    return [c.bind(Tensor((targets,), out, "float"))]


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


# --- tree ensembles -------------------------------------------------------------------------------


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


_OPS: dict[tuple[str, str], Callable[[Compiler, list[Any], dict[str, Any]], list[Any]]] = {
    ("", "Identity"): _identity,
    ("", "Concat"): _concat,
    ("", "Reshape"): _reshape,
    ("", "Unsqueeze"): _unsqueeze,
    ("", "Squeeze"): _squeeze,
    ("", "Gather"): _gather,
    ("", "Cast"): _cast,
    ("", "Add"): _binary("+"),
    ("", "Sub"): _binary("-"),
    ("", "Mul"): _binary("*"),
    ("", "Div"): _binary("/"),
    ("", "Equal"): _equal,
    ("", "Relu"): _unary(_relu),
    ("", "Sqrt"): _unary(_sqrt),
    ("", "Sigmoid"): _unary(_sigmoid),
    ("", "MatMul"): _matmul,
    ("", "Gemm"): _gemm,
    ("", "ReduceSum"): _reduce("ReduceSum"),
    ("", "ReduceSumSquare"): _reduce("ReduceSumSquare"),
    ("", "Softmax"): _softmax,
    (_ML, "Imputer"): _imputer,
    (_ML, "Scaler"): _scaler,
    (_ML, "OneHotEncoder"): _one_hot,
    (_ML, "LabelEncoder"): _label_encoder,
    (_ML, "LinearClassifier"): _linear_classifier,
    (_ML, "LinearRegressor"): _linear_regressor,
    (_ML, "Normalizer"): _normalizer,
    (_ML, "TreeEnsembleRegressor"): _tree_regressor,
    (_ML, "TreeEnsembleClassifier"): _tree_classifier,
}

SUPPORTED_OPS = sorted(f"{d}.{o}" if d else o for d, o in _OPS)


# --- inputs and outputs ---------------------------------------------------------------------------

_NUMERIC_TYPES = (
    "ByteType",
    "ShortType",
    "IntegerType",
    "LongType",
    "FloatType",
    "DoubleType",
    "DecimalType",
    "BooleanType",
)
_TEXT_TYPES = (
    "StringType",
    "VarcharType",
    "CharType",
    "BooleanType",
    "ByteType",
    "ShortType",
    "IntegerType",
    "LongType",
)


def _feature_tensor(frame: Any, feature: dict[str, str], graph_input: Any) -> Tensor:
    """A feature column as the graph input sqlml's scorer feeds (scoring.feature_array): float32
    with NaN for NULL, or a string with NULL as the null category and booleans 'true'/'false'."""
    from onnx import TensorProto
    from pyspark.sql import functions as F

    name = feature["name"]
    kind = type(frame.schema[name].dataType).__name__
    column = F.col(quote(name))
    elem = graph_input.type.tensor_type.elem_type
    dims = [
        d.dim_value if d.HasField("dim_value") else None
        for d in graph_input.type.tensor_type.shape.dim
    ]
    if len(dims) != 2 or dims[1] != 1:
        raise Unsupported(f"graph input {name!r} is not shaped [N, 1]")
    if feature["kind"] == "numeric":
        if elem != TensorProto.FLOAT or kind not in _NUMERIC_TYPES:
            raise Unsupported(f"numeric input {name!r} of Spark type {kind} or ONNX type {elem}")
        value = F.coalesce(column.cast("float"), F.lit(float("nan")).cast("float"))
        return Tensor((1,), [value], "float")
    if elem != TensorProto.STRING or kind not in _TEXT_TYPES:
        raise Unsupported(f"categorical input {name!r} of Spark type {kind} or ONNX type {elem}")
    if kind == "BooleanType":
        text = F.when(column, F.lit("true")).otherwise(F.lit("false"))
    else:
        text = column.cast("string")
    value = F.when(column.isNull(), F.lit(NULL_CATEGORY)).otherwise(text)
    return Tensor((1,), [value], "string")


def _output(item: Any) -> Any:
    """A graph output as ML.PREDICT reports it: ORT's float32 result, widened to double."""
    return item.cast("float").cast("double")


_LABEL_TYPES = {"string": "string", "int64": "bigint", "bool": "boolean", "double": "double"}


def _output_names(spec: dict[str, Any], graph: Any) -> list[str]:
    """The graph outputs the scorer reads, as ``Scorer`` orders them (``_output_order``)."""
    from sqlml_udfs.scoring import _output_order

    order = _output_order(spec.get("outputs"), spec["task"])
    return order if order is not None else [o.name for o in graph.output]


def _prediction(
    spec: dict[str, Any], outputs: list[Tensor], threshold: Any, c: Compiler
) -> list[Any]:
    """The columns ``Scorer.predict_columns`` appends, as aliased Column expressions."""
    from pyspark.sql import functions as F

    label = spec.get("label")
    task = spec["task"]
    if task == "classification":
        classes = spec["classes"]
        probs = outputs[0]
        if probs.dtype != "float" or probs.shape not in ((len(classes),), (1, len(classes))):
            raise Unsupported(f"probabilities of shape {probs.shape} for {len(classes)} classes")
        # Bound once: the label and the (label, prob) pairs both read them.
        p = c.bind(Tensor(probs.shape, [_output(item) for item in probs.items], "float")).items
        label_type = _LABEL_TYPES[spec.get("label_type") or "double"]
        values = [F.lit(cls).cast(label_type) for cls in classes]
        if threshold is None:
            threshold = spec.get("threshold")
        if len(classes) == 2 and threshold is not None:
            hit = ~F.isnan(p[1]) & (p[1] >= F.lit(float(threshold)))
            predicted = F.when(hit, values[1]).otherwise(values[0])
        else:
            top = F.greatest(*p)
            predicted = reduce(
                lambda e, j: e.when(p[j] == top, values[j]),
                range(1, len(p)),
                F.when(p[0] == top, values[0]),
            )
            predicted = predicted.otherwise(values[0])
        pairs = F.array(
            *[F.struct(v.alias("label"), q.alias("prob")) for v, q in zip(values, p, strict=True)]
        )
        return [predicted.alias(f"predicted_{label}"), pairs.alias(f"predicted_{label}_probs")]
    if task == "regression":
        value = outputs[0]
        if len(value.items) != 1 or value.dtype != "float":
            raise Unsupported("a regression output of more than one value per row")
        return [_output(value.items[0]).alias(f"predicted_{label}")]
    if task == "clustering":
        distances = outputs[0]
        ordered = F.sort_array(
            F.array(
                *[
                    F.struct(
                        _output(d).alias("distance"),
                        F.lit(j + 1).cast("bigint").alias("centroid_id"),
                    )
                    for j, d in enumerate(distances.items)
                ]
            )
        )
        (sorted_pairs,) = c.bind(Tensor((1,), [ordered], "string")).items
        nearest = F.array(
            *[
                F.struct(
                    sorted_pairs[j]["centroid_id"].alias("centroid_id"),
                    sorted_pairs[j]["distance"].alias("distance"),
                )
                for j in range(len(distances.items))
            ]
        )
        return [
            sorted_pairs[0]["centroid_id"].alias("centroid_id"),
            nearest.alias("nearest_centroids_distance"),
        ]
    if task == "dimensionality_reduction":
        projected = outputs[0]
        count = int(spec["num_principal_components"])
        if len(projected.items) != count:
            raise Unsupported("projections that do not match num_principal_components")
        return [
            _output(item).alias(f"principal_component_{i + 1}")
            for i, item in enumerate(projected.items)
        ]
    raise Unsupported(f"task {task!r}")


def compile_predict(record: Any, frame: Any, threshold: Any) -> Any:
    """ML.PREDICT of ``record`` over ``frame`` as a DataFrame of plain Spark expressions: the
    frame's columns, then the prediction columns. Raises :class:`Unsupported`."""
    import onnx

    spec = record.spec
    if spec.get("inputs") or spec.get("transform_sql"):
        raise Unsupported("graph inputs fed several columns (an imported model)")
    if len(set(frame.columns)) != len(frame.columns):
        raise Unsupported("an input with duplicate column names")
    model = onnx.load_from_string(record.onnx)
    compiler = Compiler(model, frame)
    features = {f["name"]: f for f in spec["features"]}
    initializers = {t.name for t in model.graph.initializer}
    for graph_input in model.graph.input:
        if graph_input.name in initializers:
            continue
        feature = features.get(graph_input.name)
        if feature is None:
            raise Unsupported(f"graph input {graph_input.name!r} is not a feature")
        compiler.values[graph_input.name] = _feature_tensor(frame, feature, graph_input)
    names = _output_names(spec, model.graph)
    wanted = names[:1] if spec["task"] in ("regression", "dimensionality_reduction") else names[1:2]
    if not wanted:
        raise Unsupported("a graph without the outputs its task needs")
    outputs = compiler.run(wanted)
    columns = _prediction(spec, outputs, threshold, compiler)
    from pyspark.sql import functions as F

    kept = [F.col(quote(name)) for name in frame.columns]
    return compiler.frame.select(*kept, *columns)


# --- the entry point ------------------------------------------------------------------------------


def check_mode(value: Any) -> str:
    if value not in SCORING_MODES:
        from sqlml.errors import InterfaceError

        raise InterfaceError(
            f"spark_scoring must be one of {', '.join(repr(m) for m in SCORING_MODES)}; "
            f"got {value!r}."
        )
    return str(value)


def predict_columns(record: Any, frame: Any, threshold: Any, mode: str = "auto") -> Any | None:
    """ML.PREDICT compiled to Spark expressions, or None to fall back to ``mapInArrow``.

    ``mode`` 'arrow' never compiles; 'compiled' raises NotSupportedError naming what stands in
    the way; 'auto' logs it and returns None."""
    if mode == "arrow":
        return None
    try:
        result = compile_predict(record, frame, threshold)
    except Unsupported as exc:
        if mode == "compiled":
            op = f" (ONNX op {exc.op})" if exc.op else ""
            raise NotSupportedError(
                f"ML.PREDICT of model {record.name} cannot be compiled to Spark expressions"
                f"{op}; not supported: {exc.reason}. Connect with spark_scoring='auto' to "
                f"score it with ONNX Runtime on the executors (mapInArrow) instead."
            ) from None
        log.info("ML.PREDICT of model %s runs through mapInArrow: %s", record.name, exc.reason)
        return None
    except Exception as exc:  # a compiler bug must not cost 'auto' its answer: fall back
        if mode == "compiled":
            raise
        log.warning(
            "ML.PREDICT of model %s: compiling to Spark expressions failed (%s: %s); "
            "scoring through mapInArrow",
            record.name,
            type(exc).__name__,
            exc,
        )
        return None
    log.info("ML.PREDICT of model %s compiled to Spark expressions", record.name)
    return result
