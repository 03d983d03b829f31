"""The declarations of CREATE MODEL's options: one :class:`OptionSpec` each, as BigQuery ML's
CREATE MODEL pages document them (names, types, ranges, choices, defaults).

Which model types take an option comes from the registry's entries; which values of an option sqlml
trains as documented, and which it accepts with no effect here, is said per type there too
(``ModelType.accepts`` / ``ModelType.no_effect``). :mod:`sqlml.models.options` validates against both.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from sqlml.models import registry

#: Every model_type, in the registry's order, and the other products' names for them.
MODEL_TYPES = registry.NAMES
AUTOML_TYPES = registry.AUTOML_TYPES
MODEL_TYPE_ALIASES = registry.ALIASES

SPLIT_METHODS = ("AUTO_SPLIT", "RANDOM", "SEQ", "NO_SPLIT", "CUSTOM")
FREQUENCIES = (
    "AUTO_FREQUENCY",
    "PER_MINUTE",
    "HOURLY",
    "DAILY",
    "WEEKLY",
    "MONTHLY",
    "QUARTERLY",
    "YEARLY",
)


# Options that take a search space (HPARAM_RANGE / HPARAM_CANDIDATES); hidden_units by candidates.
TUNABLE = (
    "max_tree_depth",
    "num_parallel_tree",
    "learn_rate",
    "l1_reg",
    "l2_reg",
    "subsample",
    "max_iterations",
    "min_split_loss",
    "num_clusters",
    "hidden_units",
    "batch_size",
    "dropout",
    "booster_type",
    "dart_normalize_type",
    "tree_method",
    "min_tree_child_weight",
    "colsample_bytree",
    "colsample_bylevel",
    "colsample_bynode",
    "activation_fn",
    "optimizer",
)
#: AutoML's OPTIMIZATION_OBJECTIVE -> the tuning objective that picks automl's winner (None: not
#: supported yet: sqlml's objectives have no RMSLE, nor a precision at a fixed recall).
AUTOML_OBJECTIVES: dict[str, str | None] = {
    "MINIMIZE_RMSE": "mean_squared_error",
    "MINIMIZE_MAE": "mean_absolute_error",
    "MINIMIZE_RMSLE": None,
    "MAXIMIZE_AU_ROC": "roc_auc",
    "MINIMIZE_LOG_LOSS": "log_loss",
    "MAXIMIZE_AU_PRC": "average_precision",
    "MAXIMIZE_PRECISION_AT_RECALL": None,
    "MAXIMIZE_RECALL_AT_PRECISION": None,
}
# Tuning objectives by task, each with whether greater is better.
OBJECTIVES: dict[str, dict[str, bool]] = {
    "classification": {
        "roc_auc": True,
        "average_precision": True,
        "accuracy": True,
        "f1_score": True,
        "precision": True,
        "recall": True,
        "log_loss": False,
    },
    "regression": {"r2_score": True, "mean_squared_error": False, "mean_absolute_error": False},
    "clustering": {"davies_bouldin_index": False},
}


@dataclass(frozen=True)
class OptionSpec:
    """One option: its kind, its allowed range, and the model types it applies to."""

    name: str
    kind: str  # "int" | "float" | "bool" | "str" | "str_list" | "int_list" | "map"
    default: Any = None
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    choices: tuple[str, ...] | None = None
    applies_to: tuple[str, ...] | None = None  # None: every model type
    doc: str = ""

    def describe(self) -> str:
        if self.choices:
            return "one of " + ", ".join(repr(c) for c in self.choices)
        noun = {
            "int": "an integer",
            "float": "a number",
            "bool": "TRUE or FALSE",
            "str": "a string",
            "str_list": "an array of strings such as ['a', 'b']",
            "int_list": "an array of integers such as [32, 16]",
            "map": "an array of STRUCT(label, weight) pairs or a JSON object",
        }[self.kind]
        if self.low is None and self.high is None:
            return noun
        lo = "(" if self.low_open else "["
        low = "-inf" if self.low is None else _fmt(self.low)
        high = "inf" if self.high is None else _fmt(self.high)
        return (
            f"{noun} in {lo}{low}, {high}]"
            if self.high is not None
            else (f"{noun} {'>' if self.low_open else '≥'} {low}")
        )


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


OPTIONS: dict[str, OptionSpec] = {
    o.name: o
    for o in [
        OptionSpec("model_type", "str", choices=MODEL_TYPES),
        OptionSpec("input_label_cols", "str_list"),
        OptionSpec("data_split_method", "str", "AUTO_SPLIT", choices=SPLIT_METHODS),
        OptionSpec("data_split_eval_fraction", "float", 0.2, 0.0, 1.0, low_open=True),
        OptionSpec("data_split_col", "str"),
        OptionSpec("l1_reg", "float", 0.0, 0.0),
        OptionSpec("l2_reg", "float", 0.0, 0.0),
        OptionSpec("max_iterations", "int", None, 1, 100_000),
        OptionSpec("learn_rate", "float", None, 0.0, 10.0, low_open=True),
        OptionSpec("max_tree_depth", "int", None, 1, 100),
        OptionSpec("num_parallel_tree", "int", None, 1, 10_000),
        OptionSpec("subsample", "float", None, 0.0, 1.0, low_open=True),
        OptionSpec("min_split_loss", "float", 0.0, 0.0),
        OptionSpec("hidden_units", "int_list", None, 1, 100_000),
        OptionSpec("batch_size", "int", None, 1, 10_000_000),
        OptionSpec("num_clusters", "int", None, 1, 10_000),
        OptionSpec(
            "kmeans_init_method",
            "str",
            "KMEANS++",
            choices=("KMEANS++", "RANDOM", "CUSTOM"),
        ),
        OptionSpec("standardize_features", "bool", True),
        OptionSpec("num_principal_components", "int", None, 1, 10_000),
        OptionSpec(
            "pca_explained_variance_ratio",
            "float",
            None,
            0.0,
            1.0,
            low_open=True,
        ),
        OptionSpec("scale_features", "bool", True),
        OptionSpec("pca_solver", "str", "AUTO", choices=("FULL", "RANDOMIZED", "AUTO")),
        OptionSpec("auto_class_weights", "bool", False),
        OptionSpec("class_weights", "map"),
        OptionSpec("early_stop", "bool", True),
        OptionSpec("min_rel_progress", "float", 0.01, 0.0),
        OptionSpec(
            "optimize_strategy",
            "str",
            "AUTO_STRATEGY",
            choices=("AUTO_STRATEGY", "BATCH_GRADIENT_DESCENT", "NORMAL_EQUATION"),
        ),
        OptionSpec("random_seed", "int", 42, 0, 2**31 - 1),
        OptionSpec("threshold", "float", None, 0.0, 1.0),
        OptionSpec(
            "optimize_threshold",
            "str",
            None,
            choices=("f1", "accuracy", "balanced_accuracy"),
            doc="binary classifiers: tune the stored threshold on the evaluation split",
        ),
        OptionSpec(
            "enable_global_explain",
            "bool",
            False,
            doc="record mean |attribution| per feature at training, for ML.GLOBAL_EXPLAIN",
        ),
        OptionSpec("engine", "str", "duckdb", choices=("duckdb", "spark", "auto")),
        # model_type = 'onnx': import a file instead of training (sqlml.training.onnx_import).
        OptionSpec("model_path", "str", doc="the .onnx file to import"),
        OptionSpec(
            "input_columns",
            "str_list",
            doc="columns fed, in order, to the graph's one [N, k] input",
        ),
        OptionSpec("class_labels", "str_list", doc="labels of the k classes"),
        OptionSpec(
            "task",
            "str",
            choices=("classification", "regression", "clustering"),
            doc="what the imported graph predicts, when its outputs do not say",
        ),
        # Options of BigQuery's CREATE MODEL pages that change little or nothing here: which values
        # each type honours (registry ModelType.accepts) or ignores with a notice (no_effect).
        OptionSpec("data_split_test_fraction", "float", 0.0, 0.0, 1.0),
        OptionSpec("fit_intercept", "bool", True),
        OptionSpec(
            "category_encoding_method",
            "str",
            "ONE_HOT_ENCODING",
            choices=("ONE_HOT_ENCODING", "DUMMY_ENCODING", "LABEL_ENCODING", "TARGET_ENCODING"),
        ),
        OptionSpec(
            "learn_rate_strategy", "str", "LINE_SEARCH", choices=("LINE_SEARCH", "CONSTANT")
        ),
        OptionSpec("ls_init_learn_rate", "float", 0.1, 0.0, low_open=True),
        OptionSpec("calculate_p_values", "bool", False),
        OptionSpec("warm_start", "bool", False),
        OptionSpec("instance_weight_col", "str"),
        OptionSpec("booster_type", "str", "GBTREE", choices=("GBTREE", "DART")),
        OptionSpec("dart_normalize_type", "str", "TREE", choices=("TREE", "FOREST")),
        OptionSpec("dropout", "float", 0.0, 0.0, 1.0),
        OptionSpec("tree_method", "str", "AUTO", choices=("AUTO", "EXACT", "APPROX", "HIST")),
        OptionSpec("min_tree_child_weight", "int", 1, 0),
        OptionSpec("colsample_bytree", "float", 1.0, 0.0, 1.0, low_open=True),
        OptionSpec("colsample_bylevel", "float", 1.0, 0.0, 1.0, low_open=True),
        # Unset: scikit-learn's own default (all columns; sqrt of them for forest classifiers).
        OptionSpec("colsample_bynode", "float", None, 0.0, 1.0, low_open=True),
        OptionSpec("approx_global_feature_contrib", "bool"),
        OptionSpec("xgboost_version", "str", choices=("0.9", "1.1", "2.1")),
        OptionSpec(
            "activation_fn",
            "str",
            "RELU",
            choices=("RELU", "RELU6", "CRELU", "ELU", "SELU", "SIGMOID", "TANH"),
        ),
        OptionSpec(
            "optimizer", "str", "ADAM", choices=("ADAGRAD", "ADAM", "FTRL", "RMSPROP", "SGD")
        ),
        OptionSpec("integrated_gradients_num_steps", "int", 15, 1, 30),
        OptionSpec("tf_version", "str", choices=("1.15", "2.8.0")),
        OptionSpec("kmeans_init_col", "str", doc="BOOL column: TRUE rows are the first centroids"),
        OptionSpec("distance_type", "str", "EUCLIDEAN", choices=("EUCLIDEAN", "COSINE")),
        OptionSpec(
            "optimization_objective",
            "str",
            choices=tuple(AUTOML_OBJECTIVES),
            doc="automl: the metric that picks the winner (hparam_tuning_objectives)",
        ),
        # Hyperparameter tuning and automl (sqlml.training.tuning); None means the documented default.
        OptionSpec("num_trials", "int", None, 1, 10_000),
        OptionSpec("max_parallel_trials", "int", None, 1, 10_000),
        OptionSpec(
            "hparam_tuning_algorithm",
            "str",
            None,
            choices=("RANDOM_SEARCH", "GRID_SEARCH", "VIZIER_DEFAULT"),
        ),
        OptionSpec("hparam_tuning_objectives", "str_list", None),
        OptionSpec("num_folds", "int", None, 2, 100),
        # ARIMA_PLUS (sqlml.training.forecast), BigQuery's create-time-series page.
        OptionSpec("time_series_timestamp_col", "str", doc="the time of each point"),
        OptionSpec("time_series_data_col", "str", doc="the value forecast"),
        OptionSpec("time_series_id_col", "str_list", doc="one series per value of these columns"),
        OptionSpec("horizon", "int", 1000, 1, 10_000),
        OptionSpec("auto_arima", "bool", True),
        OptionSpec("auto_arima_max_order", "int", 2, 1, 5),
        OptionSpec("auto_arima_min_order", "int", 0, 0, 4),
        OptionSpec("non_seasonal_order", "int_list", None, 0, 5, doc="(p, d, q)"),
        OptionSpec("data_frequency", "str", "AUTO_FREQUENCY", choices=FREQUENCIES),
        OptionSpec("include_drift", "bool", False),
        OptionSpec("holiday_region", "str_list"),
        OptionSpec("clean_spikes_and_dips", "bool", True),
        OptionSpec("adjust_step_changes", "bool", True),
        OptionSpec("decompose_time_series", "bool", True),
        OptionSpec("time_series_length_fraction", "float", None, 0.0, 1.0, low_open=True),
        OptionSpec("min_time_series_length", "int", 20, 4),
        OptionSpec("max_time_series_length", "int", None, 4),
        OptionSpec("trend_smoothing_window_size", "int", None, 1),
        OptionSpec("forecast_limit_lower_bound", "float"),
        OptionSpec("forecast_limit_upper_bound", "float"),
        OptionSpec("hierarchical_time_series_cols", "str_list"),
        OptionSpec("percentiles", "str", doc="Redshift's PERCENTILES: FORECAST(model)'s columns"),
        OptionSpec("seasonalities", "str_list", ["AUTO"]),
        OptionSpec("budget_seconds", "float", 60.0, 0.0, low_open=True),
    ]
}
# Which model types an option applies to comes from the registry: the types whose entry names it
# (an option no entry names applies to every type).
_TAKEN = {name for entry in registry.ENTRIES for name in entry.options}
OPTIONS = {
    name: replace(option, applies_to=registry.names(taking=name)) if name in _TAKEN else option
    for name, option in OPTIONS.items()
}
