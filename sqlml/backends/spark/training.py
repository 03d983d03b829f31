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
from dataclasses import dataclass
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
from sqlml.models.mllib import MLlibContext
from sqlml.models.options import ModelOptions
from sqlml.models.registry import MODEL_TYPES, task_of
from sqlml.training.fit import (
    DISTANCE_TOLERANCE,
    FIDELITY_SAMPLE,
    PROB_TOLERANCE,
    REGRESSION_TOLERANCE,
    TrainedModel,
    Training,
    _json_label,
    _label_values,
    check_unique_columns,
    explicit_class_weights,
    feature_kind,
    label_type_name,
    sql_type,
    summarize_evaluation,
)

log = logging.getLogger("sqlml.training")

#: Most evaluation rows collected to the driver for metrics, curves and the confusion matrix.
SAMPLE_ROWS = 100_000

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
_WHY_NOT = {
    "l2_reg": "Spark's MultilayerPerceptronClassifier has no L2 penalty",
    "learn_rate": "Spark's MultilayerPerceptronClassifier trains with L-BFGS, which has no "
    "learning rate",
    "batch_size": "Spark's MultilayerPerceptronClassifier trains on whole partitions",
    "data_split_method": "a sequential split (SEQ) needs a global sort",
}
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
    spark = MODEL_TYPES[model_type].spark
    if spark is None:
        raise not_on_spark(f"model_type '{model_type}'", model, _LOCAL_HINT)
    honoured = _COMMON | spark.honoured
    for name in sorted(options.given):
        if name not in honoured:
            why = spark.why_not.get(name) or _WHY_NOT.get(name, "Spark MLlib has no equivalent yet")
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
        if MODEL_TYPES[options.model_type].spark.path == "numpy":  # type: ignore[union-attr]
            fitted = self._fit_numpy(train, features, label, task, spec, options, model, info)
            return self._finish(fitted, evaluation, split, options, started)
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
        from sqlml.measures import metrics as metrics_mod

        metrics = metrics_mod.evaluate(scorer, eval_table, spec)
        info["duration_seconds"] = round(time.perf_counter() - started, 4)
        return TrainedModel(onnx_bytes, spec, metrics, info, fidelity, features, options)

    def _fit_numpy(
        self,
        train: Any,
        features: list[dict[str, str]],
        label: str | None,
        task: str,
        spec: dict[str, Any],
        options: ModelOptions,
        model: str,
        info: dict[str, Any],
    ) -> Training:
        """pca and dnn_regressor: sums over the rows on the executors, the small solve on the
        driver, the result set into the DuckDB path's scikit-learn pipeline, converted by the same
        skl2onnx path, and checked against that pipeline on sampled training rows."""
        from pyspark.sql import functions as F

        from sqlml.training import fit as sklearn_fit

        info["training_path"] = "spark_executors_numpy"
        if label is not None:  # as the DuckDB path's spec has it
            spec["label_type"] = label_type_name(_arrow_type(train, label))
        started = time.perf_counter()
        try:
            stats = _column_stats(train, features)
            info["training_rows"] = stats.rows
            if stats.rows == 0:
                raise TrainingError(
                    f"The data split of CREATE MODEL {model} left no training rows."
                )
            pipeline = _assembled_pipeline(features, options, stats)
            center = task == "dimensionality_reduction"
            columns, names, offset = _design(features, pipeline, center)
            if task == "dimensionality_reduction":
                frame = train.select(*columns)
                _fit_pca(self, frame, names, offset, pipeline, options, model, info)
            else:
                assert label is not None
                target = F.col(f"`{label}`").cast("double").alias(LABEL)
                _fit_mlp(
                    self, train.select(*columns, target), names, pipeline, options, model, info
                )
        except spark_errors() as exc:
            raise TrainingError(
                f"Training ({options.model_type}) on Spark failed: {translate_error(exc)}"
            ) from exc
        info["fit_seconds"] = round(time.perf_counter() - started, 4)
        converted = time.perf_counter()
        onnx_bytes = sklearn_fit._to_onnx(pipeline, features, task)
        info["convert_seconds"] = round(time.perf_counter() - converted, 4)
        scorer = Scorer(onnx_bytes, spec)
        sample = _sample(train.select(*_raw(features, label)), FIDELITY_SAMPLE, stats.rows, options)
        try:
            train_rows = self.backend.to_arrow(sample)
        finally:
            sample.unpersist()
        y = _label_values(train_rows.column(label), task, model, label) if label else None
        fidelity = sklearn_fit._check_fidelity(
            pipeline, scorer, train_rows, features, task, model, y
        )
        info["fidelity"] = {**fidelity, "compared_with": "the assembled scikit-learn pipeline"}
        info["fidelity_sample_rows"] = train_rows.num_rows
        return Training(
            model=model,
            options=options,
            task=task,
            label=label,
            features=features,
            spec=spec,
            train=train_rows,
            evaluation=train_rows.slice(0, 0),
            y=y,
            info=info,
            pipeline=pipeline,
            scorer=scorer,
            onnx=onnx_bytes,
        )

    def _finish(
        self,
        training: Training,
        evaluation: Any,
        split: str,
        options: ModelOptions,
        started: float,
    ) -> TrainedModel:
        """The evaluation split, then what the DuckDB path records after a scikit-learn fit
        (sqlml.training.fit.after_fit and the inspection functions' statistics), and metrics."""
        from sqlml.measures import metrics as metrics_mod
        from sqlml.training.fit import after_fit
        from sqlml.training.insights import ITERATIONS, record_insights

        info = training.info
        training.evaluation = self._evaluation_rows(
            evaluation, training.features, training.label, split, info, options
        )
        after_fit(training)
        record_insights(training)
        if options.model_type == "dnn_regressor":  # L-BFGS: one row per iteration, no rate
            for row in info.get(ITERATIONS, []):
                row["learning_rate"] = None
        summarize_evaluation(training)
        assert training.scorer is not None
        metrics = metrics_mod.evaluate(training.scorer, training.evaluation, training.spec)
        info["duration_seconds"] = round(time.perf_counter() - started, 4)
        fidelity = info.pop("fidelity")
        return TrainedModel(
            training.onnx, training.spec, metrics, info, fidelity, training.features, options
        )

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
            if self.backend.connect:
                self._remove_on_a_worker(path)
            else:
                jvm = self.spark.sparkContext._jvm
                hadoop_path = jvm.org.apache.hadoop.fs.Path(path)
                conf = self.spark.sparkContext._jsc.hadoopConfiguration()
                hadoop_path.getFileSystem(conf).delete(hadoop_path, True)

    def _remove_on_a_worker(self, path: str) -> None:
        """Spark Connect: no JVM here to reach Spark's file system, so a one-task job deletes
        the folder from a Python worker (pyarrow's file systems: local, HDFS, S3, GCS); a
        folder it cannot delete is logged, not an error (the model itself is fine)."""
        from sqlml_udfs.spark import remove_folder

        try:
            found = self.spark.range(1, numPartitions=1).mapInArrow(
                remove_folder(path), "error string"
            )
            error = self.backend.to_arrow(found).column("error")[0].as_py()
        except Exception as exc:  # the same: log, never fail a trained model
            error = str(exc).splitlines()[0] if str(exc) else repr(exc)
        if error:
            log.warning("sqlml could not delete its temporary folder %s: %s", path, error)


# --- preparing the rows ---------------------------------------------------------------------------


def _features(
    schema: pa.Schema, options: ModelOptions, label: str | None, model: str, task: str
) -> list[dict[str, str]]:
    columns = schema.names
    check_unique_columns(columns, model)
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
    return explicit_class_weights(explicit, values, label_type, model)


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
    """model_type -> a Spark ML estimator, from its registry entry's MLlib maker."""
    weighted = WEIGHT in prepared.columns
    common: dict[str, Any] = {"featuresCol": FEATURES}
    if task in ("classification", "regression"):
        common.update(labelCol=LABEL, predictionCol=PREDICTION)
    if task == "classification":
        common.update(probabilityCol=PROBABILITY, rawPredictionCol="__sqlml_raw")
    if weighted:
        common["weightCol"] = WEIGHT
    context = MLlibContext(
        rows=max(1, info.get("training_rows", 1)),
        width=width,
        classes=len(spec.get("classes") or []),
        prediction=PREDICTION,
        common=common,
    )
    spark = MODEL_TYPES[options.model_type].spark
    assert spark is not None and spark.maker is not None, options.model_type
    return spark.maker(options, context)


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


# --- pca and dnn_regressor: numpy on the executors, scikit-learn's fitted state on the driver --------


@dataclass
class _ColumnStats:
    """What the DuckDB pipeline's preprocessing learns, from one aggregation over the rows."""

    rows: int
    means: list[float]  # SimpleImputer's statistics_ (mean of the non-NULL values; 0 if none)
    variances: list[float]  # population variance after imputation (StandardScaler's var_)
    categories: list[list[str]]  # per categorical feature, as feature_array spells them


def _number(name: str) -> Any:
    """A numeric feature as double, NaN as NULL (scikit-learn's imputer treats both as missing)."""
    from pyspark.sql import functions as F

    value = F.col(f"`{name}`").cast("double")
    return F.when(F.isnan(value), F.lit(None)).otherwise(value)


def _category(name: str) -> Any:
    """A categorical feature as the string the scorer feeds the graph (NULL as its category)."""
    from pyspark.sql import functions as F

    return F.coalesce(F.col(f"`{name}`").cast("string"), F.lit(NULL_CATEGORY))


def _column_stats(train: Any, features: list[dict[str, str]]) -> _ColumnStats:
    from pyspark.sql import functions as F

    aggregates = [F.count(F.lit(1)).alias("n")]
    numeric = [name for name, _ in _numeric(features)]
    categorical = [name for name, _ in _categorical(features)]
    for i, name in enumerate(numeric):
        value = _number(name)
        aggregates += [
            F.avg(value).alias(f"m{i}"),
            F.var_pop(value).alias(f"v{i}"),
            F.count(value).alias(f"c{i}"),
        ]
    for i, name in enumerate(categorical):
        aggregates.append(F.collect_set(_category(name)).alias(f"s{i}"))
    row = train.agg(*aggregates).collect()[0]
    rows = int(row["n"])
    present = [int(row[f"c{i}"]) for i in range(len(numeric))]
    return _ColumnStats(
        rows=rows,
        means=[float(row[f"m{i}"]) if present[i] else 0.0 for i in range(len(numeric))],
        variances=[
            float(row[f"v{i}"]) * present[i] / rows if present[i] else 0.0
            for i in range(len(numeric))
        ],
        categories=[sorted(row[f"s{i}"]) for i in range(len(categorical))],
    )


def _assembled_pipeline(
    features: list[dict[str, str]], options: ModelOptions, stats: _ColumnStats
) -> Any:
    """The DuckDB path's pipeline (sqlml.training.fit._pipeline, same estimator and options) with
    its preprocessing fitted from the executors' statistics: fitted on a stand-in frame that holds
    every category once (so the encoder's categories are exactly the data's), then the imputer's
    and scaler's statistics replaced by the real ones."""
    import pandas as pd
    from sklearn.preprocessing._data import _handle_zeros_in_scale, _is_constant_feature

    from sqlml.models.registry import make_estimator
    from sqlml.training.fit import _pipeline

    pipeline = _pipeline(features, make_estimator(options, stats.rows))
    size = max([1, *(len(c) for c in stats.categories)])
    categories = iter(stats.categories)
    stand_in = pd.DataFrame(
        {
            f["name"]: np.zeros(size)
            if f["kind"] == "numeric"
            else np.resize(np.asarray(next(categories), dtype=object), size)
            for f in features
        }
    )
    preprocess = pipeline.named_steps["preprocess"].fit(stand_in)
    if stats.means:
        steps = preprocess.named_transformers_["numeric"].named_steps
        steps["impute"].statistics_ = np.asarray(stats.means, dtype=np.float64)
        if "scale" in steps:
            scaler = steps["scale"]
            mean = np.asarray(stats.means, dtype=np.float64)
            var = np.asarray(stats.variances, dtype=np.float64)
            count = np.full(len(mean), stats.rows, dtype=np.int64)
            scaler.mean_, scaler.var_, scaler.n_samples_seen_ = mean, var, count
            # StandardScaler's own rule for (near-)constant columns: scale 1, not 1/0.
            constant = _is_constant_feature(var, mean, count)
            scaler.scale_ = _handle_zeros_in_scale(np.sqrt(var), copy=False, constant_mask=constant)
    return pipeline


def _design(
    features: list[dict[str, str]], pipeline: Any, center: bool
) -> tuple[list[Any], list[str], np.ndarray]:
    """The pipeline's preprocessing as Spark column expressions (imputed, scaled and one-hot
    columns, in the ColumnTransformer's order), so the executors see exactly the matrix
    scikit-learn would; ``center`` also subtracts the unscaled numbers' means (PCA's sums of
    squares stay precise whatever the columns' magnitude), returned as the offset to add back."""
    from pyspark.sql import functions as F

    preprocess = pipeline.named_steps["preprocess"]
    transformers = preprocess.named_transformers_
    columns: list[Any] = []
    offset: list[float] = []
    numeric = [name for name, _ in _numeric(features)]
    if numeric:
        steps = transformers["numeric"].named_steps
        means = steps["impute"].statistics_
        scaler = steps.get("scale")
        for j, name in enumerate(numeric):
            value = F.coalesce(_number(name), F.lit(float(means[j])))
            shift = 0.0
            if scaler is not None:
                value = (value - F.lit(float(scaler.mean_[j]))) / F.lit(float(scaler.scale_[j]))
            elif center:
                shift = float(means[j])
                value = value - F.lit(shift)
            columns.append(value)
            offset.append(shift)
    categorical = [name for name, _ in _categorical(features)]
    if categorical:
        encoder = transformers["categorical"]
        for name, values in zip(categorical, encoder.categories_, strict=True):
            for value in values:
                hit = _category(name) == F.lit(str(value))
                columns.append(F.when(hit, F.lit(1.0)).otherwise(F.lit(0.0)))
                offset.append(0.0)
    names = [f"__sqlml_z{i}" for i in range(len(columns))]
    aliased = [c.alias(n) for c, n in zip(columns, names, strict=True)]
    return aliased, names, np.asarray(offset, dtype=np.float64)


def _fit_pca(
    training: DistributedTraining,
    design: Any,
    names: list[str],
    offset: np.ndarray,
    pipeline: Any,
    options: ModelOptions,
    model: str,
    info: dict[str, Any],
) -> None:
    """One Spark job sums n, x and x^T x over the executors' rows; the driver turns them into the
    covariance and decomposes it as scikit-learn's 'covariance_eigh' solver does."""
    from sqlml_udfs.moments import moment_batches

    schema = "count long, sums array<double>, gram array<double>"
    parts = _mapped(training, design, moment_batches(names), schema)
    width = len(names)
    n = int(np.sum(parts.column("count").to_numpy()))
    sums = _stacked(parts.column("sums"), width).sum(axis=0)
    gram = _stacked(parts.column("gram"), width * width).sum(axis=0).reshape(width, width)
    if n < 2:
        raise TrainingError(
            f"CREATE MODEL {model} (pca) needs at least 2 training rows to estimate a covariance; "
            f"got {n}."
        )
    mean = sums / n
    covariance = (gram - n * np.outer(mean, mean)) / (n - 1)
    covariance = (covariance + covariance.T) / 2
    set_pca_state(pipeline.named_steps["model"], covariance, mean + offset, n, options, model)
    info["spark_jobs"] = 1
    if options.get("pca_solver") == "RANDOMIZED":
        info.setdefault("notes", []).append(
            "pca_solver 'RANDOMIZED' approximates the exact decomposition; on Spark the "
            "executors' covariance matrix is decomposed exactly instead."
        )


def _mapped(training: DistributedTraining, frame: Any, function: Any, schema: str) -> pa.Table:
    """``frame.mapInArrow(function)`` collected as Arrow (without pyspark's pandas-version
    warning, which it repeats on every call: sqlml hands Spark Arrow, never pandas)."""
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "PySpark does not yet fully support pandas")
        mapped = frame.mapInArrow(function, schema)
    return training.backend.to_arrow(mapped)


def _stacked(column: pa.ChunkedArray, width: int) -> np.ndarray:
    """A list<double> column of per-partition vectors as a [partitions, width] matrix."""
    flat = column.combine_chunks().flatten().to_numpy(zero_copy_only=False)
    return flat.astype(np.float64).reshape(-1, width)


def set_pca_state(
    estimator: Any,
    covariance: np.ndarray,
    mean: np.ndarray,
    n: int,
    options: ModelOptions,
    model: str,
) -> None:
    """A scikit-learn PCA's fitted attributes from the covariance of the preprocessed rows, as
    ``PCA._fit_full`` sets them with svd_solver='covariance_eigh' (descending eigenvalues,
    negative ones clipped, signs by svd_flip's row-based rule), so the projections match the
    DuckDB path's on the same rows."""
    from sklearn.utils.extmath import svd_flip

    width = covariance.shape[0]
    eigenvalues, vectors = np.linalg.eigh(covariance)
    eigenvalues = np.clip(eigenvalues[::-1], 0.0, None)
    _, components = svd_flip(None, np.ascontiguousarray(vectors[:, ::-1].T), u_based_decision=False)
    total = float(eigenvalues.sum())
    if total <= 0.0:
        raise TrainingError(
            f"The training rows of CREATE MODEL {model} (pca) have no variance: every feature "
            f"is constant, so there are no principal components to find."
        )
    ratios = eigenvalues / total
    k = _principal_components(options, ratios, width, n, model)
    estimator.set_params(n_components=k)
    estimator.n_components_ = k
    estimator.n_samples_ = n
    estimator.n_features_in_ = width
    estimator.mean_ = mean
    estimator.components_ = np.ascontiguousarray(components[:k])
    estimator.explained_variance_ = eigenvalues[:k].copy()
    estimator.explained_variance_ratio_ = ratios[:k].copy()
    estimator.singular_values_ = np.sqrt(eigenvalues[:k] * (n - 1))
    estimator.noise_variance_ = float(np.mean(eigenvalues[k:])) if k < min(width, n) else 0.0


def _principal_components(
    options: ModelOptions, ratios: np.ndarray, width: int, n: int, model: str
) -> int:
    """The number of components as the DuckDB path picks it (sqlml.models.sklearn: _pca and
    size_pca, then scikit-learn's rule for a share of variance)."""
    from sqlml.models.sklearn import DEFAULT_PRINCIPAL_COMPONENTS

    limit = min(width, n)
    share = options.get("pca_explained_variance_ratio")
    if share is not None:
        if share >= 1:
            return limit
        return min(limit, int(np.searchsorted(np.cumsum(ratios), share, side="right")) + 1)
    given = options.get("num_principal_components")
    if given is None:
        return min(DEFAULT_PRINCIPAL_COMPONENTS, limit)
    if given > limit:
        raise OptionError(
            f"The 'num_principal_components' option of CREATE MODEL {model} must be at most "
            f"{limit}: the training rows have {width} column(s) after preprocessing (numeric "
            f"columns plus one per category) and {n} row(s); got {given}."
        )
    return int(given)


def _fit_mlp(
    training: DistributedTraining,
    design: Any,
    names: list[str],
    pipeline: Any,
    options: ModelOptions,
    model: str,
    info: dict[str, Any],
) -> None:
    """L-BFGS on the driver, as MLlib's MultilayerPerceptronClassifier trains: every loss and
    gradient evaluation is one Spark job over the cached, preprocessed rows
    (:mod:`sqlml_udfs.mlp` on each partition), the partitions' sums added here. The objective and
    stopping rule are MLPRegressor's with solver='lbfgs' (gtol = its tol, 1e-4; maxfun 15,000)."""
    from scipy.optimize import minimize
    from sqlml_udfs import mlp

    estimator = pipeline.named_steps["model"]
    sizes = [len(names), *estimator.hidden_layer_sizes, 1]
    alpha = float(estimator.alpha)
    schema = "count long, loss double, gradient array<double>"
    design = design.persist()
    history: list[float] = []
    try:
        count = design.count()

        def evaluate(theta: np.ndarray) -> tuple[float, np.ndarray]:
            batches = mlp.gradient_batches(theta, sizes, names, LABEL)
            parts = _mapped(training, design, batches, schema)
            loss = float(np.sum(parts.column("loss").to_numpy()))
            gradient = _stacked(parts.column("gradient"), len(theta)).sum(axis=0)
            return mlp.objective(loss, gradient, count, theta, sizes, alpha)

        def record(intermediate_result: Any) -> None:  # scipy passes the state by this name
            history.append(float(intermediate_result.fun))

        start = mlp.initial_weights(sizes, options.get("random_seed", 42))
        result = minimize(
            evaluate,
            start,
            method="L-BFGS-B",
            jac=True,
            callback=record,
            options={"maxiter": estimator.max_iter, "maxfun": 15_000, "gtol": estimator.tol},
        )
    finally:
        design.unpersist()
    if not np.isfinite(result.fun):
        raise TrainingError(
            f"Training {model} (dnn_regressor) on Spark diverged (the loss is not finite); check "
            f"the label and features for NaN or huge values, or rescale them in the query."
        )
    layers = mlp.unpack(result.x, sizes)
    estimator.set_params(solver="lbfgs")
    estimator.coefs_ = [np.array(w) for w, _ in layers]
    estimator.intercepts_ = [np.array(b) for _, b in layers]
    estimator.n_layers_ = len(sizes)
    estimator.n_outputs_ = 1
    estimator.out_activation_ = "identity"
    estimator.n_features_in_ = len(names)
    estimator.n_iter_ = int(result.nit)
    estimator.t_ = int(count) * int(result.nit)
    estimator.loss_ = float(result.fun)
    estimator.loss_curve_ = history or [float(result.fun)]
    info["optimizer"] = "L-BFGS-B"
    info["spark_jobs"] = int(result.nfev) + 1
    if result.nit >= estimator.max_iter:
        info.setdefault("notes", []).append(
            f"L-BFGS stopped after max_iterations ({estimator.max_iter}) before converging; "
            f"raise max_iterations for a closer fit."
        )


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


def _fingerprint(schema: pa.Schema, rows: int, head: pa.Table) -> str:
    """As the session fingerprints collected rows: schema, row count and the first 1,000 rows."""
    return hashlib.sha256(
        json.dumps([str(schema), rows]).encode()
        + hashlib.sha256(str(head.to_pydict()).encode()).digest()
    ).hexdigest()
