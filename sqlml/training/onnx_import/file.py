"""The file of an ONNX import, read and checked before anything trusts it: a regular file no
larger than :data:`MAX_BYTES`, that parses as ONNX, whose external-data tensors all live inside the
file's own folder (no absolute paths, no ``..``, no symlinks out); then its external data is read
and the model checked by ``onnx.checker``."""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

from sqlml.errors import DataError, NotSupportedError, OptionError
from sqlml.paths import file_errors, user_path

#: Largest import, the .onnx file and its external data together (protobuf's own ceiling is 2 GiB).
MAX_BYTES = 2 * 1024**3


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
