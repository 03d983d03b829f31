"""CREATE MODEL m OPTIONS (model_type = 'onnx', model_path = '…'): an ONNX file becomes a model.

The file is the user's, so nothing trusts it before it is checked (DESIGN.md, "Not negotiable"): a
regular file no larger than :data:`MAX_BYTES`, that parses as ONNX, whose external-data tensors all
live inside the file's own folder (no absolute paths, no ``..``, no symlinks out). Only then is the
external data read, the model checked by ``onnx.checker`` and loaded by ONNX Runtime.

A file sqlml exported (EXPORT MODEL) carries its spec in ``metadata_props`` and comes back exactly:
same spec, same graph, same predictions. Any other graph's spec is inferred from the graph: its inputs
are matched to columns by name (one ``[N]`` or ``[N, 1]`` input per column; a single ``[N, k]`` input
only with ``input_columns``), its outputs say the task (class probabilities, one regression value, or
k-means labels and distances).
"""

from __future__ import annotations

import hashlib
from typing import Any

from sqlml.errors import OptionError
from sqlml.models.options import ModelOptions
from sqlml.paths import file_errors
from sqlml.training.contract import TrainedModel
from sqlml.training.insights import FEATURE_INFO, ITERATIONS, UNAVAILABLE
from sqlml.training.onnx_import.exported import FOREIGN_OPTIONS, _sqlml_spec
from sqlml.training.onnx_import.file import (
    MAX_BYTES,
    _load_and_check,
    _parse,
    _read_bounded,
    check_external_data,
    check_path,
)
from sqlml.training.onnx_import.foreign import _foreign_spec, centroid_distances
from sqlml.training.onnx_import.ports import Port
from sqlml.training.onnx_import.smoke import SAMPLE_ROWS, _smoke_test

__all__ = [
    "ENGINE_OPTIONS",
    "FOREIGN_OPTIONS",
    "IMPORT_OPTIONS",
    "MAX_BYTES",
    "SAMPLE_ROWS",
    "Port",
    "centroid_distances",
    "check_external_data",
    "check_path",
    "import_model",
]

# Options an import takes (input_label_cols is the plan's: it names the label).
IMPORT_OPTIONS = frozenset({"model_type", "model_path", "input_columns", "class_labels", "task"})
ENGINE_OPTIONS = frozenset({"engine"})  # accepted: an import reads no data, so any engine does


def import_model(options: ModelOptions, *, model: str, label: str | None) -> TrainedModel:
    """Check, load and describe the file of ``model_path``, ready for the catalog."""
    _check_options(options, model)
    given = options.get("model_path")
    path = check_path(given, model)
    with file_errors(f"CREATE MODEL {model} reading model_path", path):
        raw = _read_bounded(path, model)
    proto = _parse(raw, given, model)
    external = check_external_data(proto, path, model)
    if sum(external.values()) + len(raw) > MAX_BYTES:
        raise OptionError(
            f"The model_path of CREATE MODEL {model}, {given!r}, with its external data is "
            f"{sum(external.values()) + len(raw):,} bytes, over the {MAX_BYTES:,}-byte limit of an "
            f"ONNX import."
        )
    onnx_bytes = _load_and_check(proto, path.parent, given, model, bool(external))
    metadata = {p.key: p.value for p in proto.metadata_props}
    if "sqlml.spec" in metadata:
        spec, features, source = _sqlml_spec(metadata, proto, options, model, label)
        notes: list[str] = []
    else:
        spec, features, notes = _foreign_spec(proto, metadata, options, model, label)
        source = {"producer": f"{proto.producer_name} {proto.producer_version}".strip()}
    scored = _smoke_test(onnx_bytes, spec, model, given)
    unavailable = f"model {model} was imported from an ONNX file, not trained by sqlml"
    info: dict[str, Any] = {
        "imported_from": str(path),
        "sha256": hashlib.sha256(raw).hexdigest(),
        "file_bytes": len(raw),
        "external_data": sorted(external),
        "source": source,
        UNAVAILABLE: {FEATURE_INFO: unavailable, ITERATIONS: unavailable},
        "notes": notes,
    }
    fidelity = {
        "imported": True,
        "onnx_checker": "passed",
        "sample_rows_scored": scored,
    }
    values = {k: options.values[k] for k in options.given if k in options.values}
    recorded = ModelOptions("onnx", values, options.given)
    return TrainedModel(onnx_bytes, spec, {}, info, fidelity, features, recorded)


def _check_options(options: ModelOptions, model: str) -> None:
    extra = sorted(options.given - IMPORT_OPTIONS - ENGINE_OPTIONS)
    if extra:
        raise OptionError(
            f"The '{extra[0]}' option does not apply to model_type 'onnx' (CREATE MODEL {model}): "
            f"an imported model is not trained; its options are model_path, input_label_cols, "
            f"input_columns, class_labels and task."
        )
    labels = options.get("class_labels")
    if labels is not None and len(set(labels)) != len(labels):
        raise OptionError(
            f"The 'class_labels' option of CREATE MODEL {model} lists a label twice: {labels!r}."
        )
