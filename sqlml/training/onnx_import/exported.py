"""A model sqlml exported (EXPORT MODEL): its spec rides in the file's ``metadata_props`` and
comes back exactly, checked against the graph."""

from __future__ import annotations

import json
from typing import Any

from sqlml.errors import DataError, OptionError
from sqlml.models.options import ModelOptions
from sqlml.training.onnx_import.ports import _graph_inputs

# Options that only a foreign graph needs; an sqlml export describes itself.
FOREIGN_OPTIONS = ("input_columns", "class_labels", "task")

_TASKS = ("classification", "regression", "clustering", "dimensionality_reduction")


def _sqlml_spec(
    metadata: dict[str, str], proto: Any, options: ModelOptions, model: str, label: str | None
) -> tuple[dict[str, Any], list[dict[str, str]], dict[str, Any]]:
    """The spec an EXPORT MODEL wrote, checked against the graph it rides with."""
    for name in FOREIGN_OPTIONS:
        if name in options.given:
            raise OptionError(
                f"The '{name}' option of CREATE MODEL {model} does not apply: the file was "
                f"exported by sqlml and describes its own inputs and outputs (metadata "
                f"'sqlml.spec'); leave the option out."
            )
    try:
        spec = json.loads(metadata["sqlml.spec"])
        features = json.loads(metadata.get("sqlml.features") or "null")
    except ValueError as exc:
        raise DataError(
            f"The sqlml metadata of the ONNX file of CREATE MODEL {model} is not valid JSON "
            f"({exc}); re-export the model with EXPORT MODEL."
        ) from None
    valid = (
        isinstance(spec, dict)
        and spec.get("task") in _TASKS
        and isinstance(spec.get("features"), list)
        and all(isinstance(f, dict) and "name" in f and "kind" in f for f in spec["features"])
    )
    if not valid:
        raise DataError(
            f"The 'sqlml.spec' metadata of the ONNX file of CREATE MODEL {model} is not a model "
            f"spec sqlml can read; re-export the model with EXPORT MODEL."
        )
    names = {f["name"] for f in spec["features"]}
    inputs = {i.name for i in _graph_inputs(proto)}
    if names != inputs:
        raise DataError(
            f"The 'sqlml.spec' metadata of the ONNX file of CREATE MODEL {model} names features "
            f"{sorted(names)}, but the graph's inputs are {sorted(inputs)}: the file was altered "
            f"after EXPORT MODEL. Re-export it."
        )
    if not isinstance(features, list) or {f.get("name") for f in features} != names:
        features = [
            {"name": f["name"], "kind": f["kind"], "type": _kind_type(f["kind"])}
            for f in spec["features"]
        ]
    supervised = spec["task"] in ("classification", "regression")
    if label is not None and not supervised:
        raise OptionError(
            f"The 'input_label_cols' option of CREATE MODEL {model} does not apply: the imported "
            f"model is a {spec['task']} model, which has no label; leave the option out."
        )
    if label is not None:
        spec["label"] = label
    source = {
        "producer": "sqlml " + proto.producer_version,
        "model": metadata.get("sqlml.name", ""),
        "version": metadata.get("sqlml.version", ""),
        "model_type": metadata.get("sqlml.model_type", ""),
    }
    return spec, features, source


def _kind_type(kind: str) -> str:
    return "DOUBLE" if kind == "numeric" else "VARCHAR"
