"""The operator table: each ONNX op (domain, op type) sqlml compiles, and the handler that turns
it into Spark expressions. An op missing here makes the graph :class:`Unsupported`."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlml.backends.spark.compiled.dense import (
    _gemm,
    _linear_classifier,
    _linear_regressor,
    _matmul,
    _normalizer,
    _reduce,
    _softmax,
)
from sqlml.backends.spark.compiled.elementwise import (
    _binary,
    _equal,
    _relu,
    _sigmoid,
    _sqrt,
    _unary,
)
from sqlml.backends.spark.compiled.preprocessing import _imputer, _label_encoder, _one_hot, _scaler
from sqlml.backends.spark.compiled.shapes import (
    _cast,
    _concat,
    _gather,
    _identity,
    _reshape,
    _squeeze,
    _unsqueeze,
)
from sqlml.backends.spark.compiled.trees import _tree_classifier, _tree_regressor

if TYPE_CHECKING:
    from sqlml.backends.spark.compiled.compiler import Compiler

_ML = "ai.onnx.ml"


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
