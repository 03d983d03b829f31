"""Graph inputs named exactly as the columns they take.

skl2onnx turns every input name into an identifier (``monthly spend`` becomes ``monthly_spend``,
``a-b`` becomes ``a_b``, and a clash gets a numeric suffix). ONNX names are arbitrary strings, so
sqlml renames the inputs back to the column names: the scorer feeds each feature by its own name,
and an exported ``.onnx`` takes ``{"monthly spend": …}`` in any ONNX runtime, with no mapping to
look up.
"""

from __future__ import annotations

from typing import Any


def restore_input_names(model: Any, columns: list[str]) -> None:
    """Rename ``model``'s graph inputs, in order, to ``columns`` (one input per column).

    Every use of an input inside the graph (subgraphs included) is renamed with it. A column name
    that some other tensor of the graph already carries would make the graph ambiguous; that is
    refused, which cannot happen for skl2onnx graphs (their own names are identifiers that avoid
    the inputs' names).
    """
    inputs = list(model.graph.input)
    if len(inputs) != len(columns):
        raise ValueError(f"the graph has {len(inputs)} inputs for {len(columns)} columns")
    renames = {
        i.name: column for i, column in zip(inputs, columns, strict=True) if i.name != column
    }
    if not renames:
        return
    taken = _tensor_names(model.graph) - set(renames)
    clashes = sorted(set(renames.values()) & taken)
    if clashes:
        raise ValueError(f"input name(s) {clashes} are taken by other tensors of the graph")
    _rename(model.graph, renames)


def _tensor_names(graph: Any) -> set[str]:
    names = {i.name for i in graph.input} | {o.name for o in graph.output}
    names |= {t.name for t in graph.initializer} | {v.name for v in graph.value_info}
    for node in graph.node:
        names.update(node.output)
        for attribute in node.attribute:
            for sub in _subgraphs(attribute):
                names |= _tensor_names(sub)
    return names


def _rename(graph: Any, renames: dict[str, str]) -> None:
    for value in list(graph.input) + list(graph.output) + list(graph.value_info):
        if value.name in renames:
            value.name = renames[value.name]
    for node in graph.node:
        for i, name in enumerate(node.input):
            if name in renames:
                node.input[i] = renames[name]
        for attribute in node.attribute:
            for sub in _subgraphs(attribute):
                _rename(sub, renames)


def _subgraphs(attribute: Any) -> list[Any]:
    from onnx import AttributeProto

    if attribute.type == AttributeProto.GRAPH:
        return [attribute.g]
    if attribute.type == AttributeProto.GRAPHS:
        return list(attribute.graphs)
    return []
