"""CREATE MODEL on Spark's executors: a Spark ML pipeline, converted to ONNX, checked, measured.

The pipeline mirrors the scikit-learn one (sqlml.training.fit) as closely as Spark ML allows:
numbers cast to double, NULL/NaN imputed with the mean (``Imputer``) and standardized where the
model needs it (``StandardScaler``, which divides by the sample standard deviation where
scikit-learn uses the population one); text and booleans as strings with NULL as the category
``__sqlml_null__``, one-hot encoded (``StringIndexer`` + ``OneHotEncoder``, both with
``handleInvalid='keep'``, so values never seen in training land in an all-zero slot, as
``handle_unknown='ignore'`` does). The fitted pipeline becomes ONNX through
:mod:`sqlml.backends.spark.onnx`, and is stored only if ONNX Runtime agrees with Spark's own
``transform`` on up to 2,000 training rows, with the tolerances of the DuckDB path.

What needs rows on the driver (the fidelity check, metrics, ML.FEATURE_INFO's statistics, the
confusion matrix and ROC curve) reads a bounded sample: at most ``SAMPLE_ROWS`` of the evaluation
split (the whole split below that), and ``FIDELITY_SAMPLE`` training rows; training_info says how
many rows each used.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
import uuid
from typing import Any

import numpy as np
import pyarrow as pa
from sqlml_udfs.scoring import NULL_CATEGORY, Scorer

from sqlml.backends.spark import onnx as spark_onnx
from sqlml.backends.spark.backend import arrow_schema, spark_errors, translate_error
from sqlml.errors import (
    FidelityError,
    NotSupportedError,
    OptionError,
    SchemaError,
    TrainingError,
)
from sqlml.training.fit import (
    DISTANCE_TOLERANCE,
    FIDELITY_SAMPLE,
    PROB_TOLERANCE,
    REGRESSION_TOLERANCE,
    TrainedModel,
    Training,
    _json_label,
    _label_values,
    feature_kind,
    label_type_name,
    sql_type,
    summarize_evaluation,
)
from sqlml.training.models import task_of
from sqlml.training.options import ModelOptions

log = logging.getLogger("sqlml.training")

#: Most evaluation rows collected to the driver for metrics, curves and the confusion matrix.
SAMPLE_ROWS = 100_000

DISTRIBUTED_TYPES = (
    "linear_reg",
    "logistic_reg",
    "random_forest_classifier",
    "random_forest_regressor",
    "boosted_tree_classifier",
    "boosted_tree_regressor",
    "dnn_classifier",
    "kmeans",
)
# Options every distributed model type honours (or, like early_stop, DuckDB ignores too).
_COMMON = {
    "model_type",
    "input_label_cols",
    "data_split_method",
    "data_split_eval_fraction",
    "data_split_col",
    "random_seed",
    "engine",
    "threshold",
    "optimize_threshold",
    "early_stop",
    "min_rel_progress",
    "optimize_strategy",
    "auto_class_weights",
    "class_weights",
}
_TREE = {"max_tree_depth", "num_parallel_tree", "subsample", "min_split_loss"}
_HONOURED = {
    "linear_reg": {"l1_reg", "l2_reg", "max_iterations"},
    "logistic_reg": {"l1_reg", "l2_reg", "max_iterations"},
    "random_forest_classifier": _TREE,
    "random_forest_regressor": _TREE,
    "boosted_tree_classifier": _TREE | {"max_iterations", "learn_rate"},
    "boosted_tree_regressor": _TREE | {"max_iterations", "learn_rate"},
    "dnn_classifier": {"hidden_units", "max_iterations"},
    "kmeans": {"num_clusters", "kmeans_init_method", "max_iterations", "standardize_features"},
}
_WHY_NOT = {
    "l2_reg": "Spark's MultilayerPerceptronClassifier has no L2 penalty",
    "learn_rate": "Spark's MultilayerPerceptronClassifier trains with L-BFGS, which has no "
    "learning rate",
    "batch_size": "Spark's MultilayerPerceptronClassifier trains on whole partitions",
    "data_split_method": "a sequential split (SEQ) needs a global sort",
}
_SCALED = {"linear_reg", "logistic_reg", "dnn_classifier"}

# Column names of the prepared frame (raw columns keep their names beside them).
LABEL = "__sqlml_label"
WEIGHT = "__sqlml_weight"
FEATURES = "__sqlml_features"
PREDICTION = "__sqlml_prediction"
PROBABILITY = "__sqlml_probability"


def not_on_spark(what: str, model: str, hint: str) -> NotSupportedError:
    return NotSupportedError(
        f"{what} (CREATE MODEL {model}) is not yet supported for training on the Spark engine's "
        f"executors; {hint}"
    )


_LOCAL_HINT = (
    "OPTIONS (engine = 'duckdb'), or a connection whose local_training_rows is above the row "
    "count, collects the rows and trains with scikit-learn on the driver instead (fine below a "
    "few million rows)."
)


def check_supported(options: ModelOptions, model: str) -> None:
    """Fail before any work for what the distributed path cannot honour (never silently differ)."""
    model_type = options.model_type
    if model_type not in DISTRIBUTED_TYPES:
        raise not_on_spark(f"model_type '{model_type}'", model, _LOCAL_HINT)
    honoured = _COMMON | _HONOURED[model_type]
    for name in sorted(options.given):
        if name not in honoured:
            why = _WHY_NOT.get(name, "Spark MLlib has no equivalent yet")
            raise not_on_spark(f"Option '{name}' ({why})", model, _LOCAL_HINT)
    if options.get("data_split_method") == "SEQ":
        raise not_on_spark(
            "data_split_method 'SEQ' (a sequential split needs a global sort)", model, _LOCAL_HINT
        )
    if model_type == "dnn_classifier" and (
        options.get("auto_class_weights") or options.get("class_weights")
    ):
        raise not_on_spark(
            "Class weights for dnn_classifier (Spark's MultilayerPerceptronClassifier takes no "
            "weights)",
            model,
            _LOCAL_HINT,
        )


class DistributedTraining:
    """The training query's rows, left on the cluster; :meth:`fit` trains them there."""

    def __init__(self, backend: Any, sql: str) -> None:
        self.backend = backend
        self.spark = backend.spark
        self.frame = backend.sql(sql)
        self.fingerprint: str | None = None

    def probe(self, label: str | None) -> pa.Table:
        """A few rows, one per label value (at most 21): all that Redshift's problem-type inference
        reads (text and booleans are classes; integers with at most 20 values are too)."""
        from pyspark.sql import functions as F

        frame = self.frame
        if label is None or label not in frame.columns:
            return self.backend.to_arrow(frame.limit(0))
        distinct = frame.where(F.col(label).isNotNull()).dropDuplicates([label]).limit(21)
        return self.backend.to_arrow(distinct)

    # --- the stages -----------------------------------------------------------------------------

    def fit(self, *, model: str, options: ModelOptions, label: str | None) -> TrainedModel:
        from pyspark.sql import functions as F

        started = time.perf_counter()
        check_supported(options, model)
        schema = arrow_schema(self.frame.schema)
        task = task_of(options.model_type)
        features = _features(schema, options, label, model, task)
        frame = self.frame
        if task in ("classification", "regression"):
            assert label is not None  # _features checked it
            _label_values(pa.chunked_array([], schema.field(label).type), task, model, label)
            frame = frame.where(F.col(label).isNotNull())
        else:  # k-means: a label (Redshift's TARGET) is left out of the features, as on DuckDB
            label = None
        rows = frame.count()
        self.fingerprint = _fingerprint(schema, rows, self.backend.to_arrow(frame.limit(1000)))
        if rows == 0:
            raise TrainingError(
                f"The training query of CREATE MODEL {model} returned no rows"
                + (" with a label." if label else ".")
            )
        train, evaluation, split = _split(frame, options, rows, model)
        spec: dict[str, Any] = {
            "task": task,
            "model_type": options.model_type,
            "label": label,
            "features": [{"name": f["name"], "kind": f["kind"]} for f in features],
            "null_category": NULL_CATEGORY,
        }
        info: dict[str, Any] = {"training_path": "spark_mllib", "data_split_method": split}
        prepared = _prepare(train, features, label, task, spec, options, model, info)
        prepared.persist()
        try:
            info["training_rows"] = prepared.count()
            pipeline, seconds = _fit_pipeline(prepared, features, task, spec, options, info)
            info["fit_seconds"] = round(seconds, 4)
            converted = time.perf_counter()
            onnx_bytes = spark_onnx.to_onnx(features, *_extract(self, pipeline, task, spec))
            info["convert_seconds"] = round(time.perf_counter() - converted, 4)
            scorer = Scorer(onnx_bytes, spec)
            sample = _sample(prepared, FIDELITY_SAMPLE, rows, options)
            try:
                fidelity = _check_fidelity(self, pipeline, sample, scorer, task, model)
                train_rows = self.backend.to_arrow(sample.select(*_raw(features, label)))
            finally:
                sample.unpersist()
        finally:
            prepared.unpersist()
        eval_table = self._evaluation_rows(evaluation, features, label, split, info, options)
        training = Training(
            model=model,
            options=options,
            task=task,
            label=label,
            features=features,
            spec=spec,
            train=train_rows,
            evaluation=eval_table,
            info=info,
            scorer=scorer,
            onnx=onnx_bytes,
        )
        _after_fit(training, pipeline.stages[-1])
        summarize_evaluation(training)
        from sqlml import metrics as metrics_mod

        metrics = metrics_mod.evaluate(scorer, eval_table, spec)
        info["duration_seconds"] = round(time.perf_counter() - started, 4)
        return TrainedModel(onnx_bytes, spec, metrics, info, fidelity, features, options)

    def _evaluation_rows(
        self,
        evaluation: Any,
        features: list[dict[str, str]],
        label: str | None,
        split: str,
        info: dict[str, Any],
        options: ModelOptions,
    ) -> pa.Table:
        """The evaluation split on the driver: whole up to SAMPLE_ROWS, else a sample of it."""
        frame = evaluation.select(*_raw(features, label))
        table = self.backend.to_arrow(frame.limit(SAMPLE_ROWS + 1))
        total = table.num_rows
        if total > SAMPLE_ROWS:  # too many to collect: count them, and sample
            total = evaluation.count()
            seed = options.get("random_seed", 42)
            frame = frame.sample(fraction=min(1.0, 1.2 * SAMPLE_ROWS / total), seed=seed)
            table = self.backend.to_arrow(frame.limit(SAMPLE_ROWS))
        info["evaluation_rows"] = int(total)
        if table.num_rows < total:
            info["evaluation_rows_sampled"] = table.num_rows
            info.setdefault("notes", []).append(
                f"Metrics, the confusion matrix and the ROC curve were computed on a sample of "
                f"{table.num_rows:,} of the {total:,} evaluation rows."
            )
        return table

    def saved_nodes(self, model: Any) -> pa.Table:
        """A tree ensemble's nodes: Spark saves them (Parquet), sqlml reads them back and deletes
        the folder. Written under the warehouse, which every executor and the driver can reach."""
        warehouse = self.spark.conf.get("spark.sql.warehouse.dir")
        path = f"{warehouse.rstrip('/')}/_sqlml_tmp/{uuid.uuid4().hex}"
        try:
            model.write().save(path)
            return self.backend.to_arrow(self.spark.read.parquet(f"{path}/data"))
        finally:
            jvm = self.spark.sparkContext._jvm
            hadoop_path = jvm.org.apache.hadoop.fs.Path(path)
            conf = self.spark.sparkContext._jsc.hadoopConfiguration()
            hadoop_path.getFileSystem(conf).delete(hadoop_path, True)


# --- preparing the rows ---------------------------------------------------------------------------


def _features(
    schema: pa.Schema, options: ModelOptions, label: str | None, model: str, task: str
) -> list[dict[str, str]]:
    columns = schema.names
    supervised = task in ("classification", "regression")
    if supervised and label is None:
        raise SchemaError(
            f"CREATE MODEL {model} needs a label: OPTIONS (input_label_cols = ['<column>']) "
            f"or TARGET <column>."
        )
    if supervised and label not in columns:
        raise SchemaError(
            f"Label column '{label}' of CREATE MODEL {model} is not in the training query; its "
            f"columns are: {', '.join(columns)}."
        )
    column = options.get("data_split_col")
    if column and column not in columns:
        raise SchemaError(
            f"data_split_col '{column}' of CREATE MODEL {model} is not a column of the training "
            f"query; its columns are: {', '.join(columns)}."
        )
    excluded = {label, column}
    features = [
        {
            "name": name,
            "kind": feature_kind(name, schema.field(name).type, model),
            "type": sql_type(schema.field(name).type),
        }
        for name in columns
        if name not in excluded
    ]
    if not features:
        raise TrainingError(
            f"CREATE MODEL {model} has no feature columns: the training query returns only "
            f"{', '.join(columns)}."
        )
    return features


def _split(frame: Any, options: ModelOptions, rows: int, model: str) -> tuple[Any, Any, str]:
    """BigQuery's data_split_method on a DataFrame (random splits by Spark's seeded sampler, so
    split sizes are close to, not exactly, the fractions)."""
    from pyspark.sql import functions as F

    method = options.get("data_split_method", "AUTO_SPLIT")
    seed = options.get("random_seed", 42)
    column = options.get("data_split_col")
    if method == "CUSTOM":
        if not column:
            raise SchemaError(
                f"data_split_method 'CUSTOM' of CREATE MODEL {model} needs data_split_col = "
                f"'<column>'."
            )
        flags = frame.schema[column].dataType.simpleString()
        if flags != "boolean":
            raise SchemaError(
                f"data_split_col '{column}' must be BOOLEAN for data_split_method 'CUSTOM' "
                f"(TRUE marks evaluation rows); it is {flags.upper()}."
            )
        is_eval = F.coalesce(F.col(column), F.lit(False))
        return frame.where(~is_eval), frame.where(is_eval), method
    if method == "NO_SPLIT" or (method == "AUTO_SPLIT" and rows < 500):
        return frame, frame, method
    if method == "AUTO_SPLIT":
        fraction = (round(rows * 0.2) if rows <= 50_000 else 10_000) / rows
    else:
        fraction = options.get("data_split_eval_fraction", 0.2)
    train, evaluation = frame.randomSplit([1.0 - fraction, fraction], seed=seed)
    return train, evaluation, method


def _raw(features: list[dict[str, str]], label: str | None) -> list[str]:
    return [f["name"] for f in features] + ([label] if label else [])


def _numeric(features: list[dict[str, str]]) -> list[tuple[str, str]]:
    return [(f["name"], f"__sqlml_n{i}") for i, f in enumerate(features) if f["kind"] == "numeric"]


def _categorical(features: list[dict[str, str]]) -> list[tuple[str, str]]:
    return [
        (f["name"], f"__sqlml_c{i}") for i, f in enumerate(features) if f["kind"] == "categorical"
    ]


def _prepare(
    train: Any,
    features: list[dict[str, str]],
    label: str | None,
    task: str,
    spec: dict[str, Any],
    options: ModelOptions,
    model: str,
    info: dict[str, Any],
) -> Any:
    """The training rows with the columns Spark ML reads beside the raw ones: numbers as double,
    categories as strings (NULL as its own category), the label as a class index, the weight."""
    from pyspark.sql import functions as F

    columns = [F.col(f"`{f['name']}`") for f in features]
    if label is not None:
        columns.append(F.col(f"`{label}`"))
    for name, prepared in _numeric(features):
        columns.append(F.col(f"`{name}`").cast("double").alias(prepared))
    for name, prepared in _categorical(features):
        value = F.col(f"`{name}`").cast("string")
        columns.append(F.coalesce(value, F.lit(NULL_CATEGORY)).alias(prepared))
    if task == "regression":
        columns.append(F.col(f"`{label}`").cast("double").alias(LABEL))
    if task == "classification":
        assert label is not None
        label_type = label_type_name(_arrow_type(train, label))
        spec["label_type"] = label_type
        values = sorted(r[0] for r in train.select(label).distinct().collect())
        if len(values) < 2:
            shown = _json_label(values[0], label_type) if values else None
            raise TrainingError(
                f"Label '{label}' of CREATE MODEL {model} has only one class ({shown!r}) in the "
                f"training rows; a classifier needs at least two."
            )
        spec["classes"] = [_json_label(v, label_type) for v in values]
        if len(values) == 2:
            spec["threshold"] = options.get("threshold", 0.5)
        elif options.get("optimize_threshold"):
            raise OptionError(
                f"The 'optimize_threshold' option of CREATE MODEL {model} applies to binary "
                f"classifiers; label '{label}' has {len(values)} classes in the training rows."
            )
        if options.model_type == "boosted_tree_classifier" and len(values) > 2:
            raise not_on_spark(
                f"A boosted_tree_classifier with {len(values)} classes (Spark's GBTClassifier is "
                f"binary only)",
                model,
                "use random_forest_classifier or dnn_classifier on Spark, or "
                "OPTIONS (engine = 'duckdb') to collect the rows and train with scikit-learn.",
            )
        pairs = [item for i, v in enumerate(values) for item in (F.lit(v), F.lit(float(i)))]
        columns.append(F.create_map(*pairs)[F.col(f"`{label}`")].alias(LABEL))
        weights = _class_weights(train, label, values, label_type, options, model)
        if weights is not None:
            pairs = [item for v, w in weights.items() for item in (F.lit(v), F.lit(float(w)))]
            columns.append(F.create_map(*pairs)[F.col(f"`{label}`")].alias(WEIGHT))
            info["class_weights"] = {str(_json_label(v, label_type)): w for v, w in weights.items()}
    return train.select(*columns)


def _arrow_type(frame: Any, column: str) -> pa.DataType:
    return arrow_schema(frame.select(column).schema).field(column).type


def _class_weights(
    train: Any,
    label: str,
    values: list[Any],
    label_type: str,
    options: ModelOptions,
    model: str,
) -> dict[Any, float] | None:
    """auto_class_weights (n / (k * count)) or class_weights, as the scikit-learn path weighs."""
    if options.get("auto_class_weights"):
        counts = {r[0]: r[1] for r in train.groupBy(label).count().collect()}
        total = sum(counts.values())
        return {v: total / (len(values) * counts[v]) for v in values}
    explicit = options.get("class_weights")
    if not explicit:
        return None
    by_text = {str(_json_label(v, label_type)).lower(): v for v in values}
    weights: dict[Any, float] = {}
    for key, weight in explicit.items():
        if key.lower() not in by_text:
            raise SchemaError(
                f"class_weights of CREATE MODEL {model} names label {key!r}, which is not a class "
                f"of the label; classes: "
                f"{', '.join(str(_json_label(v, label_type)) for v in values)}."
            )
        weights[by_text[key.lower()]] = weight
    return {v: weights.get(v, 1.0) for v in values}


# --- fitting --------------------------------------------------------------------------------------


def _fit_pipeline(
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

    numeric = [prepared_name for _, prepared_name in _numeric(features)]
    categorical = [prepared_name for _, prepared_name in _categorical(features)]
    scale = options.model_type in _SCALED or (
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
        preprocess = Pipeline(stages=stages).fit(prepared)
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
    """model_type -> a Spark ML estimator, options mapped as the scikit-learn path maps them."""
    from pyspark.ml import classification, clustering, regression

    model_type = options.model_type
    seed = options.get("random_seed", 42)
    weighted = WEIGHT in prepared.columns
    common: dict[str, Any] = {"featuresCol": FEATURES}
    if task in ("classification", "regression"):
        common.update(labelCol=LABEL, predictionCol=PREDICTION)
    if task == "classification":
        common.update(probabilityCol=PROBABILITY, rawPredictionCol="__sqlml_raw")
    if weighted:
        common["weightCol"] = WEIGHT
    n = max(1, info.get("training_rows", 1))
    if model_type in ("linear_reg", "logistic_reg"):
        # BigQuery's penalties: sum of losses + l1|w| + l2|w|²; Spark's are on the mean loss.
        l1, l2 = options.get("l1_reg", 0.0), options.get("l2_reg", 0.0)
        iterations = options.get("max_iterations", 1000)
        if model_type == "logistic_reg":
            penalty = (l1 + 2 * l2) / n
            mix = l1 / (l1 + 2 * l2) if penalty else 0.0
            return classification.LogisticRegression(
                regParam=penalty,
                elasticNetParam=mix,
                maxIter=iterations,
                standardization=False,
                **common,
            )
        penalty = l1 / (2 * n) + l2 / n
        mix = (l1 / (2 * n)) / penalty if penalty else 0.0
        return regression.LinearRegression(
            regParam=penalty,
            elasticNetParam=mix,
            maxIter=iterations,
            standardization=False,
            **common,
        )
    if model_type in ("random_forest_classifier", "random_forest_regressor"):
        classifier = model_type == "random_forest_classifier"
        cls = (
            classification.RandomForestClassifier
            if classifier
            else regression.RandomForestRegressor
        )
        return cls(
            numTrees=options.get("num_parallel_tree", 100),
            maxDepth=min(30, options.get("max_tree_depth", 20)),
            subsamplingRate=options.get("subsample", 0.8),
            minInfoGain=options.get("min_split_loss", 0.0),
            featureSubsetStrategy="sqrt" if classifier else "all",
            seed=seed,
            **common,
        )
    if model_type in ("boosted_tree_classifier", "boosted_tree_regressor"):
        classifier = model_type == "boosted_tree_classifier"
        cls = classification.GBTClassifier if classifier else regression.GBTRegressor
        # GBTClassifier's constructor takes no probabilityCol: set through the setters.
        outputs = {k: common.pop(k) for k in ("probabilityCol", "rawPredictionCol") if k in common}
        estimator = cls(
            maxIter=options.get("max_iterations", 20),
            stepSize=options.get("learn_rate", 0.3),
            maxDepth=min(30, options.get("max_tree_depth", 6)),
            subsamplingRate=options.get("subsample", 1.0),
            minInfoGain=options.get("min_split_loss", 0.0),
            seed=seed,
            **common,
        )
        if outputs:
            estimator.setProbabilityCol(PROBABILITY).setRawPredictionCol("__sqlml_raw")
        return estimator
    if model_type == "dnn_classifier":
        layers = [width, *options.get("hidden_units", [128]), len(spec["classes"])]
        return classification.MultilayerPerceptronClassifier(
            layers=layers, maxIter=options.get("max_iterations", 200), seed=seed, **common
        )
    assert model_type == "kmeans"
    default_k = max(2, min(10, round(np.log10(max(n, 10)))))
    init = "k-means||" if options.get("kmeans_init_method") == "KMEANS++" else "random"
    return clustering.KMeans(
        k=options.get("num_clusters", default_k),
        initMode=init,
        maxIter=options.get("max_iterations", 20),
        seed=seed,
        predictionCol=PREDICTION,
        **common,
    )


# --- the fitted pipeline as ONNX ----------------------------------------------------------------------


def _extract(
    training: DistributedTraining, pipeline: Any, task: str, spec: dict[str, Any]
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


def _head(training: DistributedTraining, model: Any, task: str, spec: dict[str, Any]) -> Any:
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


# --- checks and what is recorded -----------------------------------------------------------------------


def _sample(prepared: Any, size: int, rows: int, options: ModelOptions) -> Any:
    fraction = min(1.0, 2.0 * size / max(rows, 1))
    sampled = (
        prepared
        if fraction >= 1.0
        else prepared.sample(fraction, seed=options.get("random_seed", 42))
    )
    return sampled.limit(size).persist()


def _check_fidelity(
    training: DistributedTraining,
    pipeline: Any,
    sample: Any,
    scorer: Scorer,
    task: str,
    model: str,
) -> dict[str, Any]:
    """ONNX Runtime on the raw columns against Spark's own transform, on the same sampled rows."""
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
    outputs = scorer.run({f["name"]: table.column(f["name"]) for f in features})
    expected_column = table.column("__sqlml_expected")
    report: dict[str, Any] = {"rows": table.num_rows, "compared_with": "Spark ML transform"}
    if table.num_rows == 0:
        return report
    if task == "classification":
        expected = np.asarray(expected_column.to_pylist(), dtype=np.float64)
        got = np.asarray(outputs[1], dtype=np.float64)
        diff = float(np.max(np.abs(expected - got)))
        allowed = PROB_TOLERANCE
        report.update(max_probability_difference=diff, tolerance=allowed)
    elif task == "regression":
        expected = expected_column.to_numpy().astype(np.float64)
        got = np.asarray(outputs[0], dtype=np.float64).reshape(-1)
        diff = float(np.max(np.abs(expected - got)))
        scale = float(np.std(table.column(LABEL).to_numpy()))
        allowed = REGRESSION_TOLERANCE * scale + 1e-6
        report.update(max_difference=diff, tolerance=allowed)
    else:
        vectors = np.asarray(expected_column.to_pylist(), dtype=np.float64)
        centers = np.asarray(pipeline.stages[-1].clusterCenters(), dtype=np.float64)
        expected = ((vectors[:, None, :] - centers[None, :, :]) ** 2).sum(axis=2)
        got = scorer.distances(outputs) ** 2
        diff = float(np.max(np.abs(expected - got)))
        allowed = DISTANCE_TOLERANCE * float(np.mean(expected)) + 1e-6
        report.update(max_squared_distance_difference=diff, tolerance=allowed)
    if not diff <= allowed:
        raise FidelityError(
            f"The ONNX graph of {model} disagrees with the model Spark trained on "
            f"{table.num_rows} training rows (largest difference {diff:.3g}, tolerance "
            f"{allowed:.3g}); the model was not stored. Features with huge magnitudes lose "
            f"precision as float32: rescale them in the query, or try another model_type."
        )
    return report


def _after_fit(training: Training, fitted: Any) -> None:
    """What scoring, evaluation and inspection read later, as the scikit-learn path records it
    (statistics over the sampled training rows; what needs scikit-learn's estimator is marked
    unavailable, so the inspection functions say so)."""
    from sqlml.functions import detect_anomalies
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
    info[insights.ITERATIONS] = [_iteration_row(training)]
    reason = (
        "not yet supported on the Spark engine for models trained on its executors; "
        "OPTIONS (engine = 'duckdb') trains with scikit-learn and records it"
    )
    unavailable = {insights.LINEAR_WEIGHTS, insights.FEATURE_IMPORTANCE, insights.GLOBAL_EXPLAIN}
    info[insights.UNAVAILABLE] = {key: reason for key in sorted(unavailable)}
    if task in ("classification", "regression"):
        info[insights.EXPLAIN_BASELINE] = insights.baseline_row(training.train, training.features)


def _iterations(fitted: Any) -> tuple[int | None, list[float]]:
    """Iterations (or trees) and the optimizer's objective history, where Spark keeps them."""
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


def _iteration_row(training: Training) -> dict[str, Any]:
    """ML.TRAINING_INFO's one row: the loss of the final model on the sampled training rows and
    on the evaluation split (log loss, mean squared error, or mean squared distance)."""
    from sqlml import metrics

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


def _fingerprint(schema: pa.Schema, rows: int, head: pa.Table) -> str:
    """As the session fingerprints collected rows: schema, row count and the first 1,000 rows."""
    return hashlib.sha256(
        json.dumps([str(schema), rows]).encode()
        + hashlib.sha256(str(head.to_pydict()).encode()).digest()
    ).hexdigest()
