"""The model types: one entry each, and every per-type table derived from the entries.

An entry says what a ``model_type`` is (its task and family), which options it takes beyond the
ones every type takes, its other names, how each engine trains it (the scikit-learn maker, and how
Spark's executors train it, if they do), the space tuning searches when the user gives none, and
where it stands among automl's candidates. Everything else that varies by model type (the option
table's ``applies_to``, the classifier and tree sets, automl's candidates, the Spark training
path) is computed from these entries, so adding a model type is adding an entry (and its makers).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from sqlml.models import boosting, mllib, sklearn
from sqlml.models.space import HParamCandidates, HParamRange, Space

if TYPE_CHECKING:
    from sqlml.models.options import ModelOptions

#: What a model predicts; None: decided when it is created (automl by its label, onnx by the file).
#: "transform": nothing; the model is its TRANSFORM clause (BigQuery's TRANSFORM_ONLY).
#: "forecasting": a time-series model (ARIMA_PLUS), one forecast per series, no features.
TASKS = (
    "classification",
    "regression",
    "clustering",
    "dimensionality_reduction",
    "transform",
    "forecasting",
)


@dataclass(frozen=True)
class SparkTraining:
    """How the Spark engine trains a type on its executors."""

    #: "mllib": a Spark ML estimator (``maker``), converted to ONNX by sqlml; "numpy": sqlml's own
    #: statistics / gradient jobs, assembled into the scikit-learn pipeline and converted by skl2onnx.
    path: str
    #: Options it honours beyond those every distributed type does (see training.mllib).
    honoured: frozenset[str]
    #: Numeric inputs standardized before the estimator (the scikit-learn path's scaling).
    scaled: bool = False
    #: ``(options, common keyword arguments, context) -> pyspark.ml estimator`` (path "mllib").
    maker: Callable[..., Any] | None = None
    #: Why an option is not honoured, where the generic reason would mislead.
    why_not: Mapping[str, str] = field(default_factory=dict)
    #: The estimator watches the evaluation split while it trains (early stopping): its rows
    #: travel with the training rows, marked (training.mllib.frame.VALIDATION).
    validation: bool = False


@dataclass(frozen=True)
class ModelType:
    name: str
    task: str | None
    family: str  # linear, forest, boosted_tree, dnn, kmeans, pca, onnx, automl
    #: The options only some model types take (the rest apply to every type: models.options).
    options: tuple[str, ...] = ()
    #: Other products' names for it (BigQuery aliases, Redshift MODEL_TYPE words).
    aliases: tuple[str, ...] = ()
    #: ``(options, n_rows, seed) -> EstimatorPlan``: the scikit-learn estimator (None: not trained
    #: by scikit-learn itself: onnx is imported, automl trains its candidates).
    sklearn: Callable[..., Any] | None = None
    spark: SparkTraining | None = None
    #: Searched when num_trials > 1 names no HPARAM_* option, and by automl after the defaults.
    search_space: Mapping[str, Space] = field(default_factory=dict)
    #: Place among automl's candidates for its task, cheapest first (None: not a candidate).
    automl_rank: int | None = None
    #: Options of which sqlml trains only some documented values as BigQuery does: option ->
    #: (the values accepted, why the others are not supported yet). The documented default is
    #: always among them, and means what leaving the option out means.
    accepts: Mapping[str, tuple[tuple[Any, ...], str]] = field(default_factory=dict)
    #: Options accepted and checked that change nothing here: option -> why (the notice).
    no_effect: Mapping[str, str] = field(default_factory=dict)
    #: The ML functions that apply to its models (None: each function's own rule decides).
    functions: tuple[str, ...] | None = None

    @property
    def supervised(self) -> bool:
        """Trained against a label column (input_label_cols, Redshift's TARGET)."""
        return self.family not in ("kmeans", "pca", "onnx", "transform", "arima")


_SUPERVISED = ("input_label_cols", "enable_global_explain", "data_split_test_fraction")
_CLASSIFIER = ("auto_class_weights", "class_weights", "threshold", "optimize_threshold")
_TREE = (
    "max_tree_depth",
    "num_parallel_tree",
    "subsample",
    "min_split_loss",
    "l1_reg",
    "l2_reg",
    "tree_method",
    "min_tree_child_weight",
    "colsample_bytree",
    "colsample_bylevel",
    "colsample_bynode",
    "instance_weight_col",
    "xgboost_version",
    "approx_global_feature_contrib",
)
_LINEAR = (
    "l1_reg",
    "l2_reg",
    "max_iterations",
    "optimize_strategy",
    "learn_rate_strategy",
    "learn_rate",
    "ls_init_learn_rate",
    "calculate_p_values",
    "fit_intercept",
    "category_encoding_method",
    "warm_start",
)
_BOOSTED = (
    "max_iterations",
    "learn_rate",
    "booster_type",
    "dart_normalize_type",
    "dropout",
    "category_encoding_method",
)
_DNN = (
    "l1_reg",
    "l2_reg",
    "max_iterations",
    "learn_rate",
    "hidden_units",
    "batch_size",
    "activation_fn",
    "optimizer",
    "dropout",
    "integrated_gradients_num_steps",
    "tf_version",
    "warm_start",
)
_AUTOML = ("budget_seconds", "optimization_objective")
_ARIMA = (
    "time_series_timestamp_col",
    "time_series_data_col",
    "time_series_id_col",
    "horizon",
    "auto_arima",
    "auto_arima_max_order",
    "auto_arima_min_order",
    "non_seasonal_order",
    "data_frequency",
    "include_drift",
    "holiday_region",
    "clean_spikes_and_dips",
    "adjust_step_changes",
    "decompose_time_series",
    "time_series_length_fraction",
    "min_time_series_length",
    "max_time_series_length",
    "trend_smoothing_window_size",
    "forecast_limit_lower_bound",
    "forecast_limit_upper_bound",
    "seasonalities",
    "hierarchical_time_series_cols",
    "percentiles",
)
#: The ML functions of a time-series model.
FORECASTING_FUNCTIONS = (
    "FORECAST",
    "EXPLAIN_FORECAST",
    "ARIMA_EVALUATE",
    "ARIMA_COEFFICIENTS",
    "EVALUATE",
    "DETECT_ANOMALIES",
)
_ARIMA_ACCEPTS: dict[str, tuple[tuple[Any, ...], str]] = {
    "forecast_limit_lower_bound": ((), "forecast limits come with a later sqlml release"),
    "forecast_limit_upper_bound": ((), "forecast limits come with a later sqlml release"),
    "hierarchical_time_series_cols": ((), "hierarchical reconciliation comes later"),
}

# What each family trains as documented, and what has no effect here (ModelType.accepts/no_effect).
_SPLIT: dict[str, tuple[tuple[Any, ...], str]] = {
    "data_split_test_fraction": ((0.0,), "sqlml splits rows into training and evaluation only"),
}
_LINEAR_ACCEPTS = _SPLIT | {
    "category_encoding_method": (
        ("ONE_HOT_ENCODING",),
        "sqlml one-hot encodes every category (DUMMY_ENCODING would drop one per feature)",
    ),
}
_CONVERGED = "sqlml fits linear models to convergence with scikit-learn's exact solvers"
_LINEAR_NO_EFFECT = {
    "learn_rate_strategy": f"{_CONVERGED}, which take no learning rate",
    "learn_rate": f"{_CONVERGED}, which take no learning rate",
    "ls_init_learn_rate": f"{_CONVERGED}, which take no learning rate",
    "calculate_p_values": "p-values and standard errors are read by ML.ADVANCED_WEIGHTS, which is "
    "not supported yet",
    "warm_start": f"{_CONVERGED}, the optimum a warm start also reaches; trained from scratch",
}
_TREE_ACCEPTS = _SPLIT | {
    "l1_reg": ((0.0,), "scikit-learn's trees have no L1 penalty on leaf weights (XGBoost's alpha)"),
    "l2_reg": (
        (1.0, 0.0),
        "scikit-learn's trees have no L2 penalty on leaf weights (XGBoost's lambda); 1.0, "
        "BigQuery's default, is accepted",
    ),
    "tree_method": (
        ("AUTO", "HIST", "EXACT"),
        "scikit-learn's trees split exactly (EXACT); APPROX's quantile sketch is XGBoost's",
    ),
    "colsample_bytree": ((1.0,), "scikit-learn's trees sample columns per split only"),
    "colsample_bylevel": ((1.0,), "scikit-learn's trees sample columns per split only"),
}
_TREE_CLASSIFIER_ACCEPTS = _TREE_ACCEPTS | {
    "min_tree_child_weight": (
        (0, 1),
        "for classifiers XGBoost weighs a child by its sum of hessians, which scikit-learn's trees "
        "do not track",
    ),
}
_BOOSTED_ACCEPTS = _SPLIT | {
    "category_encoding_method": (
        ("ONE_HOT_ENCODING", "LABEL_ENCODING"),
        "sqlml one-hot encodes categories (LABEL_ENCODING, BigQuery's default, is accepted)",
    ),
}
_BOOSTED_NO_EFFECT = {
    "xgboost_version": "sqlml trains with the installed XGBoost (3.x) and stores the model as "
    "ONNX, which scores the same whatever version trained it",
    "approx_global_feature_contrib": "sqlml computes feature contributions one way (XGBoost's "
    "approximation is not used)",
}
_TREE_NO_EFFECT = {
    "xgboost_version": "sqlml trains trees with scikit-learn, not XGBoost",
    "approx_global_feature_contrib": "sqlml computes feature contributions one way (XGBoost's "
    "approximation is not used)",
}
_DNN_ACCEPTS = _SPLIT | {
    "activation_fn": (
        ("RELU", "SIGMOID", "TANH"),
        "scikit-learn's MLP has the relu, logistic (SIGMOID) and tanh activations",
    ),
    "optimizer": (("ADAM", "SGD"), "scikit-learn's MLP trains with Adam or gradient descent"),
    "dropout": ((0.0,), "scikit-learn's MLP has no dropout"),
    "l1_reg": ((0.0,), "scikit-learn's MLP has an L2 penalty only"),
    "warm_start": ((False,), "retraining from the stored model's weights"),
}
_DNN_NO_EFFECT = {
    "tf_version": "sqlml trains DNNs with scikit-learn, not TensorFlow",
    "integrated_gradients_num_steps": "sqlml explains DNNs with sampled Shapley values, not "
    "integrated gradients",
}

_LINEAR_SPACE: Mapping[str, Space] = {"l2_reg": HParamRange(0.001, 10.0)}
_FOREST_SPACE: Mapping[str, Space] = {
    "max_tree_depth": HParamRange(2, 20),
    "subsample": HParamRange(0.5, 1.0),
}
_BOOSTED_SPACE: Mapping[str, Space] = {
    "max_tree_depth": HParamRange(2, 10),
    "learn_rate": HParamRange(0.01, 1.0),
    "subsample": HParamRange(0.5, 1.0),
}
_DNN_SPACE: Mapping[str, Space] = {
    "hidden_units": HParamCandidates(([32], [64], [128], [64, 32])),
    "learn_rate": HParamRange(0.0001, 0.01),
}

_SPARK_LINEAR = frozenset({"l1_reg", "l2_reg", "max_iterations", "fit_intercept"})
_SPARK_TREE = frozenset(
    {"max_tree_depth", "num_parallel_tree", "subsample", "min_split_loss", "colsample_bynode"}
)
# XGBoost on the executors (xgboost.spark): every option of the DuckDB path's XGBoost
_SPARK_BOOSTED = _SPARK_TREE | {
    "max_iterations",
    "learn_rate",
    "l1_reg",
    "l2_reg",
    "booster_type",
    "dart_normalize_type",
    "dropout",
    "tree_method",
    "min_tree_child_weight",
    "colsample_bytree",
    "colsample_bylevel",
}

ENTRIES: tuple[ModelType, ...] = (
    ModelType(
        "linear_reg",
        "regression",
        "linear",
        _SUPERVISED + _LINEAR,
        aliases=("linear_regression",),
        sklearn=sklearn.linear_reg,
        spark=SparkTraining("mllib", _SPARK_LINEAR, scaled=True, maker=mllib.linear_reg),
        search_space=_LINEAR_SPACE,
        automl_rank=0,
        accepts=_LINEAR_ACCEPTS,
        no_effect=_LINEAR_NO_EFFECT,
    ),
    ModelType(
        "logistic_reg",
        "classification",
        "linear",
        _SUPERVISED + _LINEAR + _CLASSIFIER,
        aliases=("logistic_regression", "linear_learner"),
        sklearn=sklearn.logistic_reg,
        spark=SparkTraining("mllib", _SPARK_LINEAR, scaled=True, maker=mllib.logistic_reg),
        search_space=_LINEAR_SPACE,
        automl_rank=0,
        accepts=_LINEAR_ACCEPTS,
        no_effect=_LINEAR_NO_EFFECT,
    ),
    ModelType(
        "random_forest_classifier",
        "classification",
        "forest",
        _SUPERVISED + _TREE + _CLASSIFIER,
        aliases=("random_forest",),
        sklearn=sklearn.forest_classifier,
        spark=SparkTraining("mllib", _SPARK_TREE, maker=mllib.forest_classifier),
        search_space=_FOREST_SPACE,
        automl_rank=2,
        accepts=_TREE_CLASSIFIER_ACCEPTS,
        no_effect=_TREE_NO_EFFECT,
    ),
    ModelType(
        "random_forest_regressor",
        "regression",
        "forest",
        _SUPERVISED + _TREE,
        sklearn=sklearn.forest_regressor,
        spark=SparkTraining("mllib", _SPARK_TREE, maker=mllib.forest_regressor),
        search_space=_FOREST_SPACE,
        automl_rank=2,
        accepts=_TREE_ACCEPTS,
        no_effect=_TREE_NO_EFFECT,
    ),
    ModelType(
        "boosted_tree_classifier",
        "classification",
        "boosted_tree",
        _SUPERVISED + _TREE + _BOOSTED + _CLASSIFIER,
        aliases=("xgboost", "boosted_tree"),
        sklearn=boosting.boosted_classifier,
        spark=SparkTraining(
            "mllib", _SPARK_BOOSTED, maker=mllib.boosted_classifier, validation=True
        ),
        search_space=_BOOSTED_SPACE,
        automl_rank=1,
        accepts=_BOOSTED_ACCEPTS,
        no_effect=_BOOSTED_NO_EFFECT,
    ),
    ModelType(
        "boosted_tree_regressor",
        "regression",
        "boosted_tree",
        _SUPERVISED + _TREE + _BOOSTED,
        sklearn=boosting.boosted_regressor,
        spark=SparkTraining(
            "mllib", _SPARK_BOOSTED, maker=mllib.boosted_regressor, validation=True
        ),
        search_space=_BOOSTED_SPACE,
        automl_rank=1,
        accepts=_BOOSTED_ACCEPTS,
        no_effect=_BOOSTED_NO_EFFECT,
    ),
    ModelType(
        "dnn_classifier",
        "classification",
        "dnn",
        _SUPERVISED + _DNN + _CLASSIFIER,
        aliases=("mlp",),
        sklearn=sklearn.dnn_classifier,
        spark=SparkTraining(
            "mllib",
            frozenset({"hidden_units", "max_iterations"}),
            scaled=True,
            maker=mllib.dnn_classifier,
        ),
        search_space=_DNN_SPACE,
        automl_rank=3,
        accepts=_DNN_ACCEPTS,
        no_effect=_DNN_NO_EFFECT,
    ),
    ModelType(
        "dnn_regressor",
        "regression",
        "dnn",
        _SUPERVISED + _DNN,
        sklearn=sklearn.dnn_regressor,
        spark=SparkTraining(
            "numpy",
            frozenset({"hidden_units", "max_iterations", "l2_reg"}),
            why_not={
                "learn_rate": "sqlml trains dnn_regressor on Spark with L-BFGS, which has no "
                "learning rate",
                "batch_size": "sqlml trains dnn_regressor on Spark with L-BFGS over whole "
                "partitions",
            },
        ),
        search_space=_DNN_SPACE,
        automl_rank=3,
        accepts=_DNN_ACCEPTS,
        no_effect=_DNN_NO_EFFECT,
    ),
    ModelType(
        "kmeans",
        "clustering",
        "kmeans",
        (
            "max_iterations",
            "num_clusters",
            "kmeans_init_method",
            "kmeans_init_col",
            "distance_type",
            "standardize_features",
            "warm_start",
        ),
        aliases=("k_means",),
        sklearn=sklearn.kmeans,
        spark=SparkTraining(
            "mllib",
            frozenset(
                {"num_clusters", "kmeans_init_method", "max_iterations", "standardize_features"}
            ),
            maker=mllib.kmeans,
        ),
        search_space={"num_clusters": HParamRange(2, 10)},
        accepts={"warm_start": ((False,), "retraining from the stored model's centroids")},
    ),
    ModelType(
        "pca",
        "dimensionality_reduction",
        "pca",
        (
            "num_principal_components",
            "pca_explained_variance_ratio",
            "scale_features",
            "pca_solver",
        ),
        sklearn=sklearn.pca,
        spark=SparkTraining(
            "numpy",
            frozenset(
                {
                    "num_principal_components",
                    "pca_explained_variance_ratio",
                    "scale_features",
                    "pca_solver",
                }
            ),
        ),
    ),
    # Imported from an ONNX file (sqlml.training.onnx_import), not trained.
    ModelType("onnx", None, "onnx", ("model_path", "input_columns", "class_labels", "task")),
    # Several model types tried, the best kept (sqlml.training.tuning); BigQuery's AutoML Tables
    # names the task in the type, plain 'automl' infers it from the label.
    ModelType("automl", None, "automl", _SUPERVISED + _AUTOML),
    ModelType("automl_classifier", "classification", "automl", _SUPERVISED + _AUTOML),
    ModelType("automl_regressor", "regression", "automl", _SUPERVISED + _AUTOML),
    # Only its TRANSFORM clause, fitted on the training query (sqlml.training.transform_only):
    # BigQuery's create-transform page; ML.TRANSFORM applies it, ML.FEATURE_INFO describes its input.
    ModelType("transform_only", "transform", "transform", functions=("TRANSFORM", "FEATURE_INFO")),
    # Time series (sqlml.training.forecast, sqlml.core.forecasting): one model per series, fitted
    # and forecast at CREATE MODEL; the forecasting functions read what was stored.
    ModelType(
        "arima_plus",
        "forecasting",
        "arima",
        _ARIMA,
        functions=FORECASTING_FUNCTIONS,
        accepts=_ARIMA_ACCEPTS,
        no_effect={
            "adjust_step_changes": "step changes are not detected yet; the series is fitted as "
            "it is (spikes and dips are cleaned)",
            "auto_arima_min_order": "the search starts from the smallest orders",
        },
    ),
)

#: Every model type by name, in the registry's order (which messages list them in).
MODEL_TYPES: Mapping[str, ModelType] = MappingProxyType({t.name: t for t in ENTRIES})
NAMES: tuple[str, ...] = tuple(MODEL_TYPES)
ALIASES: Mapping[str, str] = MappingProxyType(
    {alias: t.name for t in ENTRIES for alias in t.aliases}
)


def get(name: str) -> ModelType:
    return MODEL_TYPES[name]


def names(
    *,
    task: str | None = None,
    family: str | tuple[str, ...] | None = None,
    taking: str | None = None,
) -> tuple[str, ...]:
    """Model type names, in registry order, by task, family, or an option they take."""
    families = (family,) if isinstance(family, str) else family
    return tuple(
        t.name
        for t in ENTRIES
        if (task is None or t.task == task)
        and (families is None or t.family in families)
        and (taking is None or taking in t.options)
    )


def task_of(model_type: str) -> str:
    """The task of a trained model type (clustering for the rest, as stored specs have it)."""
    return MODEL_TYPES[model_type].task or "clustering"


AUTOML_TYPES = names(family="automl")
#: Trained with scikit-learn by sqlml's own fit (the scikit-learn path's model types).
TRAINED = tuple(t.name for t in ENTRIES if t.sklearn is not None)
CLASSIFIERS = frozenset(names(task="classification")) - frozenset(AUTOML_TYPES)
REGRESSORS = frozenset(names(task="regression")) - frozenset(AUTOML_TYPES)
TREES = frozenset(names(family=("forest", "boosted_tree")))
LINEAR = frozenset(names(family="linear"))
BOOSTED = frozenset(names(family="boosted_tree"))
#: automl's candidates per task, cheapest first: when the budget runs out, the quick ones were tried.
AUTOML_CANDIDATES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        task: tuple(
            t.name
            for t in sorted(ENTRIES, key=lambda t: t.automl_rank or 0)
            if t.task == task and t.automl_rank is not None
        )
        for task in ("classification", "regression")
    }
)
DEFAULT_SPACES: Mapping[str, Mapping[str, Space]] = MappingProxyType(
    {t.name: t.search_space for t in ENTRIES if t.search_space}
)
#: Trained on Spark's executors (the rest are collected and trained with scikit-learn).
DISTRIBUTED = tuple(t.name for t in ENTRIES if t.spark is not None)


def for_family(family: str, task: str) -> str:
    """Redshift's MODEL_TYPE family and problem type -> the model type (kmeans has one)."""
    found = [t.name for t in ENTRIES if t.family == family and t.task in (task, "clustering")]
    if not found:
        raise KeyError((family, task))
    return found[0]


def make_estimator(options: ModelOptions, n_rows: int) -> sklearn.EstimatorPlan:
    """The estimator of ``options.model_type``, from its registry entry's scikit-learn maker."""
    maker = get(options.model_type).sklearn
    assert maker is not None, options.model_type
    return maker(options, n_rows, options.get("random_seed", 42))
