"""``model_type = 'transform_only'`` (BigQuery ML's create-transform page): a model that is only its
TRANSFORM clause, fitted on the training query, with no label and no estimator.

https://cloud.google.com/bigquery/docs/reference/standard-sql/bigqueryml-syntax-create-transform:
ML.TRANSFORM applies it to new rows (with the statistics fitted here, the training info's
``transform`` entry) and ML.FEATURE_INFO describes the columns it read; the registry entry lets no
other function take it.

What is stored as its ONNX graph is the TRANSFORM's preprocessing itself (the fitted
ColumnTransformer of :func:`sqlml.training.transform.column_transformer`, without standardization):
raw columns in, the matrix a model trained on the TRANSFORM's outputs would start from out (numbers
imputed, categories one-hot). It is proven against scikit-learn like every model's graph, and EXPORT
MODEL writes a graph that computes the TRANSFORM elsewhere.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pyarrow as pa
from sqlml_udfs.arrays import ARRAY
from sqlml_udfs.scoring import NULL_CATEGORY, model_arrays
from sqlml_udfs.temporal import graph_features

from sqlml.errors import OptionError, ProgrammingError, TrainingError
from sqlml.models.options import ModelOptions
from sqlml.plan.transform import Transform
from sqlml.training.contract import FIDELITY_SAMPLE, TrainedModel, check_fidelity
from sqlml.training.data import array_length, check_unique_columns, feature_kind
from sqlml.training.insights import FEATURE_INFO, ITERATIONS, UNAVAILABLE, feature_statistics
from sqlml.training.onnx_names import restore_input_names
from sqlml.training.pipeline import features_frame
from sqlml.training.transform_layout import pre_transform_inputs
from sqlml.types import sql_type

TASK = "transform"


def fit_transform_only(
    table: pa.Table,
    *,
    model: str,
    options: ModelOptions,
    label: str | None,
    transform: Transform | None,
) -> TrainedModel:
    """Fit the TRANSFORM's statistics on every row of the training query (there is no evaluation
    split: nothing is evaluated), convert it to ONNX and prove the graph."""
    started = time.perf_counter()
    model_type = options.model_type
    if transform is None:
        raise ProgrammingError(
            f"CREATE MODEL {model} with model_type = '{model_type}' is its TRANSFORM clause, "
            f"which is missing: write CREATE MODEL {model} TRANSFORM (ML.STANDARD_SCALER(x) "
            f"OVER () AS x, ...) OPTIONS (model_type = '{model_type}') AS SELECT ..."
        )
    if label is not None or transform.label is not None:
        raise OptionError(
            f"The 'input_label_cols' option does not apply to model_type '{model_type}' (CREATE "
            f"MODEL {model}): the model has no label, every TRANSFORM output is an output; leave "
            f"the option out."
        )
    check_unique_columns(table.column_names, model)
    if table.num_rows == 0:
        raise TrainingError(f"The training query of CREATE MODEL {model} returned no rows.")
    features: list[dict[str, Any]] = []
    for name in transform.graph_inputs:
        dtype = table.schema.field(name).type
        feature = {"name": name, "kind": feature_kind(name, dtype, model), "type": sql_type(dtype)}
        if feature["kind"] == ARRAY:
            feature["length"] = array_length(table.column(name), name, model)
        features.append(feature)
    if not features:
        raise TrainingError(
            f"The TRANSFORM of CREATE MODEL {model} reads no column of the training query; "
            f"a {model_type} model needs at least one input."
        )
    from sqlml.training.transform import column_transformer, summary

    frame = features_frame(table, features)
    preprocess = column_transformer(transform, features, False, frame, model)
    try:
        preprocess.fit(frame)
    except ValueError as exc:
        raise TrainingError(f"Fitting the TRANSFORM of {model} failed: {exc}") from exc
    onnx = _to_onnx(preprocess, features)
    fidelity = _prove_graph(preprocess, onnx, table, features, model)
    spec: dict[str, Any] = {
        "task": TASK,
        "model_type": model_type,
        "label": None,
        "features": [{k: f[k] for k in ("name", "kind", "length") if k in f} for f in features],
        "null_category": NULL_CATEGORY,
        **transform.spec(),
    }
    info: dict[str, Any] = {
        "training_rows": table.num_rows,
        "evaluation_rows": 0,
        "transform": summary(preprocess, transform),
        FEATURE_INFO: feature_statistics(*pre_transform_inputs(table, transform, model)),
        UNAVAILABLE: {ITERATIONS: f"a {model_type} model is fitted, not trained iteratively"},
        "training_path": "scikit-learn",
        "duration_seconds": round(time.perf_counter() - started, 4),
    }
    return TrainedModel(onnx, spec, {}, info, fidelity, features, options)


def _to_onnx(preprocess: Any, features: list[dict[str, Any]]) -> bytes:
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType, StringTensorType

    inputs = graph_features(features)
    initial_types = [
        (
            f["name"],
            FloatTensorType([None, 1]) if f["kind"] == "numeric" else StringTensorType([None, 1]),
        )
        for f in inputs
    ]
    graph = convert_sklearn(
        preprocess, initial_types=initial_types, target_opset={"": 18, "ai.onnx.ml": 3}
    )
    restore_input_names(graph, [f["name"] for f in inputs])
    return graph.SerializeToString()


def _prove_graph(
    preprocess: Any, onnx: bytes, table: pa.Table, features: list[dict[str, Any]], model: str
) -> dict[str, Any]:
    """ONNX Runtime's matrix against scikit-learn's on up to FIDELITY_SAMPLE rows
    (:func:`sqlml.training.contract.check_fidelity`: a PCA's tolerance, relative to the values'
    root mean square)."""
    import onnxruntime as ort

    n = table.num_rows
    rows = np.linspace(0, n - 1, num=min(n, FIDELITY_SAMPLE)).astype(np.int64)
    sample = table.take(rows)
    expected = np.asarray(preprocess.transform(features_frame(sample, features)), dtype=np.float64)
    columns = {f["name"]: sample.column(f["name"]) for f in features}
    arrays = model_arrays(columns, features, np.float32)
    session = ort.InferenceSession(onnx, providers=["CPUExecutionProvider"])
    feeds = {i.name: np.asarray(arrays[i.name]).reshape(-1, 1) for i in session.get_inputs()}
    outputs = session.run(None, feeds)
    return check_fidelity(
        TASK, expected, outputs, None, model=model, reference="the fitted TRANSFORM"
    )
