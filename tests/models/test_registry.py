"""The model-type registry is the one list of model types: every per-type table comes from it.

The expected values are written out here from the BigQuery ML CREATE MODEL reference (which
options each model type takes: https://cloud.google.com/bigquery/docs/reference/standard-sql/
bigqueryml-syntax-create) and from what each scikit-learn estimator is, not read back from the
registry; and a scan of the package's source fails on any second list of model types.
"""

from __future__ import annotations

import ast
import pathlib

import pytest
import sklearn.base

from sqlml.models import registry
from sqlml.models.options import MODEL_TYPES, OPTIONS, ModelOptions, validate
from sqlml.models.registry import make_estimator

PACKAGE = pathlib.Path(__file__).resolve().parents[2] / "sqlml"

# (type, task, family) as BigQuery ML documents them; onnx and automl decide the task later.
DOCUMENTED = [
    ("linear_reg", "regression", "linear"),
    ("logistic_reg", "classification", "linear"),
    ("random_forest_classifier", "classification", "forest"),
    ("random_forest_regressor", "regression", "forest"),
    ("boosted_tree_classifier", "classification", "boosted_tree"),
    ("boosted_tree_regressor", "regression", "boosted_tree"),
    ("dnn_classifier", "classification", "dnn"),
    ("dnn_regressor", "regression", "dnn"),
    ("kmeans", "clustering", "kmeans"),
    ("pca", "dimensionality_reduction", "pca"),
    ("onnx", None, "onnx"),
    ("automl", None, "automl"),
    ("automl_classifier", "classification", "automl"),
    ("automl_regressor", "regression", "automl"),
    ("transform_only", "transform", "transform"),  # the create-transform page
    ("arima_plus", "forecasting", "arima"),  # the create-time-series page
]


TREES = (
    "random_forest_classifier",
    "random_forest_regressor",
    "boosted_tree_classifier",
    "boosted_tree_regressor",
)
ALL_SUPERVISED_TRAINED = ("linear_reg", "logistic_reg", *TREES, "dnn_classifier", "dnn_regressor")


def test_the_registry_holds_the_documented_model_types_in_order() -> None:
    assert [(t.name, t.task, t.family) for t in registry.ENTRIES] == DOCUMENTED
    assert tuple(name for name, _, _ in DOCUMENTED) == MODEL_TYPES


@pytest.mark.parametrize(
    ("option", "types"),
    [
        # BigQuery: L1_REG and L2_REG are on the GLM, random forest, boosted tree and DNN pages;
        # LEARN_RATE on the GLM, boosted tree and DNN pages.
        ("l1_reg", ALL_SUPERVISED_TRAINED),
        ("l2_reg", ALL_SUPERVISED_TRAINED),
        (
            "learn_rate",
            ("linear_reg", "logistic_reg")
            + ("boosted_tree_classifier", "boosted_tree_regressor")
            + ("dnn_classifier", "dnn_regressor"),
        ),
        # create-boosted-tree and create-random-forest: TREE_METHOD, COLSAMPLE_BYNODE; only the
        # boosted tree page has BOOSTER_TYPE; DROPOUT is on the boosted tree and DNN pages.
        ("tree_method", TREES),
        ("colsample_bynode", TREES),
        ("booster_type", ("boosted_tree_classifier", "boosted_tree_regressor")),
        (
            "dropout",
            (
                "boosted_tree_classifier",
                "boosted_tree_regressor",
                "dnn_classifier",
                "dnn_regressor",
            ),
        ),
        ("activation_fn", ("dnn_classifier", "dnn_regressor")),
        ("distance_type", ("kmeans",)),
        ("kmeans_init_col", ("kmeans",)),
        # create-glm and create-boosted-tree have CATEGORY_ENCODING_METHOD, create-random-forest not.
        (
            "category_encoding_method",
            ("linear_reg", "logistic_reg", "boosted_tree_classifier", "boosted_tree_regressor"),
        ),
        ("warm_start", ("linear_reg", "logistic_reg", "dnn_classifier", "dnn_regressor", "kmeans")),
        (
            "max_tree_depth",
            (
                "random_forest_classifier",
                "random_forest_regressor",
                "boosted_tree_classifier",
                "boosted_tree_regressor",
            ),
        ),
        ("num_clusters", ("kmeans",)),
        ("num_principal_components", ("pca",)),
        ("hidden_units", ("dnn_classifier", "dnn_regressor")),
        (
            "class_weights",
            (
                "logistic_reg",
                "random_forest_classifier",
                "boosted_tree_classifier",
                "dnn_classifier",
            ),
        ),
        ("budget_seconds", ("automl", "automl_classifier", "automl_regressor")),
        ("model_path", ("onnx",)),
        ("random_seed", None),
        ("data_split_method", None),
    ],
)
def test_option_applies_to_comes_from_the_entries(
    option: str, types: tuple[str, ...] | None
) -> None:
    assert OPTIONS[option].applies_to == types
    taken_by = registry.names(taking=option)
    assert taken_by == (types or ())


def test_every_option_an_entry_names_is_declared() -> None:
    named = {o for entry in registry.ENTRIES for o in entry.options}
    assert named <= set(OPTIONS)
    for name, option in OPTIONS.items():
        assert option.applies_to == (registry.names(taking=name) if name in named else None)


def test_aliases_resolve_through_validation() -> None:
    # BigQuery's and Redshift's other names: each becomes the registry type it aliases.
    expected = {
        "linear_regression": "linear_reg",
        "logistic_regression": "logistic_reg",
        "random_forest": "random_forest_classifier",
        "xgboost": "boosted_tree_classifier",
        "boosted_tree": "boosted_tree_classifier",
        "mlp": "dnn_classifier",
        "linear_learner": "logistic_reg",
        "k_means": "kmeans",
    }
    assert dict(registry.ALIASES) == expected
    for alias, name in expected.items():
        assert validate({"model_type": alias.upper()}, "m").model_type == name


@pytest.mark.parametrize(
    "entry", [t for t in registry.ENTRIES if t.sklearn is not None], ids=lambda t: t.name
)
def test_each_scikit_learn_maker_builds_an_estimator_of_its_task(entry: registry.ModelType) -> None:
    options = validate({"model_type": entry.name}, "m")
    estimator = make_estimator(options, 1000).estimator
    is_task = {
        "classification": sklearn.base.is_classifier,
        "regression": sklearn.base.is_regressor,
        "clustering": sklearn.base.is_clusterer,
        "dimensionality_reduction": lambda e: hasattr(e, "inverse_transform"),
    }[entry.task]
    assert is_task(estimator), (entry.name, type(estimator).__name__)


def test_derived_sets() -> None:
    assert {
        "logistic_reg",
        "random_forest_classifier",
        "boosted_tree_classifier",
        "dnn_classifier",
    } == registry.CLASSIFIERS
    assert {
        "linear_reg",
        "random_forest_regressor",
        "boosted_tree_regressor",
        "dnn_regressor",
    } == registry.REGRESSORS
    assert {
        "random_forest_classifier",
        "random_forest_regressor",
        "boosted_tree_classifier",
        "boosted_tree_regressor",
    } == registry.TREES
    # automl tries the cheapest first, so a short budget has tried the quick types.
    assert registry.AUTOML_CANDIDATES["classification"][0] == "logistic_reg"
    assert registry.AUTOML_CANDIDATES["regression"][0] == "linear_reg"
    assert set(registry.AUTOML_CANDIDATES["classification"]) == registry.CLASSIFIERS
    assert set(registry.AUTOML_CANDIDATES["regression"]) == registry.REGRESSORS
    # Redshift's MODEL_TYPE families and problem types (sqlml.plan maps the words to families).
    assert registry.for_family("linear", "classification") == "logistic_reg"
    assert registry.for_family("linear", "regression") == "linear_reg"
    assert registry.for_family("boosted_tree", "regression") == "boosted_tree_regressor"
    assert registry.for_family("dnn", "classification") == "dnn_classifier"
    assert registry.for_family("kmeans", "classification") == "kmeans"
    assert registry.for_family("automl", "classification") == "automl_classifier"


def test_model_options_are_what_validation_returns() -> None:
    checked = validate({"model_type": "kmeans", "num_clusters": 3}, "m")
    assert isinstance(checked, ModelOptions)
    assert checked["num_clusters"] == 3 and "l1_reg" not in checked.values


def _model_type_collections(tree: ast.AST) -> list[tuple[int, list[str]]]:
    """Tuples, lists, sets and dict keys of two or more string constants that are all model types."""
    known = set(MODEL_TYPES)
    found = []
    for node in ast.walk(tree):
        items: list[ast.expr] = []
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            items = list(node.elts)
        elif isinstance(node, ast.Dict):
            items = [k for k in node.keys if k is not None]
        names = [i.value for i in items if isinstance(i, ast.Constant) and isinstance(i.value, str)]
        if len(names) >= 2 and len(names) == len(items) and set(names) <= known:
            found.append((node.lineno, names))
    return found


def test_no_second_list_of_model_types_in_the_package() -> None:
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path == PACKAGE / "models" / "registry.py":
            continue
        for line, names in _model_type_collections(ast.parse(path.read_text())):
            offenders.append(f"{path.relative_to(PACKAGE.parent)}:{line} {names}")
    assert offenders == []


def test_the_scan_finds_a_list_of_model_types() -> None:
    # The scan above must be able to fail: the same check on a written-out list.
    tree = ast.parse('TYPES = ("linear_reg", "logistic_reg")\nOTHER = ("linear_reg", "x")')
    assert _model_type_collections(tree) == [(1, ["linear_reg", "logistic_reg"])]
