"""Fit a model on an Arrow table, convert it to ONNX, and prove the two agree.

Engine-independent: the DuckDB backend hands in the training query's result as Arrow; the Spark backend
(later) can hand in a collected sample the same way. Output is a :class:`TrainedModel` holding only
ONNX bytes and JSON-able metadata: nothing here is ever pickled.
"""

from __future__ import annotations

import logging
import time
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sqlml_udfs.scoring import NULL_CATEGORY, Scorer, feature_array

from sqlml.cancel import checkpoint
from sqlml.errors import FidelityError, OptionError, SchemaError, TrainingError
from sqlml.models.options import ModelOptions
from sqlml.models.registry import CLASSIFIERS, TREES, task_of
from sqlml.models.registry import make_estimator
from sqlml.models.sklearn import size_pca
from sqlml.plan.transform import Transform
from sqlml.training.insights import record_insights
from sqlml.training.onnx_names import fresh_name, restore_input_names, tensor_names
from sqlml.types import label_type_name, sql_type

log = logging.getLogger("sqlml.training")

FIDELITY_SAMPLE = 2000
# Stated tolerances of the ONNX-vs-estimator check (see sql/reference.md, "Models as ONNX").
PROB_TOLERANCE = 1e-3  # absolute, per class probability
REGRESSION_TOLERANCE = 1e-4  # relative to the label's standard deviation (plus 1e-6 absolute)
DISTANCE_TOLERANCE = 1e-4  # on squared distances, relative to their mean (plus 1e-6 absolute)


@dataclass
class TrainedModel:
    onnx: bytes
    spec: dict[str, Any]
    metrics: dict[str, float]
    training_info: dict[str, Any]
    fidelity: dict[str, Any]
    features: list[dict[str, str]] = field(default_factory=list)
    options: ModelOptions | None = None  # as trained: tuning and automl fill in their choices


def check_unique_columns(columns: list[str], model: str) -> None:
    """Refuse a training query with two columns of one name (``SELECT a, b, a, y``): DuckDB and
    Spark compare names without regard to case, so ``A`` and ``a`` are the same column too."""
    seen: dict[str, str] = {}
    for name in columns:
        first = seen.get(name.lower())
        seen.setdefault(name.lower(), name)
        if first is not None:
            same = f"'{name}'" if first == name else f"'{first}' and '{name}'"
            raise SchemaError(
                f"The training query of CREATE MODEL {model} has two columns named {same}; give "
                f"each column its own name (e.g. SELECT …, {_quoted(name)} AS {_quoted(name + '_2')})."
            )


def _quoted(name: str) -> str:
    return name if name.isidentifier() and name.isascii() else '"' + name.replace('"', '""') + '"'


def feature_kind(name: str, dtype: pa.DataType, model: str) -> str:
    if pa.types.is_integer(dtype) or pa.types.is_floating(dtype) or pa.types.is_decimal(dtype):
        return "numeric"
    if pa.types.is_string(dtype) or pa.types.is_large_string(dtype) or pa.types.is_boolean(dtype):
        return "categorical"
    if pa.types.is_dictionary(dtype):
        return "categorical"
    raise SchemaError(
        f"Column '{name}' has type {sql_type(dtype)}, which CREATE MODEL {model} cannot use as a "
        f"feature; cast it to a number or string in the query (e.g. epoch({name}) or "
        f"CAST({name} AS VARCHAR)), or leave it out with SELECT * EXCLUDE ({name})."
    )


# --- data split ---------------------------------------------------------------------------------


def split_rows(table: pa.Table, options: ModelOptions, model: str) -> tuple[np.ndarray, np.ndarray]:
    """Row indices of the training and evaluation parts, as BigQuery's data_split_method defines."""
    n = table.num_rows
    method = options.get("data_split_method", "AUTO_SPLIT")
    fraction = options.get("data_split_eval_fraction", 0.2)
    column = options.get("data_split_col")
    rng = np.random.default_rng(options.get("random_seed", 42))
    everything = np.arange(n)
    if method in ("SEQ", "CUSTOM") and not column:
        raise SchemaError(
            f"data_split_method '{method}' of CREATE MODEL {model} needs data_split_col = '<column>'."
        )
    if column and column not in table.column_names:
        raise SchemaError(
            f"data_split_col '{column}' of CREATE MODEL {model} is not a column of the training "
            f"query; its columns are: {', '.join(table.column_names)}."
        )
    if method == "AUTO_SPLIT":
        if n < 500:
            return everything, everything
        eval_size = int(round(n * 0.2)) if n <= 50_000 else 10_000
        shuffled = rng.permutation(n)
        return np.sort(shuffled[eval_size:]), np.sort(shuffled[:eval_size])
    if method == "NO_SPLIT":
        return everything, everything
    if method == "RANDOM":
        eval_size = max(1, int(round(n * fraction)))
        shuffled = rng.permutation(n)
        return np.sort(shuffled[eval_size:]), np.sort(shuffled[:eval_size])
    if method == "SEQ":
        order = pc.sort_indices(table, sort_keys=[(column, "ascending")]).to_numpy()
        eval_size = max(1, int(round(n * fraction)))
        return np.sort(order[: n - eval_size]), np.sort(order[n - eval_size :])
    # CUSTOM: a BOOLEAN column, TRUE for evaluation rows
    flags = table.column(column)
    if not pa.types.is_boolean(flags.type):
        raise SchemaError(
            f"data_split_col '{column}' must be BOOLEAN for data_split_method 'CUSTOM' "
            f"(TRUE marks evaluation rows); it is {sql_type(flags.type)}."
        )
    is_eval = pc.fill_null(flags, False).to_numpy(zero_copy_only=False).astype(bool)
    return np.flatnonzero(~is_eval), np.flatnonzero(is_eval)


# --- fit ------------------------------------------------------------------------------------------


@dataclass
class Training:
    """One CREATE MODEL in progress: the prepared data, and what each stage adds to it.

    Stages run in order (see :func:`fit`); each reads what earlier ones left and records its own
    results in ``spec`` (what scoring needs, stored as JSON) or ``info`` (training info for the
    catalog and the inspection functions).
    """

    model: str
    options: ModelOptions
    task: str
    label: str | None
    features: list[dict[str, str]]
    spec: dict[str, Any]
    train: pa.Table
    evaluation: pa.Table
    y: np.ndarray | None = None
    sample_weight: np.ndarray | None = None
    info: dict[str, Any] = field(default_factory=dict)
    pipeline: Any = None
    scorer: Scorer | None = None
    onnx: bytes = b""
    transform: Transform | None = None  # the TRANSFORM clause: features are its outputs

    def frame(self, table: pa.Table | None = None) -> Any:
        """Features of ``table`` (default: the training rows) as scikit-learn's input."""
        return _frame(self.train if table is None else table, self.features)

    def labels(self, table: pa.Table) -> np.ndarray:
        assert self.label is not None
        return _label_values(table.column(self.label), self.task, self.model, self.label)


def fit(
    table: pa.Table,
    *,
    model: str,
    options: ModelOptions,
    label: str | None,
    transform: Transform | None = None,
) -> TrainedModel:
    """Train ``options.model_type`` on ``table`` (features = every column but label and split col,
    or with a TRANSFORM clause the inputs of its outputs)."""
    from sqlml.training import tuning

    started = time.perf_counter()
    checkpoint()
    concrete = tuning.concrete_options(options, table, label)  # automl: its first candidate type
    training = prepare(table, model=model, options=concrete, label=label, transform=transform)
    checkpoint()
    if tuning.requested(options):
        tuning.search(training, options)
    else:
        fit_pipeline(training)
    checkpoint()
    convert(training)
    checkpoint()
    after_fit(training)
    record_insights(training)  # what the inspection and explanation functions read
    summarize_evaluation(training)  # may tune the threshold, so before the metrics
    checkpoint()
    from sqlml.measures import metrics as metrics_mod

    assert training.scorer is not None
    metrics = metrics_mod.evaluate(training.scorer, training.evaluation, training.spec)
    training.info["duration_seconds"] = round(time.perf_counter() - started, 4)
    return TrainedModel(
        training.onnx,
        training.spec,
        metrics,
        training.info,
        training.info.pop("fidelity"),
        training.features,
        training.options,
    )


def prepare(
    table: pa.Table,
    *,
    model: str,
    options: ModelOptions,
    label: str | None,
    transform: Transform | None = None,
) -> Training:
    """Check the training data, pick features, drop NULL labels, split, and encode the label."""
    model_type = options.model_type
    task = task_of(model_type)
    supervised = task in ("classification", "regression")
    columns = table.column_names
    check_unique_columns(columns, model)
    if supervised and label is None:
        raise SchemaError(
            f"CREATE MODEL {model} needs a label: OPTIONS (input_label_cols = ['<column>']) "
            f"or TARGET <column>."
        )
    if task == "dimensionality_reduction" and label is not None:
        raise OptionError(
            f"The 'input_label_cols' option does not apply to model_type '{model_type}' (CREATE "
            f"MODEL {model}): a PCA model has no label; leave the option out."
        )
    if label is not None and label not in columns:  # k-means too: its label is left out
        raise SchemaError(
            f"Label column '{label}' of CREATE MODEL {model} is not in the training query; its "
            f"columns are: {', '.join(columns)}."
        )
    if table.num_rows == 0:
        raise TrainingError(f"The training query of CREATE MODEL {model} returned no rows.")

    excluded = {label, options.get("data_split_col")}
    features = [
        {
            "name": name,
            "kind": feature_kind(name, table.schema.field(name).type, model),
            "type": sql_type(table.schema.field(name).type),
        }
        for name in (transform.graph_inputs if transform else columns)
        if transform or name not in excluded
    ]
    if not features:
        raise TrainingError(
            f"CREATE MODEL {model} has no feature columns: the training query returns only "
            f"{', '.join(columns)}."
        )

    if supervised:
        labels = table.column(label)
        if labels.null_count:
            log.info("CREATE MODEL %s: %d rows with NULL label ignored", model, labels.null_count)
            table = table.filter(pc.is_valid(labels))
        if table.num_rows == 0:
            raise TrainingError(f"Every row of the training query of {model} has a NULL label.")

    train_idx, eval_idx = split_rows(table, options, model)
    if len(train_idx) == 0:
        raise TrainingError(f"The data split of CREATE MODEL {model} left no training rows.")
    spec: dict[str, Any] = {
        "task": task,
        "model_type": model_type,
        "label": label,
        "features": [{"name": f["name"], "kind": f["kind"]} for f in features],
        "null_category": NULL_CATEGORY,
        **(transform.spec() if transform else {}),
    }
    training = Training(
        model=model,
        options=options,
        task=task,
        label=label,
        features=features,
        spec=spec,
        train=table.take(train_idx),
        evaluation=table.take(eval_idx),
        info={
            "training_rows": int(len(train_idx)),
            "evaluation_rows": int(len(eval_idx)),
            "data_split_method": options.get("data_split_method"),
        },
        transform=transform,
    )
    if supervised:
        assert label is not None
        spec["label_type"] = label_type_name(table.schema.field(label).type)
        training.y = training.labels(training.train)
    if task == "classification":
        y = training.y
        assert y is not None
        classes = sorted(set(np.unique(y).tolist()))
        if len(classes) < 2:
            raise TrainingError(
                f"Label '{label}' of CREATE MODEL {model} has only one class "
                f"({_json_label(classes[0], spec['label_type'])!r}) "
                f"in the training rows; a classifier needs at least two."
            )
        spec["classes"] = [_json_label(c, spec["label_type"]) for c in classes]
        if len(classes) == 2:
            spec["threshold"] = options.get("threshold", 0.5)
        elif options.get("optimize_threshold"):
            raise OptionError(
                f"The 'optimize_threshold' option of CREATE MODEL {model} applies to binary "
                f"classifiers; label '{label}' has {len(classes)} classes in the training rows."
            )
        training.sample_weight = _sample_weights(y, classes, options, model, spec["label_type"])
    return training


def fit_pipeline(training: Training) -> None:
    """Fit the preprocessing + estimator pipeline on the training rows."""
    pipeline, seconds, notes = fit_once(training, training.options)
    training.pipeline = pipeline
    training.info["fit_seconds"] = round(seconds, 4)
    training.info["notes"] = notes


def fit_once(
    training: Training,
    options: ModelOptions,
    rows: np.ndarray | None = None,
) -> tuple[Any, float, list[str]]:
    """Fit a fresh pipeline with ``options`` on the training rows (or the subset ``rows``).

    Returns the pipeline, the seconds the fit took, and scikit-learn's convergence warnings.
    """
    train = training.train if rows is None else training.train.take(rows)
    y = training.y if rows is None or training.y is None else training.y[rows]
    weight = training.sample_weight
    if weight is not None and rows is not None:
        weight = weight[rows]
    frame = _frame(train, training.features)
    pipeline = _pipeline(
        training.features,
        make_estimator(options, train.num_rows),
        training.transform,
        frame,
        training.model,
    )
    if options.model_type == "pca":
        size_pca(pipeline, frame, options, training.model)
    fit_kwargs = {"model__sample_weight": weight} if weight is not None else {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        started = time.perf_counter()
        try:
            if y is None:
                pipeline.fit(frame, **fit_kwargs)
            else:
                pipeline.fit(frame, y, **fit_kwargs)
        except ValueError as exc:
            raise TrainingError(
                f"Training {training.model} ({options.model_type}) failed: {exc}"
            ) from exc
        seconds = time.perf_counter() - started
    notes = sorted({str(w.message).split("\n")[0] for w in caught if "onverge" in str(w.message)})
    return pipeline, seconds, notes


def convert(training: Training) -> None:
    """Convert the fitted pipeline to ONNX and prove the graph agrees with it."""
    training.onnx = _to_onnx(training.pipeline, training.features, training.task)
    training.scorer = Scorer(training.onnx, training.spec)
    training.info["fidelity"] = _check_fidelity(
        training.pipeline,
        training.scorer,
        training.train,
        training.features,
        training.task,
        training.model,
        training.y,
    )


def after_fit(training: Training) -> None:
    """Record what the estimator learned that scoring, evaluation and inspection need."""
    estimator = training.pipeline.named_steps["model"]
    training.info["iterations"] = _iterations(estimator)
    if training.task == "clustering":
        training.spec["centroid_distances"] = _centroid_distances(estimator)
    if training.task == "dimensionality_reduction":
        training.spec["num_principal_components"] = int(estimator.n_components_)
        training.info["explained_variance_ratio"] = [
            float(v) for v in estimator.explained_variance_ratio_
        ]
    if training.task in ("clustering", "dimensionality_reduction"):  # for ML.DETECT_ANOMALIES
        from sqlml.measures import anomalies as detect_anomalies

        assert training.scorer is not None
        training.spec[detect_anomalies.SPEC_KEY] = detect_anomalies.record_distribution(
            training.scorer, training.train, training.spec
        )
    if training.transform is not None:
        from sqlml.training.transform import summary

        preprocess = training.pipeline.named_steps["preprocess"]
        training.info["transform"] = summary(preprocess, training.transform)
    if hasattr(estimator, "loss_curve_"):
        training.info["loss"] = [float(v) for v in estimator.loss_curve_]
    elif hasattr(estimator, "train_score_"):
        training.info["loss"] = [float(v) for v in estimator.train_score_]


#: Most points of the ROC curve stored at training (ML.ROC_CURVE without input rows).
STORED_ROC_POINTS = 1000


def summarize_evaluation(training: Training) -> None:
    """Score a classifier's evaluation split once, through the ONNX graph, for what is kept of it:
    the tuned threshold (optimize_threshold), and the confusion matrix and ROC curve that
    ML.CONFUSION_MATRIX and ML.ROC_CURVE return without input rows."""
    if training.task != "classification":
        return
    from sqlml.measures import metrics

    assert training.scorer is not None
    y, probs = metrics.class_scores(training.scorer, training.evaluation, training.spec)
    binary = len(training.spec["classes"]) == 2
    objective = training.options.get("optimize_threshold")
    if objective is not None and binary:
        _optimize_threshold(training, objective, y, probs[:, 1])
    if len(y) == 0:
        return
    predicted = training.scorer.class_index(probs)
    classes = len(training.spec["classes"])
    training.info["confusion_matrix"] = metrics.confusion_matrix(y, predicted, classes)
    if binary:
        training.info["roc_curve"] = metrics.roc_curve(y, probs[:, 1], max_points=STORED_ROC_POINTS)


def _optimize_threshold(
    training: Training, objective: str, y: np.ndarray, scores: np.ndarray
) -> None:
    """Store as the model's threshold the evaluation score that maximizes ``objective``."""
    from sqlml.measures import metrics

    if len(np.unique(y)) < 2:
        raise TrainingError(
            f"optimize_threshold = '{objective}' of CREATE MODEL {training.model} needs both "
            f"classes among the evaluation rows; it has {len(y)} evaluation row(s) of "
            f"{len(np.unique(y))} class(es). Choose another data_split_method or data split."
        )
    threshold, value = metrics.best_threshold(y, scores, objective)
    training.spec["threshold"] = threshold
    training.info["threshold_optimization"] = {
        "objective": objective,
        "threshold": threshold,
        "value": value,
    }
    if training.info.get("evaluation_rows") == training.info.get("training_rows") and (
        training.options.get("data_split_method") in ("NO_SPLIT", "AUTO_SPLIT")
    ):
        training.info.setdefault("notes", []).append(
            f"optimize_threshold tuned the threshold ({threshold:.6g}) on the training rows, as "
            f"the data was not split; its {objective} is optimistic. Use data_split_method = "
            f"'RANDOM' or 'CUSTOM' to tune on held-out rows."
        )


def _label_values(column: pa.ChunkedArray, task: str, model: str, label: str) -> np.ndarray:
    dtype = column.type
    if task == "regression":
        if not (
            pa.types.is_integer(dtype) or pa.types.is_floating(dtype) or pa.types.is_decimal(dtype)
        ):
            raise SchemaError(
                f"Label '{label}' of CREATE MODEL {model} is {sql_type(dtype)}, but a regression "
                f"model needs a numeric label; use a classifier model_type for categories."
            )
        return pc.cast(column, pa.float64()).to_numpy()
    if pa.types.is_boolean(dtype):
        return pc.cast(column, pa.int64()).to_numpy()
    if pa.types.is_integer(dtype):
        return pc.cast(column, pa.int64()).to_numpy()
    if pa.types.is_string(dtype) or pa.types.is_large_string(dtype):
        return column.to_numpy().astype(str).astype(object)
    raise SchemaError(
        f"Label '{label}' of CREATE MODEL {model} is {sql_type(dtype)}; a classifier needs a "
        f"BOOLEAN, integer or string label (CAST it, or use a regression model_type)."
    )


def _json_label(value: Any, label_type: str) -> Any:
    if label_type == "bool":
        return bool(value)
    if label_type == "int64":
        return int(value)
    return str(value)


def explicit_class_weights(
    explicit: dict[str, float], classes: list[Any], label_type: str, model: str
) -> dict[Any, float]:
    """OPTIONS (class_weights = [...]) as a weight per class (keys matched to the classes' text,
    case-insensitively; classes not named weigh 1): the same on every engine."""
    by_text = {str(_json_label(c, label_type)).lower(): c for c in classes}
    weights: dict[Any, float] = {}
    for key, weight in explicit.items():
        if key.lower() not in by_text:
            raise SchemaError(
                f"class_weights of CREATE MODEL {model} names label {key!r}, which is not a "
                f"class of the label; classes: "
                f"{', '.join(str(_json_label(c, label_type)) for c in classes)}."
            )
        weights[by_text[key.lower()]] = weight
    return {c: weights.get(c, 1.0) for c in classes}


def _sample_weights(
    y: np.ndarray, classes: list[Any], options: ModelOptions, model: str, label_type: str
) -> np.ndarray | None:
    weights: dict[Any, float] | None = None
    if options.get("auto_class_weights"):
        counts = {c: int(np.sum(y == c)) for c in classes}
        weights = {c: len(y) / (len(classes) * counts[c]) for c in classes}
    explicit = options.get("class_weights")
    if explicit:
        weights = explicit_class_weights(explicit, classes, label_type, model)
    if weights is None:
        return None
    lookup = np.vectorize(lambda v: weights[v], otypes=[np.float64])
    return lookup(y)


def _frame(table: pa.Table, features: list[dict[str, str]]) -> Any:
    import pandas as pd

    return pd.DataFrame(
        {f["name"]: feature_array(table.column(f["name"]), f["kind"], np.float64) for f in features}
    )


def _pipeline(
    features: list[dict[str, str]],
    plan: Any,
    transform: Transform | None = None,
    frame: Any = None,
    model: str = "",
) -> Any:
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numeric = [f["name"] for f in features if f["kind"] == "numeric"]
    categorical = [f["name"] for f in features if f["kind"] == "categorical"]
    parts = []
    if numeric:
        steps: list[tuple[str, Any]] = [("impute", SimpleImputer(keep_empty_features=True))]
        if plan.scale_numeric:
            steps.append(("scale", StandardScaler()))
        parts.append(("numeric", Pipeline(steps), numeric))
    if categorical:
        parts.append(
            (
                "categorical",
                OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                categorical,
            )
        )
    preprocess = ColumnTransformer(parts, sparse_threshold=0.0)
    if transform is not None:  # one branch per TRANSFORM output instead
        from sqlml.training.transform import column_transformer

        preprocess = column_transformer(transform, features, plan.scale_numeric, frame, model)
    return Pipeline([("preprocess", preprocess), ("model", plan.estimator)])


def _to_onnx(pipeline: Any, features: list[dict[str, str]], task: str) -> bytes:
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType, StringTensorType

    initial_types = [
        (
            f["name"],
            FloatTensorType([None, 1]) if f["kind"] == "numeric" else StringTensorType([None, 1]),
        )
        for f in features
    ]
    estimator = pipeline.named_steps["model"]
    options = {id(estimator): {"zipmap": False}} if task == "classification" else None
    model = convert_sklearn(
        pipeline,
        initial_types=initial_types,
        options=options,
        target_opset={"": 18, "ai.onnx.ml": 3},
    )
    restore_input_names(model, [f["name"] for f in features])
    if task == "clustering":
        _clamp_before_sqrt(model)
    if task == "dimensionality_reduction":
        _expose_centered(model)
    return model.SerializeToString()


def _expose_centered(model: Any) -> None:
    """Add the PCA's centered input as a second graph output, ``centered`` (``centered_sqlml``
    if a feature has that name: the scorer reads it by position).

    skl2onnx computes a PCA as (x - mean) @ components.T; with the centered rows beside the
    projections, reconstruction errors (ML.DETECT_ANOMALIES) and the explained variance of new rows
    (ML.EVALUATE) need nothing but the graph's outputs.
    """
    from onnx import TensorProto, helper

    graph = model.graph
    producer = {name: node for node in graph.node for name in node.output}
    node = producer.get(graph.output[0].name)
    while node is not None and node.op_type in ("Identity", "Cast"):
        node = producer.get(node.input[0])
    if node is None or node.op_type != "MatMul":
        raise TrainingError("sqlml could not find the PCA projection in its ONNX graph.")
    weights = {i.name: i for i in graph.initializer}
    width = weights[node.input[1]].dims[0] if node.input[1] in weights else None
    name = fresh_name("centered", tensor_names(model))  # a column may be named "centered"
    graph.node.append(helper.make_node("Identity", [node.input[0]], [name]))
    graph.output.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, [None, width]))


def _clamp_before_sqrt(model: Any) -> None:
    """Make k-means distances NaN-free in any runtime.

    skl2onnx computes sqrt(|x|² - 2x·c + |c|²) in float32; for a row on a centroid the argument can
    come out slightly negative. A Relu in front of each Sqrt turns that into the true distance, 0.
    """
    from onnx import helper

    graph = model.graph
    for index in reversed(range(len(graph.node))):
        node = graph.node[index]
        if node.op_type != "Sqrt":
            continue
        clamped = f"{node.input[0]}_sqlml_clamped"
        graph.node.insert(index, helper.make_node("Relu", [node.input[0]], [clamped]))
        node.input[0] = clamped


def _check_fidelity(
    pipeline: Any,
    scorer: Scorer,
    train: pa.Table,
    features: list[dict[str, str]],
    task: str,
    model: str,
    y: np.ndarray | None,
) -> dict[str, Any]:
    """Compare ONNX Runtime with the fitted estimator on up to FIDELITY_SAMPLE training rows."""
    n = train.num_rows
    rows = np.linspace(0, n - 1, num=min(n, FIDELITY_SAMPLE)).astype(np.int64)
    sample = train.take(rows)
    frame = _frame(sample, features)
    outputs = scorer.run({f["name"]: sample.column(f["name"]) for f in features})
    report: dict[str, Any] = {"rows": int(len(rows))}
    if task == "classification":
        expected = pipeline.predict_proba(frame)
        got = np.asarray(outputs[1], dtype=np.float64)
        diff = float(np.max(np.abs(expected - got)))
        report.update(max_probability_difference=diff, tolerance=PROB_TOLERANCE)
        ok = diff <= PROB_TOLERANCE
    elif task == "regression":
        expected = pipeline.predict(frame).astype(np.float64)
        got = np.asarray(outputs[0], dtype=np.float64).reshape(-1)
        scale = float(np.std(y)) if y is not None else 1.0
        diff = float(np.max(np.abs(expected - got)))
        allowed = REGRESSION_TOLERANCE * scale + 1e-6
        report.update(max_difference=diff, tolerance=allowed)
        ok = diff <= allowed
    elif task == "dimensionality_reduction":
        expected = pipeline.transform(frame)
        got = np.asarray(outputs[0], dtype=np.float64)
        diff = float(np.max(np.abs(expected - got)))
        allowed = REGRESSION_TOLERANCE * float(np.sqrt(np.mean(expected**2))) + 1e-6
        report.update(max_difference=diff, tolerance=allowed)
        ok = diff <= allowed
    else:
        # Squared distances: the graph's float32 expansion |x|² - 2x·c + |c|² has an absolute error
        # on that scale, which a square root magnifies near zero.
        expected = pipeline.transform(frame) ** 2
        got = scorer.distances(outputs) ** 2
        diff = float(np.max(np.abs(expected - got)))
        allowed = DISTANCE_TOLERANCE * float(np.mean(expected)) + 1e-6
        report.update(max_squared_distance_difference=diff, tolerance=allowed)
        ok = diff <= allowed
    if not ok:
        raise FidelityError(
            f"The ONNX graph of {model} disagrees with the trained estimator on {len(rows)} training "
            f"rows (largest difference {diff:.3g}, tolerance {report['tolerance']:.3g}); the model "
            f"was not stored. Features with huge magnitudes lose precision as float32: rescale them "
            f"in the query (e.g. divide timestamps' epoch seconds), or try another model_type."
        )
    return report


def _iterations(estimator: Any) -> int | None:
    for attribute in ("n_iter_", "n_estimators_"):
        value = getattr(estimator, attribute, None)
        if value is not None:
            return int(np.max(value))
    if hasattr(estimator, "estimators_"):
        return len(estimator.estimators_)
    return None


def _centroid_distances(estimator: Any) -> list[list[float]]:
    centers = np.asarray(estimator.cluster_centers_, dtype=np.float64)
    diff = centers[:, None, :] - centers[None, :, :]
    return np.sqrt((diff**2).sum(axis=2)).tolist()


__all__ = ["CLASSIFIERS", "TREES", "TrainedModel", "feature_kind", "fit", "sql_type"]
