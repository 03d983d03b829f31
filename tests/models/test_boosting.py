"""Boosted trees are XGBoost's, as BigQuery's are: every option of
https://cloud.google.com/bigquery/docs/reference/standard-sql/bigqueryml-syntax-create-boosted-tree
reaches the fitted booster as the page documents (read back from XGBoost's own configuration), and
the stored ONNX graph scores as XGBoost itself does, DART and boosted random forests included.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
import xgboost

import sqlml
from sqlml.models.options import validate
from sqlml.models.registry import make_estimator


def _fitted_config(options: dict[str, Any], classes: int = 2) -> tuple[dict[str, Any], Any]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 5))
    y = (x[:, 0] + x[:, 1] > 0).astype(int) if classes == 2 else rng.integers(0, classes, 400)
    model_type = options.pop("model_type", "boosted_tree_classifier")
    plan = make_estimator(validate({"model_type": model_type, **options}, "m"), len(x))
    plan.estimator.fit(x, y)
    booster = plan.estimator.get_booster()
    return json.loads(booster.save_config())["learner"], booster


def _tree_param(learner: dict[str, Any]) -> dict[str, str]:
    boosted = learner["gradient_booster"]
    return (boosted.get("gbtree") or boosted)["tree_train_param"]


# (BigQuery option, value, XGBoost's tree_train_param name, the value XGBoost reports)
TREE_PARAMS = [
    ("learn_rate", 0.15, "eta", 0.15),
    ("max_tree_depth", 3, "max_depth", 3),
    ("subsample", 0.7, "subsample", 0.7),
    ("min_split_loss", 0.4, "gamma", 0.4),
    ("l1_reg", 0.6, "alpha", 0.6),
    ("l2_reg", 2.5, "lambda", 2.5),
    ("min_tree_child_weight", 4, "min_child_weight", 4),
    ("colsample_bytree", 0.6, "colsample_bytree", 0.6),
    ("colsample_bylevel", 0.5, "colsample_bylevel", 0.5),
    ("colsample_bynode", 0.4, "colsample_bynode", 0.4),
]


@pytest.mark.parametrize(("option", "value", "name", "expected"), TREE_PARAMS)
def test_each_tree_option_is_the_boosters_parameter(
    option: str, value: Any, name: str, expected: float
) -> None:
    learner, _ = _fitted_config({option: value})
    assert float(_tree_param(learner)[name]) == pytest.approx(expected, rel=1e-6)


def test_the_defaults_reach_the_booster() -> None:
    """BigQuery's depth 6, l2_reg 1.0, l1_reg 0 and HIST; sqlml's learn_rate 0.1 (benchmarks/
    quality.py) and, with early_stop = FALSE, 100 rounds."""
    learner, booster = _fitted_config({"early_stop": False})
    params = _tree_param(learner)
    assert float(params["eta"]) == pytest.approx(0.1)
    assert int(params["max_depth"]) == 6
    assert float(params["lambda"]) == 1.0 and float(params["alpha"]) == 0.0
    assert learner["gradient_booster"]["gbtree_train_param"]["tree_method"] == "hist"
    assert booster.num_boosted_rounds() == 100


def test_default_early_stopping_keeps_the_best_round() -> None:
    """With an evaluation split: up to 500 rounds, stopped 20 rounds after the evaluation loss last
    improved, the booster cut to the best round (computed here from XGBoost's own predictions)."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=(600, 4))
    y = (x[:, 0] + rng.normal(0, 1.0, 600) > 0).astype(int)  # noisy: the eval loss turns up
    plan = make_estimator(validate({"model_type": "boosted_tree_classifier"}, "m"), 400)
    plan.estimator.fit(x[:400], y[:400], evaluation=(x[400:], y[400:]))
    rounds = plan.estimator.get_booster().num_boosted_rounds()
    reference = xgboost.XGBClassifier(
        n_estimators=500, learning_rate=0.1, max_depth=6, tree_method="hist", random_state=42
    ).fit(x[:400], y[:400])
    losses = []
    for r in range(1, 501):
        p = reference.predict_proba(x[400:], iteration_range=(0, r))[:, 1].astype(np.float64)
        losses.append(-np.mean(y[400:] * np.log(p) + (1 - y[400:]) * np.log(1 - p)))
    best = int(np.argmin(losses[: rounds + 20]))
    assert rounds == best + 1
    assert all(loss >= losses[best] for loss in losses[best + 1 : best + 21])
    assert rounds < 500


@pytest.mark.parametrize(
    ("given", "expected"),
    [("AUTO", "hist"), ("HIST", "hist"), ("EXACT", "exact"), ("APPROX", "approx")],
)
def test_tree_method(given: str, expected: str) -> None:
    learner, _ = _fitted_config({"tree_method": given})
    assert learner["gradient_booster"]["gbtree_train_param"]["tree_method"] == expected


def test_dart_booster_and_its_options() -> None:
    learner, _ = _fitted_config(
        {"booster_type": "DART", "dart_normalize_type": "FOREST", "dropout": 0.25}
    )
    boosted = learner["gradient_booster"]
    assert boosted["name"] == "dart"
    assert boosted["dart_train_param"]["normalize_type"] == "forest"
    assert float(boosted["dart_train_param"]["rate_drop"]) == pytest.approx(0.25)


def test_num_parallel_tree_and_max_iterations() -> None:
    learner, booster = _fitted_config(
        {"num_parallel_tree": 3, "max_iterations": 4, "early_stop": False}, classes=3
    )
    model = learner["gradient_booster"]["gbtree_model_param"]
    assert int(model["num_parallel_tree"]) == 3
    assert int(model["num_trees"]) == 4 * 3 * 3  # rounds × trees per round × classes
    assert booster.num_boosted_rounds() == 4


def test_early_stop_ends_at_the_first_round_of_little_progress() -> None:
    """MIN_REL_PROGRESS: "each iteration must reduce the loss by [that share] for training to
    continue"; the round that falls short is the last one built."""
    _, booster = _fitted_config({"min_rel_progress": 0.2})
    rounds = booster.num_boosted_rounds()
    assert 1 < rounds < 20
    _, full = _fitted_config({"early_stop": False})
    losses = []
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 5))
    y = (x[:, 0] + x[:, 1] > 0).astype(int)
    for r in range(1, 21):  # the training log loss after each round, computed here
        p = full.predict(xgboost.DMatrix(x), iteration_range=(0, r)).astype(np.float64)
        losses.append(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))
    progress = [(a - b) / a for a, b in zip(losses, losses[1:], strict=False)]
    first_small = next(i for i, v in enumerate(progress) if v < 0.2)
    assert rounds == first_small + 2  # rounds 1..first_small+1 improved enough, then one more


@pytest.fixture
def con(tmp_path: Any) -> Any:
    connection = sqlml.connect(str(tmp_path / "boost.duckdb"))
    yield connection
    connection.close()


def _load(con: Any, x: np.ndarray, y: np.ndarray) -> None:
    table = pa.table({**{f"x{j}": x[:, j] for j in range(x.shape[1])}, "label": y})
    raw = con.executor.backend.con
    raw.register("source", table)
    raw.execute("CREATE TABLE t AS SELECT * FROM source")
    raw.unregister("source")


@pytest.mark.parametrize(
    ("options", "params"),
    [
        (
            "booster_type = 'DART', dropout = 0.3, dart_normalize_type = 'FOREST'",
            {"booster": "dart", "rate_drop": 0.3, "normalize_type": "forest"},
        ),
        ("num_parallel_tree = 3", {"num_parallel_tree": 3}),
    ],
)
def test_the_onnx_graph_scores_as_xgboost_does(con: Any, options: str, params: dict) -> None:
    """A DART model (each tree weighted) and a multiclass boosted random forest (three trees per
    class and round) give ML.PREDICT's probabilities of XGBoost itself, fitted here."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(300, 4))
    y = np.digitize(x[:, 0] + 0.5 * x[:, 1], [-0.5, 0.5])  # three classes
    _load(con, x, y)
    con.execute(
        f"CREATE MODEL m OPTIONS (model_type = 'boosted_tree_classifier', {options}, "
        "max_iterations = 6, learn_rate = 0.3, early_stop = FALSE, data_split_method = 'NO_SPLIT') "
        "AS SELECT * FROM t"
    )
    rows = con.execute("SELECT predicted_label_probs FROM ML.PREDICT(MODEL m, TABLE t)").fetchall()
    got = np.array([[p["prob"] for p in sorted(r[0], key=lambda p: p["label"])] for r in rows])
    reference = xgboost.XGBClassifier(
        n_estimators=6,
        learning_rate=0.3,
        max_depth=6,
        tree_method="hist",
        random_state=42,
        **params,
    ).fit(x, y)
    np.testing.assert_allclose(got, reference.predict_proba(x), atol=1e-5)
