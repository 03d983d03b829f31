"""The graph walker: :class:`Compiler` evaluates the nodes an output depends on, one ONNX op
at a time through the operator table (:mod:`sqlml.backends.spark.compiled.ops`)."""

from __future__ import annotations

import itertools
from typing import Any

from sqlml.backends.spark.compiled.ops import _OPS
from sqlml.backends.spark.compiled.tensors import Tensor, Unsupported, quote


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
        #: Scalers round to float32 at each step, as ORT computes, only where a discrete decision
        #: could see it (tree thresholds); elsewhere a Scaler feeding a dense layer is folded into
        #: its weights (within float32 rounding of ORT's result).
        self.exact = any(n.op_type.startswith("TreeEnsemble") for n in self.graph.node)
        #: id(input item) -> (the item: NULL as NaN, the column itself: NULL as NULL)
        self.raw: dict[int, tuple[Any, Any]] = {}
        #: id(Scaler output item) -> (item, its input item, offset, scale): dense layers fold the
        #: scaling into their weights rather than compute it per row
        self.affine: dict[int, tuple[Any, Any, float, float]] = {}

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
