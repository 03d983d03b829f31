"""The graph's inputs and outputs as :class:`Port` s: name, element type, rank and width."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlml.errors import NotSupportedError


@dataclass(frozen=True)
class Port:
    """A graph input or output: its name, element type ('FLOAT', 'STRING', …), rank and width."""

    name: str
    elem: str
    rank: int
    width: int | None  # columns: 1 for [N] and [N, 1], k for [N, k], None if not fixed

    def describe(self) -> str:
        shape = "[N]" if self.rank == 1 else f"[N, {self.width if self.width else '?'}]"
        return f"'{self.name}' {self.elem.lower()} {shape}"


def _graph_inputs(proto: Any) -> list[Any]:
    """The graph's real inputs (old IR versions also list the initializers as inputs)."""
    initialized = {t.name for t in proto.graph.initializer}
    return [i for i in proto.graph.input if i.name not in initialized]


def _port(value: Any, role: str, model: str, hint: str = "") -> Port | None:
    """A tensor input or output as a :class:`Port`; None for a non-tensor (sequence, map) output."""
    import onnx

    if not value.type.HasField("tensor_type"):
        if role == "output":
            return None
        raise NotSupportedError(
            f"Input '{value.name}' of the ONNX graph of CREATE MODEL {model} is not a tensor; "
            f"sqlml feeds tensors of columns."
        )
    tensor = value.type.tensor_type
    elem = onnx.TensorProto.DataType.Name(tensor.elem_type)
    dims = [d.dim_value if d.HasField("dim_value") else None for d in tensor.shape.dim]
    rank = len(dims) if tensor.HasField("shape") else 2
    if rank not in (1, 2):
        raise NotSupportedError(
            f"{role.capitalize()} '{value.name}' of the ONNX graph of CREATE MODEL {model} has "
            f"rank {rank}; sqlml reads [N], [N, 1] and [N, k] tensors{hint}."
        )
    width = 1 if rank == 1 else (dims[1] if tensor.HasField("shape") and dims[1] else None)
    return Port(value.name, elem, rank, width)
