"""Fit a model on an Arrow table, convert it to ONNX, and prove the two agree.

Engine-independent: the DuckDB backend hands in the training query's result as Arrow; the Spark backend
(later) can hand in a collected sample the same way. Output is a :class:`TrainedModel` holding only
ONNX bytes and JSON-able metadata: nothing here is ever pickled.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sqlml_udfs.arrays import ARRAY
from sqlml_udfs.scoring import NULL_CATEGORY, Scorer
from sqlml_udfs.temporal import TIMESTAMP, origin_of

from sqlml import progress
from sqlml.cancel import checkpoint
from sqlml.errors import OptionError, SchemaError, TrainingError
from sqlml.models.boosting import is_xgboost, round_losses
from sqlml.models.options import ModelOptions
from sqlml.models.registry import CLASSIFIERS, TREES, task_of
from sqlml.plan.transform import Transform
from sqlml.training.contract import TrainedModel, fingerprint
from sqlml.training.data import (
    array_length,
    check_unique_columns,
    feature_kind,
    json_label,
    resolve_column_options,
    sample_weights,
    split_rows,
)
from sqlml.training.insights import record_insights
from sqlml.training.labels import default_label, missing_label
from sqlml.training.pipeline import (
    Training,
    centroid_distances,
    check_fidelity_of,
    fit_pipeline,
    iterations_of,
    to_onnx,
)
from sqlml.types import label_type_name, sql_type

log = logging.getLogger("sqlml.training")


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
    if task_of(options.model_type) == "transform":  # only a TRANSFORM, no estimator
        from sqlml.training.transform_only import fit_transform_only

        return fit_transform_only(
            table, model=model, options=options, label=label, transform=transform
        )
    label, transform = resolve_label(table, options, label, transform, model)
    concrete = tuning.concrete_options(options, table, label)  # automl: its first candidate type
    progress.stage("preparing the data")
    training = prepare(table, model=model, options=concrete, label=label, transform=transform)
    if tuning.requested(options):
        tuning.search(training, options)  # its own stages: the trials, then the refit
    else:
        progress.stage(f"fitting {concrete.model_type}")
        fit_pipeline(training)
    progress.stage("converting to ONNX and checking fidelity")
    convert(training)
    checkpoint()
    after_fit(training)
    record_insights(training)  # what the inspection and explanation functions read
    progress.stage("evaluating")
    scores = summarize_evaluation(training)  # may tune the threshold, so before the metrics
    checkpoint()
    from sqlml.measures import metrics as metrics_mod

    assert training.scorer is not None
    if scores is not None:  # a classifier's evaluation rows, scored once
        metrics = metrics_mod.scored_classification(training.scorer, *scores, training.spec)
    else:
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


def resolve_label(
    table: pa.Table,
    options: ModelOptions,
    label: str | None,
    transform: Transform | None,
    model: str,
) -> tuple[str | None, Transform | None]:
    """The label named, or BigQuery's default (a column, or a TRANSFORM output, named ``label``),
    with the TRANSFORM told which of its outputs it is."""
    if label is not None:
        return label, transform
    if transform is None:
        return default_label(table.column_names, options.model_type, None), None
    # With a TRANSFORM the label is one of its outputs, passed through unchanged.
    passed = [i.output for i in transform.items if i.kind == "column" and i.columns == (i.output,)]
    found = default_label(passed, options.model_type, None)
    if found is None or any(found in i.columns for i in transform.items if i.output != found):
        return None, transform
    return found, dataclasses.replace(transform, label=found)


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
    resolve_column_options(options, columns)
    if supervised and label is None:
        raise missing_label(model, columns)
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

    excluded = {label, options.get("data_split_col"), options.get("kmeans_init_col")}
    excluded.add(options.get("instance_weight_col"))  # a row's weight, not a feature
    if transform is not None:
        transform = transform.passing(sorted(c for c in excluded if c))
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
    for feature in features:  # an ARRAY is one feature per element: how many
        if feature["kind"] == ARRAY:
            feature["length"] = array_length(table.column(feature["name"]), feature["name"], model)
        elif feature["kind"] == TIMESTAMP:  # its seconds count from here (sqlml_udfs.temporal)
            feature["origin"] = origin_of(table.column(feature["name"]))

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
        "features": [
            {k: f[k] for k in ("name", "kind", "length", "origin") if k in f} for f in features
        ],
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
                f"({json_label(classes[0], spec['label_type'])!r}) "
                f"in the training rows; a classifier needs at least two."
            )
        spec["classes"] = [json_label(c, spec["label_type"]) for c in classes]
        if len(classes) == 2:
            spec["threshold"] = options.get("threshold", 0.5)
        elif options.get("optimize_threshold"):
            raise OptionError(
                f"The 'optimize_threshold' option of CREATE MODEL {model} applies to binary "
                f"classifiers; label '{label}' has {len(classes)} classes in the training rows."
            )
        training.sample_weight = sample_weights(y, classes, options, model, spec["label_type"])
    if options.get("instance_weight_col") is not None:
        from sqlml.training.weights import instance_weights

        training.sample_weight = instance_weights(
            training.train, options["instance_weight_col"], training.sample_weight, model
        )
    return training


def convert(training: Training) -> None:
    """Convert the fitted pipeline to ONNX and prove the graph agrees with it."""
    training.onnx = to_onnx(training.pipeline, training.features, training.task)
    training.scorer = Scorer(training.onnx, training.spec)
    training.info["fidelity"] = check_fidelity_of(
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
    training.info["iterations"] = iterations_of(estimator)
    if training.task == "clustering":
        training.spec["centroid_distances"] = centroid_distances(estimator)
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
    if is_xgboost(estimator):
        training.info["loss"] = round_losses(estimator)[0]
    elif hasattr(estimator, "loss_curve_"):
        training.info["loss"] = [float(v) for v in estimator.loss_curve_]


#: Most points of the ROC curve stored at training (ML.ROC_CURVE without input rows).
STORED_ROC_POINTS = 1000


def summarize_evaluation(training: Training) -> tuple[np.ndarray, np.ndarray] | None:
    """Score a classifier's evaluation split once, through the ONNX graph, for what is kept of it:
    the tuned threshold (optimize_threshold), and the confusion matrix and ROC curve that
    ML.CONFUSION_MATRIX and ML.ROC_CURVE return without input rows. Returns the true class
    indices and probabilities (None for other tasks), from which the metrics are computed."""
    if training.task != "classification":
        return None
    from sqlml.measures import metrics

    assert training.scorer is not None
    y, probs = metrics.class_scores(training.scorer, training.evaluation, training.spec)
    binary = len(training.spec["classes"]) == 2
    objective = training.options.get("optimize_threshold")
    if objective is not None and binary:
        _optimize_threshold(training, objective, y, probs[:, 1])
    if len(y) == 0:
        return y, probs
    predicted = training.scorer.class_index(probs)
    classes = len(training.spec["classes"])
    training.info["confusion_matrix"] = metrics.confusion_matrix(y, predicted, classes)
    if binary:
        training.info["roc_curve"] = metrics.roc_curve(y, probs[:, 1], max_points=STORED_ROC_POINTS)
    return y, probs


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


__all__ = ["CLASSIFIERS", "TREES", "TrainedModel", "feature_kind", "fit", "sql_type"]


class LocalTrainer:
    """The training query's rows read into this process (with a TRANSFORM's SQL outputs added)
    and trained with scikit-learn: the :class:`~sqlml.training.contract.Trainer` of every engine."""

    def __init__(
        self, backend: Any, sql: str, transform: Transform | None = None, model: str = ""
    ) -> None:
        table = backend.arrow(sql)
        if transform is not None:
            from sqlml.training.transform_columns import training_rows

            transform = transform.expand(table.column_names)  # its *, over the query's columns
            table = training_rows(backend, table, transform, model)
        self.table = table
        self.transform = transform

    def probe(self, label: str | None) -> pa.Table:
        return self.table

    def fit(
        self,
        *,
        model: str,
        options: ModelOptions,
        label: str | None,
        transform: Transform | None = None,
    ) -> TrainedModel:
        table = self.table
        log.info(
            "CREATE MODEL %s: training %s on %d rows", model, options.model_type, table.num_rows
        )
        transform = self.transform if transform is not None else None
        trained = fit(table, model=model, options=options, label=label, transform=transform)
        trained.training_info.setdefault("training_path", "scikit-learn")
        trained.fingerprint = fingerprint(table.schema, table.num_rows, table)
        return trained
