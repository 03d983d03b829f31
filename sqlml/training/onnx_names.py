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

    Every use of an input inside the graph (subgraphs included) is renamed with it. skl2onnx's own
    tensors may carry a column's name: its outputs are called ``label``, ``probabilities``,
    ``variable`` and ``scores`` (the reason it renamed that input in the first place). Such a
    tensor moves aside to a fresh name first; sqlml reads a trained graph's outputs by position,
    never by name, so nothing else changes.
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
        used = taken | set(renames) | set(renames.values())
        moves = {}
        for name in clashes:
            moves[name] = fresh_name(name, used)
            used.add(moves[name])
        _rename(model.graph, moves, defined=True)
    _rename(model.graph, renames)


def fresh_name(base: str, used: set[str]) -> str:
    """``base``, or ``base_sqlml``, ``base_sqlml2``, ...: the first that is not in ``used``."""
    if base not in used:
        return base
    candidate, n = f"{base}_sqlml", 1
    while candidate in used:
        n += 1
        candidate = f"{base}_sqlml{n}"
    return candidate


def tensor_names(model: Any) -> set[str]:
    """Every tensor name of ``model``'s graph, subgraphs included."""
    return _tensor_names(model.graph)


def _tensor_names(graph: Any) -> set[str]:
    names = {i.name for i in graph.input} | {o.name for o in graph.output}
    names |= {t.name for t in graph.initializer} | {v.name for v in graph.value_info}
    for node in graph.node:
        names.update(node.output)
        for attribute in node.attribute:
            for sub in _subgraphs(attribute):
                names |= _tensor_names(sub)
    return names


def _rename(graph: Any, renames: dict[str, str], defined: bool = False) -> None:
    """Rename the uses of tensors (graph inputs, outputs and value infos, node inputs); with
    ``defined``, where they are defined too (node outputs, initializers)."""
    for value in list(graph.input) + list(graph.output) + list(graph.value_info):
        if value.name in renames:
            value.name = renames[value.name]
    if defined:
        for tensor in graph.initializer:
            if tensor.name in renames:
                tensor.name = renames[tensor.name]
    for node in graph.node:
        for i, name in enumerate(node.input):
            if name in renames:
                node.input[i] = renames[name]
        if defined:
            for i, name in enumerate(node.output):
                if name in renames:
                    node.output[i] = renames[name]
        for attribute in node.attribute:
            for sub in _subgraphs(attribute):
                _rename(sub, renames, defined)


def _subgraphs(attribute: Any) -> list[Any]:
    from onnx import AttributeProto

    if attribute.type == AttributeProto.GRAPH:
        return [attribute.g]
    if attribute.type == AttributeProto.GRAPHS:
        return list(attribute.graphs)
    return []
