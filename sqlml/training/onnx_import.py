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
import json
import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

import numpy as np
import pyarrow as pa
from sqlml_udfs.scoring import NULL_CATEGORY, Scorer

from sqlml.errors import DataError, NotSupportedError, OptionError, SchemaError
from sqlml.models.options import ModelOptions
from sqlml.paths import file_errors, user_path
from sqlml.training.contract import TrainedModel
from sqlml.training.insights import FEATURE_INFO, ITERATIONS, UNAVAILABLE

#: Largest import, the .onnx file and its external data together (protobuf's own ceiling is 2 GiB).
MAX_BYTES = 2 * 1024**3

# Options an import takes (input_label_cols is the plan's: it names the label).
IMPORT_OPTIONS = frozenset({"model_type", "model_path", "input_columns", "class_labels", "task"})
ENGINE_OPTIONS = frozenset({"engine"})  # accepted: an import reads no data, so any engine does
# Options that only a foreign graph needs; an sqlml export describes itself.
FOREIGN_OPTIONS = ("input_columns", "class_labels", "task")

_SQL_TYPES = {"FLOAT": "FLOAT", "DOUBLE": "DOUBLE", "INT64": "BIGINT", "INT32": "INTEGER"}
_FLOATS = ("FLOAT", "DOUBLE")
_LABELS = ("INT64", "INT32", "STRING")
_TASKS = ("classification", "regression", "clustering", "dimensionality_reduction")
SAMPLE_ROWS = 2


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


# --- the file -------------------------------------------------------------------------------------


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


def check_path(value: Any, model: str) -> Path:
    """The real path of the file to import: it exists, is a regular file, and is small enough."""
    if not isinstance(value, str) or not value.strip():
        raise OptionError(
            f"CREATE MODEL {model} with model_type = 'onnx' needs OPTIONS (model_path = "
            f"'/path/to/model.onnx'), the file to import."
        )
    text = value[len("file://") :] if value.startswith("file://") else value
    if "://" in text:
        raise NotSupportedError(
            f"CREATE MODEL {model} imports local files only; got model_path {value!r}. Copy the "
            f"file to this machine with your cloud's tools, then import the local path."
        )
    path = user_path(text, f"The model_path of CREATE MODEL {model},")
    with file_errors(f"CREATE MODEL {model} reading model_path", path):
        return _checked_file(path, value, model)


def _checked_file(path: Path, value: str, model: str) -> Path:
    if not path.exists():
        where = "" if path.is_absolute() else f" (relative paths start at {os.getcwd()})"
        raise OptionError(
            f"The model_path of CREATE MODEL {model}, {value!r}, does not exist{where}; give the "
            f"path of an .onnx file."
        )
    if path.is_dir():
        raise OptionError(
            f"The model_path of CREATE MODEL {model}, {value!r}, is a folder; name the .onnx file "
            f"inside it."
        )
    real = path.resolve()
    if not real.is_file():
        raise OptionError(
            f"The model_path of CREATE MODEL {model}, {value!r}, is not a regular file (a device, "
            f"pipe or socket); copy the model to an ordinary .onnx file."
        )
    size = real.stat().st_size
    if size > MAX_BYTES:
        raise OptionError(
            f"The model_path of CREATE MODEL {model}, {value!r}, is {size:,} bytes, over the "
            f"{MAX_BYTES:,}-byte limit of an ONNX import."
        )
    return real


def _read_bounded(path: Path, model: str) -> bytes:
    """The file's bytes, never more than the limit (it may have grown since it was measured)."""
    with path.open("rb") as handle:
        raw = handle.read(MAX_BYTES + 1)
    if len(raw) > MAX_BYTES:
        raise OptionError(
            f"The model_path of CREATE MODEL {model}, {str(path)!r}, is over the {MAX_BYTES:,}-byte "
            f"limit of an ONNX import."
        )
    return raw


def _parse(raw: bytes, given: str, model: str) -> Any:
    """The ModelProto, external data not yet read."""
    import onnx
    from google.protobuf.message import DecodeError

    hint = "export the model with onnx.save (or skl2onnx / torch.onnx) and import that file"
    try:
        proto = onnx.load_model_from_string(raw)
    except DecodeError as exc:
        raise DataError(
            f"The model_path of CREATE MODEL {model}, {given!r}, is not an ONNX model ({exc}); "
            f"{hint}."
        ) from None
    if proto.ir_version <= 0 or not proto.graph.output:
        raise DataError(
            f"The model_path of CREATE MODEL {model}, {given!r}, is not an ONNX model (no IR "
            f"version or no graph outputs); {hint}."
        )
    return proto


def _tensors(proto: Any) -> Any:
    """Every TensorProto of the model: initializers, attribute tensors, subgraphs, functions."""

    def of_attributes(attributes: Any) -> Any:
        for attribute in attributes:
            if attribute.HasField("t"):
                yield attribute.t
            yield from attribute.tensors
            sparse = [attribute.sparse_tensor] if attribute.HasField("sparse_tensor") else []
            for tensor in [*sparse, *attribute.sparse_tensors]:
                yield tensor.values
                yield tensor.indices
            if attribute.HasField("g"):
                yield from of_graph(attribute.g)
            for graph in attribute.graphs:
                yield from of_graph(graph)

    def of_graph(graph: Any) -> Any:
        yield from graph.initializer
        for sparse in graph.sparse_initializer:
            yield sparse.values
            yield sparse.indices
        for node in graph.node:
            yield from of_attributes(node.attribute)

    yield from of_graph(proto.graph)
    for function in proto.functions:
        for node in function.node:
            yield from of_attributes(node.attribute)


def check_external_data(proto: Any, path: Path, model: str) -> dict[str, int]:
    """Refuse any external-data tensor whose file is not inside the folder of ``path`` (the model
    file's real path); return the sizes of the files the tensors name, by real path."""
    import onnx

    files: dict[str, int] = {}
    for tensor in _tensors(proto):
        if tensor.data_location != onnx.TensorProto.EXTERNAL:
            continue
        location = {e.key: e.value for e in tensor.external_data}.get("location", "")
        target = _inside(path, location, tensor.name, model)
        files[str(target)] = target.stat().st_size
    return files


def _inside(path: Path, location: str, tensor: str, model: str) -> Path:
    """The real path of an external-data file, if it lies in the model file's folder; else an
    error naming the tensor and the path."""
    folder = path.parent

    def refuse(why: str) -> DataError:
        return DataError(
            f"Tensor '{tensor}' of the ONNX file {str(path)!r} (CREATE MODEL {model}) keeps its "
            f"data in {location!r}, {why}; sqlml reads external data only from files inside the "
            f"model's own folder ({folder}). Save the model with its data next to it "
            f"(onnx.save_model(..., save_as_external_data=True, location='<name>.data')), or "
            f"without external data."
        )

    if not location:
        raise refuse("an empty path")
    if PurePosixPath(location).is_absolute() or PureWindowsPath(location).anchor:
        raise refuse("an absolute path")
    candidate = folder / location
    try:
        real = candidate.resolve()
        usable = real.is_file()
    except (OSError, ValueError) as exc:  # a NUL byte, a name over 255 bytes, a symlink loop
        raise refuse(f"which is not a usable path ({exc})") from None
    if not real.is_relative_to(folder):
        escape = ".." in PurePosixPath(location.replace("\\", "/")).parts
        through = "" if escape else f" (through a symlink to {real})"
        raise refuse(f"outside the model's folder{through}")
    if not usable:
        raise refuse("which does not exist or is not a regular file")
    return real


def _load_and_check(proto: Any, folder: Path, given: str, model: str, external: bool) -> bytes:
    """Read the (checked) external data into the model, run onnx.checker; the self-contained bytes."""
    import onnx
    from onnx.external_data_helper import load_external_data_for_model

    if external:
        try:
            load_external_data_for_model(proto, str(folder))
        except Exception as exc:  # noqa: BLE001 - onnx raises several kinds; all mean the same
            raise DataError(
                f"The external data of the ONNX file of CREATE MODEL {model}, {given!r}, could "
                f"not be read: {exc}."
            ) from None
    try:
        onnx.checker.check_model(proto)
    except Exception as exc:  # noqa: BLE001 - ValidationError, or ValueError for sizes
        raise DataError(
            f"The ONNX file of CREATE MODEL {model}, {given!r}, fails onnx.checker: "
            f"{str(exc).strip().splitlines()[0]}. Re-export it with a current converter."
        ) from None
    return proto.SerializeToString()


# --- a model sqlml exported -------------------------------------------------------------------------


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


# --- any other graph --------------------------------------------------------------------------------


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


def _foreign_spec(
    proto: Any,
    metadata: dict[str, str],
    options: ModelOptions,
    model: str,
    label: str | None,
) -> tuple[dict[str, Any], list[dict[str, str]], list[str]]:
    features, grouped = _map_inputs(proto, metadata, options, model)
    spec: dict[str, Any] = {
        "model_type": "onnx",
        "features": [{"name": f["name"], "kind": f["kind"]} for f in features],
        "null_category": NULL_CATEGORY,
    }
    if grouped:
        spec["inputs"] = grouped
    outputs = [_port(o, "output", model) for o in proto.graph.output]
    zipmap = [o.name for o, port in zip(proto.graph.output, outputs, strict=True) if port is None]
    if zipmap:
        raise NotSupportedError(
            f"Output '{zipmap[0]}' of the ONNX graph of CREATE MODEL {model} is a sequence of maps "
            f"(a ZipMap of class probabilities), which sqlml does not read; convert the classifier "
            f"with zipmap=False (skl2onnx: options={{'zipmap': False}}) to output a [N, k] "
            f"probability tensor."
        )
    ports = [p for p in outputs if p is not None]
    task = options.get("task") or _infer_task(proto, ports, model)
    spec["task"] = task
    if task != "classification" and options.get("class_labels") is not None:
        raise OptionError(
            f"The 'class_labels' option of CREATE MODEL {model} applies to classifiers; the "
            f"imported graph is a {task} model. Leave the option out."
        )
    if task == "regression":
        prediction = _pick_regression(ports, model)
        spec.update(label=label or "label", label_type="double", outputs={"scores": prediction})
    else:
        scores, label_port = _pick_scores(ports, task, model)
        spec["outputs"] = {"scores": scores.name}
        if label_port is not None:
            spec["outputs"]["label"] = label_port.name
        if task == "classification":
            spec["label"] = label or "label"
            _set_classes(spec, proto, scores, options, model)
        else:
            if label is not None:
                raise OptionError(
                    f"The 'input_label_cols' option of CREATE MODEL {model} does not apply to a "
                    f"clustering model, which has no label; leave the option out."
                )
            spec["label"] = None
            spec["centroid_distances"] = centroid_distances(proto, scores.width, model)
    described = ", ".join(f"{f['name']} ({f['kind']})" for f in features)
    notes = [f"Imported model {model} ({task}) with features {described}."]
    return spec, features, notes


def _map_inputs(
    proto: Any, metadata: dict[str, str], options: ModelOptions, model: str
) -> tuple[list[dict[str, str]], dict[str, list[str]]]:
    """Features (catalog form) per graph input, and the one [N, k] input's columns, if any."""
    hint = "; export the model with one [N, 1] input per column"
    ports = [_port(i, "input", model, hint) for i in _graph_inputs(proto)]
    inputs = [p for p in ports if p is not None]
    if not inputs:
        raise DataError(f"The ONNX graph of CREATE MODEL {model} has no inputs.")
    for port in inputs:
        if port.elem not in _SQL_TYPES and port.elem != "STRING":
            raise NotSupportedError(
                f"Input '{port.name}' of the ONNX graph of CREATE MODEL {model} is of type "
                f"{port.elem.lower()}; sqlml feeds float, double, int64, int32 and string inputs. "
                f"Re-export the model with one of those."
            )
    columns = options.get("input_columns") or _metadata_columns(metadata, model)
    wide = [p for p in inputs if p.width != 1]
    grouped: dict[str, list[str]] = {}
    if columns is not None:
        targets = inputs if len(inputs) == 1 else wide
        if len(targets) != 1:
            raise SchemaError(
                f"The 'input_columns' option of CREATE MODEL {model} names the columns of the "
                f"graph's one multi-column input, but the graph has "
                f"{'none' if not targets else len(targets)} among its inputs "
                f"{', '.join(p.describe() for p in inputs)}."
            )
        target = targets[0]
        if target.width is not None and target.width != len(columns):
            raise SchemaError(
                f"The 'input_columns' option of CREATE MODEL {model} names {len(columns)} "
                f"column(s), but graph input {target.describe()} takes {target.width}."
            )
        if target.rank == 1 and len(columns) != 1:
            raise SchemaError(
                f"The 'input_columns' option of CREATE MODEL {model} names {len(columns)} "
                f"columns, but graph input {target.describe()} takes one."
            )
        grouped[target.name] = list(columns)
    elif any(p.width is not None and p.width > 1 for p in inputs):
        port = next(p for p in inputs if p.width is not None and p.width > 1)
        raise SchemaError(
            f"Input {port.describe()} of the ONNX graph of CREATE MODEL {model} takes "
            f"{port.width} columns at once, which sqlml cannot match to columns by name. Name "
            f"them in order with OPTIONS (input_columns = ['a', 'b', ...]), or export the model "
            f"with one input per column (skl2onnx: initial_types=[('a', FloatTensorType([None, "
            f"1])), ...])."
        )
    features: list[dict[str, str]] = []
    for port in inputs:
        kind = "categorical" if port.elem == "STRING" else "numeric"
        sql = "VARCHAR" if port.elem == "STRING" else _SQL_TYPES[port.elem]
        for name in grouped.get(port.name, [port.name]):
            features.append({"name": name, "kind": kind, "type": sql})
    names = [f["name"] for f in features]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise SchemaError(
            f"CREATE MODEL {model} would feed column(s) {', '.join(twice)} to more than one graph "
            f"input; name each column once in input_columns."
        )
    return features, grouped


def _metadata_columns(metadata: dict[str, str], model: str) -> list[str] | None:
    """Column names the graph's author put in metadata_props['input_columns'] (JSON or a,b,c)."""
    text = metadata.get("input_columns")
    if not text:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        value = [part.strip() for part in text.split(",")]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        raise DataError(
            f"The metadata 'input_columns' of the ONNX file of CREATE MODEL {model} must list "
            f"column names (a JSON array or a,b,c); got {text!r}. Give OPTIONS (input_columns = "
            f"[...]) instead."
        )
    return value


def _classifier_nodes(proto: Any) -> list[Any]:
    return [
        node
        for node in proto.graph.node
        if node.domain == "ai.onnx.ml" and node.op_type.endswith("Classifier")
    ]


def _infer_task(proto: Any, ports: list[Port], model: str) -> str:
    floats = [p for p in ports if p.elem in _FLOATS]
    labels = [p for p in ports if p.elem in _LABELS and p.width == 1]
    if any("prob" in p.name.lower() and p.rank == 2 for p in floats):
        return "classification"
    has_scores = any(p.name.lower() == "scores" and p.rank == 2 for p in floats)
    if has_scores and labels and not _classifier_nodes(proto):
        return "clustering"
    if len(floats) == 1 and floats[0].width == 1 and not _classifier_nodes(proto):
        return "regression"
    raise SchemaError(
        f"sqlml cannot tell what the ONNX graph of CREATE MODEL {model} predicts from its outputs "
        f"{', '.join(p.describe() for p in ports)}: a classifier needs a [N, k] probabilities "
        f"output, a regressor one float output, k-means a label and a [N, k] 'scores' output. Say "
        f"which with OPTIONS (task = 'classification' | 'regression' | 'clustering')."
    )


def _pick_regression(ports: list[Port], model: str) -> str:
    candidates = [p for p in ports if p.elem in _FLOATS and p.width in (1, None)]
    if len(candidates) != 1:
        raise SchemaError(
            f"A regression model needs one float output of one value per row; the ONNX graph of "
            f"CREATE MODEL {model} has {', '.join(p.describe() for p in ports)}."
        )
    return candidates[0].name


def _pick_scores(ports: list[Port], task: str, model: str) -> tuple[Port, Port | None]:
    """The [N, k] probabilities (or distances) output, and the label output beside it, if any."""
    wide = [p for p in ports if p.elem in _FLOATS and p.rank == 2]
    word = "prob" if task == "classification" else "score"
    named = [p for p in wide if word in p.name.lower()]
    candidates = named if len(named) == 1 else wide
    if len(candidates) != 1:
        what = "class probabilities" if task == "classification" else "distances to the centroids"
        raise SchemaError(
            f"A {task} model needs one [N, k] float output of {what}; the ONNX graph of CREATE "
            f"MODEL {model} has {', '.join(p.describe() for p in ports) or 'none'}."
        )
    labels = [p for p in ports if p.elem in _LABELS and p.width == 1]
    return candidates[0], (labels[0] if labels else None)


def _set_classes(
    spec: dict[str, Any], proto: Any, scores: Port, options: ModelOptions, model: str
) -> None:
    """Classes in the order of the probability columns: class_labels, else the classifier
    operator's classlabels_* attribute, else 0 … k-1 (k from the output's shape, or a test run)."""
    from onnx import helper

    given = options.get("class_labels")
    found: list[list[Any]] = []
    for node in _classifier_nodes(proto):
        for attribute in node.attribute:
            if attribute.name in ("classlabels_strings", "classlabels_int64s"):
                values = helper.get_attribute_value(attribute)
                labels = [v.decode() if isinstance(v, bytes) else int(v) for v in values]
                if labels not in found:
                    found.append(labels)
    graph_classes = found[0] if len(found) == 1 else None
    width = scores.width or (len(graph_classes) if graph_classes else None)
    if given is not None:
        classes: list[Any] | None = list(given)
    elif graph_classes is not None:
        classes = graph_classes
    else:
        classes = list(range(width)) if width else None
    if width is not None and classes is not None and len(classes) != width:
        raise SchemaError(
            f"CREATE MODEL {model} has {len(classes)} class label(s) {classes!r}, but the graph's "
            f"output {scores.describe()} has {width} probability columns; give OPTIONS "
            f"(class_labels = [...]) with {width} labels, in the order of the columns."
        )
    spec["classes"] = classes  # None: counted from a test run in _smoke_test
    spec["label_type"] = (
        "string" if classes is not None and isinstance(classes[0], str) else "int64"
    )


def centroid_distances(proto: Any, k: int | None, model: str) -> list[list[float]]:
    """Distances between the k-means centroids (for the Davies-Bouldin index of ML.EVALUATE): the
    graph's one float [k, d] initializer, as skl2onnx's KMeans graph holds them."""
    from onnx import numpy_helper

    candidates = [
        numpy_helper.to_array(t).astype(np.float64)
        for t in proto.graph.initializer
        if len(t.dims) == 2 and t.data_type in (1, 11) and (k is None or t.dims[0] == k)
    ]
    if len(candidates) != 1:
        raise NotSupportedError(
            f"sqlml could not find the k-means centroids in the ONNX graph of CREATE MODEL "
            f"{model} (one float [k, d] initializer, as skl2onnx writes KMeans); ML.EVALUATE "
            f"needs them. Import a KMeans converted by skl2onnx, or give OPTIONS (task = "
            f"'classification') if the graph is a classifier."
        )
    centers = candidates[0]
    diff = centers[:, None, :] - centers[None, :, :]
    return np.sqrt((diff**2).sum(axis=2)).tolist()


# --- the proof it runs ------------------------------------------------------------------------------


def _smoke_test(onnx_bytes: bytes, spec: dict[str, Any], model: str, given: str) -> int:
    """Load the graph in ONNX Runtime and score sample rows through the scorer ML.PREDICT uses, so
    that a graph sqlml cannot feed or read fails now, not at the first query. Returns rows scored.

    String inputs may reject categories they never saw, so a foreign graph with string inputs is
    only loaded (unless its class count must be learned from a run); numbers are zeros and ones.
    """
    provisional = dict(spec)
    count_classes = spec["task"] == "classification" and spec.get("classes") is None
    if count_classes:
        provisional.update(task="clustering", classes=None)  # read outputs without classes
    try:
        scorer = Scorer(onnx_bytes, provisional, threads=1)
    except Exception as exc:  # noqa: BLE001 - onnxruntime's errors have no common base
        raise DataError(
            f"ONNX Runtime cannot load the model of CREATE MODEL {model} ({given!r}): "
            f"{str(exc).strip().splitlines()[0]}."
        ) from None
    foreign = spec.get("model_type") == "onnx"
    strings = any(f["kind"] == "categorical" for f in spec["features"])
    if foreign and strings and not count_classes:
        return 0
    columns = {
        f["name"]: pa.array(["", "a"])
        if f["kind"] == "categorical"
        else pa.array([0.0, 1.0], pa.float64())
        for f in spec["features"]
    }
    try:
        outputs = scorer.run(columns)
        if count_classes:
            width = np.asarray(outputs[1]).shape[1]
            spec["classes"] = list(range(width))
            spec["label_type"] = "int64"
            scorer = Scorer(onnx_bytes, spec, threads=1)
        scored = scorer.predict_columns(columns)
    except Exception as exc:  # noqa: BLE001 - onnxruntime's and numpy's errors alike
        hint = (
            " If the graph takes its columns as one [N, k] input, name them with OPTIONS "
            "(input_columns = [...])."
            if foreign
            else ""
        )
        raise DataError(
            f"ONNX Runtime could not score sample rows with the model of CREATE MODEL {model} "
            f"({given!r}): {str(exc).strip().splitlines()[0]}.{hint}"
        ) from None
    if any(len(array) != SAMPLE_ROWS for _, array in scored):
        raise DataError(
            f"The model of CREATE MODEL {model} ({given!r}) returns {len(scored[0][1])} "
            f"prediction(s) for {SAMPLE_ROWS} rows; its outputs must have one row per input row."
        )
    return SAMPLE_ROWS
