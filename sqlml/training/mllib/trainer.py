"""CREATE MODEL on Spark's executors: a Spark ML pipeline, converted to ONNX, checked, measured.

The pipeline mirrors the scikit-learn one (sqlml.training.fit) as closely as Spark ML allows:
numbers cast to double, NULL/NaN imputed with the mean (``Imputer``) and standardized where the
model needs it (``StandardScaler``, which divides by the sample standard deviation where
scikit-learn uses the population one); text and booleans as strings with NULL as the category
``__sqlml_null__``, one-hot encoded (``StringIndexer`` + ``OneHotEncoder``, both with
``handleInvalid='keep'``, so values never seen in training land in an all-zero slot, as
``handle_unknown='ignore'`` does). The fitted pipeline becomes ONNX through
:mod:`sqlml.training.mllib.onnx`, and is stored only if ONNX Runtime agrees with Spark's own
``transform`` on up to 2,000 training rows, with the tolerances of the DuckDB path.

What needs rows on the driver (the fidelity check, metrics, ML.FEATURE_INFO's statistics, the
confusion matrix and ROC curve) reads a bounded sample: at most ``SAMPLE_ROWS`` of the evaluation
split (the whole split below that), and ``FIDELITY_SAMPLE`` training rows; training_info says how
many rows each used.
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

import pyarrow as pa
from sqlml_udfs.scoring import NULL_CATEGORY, Scorer

from sqlml import progress
from sqlml.backends.spark.conversion import arrow_schema
from sqlml.backends.spark.errors import spark_errors, translate_error
from sqlml.errors import (
    TrainingError,
)
from sqlml.models.options import ModelOptions
from sqlml.models.registry import MODEL_TYPES, task_of
from sqlml.training.contract import (
    FIDELITY_SAMPLE,
    FINGERPRINT_ROWS,
    TrainedModel,
    fingerprint,
)
from sqlml.training.data import (
    label_values,
)
from sqlml.training.fit import summarize_evaluation
from sqlml.training.labels import default_label
from sqlml.training.mllib import onnx as spark_onnx
from sqlml.training.mllib.frame import (
    LABEL,
    SAMPLE_ROWS,
    VALIDATION,
    arrow_type_of,
    prepare_frame,
    raw_columns,
    sample_frame,
    split_frame,
    training_features,
)
from sqlml.training.mllib.numpy_fit import (
    assembled_pipeline,
    column_stats,
    design_columns,
    fit_mlp,
    fit_pca,
)
from sqlml.training.mllib.pipeline import (
    after_spark_fit,
    check_against_spark,
    extract_heads,
    fit_spark_pipeline,
)
from sqlml.training.mllib.support import check_supported
from sqlml.training.pipeline import Training
from sqlml.types import label_type_name

log = logging.getLogger("sqlml.training")


class MLlibTrainer:
    """The training query's rows, left on the cluster; :meth:`fit` trains them there."""

    def __init__(self, backend: Any, sql: str) -> None:
        self.backend = backend
        self.spark = backend.spark
        self.frame = backend.sql(sql)
        self.fingerprint = ""

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

    def fit(
        self, *, model: str, options: ModelOptions, label: str | None, transform: Any = None
    ) -> TrainedModel:
        """Train on the executors (``transform``: TRANSFORM is refused on Spark before this)."""
        from pyspark.sql import functions as F

        started = time.perf_counter()
        check_supported(options, model)
        schema = arrow_schema(self.frame.schema)
        task = task_of(options.model_type)
        label = default_label(schema.names, options.model_type, label)  # BigQuery's `label`
        features = training_features(schema, options, label, model, task)
        frame = self.frame
        if task in ("classification", "regression"):
            assert label is not None  # training_features checked it
            label_values(pa.chunked_array([], schema.field(label).type), task, model, label)
            frame = frame.where(F.col(label).isNotNull())
        else:  # k-means: a label (Redshift's TARGET) is left out of the features, as on DuckDB
            label = None
        rows = frame.count()
        head = self.backend.to_arrow(frame.limit(FINGERPRINT_ROWS))
        self.fingerprint = fingerprint(schema, rows, head)
        if rows == 0:
            raise TrainingError(
                f"The training query of CREATE MODEL {model} returned no rows"
                + (" with a label." if label else ".")
            )
        train, evaluation, split = split_frame(frame, options, rows, model)
        spec: dict[str, Any] = {
            "task": task,
            "model_type": options.model_type,
            "label": label,
            "features": [{"name": f["name"], "kind": f["kind"]} for f in features],
            "null_category": NULL_CATEGORY,
        }
        info: dict[str, Any] = {
            "training_path": "spark_mllib",
            "data_split_method": split,
            "notes": list(options.notices),  # options with no effect here
        }
        spark_entry = MODEL_TYPES[options.model_type].spark
        assert spark_entry is not None  # check_supported refused the others
        if spark_entry.path == "numpy":
            fitted = self._fit_numpy(train, features, label, task, spec, options, model, info)
            return self._finish(fitted, evaluation, split, options, started)
        # an estimator that watches the evaluation split (XGBoost's early stopping) gets its rows
        watched = spark_entry.validation and not self.backend.connect and evaluation is not train
        prepared = prepare_frame(
            train,
            features,
            label,
            task,
            spec,
            options,
            model,
            info,
            validation=evaluation if watched else None,
            connect=self.backend.connect,
        )
        prepared.persist()
        try:
            progress.stage("preparing the data on the executors")
            training_rows = prepared.where(~F.col(VALIDATION)) if watched else prepared
            info["training_rows"] = training_rows.count()
            progress.stage(f"fitting {options.model_type} on the executors")
            pipeline, seconds = fit_spark_pipeline(prepared, features, task, spec, options, info)
            progress.stage("converting to ONNX and checking fidelity")
            info["fit_seconds"] = round(seconds, 4)
            converted = time.perf_counter()
            layout, head = extract_heads(self, pipeline, task, spec)
            onnx_bytes = spark_onnx.to_onnx(features, layout, head)
            info["convert_seconds"] = round(time.perf_counter() - converted, 4)
            scorer = Scorer(onnx_bytes, spec)
            sample = sample_frame(training_rows, FIDELITY_SAMPLE, rows, options)
            try:
                fidelity = check_against_spark(self, pipeline, sample, scorer, task, model)
                train_rows = self.backend.to_arrow(sample.select(*raw_columns(features, label)))
            finally:
                sample.unpersist()
        finally:
            prepared.unpersist()
        progress.stage("evaluating")
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
        after_spark_fit(training, pipeline.stages[-1])
        if task == "clustering":  # ML.CENTROIDS
            from sqlml.training.unsupervised import CENTROIDS, spark_kmeans_centroids

            info[CENTROIDS] = spark_kmeans_centroids(training, layout, head)
        summarize_evaluation(training)
        from sqlml.measures import metrics as metrics_mod

        metrics = metrics_mod.evaluate(scorer, eval_table, spec)
        info["duration_seconds"] = round(time.perf_counter() - started, 4)
        return TrainedModel(
            onnx_bytes, spec, metrics, info, fidelity, features, options, self.fingerprint
        )

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

        from sqlml.training import pipeline as sklearn_fit

        info["training_path"] = "spark_executors_numpy"
        if label is not None:  # as the DuckDB path's spec has it
            spec["label_type"] = label_type_name(arrow_type_of(train, label))
        started = time.perf_counter()
        try:
            stats = column_stats(train, features)
            info["training_rows"] = stats.rows
            if stats.rows == 0:
                raise TrainingError(
                    f"The data split of CREATE MODEL {model} left no training rows."
                )
            pipeline = assembled_pipeline(features, options, stats)
            center = task == "dimensionality_reduction"
            columns, names, offset = design_columns(features, pipeline, center)
            if task == "dimensionality_reduction":
                frame = train.select(*columns)
                fit_pca(self, frame, names, offset, pipeline, options, model, info)
            else:
                assert label is not None
                target = F.col(f"`{label}`").cast("double").alias(LABEL)
                fit_mlp(self, train.select(*columns, target), names, pipeline, options, model, info)
        except spark_errors() as exc:
            raise TrainingError(
                f"Training ({options.model_type}) on Spark failed: {translate_error(exc)}"
            ) from exc
        info["fit_seconds"] = round(time.perf_counter() - started, 4)
        converted = time.perf_counter()
        onnx_bytes = sklearn_fit.to_onnx(pipeline, features, task)
        info["convert_seconds"] = round(time.perf_counter() - converted, 4)
        scorer = Scorer(onnx_bytes, spec)
        sample = sample_frame(
            train.select(*raw_columns(features, label)), FIDELITY_SAMPLE, stats.rows, options
        )
        try:
            train_rows = self.backend.to_arrow(sample)
        finally:
            sample.unpersist()
        y = label_values(train_rows.column(label), task, model, label) if label else None
        fidelity = sklearn_fit.check_fidelity_of(
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
            training.onnx,
            training.spec,
            metrics,
            info,
            fidelity,
            training.features,
            options,
            self.fingerprint,
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
        frame = evaluation.select(*raw_columns(features, label))
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
