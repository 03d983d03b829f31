"""ML.PREDICT of one model over a frame (:func:`compile_predict`), and the entry points the
Spark backend calls: :func:`check_mode` and :func:`predict_columns`."""

from __future__ import annotations

import logging
from typing import Any

from sqlml.backends.spark.compiled.columns import _feature_tensor, _output_names, _prediction
from sqlml.backends.spark.compiled.compiler import Compiler
from sqlml.backends.spark.compiled.tensors import Unsupported, quote
from sqlml.errors import NotSupportedError

log = logging.getLogger("sqlml.spark")

SCORING_MODES = ("auto", "compiled", "arrow")


def compile_predict(record: Any, frame: Any, threshold: Any) -> Any:
    """ML.PREDICT of ``record`` over ``frame`` as a DataFrame of plain Spark expressions: the
    frame's columns, then the prediction columns. Raises :class:`Unsupported`."""
    import onnx

    spec = record.spec
    if spec.get("inputs") or spec.get("transform_sql"):
        raise Unsupported("graph inputs fed several columns (an imported model)")
    if any(f["kind"] not in ("numeric", "categorical") for f in spec["features"]):
        raise Unsupported("TIMESTAMP features (the scorer computes their seconds and parts)")
    if len(set(frame.columns)) != len(frame.columns):
        raise Unsupported("an input with duplicate column names")
    from pyspark.sql import functions as F

    model = onnx.load_from_string(record.onnx)
    compiler = Compiler(model, frame)
    features = {f["name"]: f for f in spec["features"]}
    initializers = {t.name for t in model.graph.initializer}
    for graph_input in model.graph.input:
        if graph_input.name in initializers:
            continue
        feature = features.get(graph_input.name)
        if feature is None:
            raise Unsupported(f"graph input {graph_input.name!r} is not a feature")
        tensor = _feature_tensor(frame, feature, graph_input)
        if feature["kind"] == "numeric":  # the Imputer tests the float itself for NULL or NaN
            item, raw = tensor.items[0], F.col(quote(feature["name"])).cast("float")
            compiler.raw[id(item)] = (item, raw)
        compiler.values[graph_input.name] = tensor
    names = _output_names(spec, model.graph)
    wanted = names[:1] if spec["task"] in ("regression", "dimensionality_reduction") else names[1:2]
    if not wanted:
        raise Unsupported("a graph without the outputs its task needs")
    outputs = compiler.run(wanted)
    columns = _prediction(spec, outputs, threshold, compiler)
    kept = [F.col(quote(name)) for name in frame.columns]
    return compiler.frame.select(*kept, *columns)


# --- the entry point ------------------------------------------------------------------------------


def check_mode(value: Any) -> str:
    if value not in SCORING_MODES:
        from sqlml.errors import InterfaceError

        raise InterfaceError(
            f"spark_scoring must be one of {', '.join(repr(m) for m in SCORING_MODES)}; "
            f"got {value!r}."
        )
    return str(value)


def predict_columns(record: Any, frame: Any, threshold: Any, mode: str = "auto") -> Any | None:
    """ML.PREDICT compiled to Spark expressions, or None to fall back to ``mapInArrow``.

    ``mode`` 'arrow' never compiles; 'compiled' raises NotSupportedError naming what stands in
    the way; 'auto' logs it and returns None."""
    if mode == "arrow":
        return None
    try:
        result = compile_predict(record, frame, threshold)
    except Unsupported as exc:
        if mode == "compiled":
            op = f" (ONNX op {exc.op})" if exc.op else ""
            raise NotSupportedError(
                f"ML.PREDICT of model {record.name} cannot be compiled to Spark expressions"
                f"{op}; not supported: {exc.reason}. Connect with spark_scoring='auto' to "
                f"score it with ONNX Runtime on the executors (mapInArrow) instead."
            ) from None
        log.info("ML.PREDICT of model %s runs through mapInArrow: %s", record.name, exc.reason)
        return None
    except Exception as exc:  # a compiler bug must not cost 'auto' its answer: fall back
        if mode == "compiled":
            raise
        log.warning(
            "ML.PREDICT of model %s: compiling to Spark expressions failed (%s: %s); "
            "scoring through mapInArrow",
            record.name,
            type(exc).__name__,
            exc,
        )
        return None
    log.info("ML.PREDICT of model %s compiled to Spark expressions", record.name)
    return result
