"""The training query's rows as Spark ML reads them: features and their kinds, the data split, and
the prepared frame (label encoded, weights, NULL categories) that the pipeline is fitted on.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
from sqlml_udfs.scoring import NULL_CATEGORY
from sqlml_udfs.temporal import TIMESTAMP

from sqlml.backends.spark.conversion import arrow_schema
from sqlml.errors import (
    NotSupportedError,
    OptionError,
    SchemaError,
    TrainingError,
)
from sqlml.models.options import ModelOptions
from sqlml.training.data import (
    check_unique_columns,
    explicit_class_weights,
    feature_kind,
    json_label,
    resolve_column_options,
)
from sqlml.training.fit import sql_type
from sqlml.training.labels import missing_label
from sqlml.training.mllib.support import not_on_spark
from sqlml.types import label_type_name

#: Most evaluation rows collected to the driver for metrics, curves and the confusion matrix.
SAMPLE_ROWS = 100_000


# Column names of the prepared frame (raw columns keep their names beside them).
LABEL = "__sqlml_label"


WEIGHT = "__sqlml_weight"


FEATURES = "__sqlml_features"


PREDICTION = "__sqlml_prediction"


PROBABILITY = "__sqlml_probability"


#: TRUE on the evaluation split's rows when they travel with the training rows (XGBoost's
#: validation set, watched for early stopping).
VALIDATION = "__sqlml_validation"


def training_features(
    schema: pa.Schema, options: ModelOptions, label: str | None, model: str, task: str
) -> list[dict[str, str]]:
    columns = schema.names
    check_unique_columns(columns, model)
    resolve_column_options(options, columns)
    supervised = task in ("classification", "regression")
    if supervised and label is None:
        raise missing_label(model, columns)
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
    stamps = [f["name"] for f in features if f["kind"] in (TIMESTAMP, "array")]
    if stamps:
        raise NotSupportedError(
            f"Training on the Spark engine's executors with TIMESTAMP or ARRAY feature column(s) "
            f"{', '.join(stamps)} is not supported yet (CREATE MODEL {model}); OPTIONS (engine = "
            f"'duckdb') collects the rows and trains with scikit-learn on the driver instead."
        )
    return features


def split_frame(frame: Any, options: ModelOptions, rows: int, model: str) -> tuple[Any, Any, str]:
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


def raw_columns(features: list[dict[str, str]], label: str | None) -> list[str]:
    return [f["name"] for f in features] + ([label] if label else [])


def numeric_columns(features: list[dict[str, str]]) -> list[tuple[str, str]]:
    return [(f["name"], f"__sqlml_n{i}") for i, f in enumerate(features) if f["kind"] == "numeric"]


def categorical_columns(features: list[dict[str, str]]) -> list[tuple[str, str]]:
    return [
        (f["name"], f"__sqlml_c{i}") for i, f in enumerate(features) if f["kind"] == "categorical"
    ]


def prepare_frame(
    train: Any,
    features: list[dict[str, str]],
    label: str | None,
    task: str,
    spec: dict[str, Any],
    options: ModelOptions,
    model: str,
    info: dict[str, Any],
    validation: Any = None,
    connect: bool = False,
) -> Any:
    """The training rows with the columns Spark ML reads beside the raw ones: numbers as double,
    categories as strings (NULL as its own category), the label as a class index, the weight.

    ``validation``: the evaluation split's rows, appended with VALIDATION TRUE (the training
    rows have FALSE); classes and weights come from the training rows alone, and an evaluation
    row of a class they lack is left out."""
    from pyspark.sql import functions as F

    source = train
    if validation is not None:
        source = train.withColumn(VALIDATION, F.lit(False)).unionByName(
            validation.withColumn(VALIDATION, F.lit(True))
        )
    columns = [F.col(f"`{f['name']}`") for f in features]
    if label is not None:
        columns.append(F.col(f"`{label}`"))
    for name, prepared in numeric_columns(features):
        columns.append(F.col(f"`{name}`").cast("double").alias(prepared))
    for name, prepared in categorical_columns(features):
        value = F.col(f"`{name}`").cast("string")
        columns.append(F.coalesce(value, F.lit(NULL_CATEGORY)).alias(prepared))
    if task == "regression":
        columns.append(F.col(f"`{label}`").cast("double").alias(LABEL))
    if task == "classification":
        assert label is not None
        label_type = label_type_name(arrow_type_of(train, label))
        spec["label_type"] = label_type
        values = sorted(r[0] for r in train.select(label).distinct().collect())
        if len(values) < 2:
            shown = json_label(values[0], label_type) if values else None
            raise TrainingError(
                f"Label '{label}' of CREATE MODEL {model} has only one class ({shown!r}) in the "
                f"training rows; a classifier needs at least two."
            )
        spec["classes"] = [json_label(v, label_type) for v in values]
        if len(values) == 2:
            spec["threshold"] = options.get("threshold", 0.5)
        elif options.get("optimize_threshold"):
            raise OptionError(
                f"The 'optimize_threshold' option of CREATE MODEL {model} applies to binary "
                f"classifiers; label '{label}' has {len(values)} classes in the training rows."
            )
        if options.model_type == "boosted_tree_classifier" and len(values) > 2 and connect:
            raise not_on_spark(
                f"A boosted_tree_classifier with {len(values)} classes on Spark Connect (XGBoost "
                f"needs a classic Spark session; Spark's GBTClassifier is binary only)",
                model,
                "use a classic session (spark_master = 'spark://…' or 'local[*]'), "
                "random_forest_classifier or dnn_classifier, or "
                "OPTIONS (engine = 'duckdb') to collect the rows and train with scikit-learn.",
            )
        pairs = [item for i, v in enumerate(values) for item in (F.lit(v), F.lit(float(i)))]
        columns.append(F.create_map(*pairs)[F.col(f"`{label}`")].alias(LABEL))
        weights = class_weights_of(train, label, values, label_type, options, model)
        if weights is not None:
            pairs = [item for v, w in weights.items() for item in (F.lit(v), F.lit(float(w)))]
            columns.append(F.create_map(*pairs)[F.col(f"`{label}`")].alias(WEIGHT))
            info["class_weights"] = {str(json_label(v, label_type)): w for v, w in weights.items()}
    if validation is None:
        return train.select(*columns)
    prepared = source.select(*columns, F.col(VALIDATION))
    return prepared.where(F.col(LABEL).isNotNull()) if task == "classification" else prepared


def arrow_type_of(frame: Any, column: str) -> pa.DataType:
    return arrow_schema(frame.select(column).schema).field(column).type


def class_weights_of(
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


def sample_frame(prepared: Any, size: int, rows: int, options: ModelOptions) -> Any:
    fraction = min(1.0, 2.0 * size / max(rows, 1))
    sampled = (
        prepared
        if fraction >= 1.0
        else prepared.sample(fraction, seed=options.get("random_seed", 42))
    )
    return sampled.limit(size).persist()
