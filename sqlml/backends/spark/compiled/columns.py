"""The graph's inputs from a frame's feature columns, as sqlml's scorer feeds them, and the
prediction columns ML.PREDICT appends from the graph's outputs."""

from __future__ import annotations

from functools import reduce
from typing import TYPE_CHECKING, Any

from sqlml_udfs.scoring import NULL_CATEGORY  # the one spelling, shared with the scorer

from sqlml.backends.spark.compiled.tensors import Tensor, Unsupported, quote

if TYPE_CHECKING:
    from sqlml.backends.spark.compiled.compiler import Compiler


_NUMERIC_TYPES = (
    "ByteType",
    "ShortType",
    "IntegerType",
    "LongType",
    "FloatType",
    "DoubleType",
    "DecimalType",
    "BooleanType",
)
_TEXT_TYPES = (
    "StringType",
    "VarcharType",
    "CharType",
    "BooleanType",
    "ByteType",
    "ShortType",
    "IntegerType",
    "LongType",
)


def _feature_tensor(frame: Any, feature: dict[str, str], graph_input: Any) -> Tensor:
    """A feature column as the graph input sqlml's scorer feeds (scoring.feature_array): float32
    with NaN for NULL, or a string with NULL as the null category and booleans 'true'/'false'."""
    from onnx import TensorProto
    from pyspark.sql import functions as F

    name = feature["name"]
    kind = type(frame.schema[name].dataType).__name__
    column = F.col(quote(name))
    elem = graph_input.type.tensor_type.elem_type
    dims = [
        d.dim_value if d.HasField("dim_value") else None
        for d in graph_input.type.tensor_type.shape.dim
    ]
    if len(dims) != 2 or dims[1] != 1:
        raise Unsupported(f"graph input {name!r} is not shaped [N, 1]")
    if feature["kind"] == "numeric":
        if elem != TensorProto.FLOAT or kind not in _NUMERIC_TYPES:
            raise Unsupported(f"numeric input {name!r} of Spark type {kind} or ONNX type {elem}")
        value = F.coalesce(column.cast("float"), F.lit(float("nan")).cast("float"))
        return Tensor((1,), [value], "float")
    if elem != TensorProto.STRING or kind not in _TEXT_TYPES:
        raise Unsupported(f"categorical input {name!r} of Spark type {kind} or ONNX type {elem}")
    if kind == "BooleanType":
        text = F.when(column, F.lit("true")).otherwise(F.lit("false"))
    else:
        text = column.cast("string")
    value = F.when(column.isNull(), F.lit(NULL_CATEGORY)).otherwise(text)
    return Tensor((1,), [value], "string")


def _output(item: Any) -> Any:
    """A graph output as ML.PREDICT reports it: ORT's float32 result, widened to double."""
    return item.cast("float").cast("double")


_LABEL_TYPES = {"string": "string", "int64": "bigint", "bool": "boolean", "double": "double"}


def _output_names(spec: dict[str, Any], graph: Any) -> list[str]:
    """The graph outputs the scorer reads, as ``Scorer`` orders them (``_output_order``)."""
    from sqlml_udfs.scoring import _output_order

    order = _output_order(spec.get("outputs"), spec["task"])
    return order if order is not None else [o.name for o in graph.output]


def _prediction(
    spec: dict[str, Any], outputs: list[Tensor], threshold: Any, c: Compiler
) -> list[Any]:
    """The columns ``Scorer.predict_columns`` appends, as aliased Column expressions."""
    from pyspark.sql import functions as F

    label = spec.get("label")
    task = spec["task"]
    if task == "classification":
        classes = spec["classes"]
        probs = outputs[0]
        if probs.dtype != "float" or probs.shape not in ((len(classes),), (1, len(classes))):
            raise Unsupported(f"probabilities of shape {probs.shape} for {len(classes)} classes")
        # Bound once: the label and the (label, prob) pairs both read them.
        p = c.bind(Tensor(probs.shape, [_output(item) for item in probs.items], "float")).items
        label_type = _LABEL_TYPES[spec.get("label_type") or "double"]
        values = [F.lit(cls).cast(label_type) for cls in classes]
        if threshold is None:
            threshold = spec.get("threshold")
        if len(classes) == 2 and threshold is not None:
            hit = ~F.isnan(p[1]) & (p[1] >= F.lit(float(threshold)))
            predicted = F.when(hit, values[1]).otherwise(values[0])
        else:
            top = F.greatest(*p)
            predicted = reduce(
                lambda e, j: e.when(p[j] == top, values[j]),
                range(1, len(p)),
                F.when(p[0] == top, values[0]),
            )
            predicted = predicted.otherwise(values[0])
        pairs = F.array(
            *[F.struct(v.alias("label"), q.alias("prob")) for v, q in zip(values, p, strict=True)]
        )
        return [predicted.alias(f"predicted_{label}"), pairs.alias(f"predicted_{label}_probs")]
    if task == "regression":
        value = outputs[0]
        if len(value.items) != 1 or value.dtype != "float":
            raise Unsupported("a regression output of more than one value per row")
        return [_output(value.items[0]).alias(f"predicted_{label}")]
    if task == "clustering":
        distances = outputs[0]
        ordered = F.sort_array(
            F.array(
                *[
                    F.struct(
                        _output(d).alias("distance"),
                        F.lit(j + 1).cast("bigint").alias("centroid_id"),
                    )
                    for j, d in enumerate(distances.items)
                ]
            )
        )
        (sorted_pairs,) = c.bind(Tensor((1,), [ordered], "string")).items
        nearest = F.array(
            *[
                F.struct(
                    sorted_pairs[j]["centroid_id"].alias("centroid_id"),
                    sorted_pairs[j]["distance"].alias("distance"),
                )
                for j in range(len(distances.items))
            ]
        )
        return [
            sorted_pairs[0]["centroid_id"].alias("centroid_id"),
            nearest.alias("nearest_centroids_distance"),
        ]
    if task == "dimensionality_reduction":
        projected = outputs[0]
        count = int(spec["num_principal_components"])
        if len(projected.items) != count:
            raise Unsupported("projections that do not match num_principal_components")
        return [
            _output(item).alias(f"principal_component_{i + 1}")
            for i, item in enumerate(projected.items)
        ]
    raise Unsupported(f"task {task!r}")
