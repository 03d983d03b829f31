"""The scikit-learn pipeline of a model (preprocessing + the model type's estimator): built, fitted,
converted to ONNX by skl2onnx, and its own predictions as the fidelity reference.
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
from sqlml_udfs.scoring import Scorer, model_arrays
from sqlml_udfs.temporal import graph_features

from sqlml import progress
from sqlml.errors import TrainingError
from sqlml.models.boosting import (
    assign_tree_classes,
    for_onnx,
    is_xgboost,
    register_onnx_converters,
)
from sqlml.models.dnn import is_watching
from sqlml.models.dnn import register_onnx_converters as register_dnn_converters
from sqlml.models.options import ModelOptions
from sqlml.models.registry import make_estimator
from sqlml.models.sklearn import size_pca
from sqlml.plan.transform import Transform
from sqlml.training.contract import FIDELITY_SAMPLE, check_fidelity
from sqlml.training.data import label_values
from sqlml.training.onnx_names import fresh_name, restore_input_names, tensor_names


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
    #: The model's loss on the training rows after each iteration, when the fit computed it on
    #: the way (logistic_reg's Newton steps); None: ML.TRAINING_INFO scores the rows itself.
    training_loss: list[float] | None = None

    def frame(self, table: pa.Table | None = None) -> Any:
        """Features of ``table`` (default: the training rows) as scikit-learn's input."""
        return features_frame(self.train if table is None else table, self.features)

    def labels(self, table: pa.Table) -> np.ndarray:
        assert self.label is not None
        return label_values(table.column(self.label), self.task, self.model, self.label)


def fit_pipeline(training: Training) -> None:
    """Fit the preprocessing + estimator pipeline on the training rows."""
    pipeline, seconds, notes, training.training_loss = _fit(training, training.options)
    training.pipeline = pipeline
    training.info["fit_seconds"] = round(seconds, 4)
    training.info["notes"] = [*training.options.notices, *notes]  # options with no effect here


def fit_once(
    training: Training,
    options: ModelOptions,
    rows: np.ndarray | None = None,
) -> tuple[Any, float, list[str]]:
    """Fit a fresh pipeline with ``options`` on the training rows (or the subset ``rows``).

    Returns the pipeline, the seconds the fit took, and scikit-learn's convergence warnings.
    """
    pipeline, seconds, notes, _loss = _fit(training, options, rows)
    return pipeline, seconds, notes


def _fit(
    training: Training, options: ModelOptions, rows: np.ndarray | None = None
) -> tuple[Any, float, list[str], list[float] | None]:
    """:func:`fit_once`, and the training loss per iteration when the fit computed it."""
    train = training.train if rows is None else training.train.take(rows)
    y = training.y if rows is None or training.y is None else training.y[rows]
    weight = training.sample_weight
    if weight is not None and rows is not None:
        weight = weight[rows]
    frame = features_frame(train, training.features)
    plan = make_estimator(options, train.num_rows)
    pipeline = build_pipeline(
        training.features,
        plan,
        training.transform,
        frame,
        training.model,
    )
    if options.model_type == "pca":
        size_pca(pipeline, frame, options, training.model)
    if plan.init_col is not None:
        seed_centroids(pipeline, frame, train, plan.init_col, options, training.model)
    fit_kwargs = {"model__sample_weight": weight} if weight is not None else {}
    scale = _label_scale(y) if plan.scale_label and y is not None else None
    if scale is not None:
        y = (y - scale[0]) / scale[1]
    loss = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        started = time.perf_counter()
        try:
            if plan.eval_set:  # the estimator sees the preprocessed evaluation split too
                # (its loss per round, early stopping); a fold of a tuning run stops on its own
                evaluation = (
                    training.evaluation if rows is None and has_eval_split(training) else None
                )
                _fit_with_evaluation(pipeline, frame, y, weight, evaluation, training, scale)
            elif plan.stepwise is not None:
                loss = _fit_stepwise(pipeline, frame, y, weight, plan.stepwise)
            elif _is_forest(pipeline.named_steps["model"]) and progress.current() is not None:
                _fit_forest_counted(pipeline, frame, y, weight)
            elif y is None:
                pipeline.fit(frame, **fit_kwargs)
            else:
                pipeline.fit(frame, y, **fit_kwargs)
        except ValueError as exc:
            raise TrainingError(
                f"Training {training.model} ({options.model_type}) failed: {exc}"
            ) from exc
        seconds = time.perf_counter() - started
    if scale is not None:
        _unscale_output(pipeline.named_steps["model"], *scale)
    notes = sorted({str(w.message).split("\n")[0] for w in caught if "onverge" in str(w.message)})
    return pipeline, seconds, notes, loss


def _fit_with_evaluation(
    pipeline: Any,
    frame: Any,
    y: np.ndarray | None,
    weight: np.ndarray | None,
    evaluation: pa.Table | None,
    training: Training,
    scale: tuple[float, float] | None = None,
) -> None:
    """Fit the preprocessing, then the estimator with ``evaluation=(x, y)`` preprocessed alike
    (``scale``: the label's standardization, applied to the evaluation labels too)."""
    head = pipeline[:-1]
    # XGBoost: float32, as it (and the ONNX graph) computes: half the memory, no copy inside it
    dtype = np.float32 if is_xgboost(pipeline.named_steps["model"]) else np.float64
    x = np.asarray(head.fit_transform(frame, y), dtype=dtype)
    extra = {"sample_weight": weight} if weight is not None else {}
    held_out = None
    if evaluation is not None:
        labels = training.labels(evaluation)
        if scale is not None:
            labels = (np.asarray(labels, dtype=np.float64) - scale[0]) / scale[1]
        held_out = (
            np.asarray(head.transform(features_frame(evaluation, training.features)), dtype),
            labels,
        )
    pipeline.named_steps["model"].fit(x, y, evaluation=held_out, **extra)


def _label_scale(y: np.ndarray) -> tuple[float, float]:
    values = np.asarray(y, dtype=np.float64)
    spread = float(np.std(values))
    return float(np.mean(values)), spread if spread > 0 else 1.0


def _unscale_output(estimator: Any, mean: float, spread: float) -> None:
    """An MLP regressor fitted to (y - mean) / spread predicts y once its output layer (linear)
    is multiplied by spread and shifted by mean."""
    estimator.coefs_[-1] = estimator.coefs_[-1] * spread
    estimator.intercepts_[-1] = estimator.intercepts_[-1] * spread + mean


def _is_forest(estimator: Any) -> bool:
    from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

    return isinstance(estimator, (RandomForestClassifier, RandomForestRegressor))


def _fit_forest_counted(pipeline: Any, frame: Any, y: Any, weight: np.ndarray | None) -> None:
    """A random forest whose trees are counted as each finishes (on joblib's threads): the forest's
    tree is a subclass whose fit ticks :func:`sqlml.progress.counter`, so the trees, their seeds and
    the parallel fit are scikit-learn's own (the same forest; tests/test_progress.py)."""
    estimator = pipeline.named_steps["model"]
    tree = estimator.estimator
    tick = progress.counter()

    class Counted(type(tree)):  # type: ignore[misc]
        def _fit(self, *args: Any, **kwargs: Any) -> Any:
            fitted = super()._fit(*args, **kwargs)
            tick()
            return fitted

    Counted.__name__ = Counted.__qualname__ = type(tree).__name__
    progress.expect(estimator.n_estimators, "trees")
    estimator.estimator = Counted(**tree.get_params())
    try:
        pipeline.fit(frame, y, **({"model__sample_weight": weight} if weight is not None else {}))
    finally:
        estimator.estimator = tree


def _fit_stepwise(
    pipeline: Any, frame: Any, y: Any, weight: np.ndarray | None, relative: float
) -> list[float]:
    """Fit the preprocessing, then the estimator one warm-started solver iteration at a time,
    stopping after the first iteration whose training objective fell by less than ``relative`` of
    the one before (BigQuery's EARLY_STOP / MIN_REL_PROGRESS), or after ``max_iter`` iterations.

    Returns the mean log loss over the training rows after each iteration (ML.TRAINING_INFO's
    loss per iteration), from the objective each step computes: the rows are not scored again."""
    import sklearn
    from sklearn.exceptions import ConvergenceWarning

    # transformed once; C order, as LogisticRegression copies any other layout on every call
    x = np.ascontiguousarray(pipeline[:-1].fit_transform(frame, y))
    estimator = pipeline.named_steps["model"]
    limit = estimator.max_iter
    extra = {"sample_weight": weight} if weight is not None else {}
    estimator.set_params(warm_start=True, max_iter=1)
    # the steps fit the class positions, in the smallest integer type: LogisticRegression finds
    # the classes of its labels again on every call (a hash of 1M int64 labels: ~12 ms, of uint8
    # ~2 ms); the coefficients are the same, and classes_ are the labels again afterwards
    classes, index = np.unique(y, return_inverse=True)
    codes = index.astype(np.min_scalar_type(len(classes) - 1))
    previous, steps, losses, curve = None, 0, np.zeros(0), []
    progress.expect(limit, "iterations")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # one iteration per call, by design
        while steps < limit:
            # the first call checks the matrix; it does not change between calls
            with sklearn.config_context(assume_finite=steps > 0):
                estimator.fit(x, codes, **extra)
            steps += 1
            progress.advance(steps)
            losses = _row_losses(estimator, x, index)
            # the training loss clips probabilities at 1e-15, as ML.EVALUATE's log_loss does
            curve.append(float(np.mean(np.minimum(losses, LOSS_CAP))))
            now = _objective(estimator, losses, weight)
            if previous is not None and previous - now < relative * abs(previous):
                break
            previous = now
    estimator.set_params(warm_start=False, max_iter=limit)
    estimator.classes_ = classes
    estimator.n_iter_ = np.array([steps])
    return curve


#: -log(1e-15): the largest log loss of one row (its probability clipped at 1e-15).
LOSS_CAP = -math.log(1e-15)


def _row_losses(estimator: Any, x: np.ndarray, index: np.ndarray) -> np.ndarray:
    """Each row's -log(probability of its class); ``index``: the class's position."""
    if len(estimator.classes_) == 2:  # log(1 + exp(-margin)) of the true class, without 1 - p
        margin = x @ estimator.coef_[0]
        margin += estimator.intercept_[0]
        margin *= np.where(index == 1, -1.0, 1.0)
        return np.logaddexp(0.0, margin)
    probs = estimator.predict_proba(x)
    chosen = np.take_along_axis(probs, index[:, None], axis=1)[:, 0]
    return -np.log(np.clip(chosen, 1e-300, 1.0))


def _objective(estimator: Any, losses: np.ndarray, weight: np.ndarray | None) -> float:
    """scikit-learn's logistic objective: C × the (weighted) summed log loss + ½|w|²."""
    total = float(np.sum(losses) if weight is None else np.dot(weight, losses))
    if not np.isfinite(estimator.C):
        return total
    return estimator.C * total + 0.5 * float(np.sum(estimator.coef_**2))


def has_eval_split(training: Training) -> bool:
    """False when the evaluation rows are the training rows (no split) or there are none."""
    if training.evaluation.num_rows == 0:
        return False
    method = training.options.get("data_split_method", "AUTO_SPLIT")
    if method == "NO_SPLIT":
        return False
    same = training.info.get("training_rows") == training.info.get("evaluation_rows")
    return not (method == "AUTO_SPLIT" and same)


def features_frame(table: pa.Table, features: list[dict[str, str]]) -> Any:
    """The features as a DataFrame over the arrays themselves: ``copy=False`` keeps one block per
    column (1,000,000 × 20: 0.001 s instead of 0.46 s, and the ColumnTransformer's fit 0.31 s
    instead of 1.08 s on the consolidated copy). Only numbers: one block, a column per row of it, so
    scikit-learn reads the frame as the column-major matrix it would interleave, without copying."""
    import pandas as pd

    columns = model_arrays(
        {f["name"]: table.column(f["name"]) for f in features}, features, np.float64
    )
    if columns and all(v.dtype == np.float64 for v in columns.values()):
        block = np.empty((len(columns), table.num_rows))
        for row, values in zip(block, columns.values(), strict=True):
            row[:] = values
        return pd.DataFrame(block.T, columns=list(columns), copy=False)
    return pd.DataFrame(columns, copy=False)


def build_pipeline(
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

    inputs = graph_features(features)  # a TIMESTAMP's seconds and parts (sqlml_udfs.temporal)
    numeric = [f["name"] for f in inputs if f["kind"] == "numeric"]
    categorical = [f["name"] for f in inputs if f["kind"] == "categorical"]
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
    if getattr(plan, "normalize_rows", False):  # cosine k-means: unit rows, in ONNX too
        from sklearn.preprocessing import Normalizer

        return Pipeline(
            [("preprocess", preprocess), ("normalize", Normalizer()), ("model", plan.estimator)]
        )
    return Pipeline([("preprocess", preprocess), ("model", plan.estimator)])


def seed_centroids(
    pipeline: Any, frame: Any, train: pa.Table, column: str, options: ModelOptions, model: str
) -> None:
    """kmeans_init_method = 'CUSTOM': the TRUE rows of ``column``, preprocessed as the model's
    input is, are k-means' initial centroids (their number is num_clusters, when that is unset)."""
    from sklearn.base import clone

    if column not in train.column_names or not pa.types.is_boolean(train.schema.field(column).type):
        raise TrainingError(
            f"kmeans_init_col '{column}' of CREATE MODEL {model} must be a BOOL column of the "
            f"training query (TRUE on the rows that start as centroids)."
        )
    seeds = np.flatnonzero(np.asarray(train.column(column).fill_null(False)))
    given = options.get("num_clusters")
    if len(seeds) == 0 or (given is not None and len(seeds) != given):
        raise TrainingError(
            f"kmeans_init_col '{column}' of CREATE MODEL {model} is TRUE on {len(seeds)} "
            f"training row(s); it must be TRUE on exactly num_clusters"
            f"{f' ({given})' if given is not None else ''} rows."
        )
    head = clone(pipeline[:-1]).fit(frame)
    centroids = np.asarray(head.transform(frame.iloc[seeds]), dtype=np.float64)
    pipeline.set_params(model__init=centroids, model__n_clusters=len(seeds))


def shared_op_versions() -> None:
    """skl2onnx rebuilds its table of ONNX operator versions (every schema ``onnx.defs`` knows)
    for each conversion: ~5 ms, a third of a small model's CREATE MODEL, paid once per group of a
    partitioned model. The table depends only on the installed onnx, so one is built per process
    and shared (skl2onnx only reads it). A skl2onnx without that method is left as it is."""
    from skl2onnx.common import _container

    container = getattr(_container, "ModelComponentContainer", None)
    build = getattr(container, "_build_op_version", None)
    if build is None or getattr(build, "shared", False):
        return
    table: dict[Any, Any] = {}

    def shared(self: Any) -> None:
        if not table:
            build(self)
            table.update(self._op_versions)
        self._op_versions = table

    shared.shared = True  # type: ignore[attr-defined]
    container._build_op_version = shared


def to_onnx(pipeline: Any, features: list[dict[str, str]], task: str) -> bytes:
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType, StringTensorType
    from sklearn.pipeline import Pipeline

    shared_op_versions()

    initial_types = [
        (
            f["name"],
            FloatTensorType([None, 1]) if f["kind"] == "numeric" else StringTensorType([None, 1]),
        )
        for f in graph_features(features)
    ]
    estimator = pipeline.named_steps["model"]
    if is_xgboost(estimator):  # converted by onnxmltools, as XGBoost itself would be
        register_onnx_converters()
        estimator = for_onnx(estimator)
        pipeline = Pipeline([*pipeline.steps[:-1], ("model", estimator)])
    if is_watching(estimator):  # scikit-learn's MLPs, fitted epoch by epoch
        register_dnn_converters()
    options = {id(estimator): {"zipmap": False}} if task == "classification" else None
    model = convert_sklearn(
        pipeline,
        initial_types=initial_types,
        options=options,
        target_opset={"": 18, "ai.onnx.ml": 3},
    )
    restore_input_names(model, [f["name"] for f in graph_features(features)])
    if is_xgboost(estimator) and task == "classification":
        assign_tree_classes(model, estimator)
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


def check_fidelity_of(
    pipeline: Any,
    scorer: Scorer,
    train: pa.Table,
    features: list[dict[str, str]],
    task: str,
    model: str,
    y: np.ndarray | None,
) -> dict[str, Any]:
    """ONNX Runtime against the fitted scikit-learn pipeline on up to FIDELITY_SAMPLE training rows
    (:func:`sqlml.training.contract.check_fidelity`)."""
    n = train.num_rows
    rows = np.linspace(0, n - 1, num=min(n, FIDELITY_SAMPLE)).astype(np.int64)
    sample = train.take(rows)
    frame = features_frame(sample, features)
    outputs = scorer.run({f["name"]: sample.column(f["name"]) for f in features})
    if task == "classification":
        expected = pipeline.predict_proba(frame)
    elif task == "regression":
        expected = pipeline.predict(frame).astype(np.float64)
    elif task == "dimensionality_reduction":
        expected = pipeline.transform(frame)
    else:  # k-means: squared distances to every centroid
        expected = pipeline.transform(frame) ** 2
    scale = float(np.std(y)) if y is not None and task == "regression" else 1.0
    return check_fidelity(
        task,
        np.asarray(expected, dtype=np.float64),
        outputs,
        scorer,
        model=model,
        reference="the trained estimator",
        label_scale=scale,
    )


def iterations_of(estimator: Any) -> int | None:
    if is_xgboost(estimator):
        return int(estimator.get_booster().num_boosted_rounds())
    for attribute in ("n_iter_", "n_estimators_"):
        value = getattr(estimator, attribute, None)
        if value is not None:
            return int(np.max(value))
    if hasattr(estimator, "estimators_"):
        return len(estimator.estimators_)
    return None


def centroid_distances(estimator: Any) -> list[list[float]]:
    centers = np.asarray(estimator.cluster_centers_, dtype=np.float64)
    diff = centers[:, None, :] - centers[None, :, :]
    return np.sqrt((diff**2).sum(axis=2)).tolist()
