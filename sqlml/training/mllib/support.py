"""What Spark's executors cannot train as the scikit-learn path would: refused before any work, with
the way to train it in this process instead (never a silently different model).
"""

from __future__ import annotations

from sqlml.errors import (
    NotSupportedError,
)
from sqlml.models.options import OPTIONS, ModelOptions
from sqlml.models.registry import MODEL_TYPES

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
    entry = MODEL_TYPES[model_type]
    for name in sorted(options.given):
        value = options[name]
        # What changes nothing anywhere, and what means the default, need nothing of MLlib.
        accepted = entry.accepts.get(name, ((),))[0]
        if name in entry.no_effect or value == OPTIONS[name].default or value in accepted[:1]:
            continue
        if name not in honoured:
            why = spark.why_not.get(name) or _WHY_NOT.get(name, "Spark MLlib has no equivalent yet")
            raise not_on_spark(f"Option '{name}' ({why})", model, _LOCAL_HINT)
    if options.get("kmeans_init_method") == "CUSTOM":
        raise not_on_spark(
            "kmeans_init_method 'CUSTOM' (Spark's KMeans takes no initial centroids)",
            model,
            _LOCAL_HINT,
        )
    if entry.family == "boosted_tree" and options.get("tree_method") == "EXACT":
        raise not_on_spark(
            "tree_method 'EXACT' (XGBoost's distributed training builds histograms: HIST or "
            "APPROX)",
            model,
            _LOCAL_HINT,
        )
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
