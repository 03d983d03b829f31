"""The Spark ML pipeline: preprocessing stages and the estimator (from the model type's MLlib
maker), fitted on the executors; the fitted values extracted into sqlml's ONNX heads; Spark's own
predictions as the fidelity reference; and what is recorded after the fit.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlml_udfs.scoring import Scorer

from sqlml.backends.spark.errors import spark_errors, translate_error
from sqlml.backends.spark.session import is_connect
from sqlml.errors import (
    TrainingError,
)
from sqlml.models import boosting
from sqlml.models.mllib import MLlibContext
from sqlml.models.options import ModelOptions
from sqlml.models.registry import MODEL_TYPES
from sqlml.training.contract import check_fidelity
from sqlml.training.mllib import onnx as spark_onnx
from sqlml.training.mllib.frame import (
    FEATURES,
    LABEL,
    PREDICTION,
    PROBABILITY,
    VALIDATION,
    WEIGHT,
    categorical_columns,
    numeric_columns,
)
from sqlml.training.pipeline import Training

if TYPE_CHECKING:
    from sqlml.training.mllib.trainer import MLlibTrainer

#: XGBoost on the executors: at most one worker (barrier task) per this many training rows.
ROWS_PER_WORKER = 10_000


def fit_spark_pipeline(
    prepared: Any,
    features: list[dict[str, str]],
    task: str,
    spec: dict[str, Any],
    options: ModelOptions,
    info: dict[str, Any],
) -> tuple[Any, float]:
    """Fit the preprocessing, then the estimator on its output (the MLP's input layer is the width
    of the assembled vector); one PipelineModel of both."""
    from pyspark.ml import Pipeline, PipelineModel
    from pyspark.ml.feature import (
        Imputer,
        OneHotEncoder,
        StandardScaler,
        StringIndexer,
        VectorAssembler,
    )
    from pyspark.sql import functions as F

    numeric = [prepared_name for _, prepared_name in numeric_columns(features)]
    categorical = [prepared_name for _, prepared_name in categorical_columns(features)]
    scale = MODEL_TYPES[options.model_type].spark.scaled or (  # type: ignore[union-attr]
        options.model_type == "kmeans" and options.get("standardize_features", True)
    )
    stages: list[Any] = []
    blocks: list[str] = []
    if numeric:
        imputed = [f"{n}_imputed" for n in numeric]
        stages.append(Imputer(inputCols=numeric, outputCols=imputed, strategy="mean"))
        if scale:
            stages.append(VectorAssembler(inputCols=imputed, outputCol="__sqlml_numeric"))
            stages.append(
                StandardScaler(
                    inputCol="__sqlml_numeric",
                    outputCol="__sqlml_scaled",
                    withMean=True,
                    withStd=True,
                )
            )
            blocks.append("__sqlml_scaled")
        else:
            blocks.extend(imputed)
    if categorical:
        indexed = [f"{c}_index" for c in categorical]
        encoded = [f"{c}_onehot" for c in categorical]
        stages.append(
            StringIndexer(
                inputCols=categorical,
                outputCols=indexed,
                handleInvalid="keep",
                stringOrderType="alphabetAsc",
            )
        )
        stages.append(
            OneHotEncoder(
                inputCols=indexed, outputCols=encoded, handleInvalid="keep", dropLast=True
            )
        )
        blocks.extend(encoded)
    stages.append(VectorAssembler(inputCols=blocks, outputCol=FEATURES))
    started = time.perf_counter()
    try:
        # the preprocessing is fitted on the training rows (not the watched evaluation rows)
        watched = VALIDATION in prepared.columns
        fit_rows = prepared.where(~F.col(VALIDATION)) if watched else prepared
        preprocess = Pipeline(stages=stages).fit(fit_rows)
        width = _width(preprocess, categorical, numeric)
        estimator = _estimator(options, task, spec, width, info, prepared)
        fitted = estimator.fit(preprocess.transform(prepared))
    except spark_errors() as exc:
        raise TrainingError(
            f"Training ({options.model_type}) on Spark failed: {translate_error(exc)}"
        ) from exc
    return PipelineModel(stages=[*preprocess.stages, fitted]), time.perf_counter() - started


def _width(preprocess: Any, categorical: list[str], numeric: list[str]) -> int:
    indexer = next((s for s in preprocess.stages if hasattr(s, "labelsArray")), None)
    labels = indexer.labelsArray if indexer is not None else []
    return len(numeric) + sum(len(ls) + 1 for ls in labels)


def _estimator(
    options: ModelOptions,
    task: str,
    spec: dict[str, Any],
    width: int,
    info: dict[str, Any],
    prepared: Any,
) -> Any:
    """model_type -> a Spark ML estimator, from its registry entry's MLlib maker."""
    weighted = WEIGHT in prepared.columns
    common: dict[str, Any] = {"featuresCol": FEATURES}
    if task in ("classification", "regression"):
        common.update(labelCol=LABEL, predictionCol=PREDICTION)
    if task == "classification":
        common.update(probabilityCol=PROBABILITY, rawPredictionCol="__sqlml_raw")
    if weighted:
        common["weightCol"] = WEIGHT
    rows = max(1, info.get("training_rows", 1))
    connect = is_connect(prepared.sparkSession)
    slots = 1 if connect else prepared.sparkSession.sparkContext.defaultParallelism
    context = MLlibContext(
        rows=rows,
        width=width,
        classes=len(spec.get("classes") or []),
        prediction=PREDICTION,
        common=common,
        validation=VALIDATION if VALIDATION in prepared.columns else None,
        # XGBoost's workers: every task slot, but not fewer than ROWS_PER_WORKER rows each
        workers=max(1, min(slots, rows // ROWS_PER_WORKER)),
        connect=connect,
    )
    spark = MODEL_TYPES[options.model_type].spark
    assert spark is not None and spark.maker is not None, options.model_type
    return spark.maker(options, context)


def extract_heads(
    training: MLlibTrainer, pipeline: Any, task: str, spec: dict[str, Any]
) -> tuple[spark_onnx.Layout, Any]:
    """The fitted values: preprocessing into a Layout, the last stage into an ONNX head."""
    stages = pipeline.stages
    imputer = next((s for s in stages if hasattr(s, "surrogateDF")), None)
    scaler = next((s for s in stages if hasattr(s, "std") and hasattr(s, "mean")), None)
    indexer = next((s for s in stages if hasattr(s, "labelsArray")), None)
    numeric_inputs = list(imputer.getInputCols()) if imputer is not None else []
    features = spec["features"]
    by_prepared = {f"__sqlml_n{i}": f["name"] for i, f in enumerate(features)}
    by_prepared.update({f"__sqlml_c{i}": f["name"] for i, f in enumerate(features)})
    surrogates: list[float] = []
    if imputer is not None:
        row = imputer.surrogateDF.collect()[0]
        surrogates = [float(row[c]) for c in numeric_inputs]
    layout = spark_onnx.Layout(
        numeric=[by_prepared[c] for c in numeric_inputs],
        surrogates=surrogates,
        mean=scaler.mean.toArray().tolist() if scaler is not None else None,
        std=scaler.std.toArray().tolist() if scaler is not None else None,
        categorical=[
            (by_prepared[c], list(labels))
            for c, labels in zip(indexer.getInputCols(), indexer.labelsArray, strict=True)
        ]
        if indexer is not None
        else [],
    )
    return layout, _head(training, stages[-1], task, spec)


def _head(training: MLlibTrainer, model: Any, task: str, spec: dict[str, Any]) -> Any:
    classes = spec.get("classes")
    kind = type(model).__name__
    if kind == "LogisticRegressionModel":
        if model.numClasses == 2 and len(model.coefficients) == model.numFeatures:
            return spark_onnx.LinearHead(
                np.asarray(model.coefficients.toArray())[None, :],
                np.array([model.intercept]),
                classes,
            )
        return spark_onnx.LinearHead(
            model.coefficientMatrix.toArray(), model.interceptVector.toArray(), classes
        )
    if kind == "LinearRegressionModel":
        return spark_onnx.LinearHead(
            np.asarray(model.coefficients.toArray())[None, :], np.array([model.intercept])
        )
    if kind == "MultilayerPerceptronClassificationModel":
        return spark_onnx.MLPHead(_mlp_layers(model), classes or [])
    if kind in ("SparkXGBClassifierModel", "SparkXGBRegressorModel"):
        return spark_onnx.XGBoostHead(booster_of(model), classes)
    if kind == "KMeansModel":
        return spark_onnx.KMeansHead(np.asarray([c for c in model.clusterCenters()]))
    tree_kinds = {
        "RandomForestClassificationModel": "forest_classifier",
        "RandomForestRegressionModel": "forest_regressor",
        "GBTClassificationModel": "boosted_classifier",
        "GBTRegressionModel": "boosted_regressor",
    }
    if kind in tree_kinds:
        nodes = training.saved_nodes(model)
        tree_task = "classification" if kind == "RandomForestClassificationModel" else "regression"
        trees = spark_onnx.tree_arrays(nodes, tree_task, len(classes or []))
        weights = list(model.treeWeights)
        return spark_onnx.TreeHead(tree_kinds[kind], trees, weights, classes)
    raise TrainingError(f"sqlml cannot convert a Spark {kind} to ONNX.")


def _mlp_layers(model: Any) -> list[tuple[np.ndarray, np.ndarray]]:
    """Spark's flat MLP weights: per layer an out x in matrix (column-major), then the bias."""
    sizes = list(model.getLayers())
    flat = np.asarray(model.weights.toArray())
    layers, offset = [], 0
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=True):
        weights = flat[offset : offset + fan_in * fan_out].reshape(fan_in, fan_out)
        offset += fan_in * fan_out
        layers.append((weights, flat[offset : offset + fan_out]))
        offset += fan_out
    return layers


def check_against_spark(
    training: MLlibTrainer,
    pipeline: Any,
    sample: Any,
    scorer: Scorer,
    task: str,
    model: str,
) -> dict[str, Any]:
    """ONNX Runtime on the raw columns against Spark's own transform, on the same sampled rows
    (:func:`sqlml.training.contract.check_fidelity`)."""
    from pyspark.ml.functions import vector_to_array
    from pyspark.sql import functions as F

    features = scorer.features
    columns = [F.col(f"`{f['name']}`") for f in features]
    if task == "classification":
        columns.append(vector_to_array(F.col(PROBABILITY)).alias("__sqlml_expected"))
    elif task == "regression":
        columns += [F.col(PREDICTION).alias("__sqlml_expected"), F.col(LABEL)]
    else:
        columns.append(vector_to_array(F.col(FEATURES)).alias("__sqlml_expected"))
    table = training.backend.to_arrow(pipeline.transform(sample).select(*columns))
    if table.num_rows == 0:
        return {"rows": 0, "compared_with": "Spark ML transform"}
    outputs = scorer.run({f["name"]: table.column(f["name"]) for f in features})
    expected_column = table.column("__sqlml_expected")
    scale = 1.0
    if task == "classification":
        expected = np.asarray(expected_column.to_pylist(), dtype=np.float64)
    elif task == "regression":
        expected = expected_column.to_numpy().astype(np.float64)
        scale = float(np.std(table.column(LABEL).to_numpy()))
    else:  # k-means: squared distances of the assembled vectors to every centroid
        vectors = np.asarray(expected_column.to_pylist(), dtype=np.float64)
        centers = np.asarray(pipeline.stages[-1].clusterCenters(), dtype=np.float64)
        expected = ((vectors[:, None, :] - centers[None, :, :]) ** 2).sum(axis=2)
    report = check_fidelity(
        task,
        expected,
        outputs,
        scorer,
        model=model,
        reference="the model Spark trained",
        label_scale=scale,
    )
    return {**report, "compared_with": "Spark ML transform"}


def after_spark_fit(training: Training, fitted: Any) -> None:
    """What scoring, evaluation and inspection read later, as the scikit-learn path records it
    (statistics over the sampled training rows; what needs scikit-learn's estimator is marked
    unavailable, so the inspection functions say so)."""
    from sqlml.measures import anomalies as detect_anomalies
    from sqlml.training import insights

    info, spec, task = training.info, training.spec, training.task
    info["iterations"], loss = _iterations(fitted)
    if loss:
        info["loss"] = loss
    if task == "clustering":
        centers = np.asarray(fitted.clusterCenters(), dtype=np.float64)
        diff = centers[:, None, :] - centers[None, :, :]
        spec["centroid_distances"] = np.sqrt((diff**2).sum(axis=2)).tolist()
        assert training.scorer is not None
        spec[detect_anomalies.SPEC_KEY] = detect_anomalies.record_distribution(
            training.scorer, training.train, spec
        )
    info["fidelity_sample_rows"] = training.train.num_rows
    info[insights.FEATURE_INFO] = insights.feature_statistics(training.train, training.features)
    if type(fitted).__name__.startswith("SparkXGB"):
        info[insights.ITERATIONS] = _round_rows(training, fitted)
    else:
        info[insights.ITERATIONS] = [_iteration_row(training)]
    reason = (
        "not yet supported on the Spark engine for models trained on its executors; "
        "OPTIONS (engine = 'duckdb') trains with scikit-learn and records it"
    )
    unavailable = {insights.LINEAR_WEIGHTS, insights.FEATURE_IMPORTANCE, insights.GLOBAL_EXPLAIN}
    info[insights.UNAVAILABLE] = {key: reason for key in sorted(unavailable)}
    if task in ("classification", "regression"):
        info[insights.EXPLAIN_BASELINE] = insights.baseline_row(training.train, training.features)


def booster_of(model: Any) -> Any:
    """A fitted SparkXGB model's XGBoost estimator (scikit-learn API), its booster cut to the
    best round when early stopping chose one (Spark's own transform predicts with that round)."""
    estimator = model._xgb_sklearn_model  # xgboost.spark keeps no public handle on it
    booster = estimator.get_booster()
    best = booster.attributes().get("best_iteration")
    if best is not None and int(best) + 1 < booster.num_boosted_rounds():
        estimator._Booster = booster[: int(best) + 1]
    return estimator


def _round_losses(fitted: Any) -> tuple[list[float], list[float] | None]:
    """The losses XGBoost recorded per round on the training rows and the watched evaluation
    split, up to the kept round (log loss, or the squared rmse: mean squared error)."""
    summary = fitted.training_summary
    rounds = booster_of(fitted).get_booster().num_boosted_rounds()

    def curve(history: dict[str, list[float]]) -> list[float] | None:
        if not history:
            return None
        metric, values = next(iter(history.items()))
        return [float(v) ** 2 if metric == "rmse" else float(v) for v in values[:rounds]]

    return curve(summary.train_objective_history) or [], curve(summary.validation_objective_history)


def _iterations(fitted: Any) -> tuple[int | None, list[float]]:
    """Iterations (or trees) and the optimizer's objective history, where Spark keeps them."""
    if type(fitted).__name__.startswith("SparkXGB"):
        losses = _round_losses(fitted)[0]
        return booster_of(fitted).get_booster().num_boosted_rounds(), losses
    if hasattr(fitted, "getNumTrees"):
        return int(fitted.getNumTrees), []
    try:
        summary = fitted.summary() if callable(fitted.summary) else fitted.summary
    except Exception:  # no training summary (Spark drops it for some solvers)
        return None, []
    history = [float(v) for v in getattr(summary, "objectiveHistory", None) or []]
    for attribute in ("totalIterations", "numIter"):
        value = getattr(summary, attribute, None)
        if value is not None:
            return int(value), history
    return (len(history) or None), history


def _round_rows(training: Training, fitted: Any) -> list[dict[str, Any]]:
    """ML.TRAINING_INFO of XGBoost on the executors: one row per kept round, as on DuckDB."""
    losses, watched = _round_losses(fitted)
    eval_losses: list[float | None] = list(watched) if watched else [None] * len(losses)
    seconds = training.info.get("fit_seconds")
    rate = float(training.options.get("learn_rate", boosting.DEFAULT_LEARN_RATE))
    return [
        {
            "training_run": 0,
            "iteration": i,
            "loss": loss,
            "eval_loss": eval_loss,
            "learning_rate": rate,
            "duration_ms": int(round(seconds * 1000))
            if i == len(losses) - 1 and seconds is not None
            else None,
        }
        for i, (loss, eval_loss) in enumerate(zip(losses, eval_losses, strict=True))
    ]


def _iteration_row(training: Training) -> dict[str, Any]:
    """ML.TRAINING_INFO's one row: the loss of the final model on the sampled training rows and
    on the evaluation split (log loss, mean squared error, or mean squared distance)."""
    from sqlml.measures import metrics

    assert training.scorer is not None
    key = {
        "classification": "log_loss",
        "regression": "mean_squared_error",
        "clustering": "mean_squared_distance",
    }[training.task]
    loss = metrics.evaluate(training.scorer, training.train, training.spec).get(key)
    split = training.info.get("data_split_method")
    separate = split not in ("NO_SPLIT",) and not (
        split == "AUTO_SPLIT" and training.info["training_rows"] < 500
    )
    eval_loss = None
    if separate and training.evaluation.num_rows:
        eval_loss = metrics.evaluate(training.scorer, training.evaluation, training.spec).get(key)
    seconds = training.info.get("fit_seconds")
    return {
        "training_run": 0,
        "iteration": 0,
        "loss": loss,
        "eval_loss": eval_loss,
        "learning_rate": None,
        "duration_ms": int(round(seconds * 1000)) if seconds is not None else None,
    }
