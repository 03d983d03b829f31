"""Every option on BigQuery ML's CREATE MODEL pages for the model types sqlml has is known: honoured,
accepted with a notice, or refused as "not supported yet" (with the documented default accepted).

The option lists are written out here from the syntax blocks of the pages (apstndb/bigquery-docs-mirror):
https://cloud.google.com/bigquery/docs/reference/standard-sql/bigqueryml-syntax-create-glm,
…-create-boosted-tree, …-create-random-forest, …-create-dnn-models, …-create-kmeans,
…-create-pca, …-create-automl.
"""

from __future__ import annotations

from typing import Any

import pytest

import sqlml
from sqlml.models.options import validate
from sqlml.plan.planner import CLOUD_OPTIONS

# Options of every supervised page beside the model-specific ones (data split, tuning, registry).
_COMMON = [
    "enable_global_explain",
    "early_stop",
    "min_rel_progress",
    "input_label_cols",
    "data_split_method",
    "data_split_eval_fraction",
    "data_split_test_fraction",
    "data_split_col",
    "num_trials",
    "max_parallel_trials",
    "hparam_tuning_algorithm",
    "hparam_tuning_objectives",
    "kms_key_name",
]
_REGISTRY = ["model_registry", "vertex_ai_model_id", "vertex_ai_model_version_aliases"]
DOCUMENTED = {
    "linear_reg": "optimize_strategy learn_rate_strategy learn_rate ls_init_learn_rate "
    "calculate_p_values fit_intercept category_encoding_method l1_reg l2_reg max_iterations "
    "warm_start",
    # The page's AUTO_CLASS_WEIGHTS and CLASS_WEIGHTS: "Only use this option with logistic
    # regression models" (and classifiers on the other pages): refused for regressors.
    "logistic_reg": "auto_class_weights class_weights fit_intercept calculate_p_values",
    "boosted_tree_regressor": "approx_global_feature_contrib category_encoding_method "
    "booster_type dart_normalize_type num_parallel_tree max_tree_depth dropout l1_reg l2_reg "
    "learn_rate tree_method min_tree_child_weight colsample_bytree colsample_bylevel "
    "colsample_bynode min_split_loss subsample instance_weight_col xgboost_version "
    "max_iterations",
    "random_forest_classifier": "approx_global_feature_contrib num_parallel_tree max_tree_depth "
    "l1_reg l2_reg tree_method min_tree_child_weight colsample_bytree colsample_bylevel "
    "colsample_bynode min_split_loss subsample instance_weight_col xgboost_version "
    "auto_class_weights class_weights",
    "dnn_classifier": "learn_rate optimizer l1_reg l2_reg activation_fn batch_size dropout "
    "hidden_units integrated_gradients_num_steps tf_version auto_class_weights class_weights "
    "max_iterations warm_start",
    "kmeans": "num_clusters kmeans_init_method kmeans_init_col distance_type standardize_features "
    "max_iterations early_stop min_rel_progress warm_start num_trials max_parallel_trials "
    "hparam_tuning_algorithm hparam_tuning_objectives kms_key_name",
    "pca": "num_principal_components pca_explained_variance_ratio scale_features pca_solver "
    "kms_key_name",
    "automl_classifier": "budget_hours optimization_objective input_label_cols data_split_col "
    "kms_key_name",
}


def known(model_type: str) -> list[str]:
    names = DOCUMENTED[model_type].split() + _REGISTRY
    if model_type not in ("kmeans", "pca", "automl_classifier"):
        names += _COMMON
    return sorted(set(names))


@pytest.mark.parametrize("model_type", list(DOCUMENTED))
def test_every_documented_option_is_known(model_type: str) -> None:
    """None of them is an "Unknown option" or "does not apply" (a cloud one is the planner's)."""
    from sqlml.models import registry
    from sqlml.models.options import OPTIONS

    for name in known(model_type):
        if name in CLOUD_OPTIONS:
            continue
        assert name in OPTIONS, name
        applies = OPTIONS[name].applies_to
        assert applies is None or model_type in applies, (name, model_type)
    assert registry.get(model_type)  # the type itself


# (model_type, options, the value read back or None) — defaults and values honoured as documented
ACCEPTED = [
    ("linear_reg", {"fit_intercept": False}, ("fit_intercept", False)),
    ("linear_reg", {"category_encoding_method": "one_hot_encoding"}, None),
    ("boosted_tree_classifier", {"booster_type": "gbtree", "dart_normalize_type": "tree"}, None),
    ("boosted_tree_classifier", {"category_encoding_method": "LABEL_ENCODING"}, None),
    # XGBoost's own (sqlml.models.boosting): DART, boosted random forests, alpha, every tree_method
    ("boosted_tree_regressor", {"booster_type": "DART", "dropout": 0.2}, ("dropout", 0.2)),
    ("boosted_tree_regressor", {"num_parallel_tree": 4}, ("num_parallel_tree", 4)),
    ("boosted_tree_regressor", {"l1_reg": 0.5, "tree_method": "APPROX"}, ("l1_reg", 0.5)),
    ("boosted_tree_classifier", {"colsample_bytree": 0.5}, ("colsample_bytree", 0.5)),
    ("boosted_tree_regressor", {"min_tree_child_weight": 7}, ("min_tree_child_weight", 7)),
    ("random_forest_regressor", {"tree_method": "hist", "l2_reg": 1.0, "l1_reg": 0}, None),
    ("random_forest_classifier", {"colsample_bynode": 0.8}, ("colsample_bynode", 0.8)),
    ("dnn_regressor", {"activation_fn": "tanh", "optimizer": "sgd"}, ("activation_fn", "TANH")),
    ("dnn_regressor", {"dropout": 0.0, "l1_reg": 0.0, "batch_size": 32}, None),
    ("kmeans", {"distance_type": "cosine"}, ("distance_type", "COSINE")),
    (
        "kmeans",
        {"kmeans_init_method": "custom", "kmeans_init_col": "s"},
        ("kmeans_init_method", "CUSTOM"),
    ),
    (
        "automl_regressor",
        {"optimization_objective": "minimize_mae"},
        ("hparam_tuning_objectives", ["mean_absolute_error"]),
    ),
]


@pytest.mark.parametrize(("model_type", "given", "read"), ACCEPTED)
def test_documented_values_are_accepted(
    model_type: str, given: dict[str, Any], read: tuple[str, Any] | None
) -> None:
    options = validate({"model_type": model_type, **given}, "m")
    if read is not None:
        assert options[read[0]] == read[1]


# (model_type, options, words of the NotSupportedError)
NOT_YET = [
    ("random_forest_regressor", {"colsample_bytree": 0.5}, ["colsample_bytree = 0.5", "1.0"]),
    ("random_forest_regressor", {"tree_method": "APPROX"}, ["tree_method = 'APPROX'", "'EXACT'"]),
    ("random_forest_classifier", {"min_tree_child_weight": 5}, ["hessians"]),
    ("dnn_classifier", {"activation_fn": "ELU"}, ["'ELU'", "'RELU', 'SIGMOID', 'TANH'"]),
    ("dnn_classifier", {"optimizer": "ADAGRAD"}, ["'ADAGRAD'", "'ADAM', 'SGD'"]),
    ("dnn_classifier", {"dropout": 0.1}, ["dropout = 0.1", "no dropout"]),
    ("dnn_regressor", {"warm_start": True}, ["warm_start = TRUE"]),
    ("kmeans", {"warm_start": True}, ["warm_start = TRUE"]),
    ("linear_reg", {"category_encoding_method": "DUMMY_ENCODING"}, ["'DUMMY_ENCODING'"]),
    ("linear_reg", {"data_split_test_fraction": 0.1}, ["data_split_test_fraction = 0.1"]),
    ("automl_classifier", {"optimization_objective": "MINIMIZE_RMSLE"}, ["'MINIMIZE_RMSLE'"]),
    (
        "automl_classifier",
        {"optimization_objective": ["MAXIMIZE_PRECISION_AT_RECALL", 0.3]},
        ["STRUCT(...)", "'MAXIMIZE_AU_ROC'"],
    ),
]


@pytest.mark.parametrize(("model_type", "given", "words"), NOT_YET)
def test_what_sqlml_cannot_train_as_documented_is_not_supported_yet(
    model_type: str, given: dict[str, Any], words: list[str]
) -> None:
    with pytest.raises(sqlml.NotSupportedError) as caught:
        validate({"model_type": model_type, **given}, "m")
    assert "is not supported yet" in str(caught.value)
    for word in words:
        assert word in str(caught.value)


def test_a_search_space_is_checked_value_by_value() -> None:
    from sqlml.models.space import HParamCandidates

    validate(
        {"model_type": "dnn_regressor", "activation_fn": HParamCandidates(("RELU", "TANH"))}, "m"
    )
    with pytest.raises(sqlml.NotSupportedError, match="'SELU'"):
        validate(
            {"model_type": "dnn_regressor", "activation_fn": HParamCandidates(("RELU", "SELU"))},
            "m",
        )


NOTICED = [
    ("linear_reg", {"calculate_p_values": True}, "ML.ADVANCED_WEIGHTS"),
    ("linear_reg", {"warm_start": True}, "trained from scratch"),
    ("logistic_reg", {"learn_rate_strategy": "CONSTANT", "learn_rate": 0.2}, "learning rate"),
    ("linear_reg", {"learn_rate": 0.2}, "learning rate"),  # Redshift's linear learner sets it
    ("boosted_tree_classifier", {"xgboost_version": "2.1"}, "stores the model as ONNX"),
    ("random_forest_classifier", {"xgboost_version": "2.1"}, "not XGBoost"),
    ("random_forest_regressor", {"approx_global_feature_contrib": True}, "approximation"),
    ("dnn_regressor", {"tf_version": "2.8.0"}, "not TensorFlow"),
    (
        "dnn_regressor",
        {"enable_global_explain": True, "integrated_gradients_num_steps": 20},
        "sampled Shapley",
    ),
]


@pytest.mark.parametrize(("model_type", "given", "why"), NOTICED)
def test_options_with_no_effect_here_give_a_notice(
    model_type: str, given: dict[str, Any], why: str
) -> None:
    options = validate({"model_type": model_type, **given}, "m")
    assert any("has no effect here" in n and why in n for n in options.notices)
    assert validate({"model_type": model_type}, "m").notices == ()


BAD = [
    (
        "linear_reg",
        {"learn_rate": 0.1, "learn_rate_strategy": "LINE_SEARCH"},
        "learn_rate_strategy = 'CONSTANT'",
    ),
    ("linear_reg", {"optimize_strategy": "NORMAL_EQUATION", "l1_reg": 1.0}, "NORMAL_EQUATION"),
    ("kmeans", {"kmeans_init_method": "CUSTOM"}, "kmeans_init_col"),
    ("kmeans", {"kmeans_init_col": "s"}, "kmeans_init_method = 'CUSTOM'"),
    ("kmeans", {"distance_type": "manhattan"}, "'EUCLIDEAN', 'COSINE'"),
    ("dnn_regressor", {"integrated_gradients_num_steps": 10}, "enable_global_explain = TRUE"),
    ("dnn_regressor", {"activation_fn": "SOFTPLUS"}, "'RELU6'"),
    ("random_forest_regressor", {"colsample_bynode": 0}, "(0, 1]"),
    ("boosted_tree_regressor", {"min_tree_child_weight": -1}, "≥ 0"),
    ("boosted_tree_regressor", {"xgboost_version": "3.0"}, "'0.9', '1.1', '2.1'"),
    ("random_forest_regressor", {"booster_type": "GBTREE"}, "does not apply"),
    ("pca", {"distance_type": "COSINE"}, "does not apply"),
    # create-boosted-tree: "You can't specify this option if AUTO_CLASS_WEIGHTS is TRUE or if
    # CLASS_WEIGHTS is set."
    (
        "boosted_tree_classifier",
        {"instance_weight_col": "w", "auto_class_weights": True},
        "'instance_weight_col' with class weights",
    ),
]


@pytest.mark.parametrize(("model_type", "given", "words"), BAD)
def test_bad_values_name_the_option_and_what_it_takes(
    model_type: str, given: dict[str, Any], words: str
) -> None:
    with pytest.raises(sqlml.ProgrammingError, match=None) as caught:
        validate({"model_type": model_type, **given}, "m")
    assert words in str(caught.value)
