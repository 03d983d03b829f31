"""Any other ONNX graph: its spec inferred from the graph. Inputs are matched to columns by name
(one ``[N]`` or ``[N, 1]`` input per column; a single ``[N, k]`` input only with ``input_columns``),
the outputs say the task (class probabilities, one regression value, or k-means labels and
distances), class labels come from ``class_labels`` or the classifier operator."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
from sqlml_udfs.scoring import NULL_CATEGORY

from sqlml.errors import DataError, NotSupportedError, OptionError, SchemaError
from sqlml.models.options import ModelOptions
from sqlml.training.onnx_import.ports import Port, _graph_inputs, _port

_SQL_TYPES = {"FLOAT": "FLOAT", "DOUBLE": "DOUBLE", "INT64": "BIGINT", "INT32": "INTEGER"}
_FLOATS = ("FLOAT", "DOUBLE")
_LABELS = ("INT64", "INT32", "STRING")


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
    if label is None and options.get("task") is None and options.get("class_labels") is None:
        # Imported as BigQuery imports an ONNX file (its options name no label, task or
        # classes): ML.PREDICT returns the graph's outputs under their own names.
        spec["graph_outputs"] = [
            {"name": p.name, "elem": p.elem, "rank": p.rank, "width": p.width} for p in ports
        ]
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
