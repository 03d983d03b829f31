"""Hyperparameter tuning, automl, ML.TRIAL_INFO and training progress.

Real DuckDB files and ONNX Runtime, tiny data and few trials. Expected scores are recomputed with
scikit-learn on the same rows (same folds, same seed), never read back from sqlml's own output.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import Ridge
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import KFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import sqlml
from sqlml import errors
from sqlml.models.options import validate
from sqlml.models.space import HParamCandidates, HParamRange
from sqlml.plan.planner import plan
from sqlml.sql import split_statements
from sqlml.training import tuning

# XOR of two thresholds: a depth-1 boosted tree (a sum of stumps) cannot learn it, depth 8 can.
XOR = """
    CREATE TABLE checker AS
    SELECT i AS id, (i % 10)::DOUBLE AS x1, ((i * 7) % 13)::DOUBLE AS x2,
           ((i % 10) > 4) <> (((i * 7) % 13) > 6) AS y, i % 4 = 0 AS is_eval
    FROM range(200) t(i)
"""
# y = 3 x1 - 2 x2 + small deterministic noise: linear models win.
LINE = """
    CREATE TABLE line AS
    SELECT i AS id, (i / 10.0)::DOUBLE AS x1, ((i * 7) % 11)::DOUBLE AS x2,
           3 * (i / 10.0) - 2 * ((i * 7) % 11) + ((i * 37) % 5 - 2) / 100.0 AS y
    FROM range(60) t(i)
"""
BLOBS = """
    CREATE TABLE blobs AS
    SELECT (i % 3) * 10.0 + (i % 5) / 10.0 AS x1, (i % 3) * -10.0 + (i % 7) / 10.0 AS x2
    FROM range(60) t(i)
"""


def fetch(cur: sqlml.Cursor, sql: str) -> list[dict[str, Any]]:
    cur.execute(sql)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def stored(cur: sqlml.Cursor, name: str) -> dict[str, Any]:
    (row,) = fetch(
        cur, f"SELECT model_type, options, training_info FROM sqlml.models WHERE name = '{name}'"
    )
    return {
        "model_type": row["model_type"],
        "options": json.loads(row["options"]),
        "info": json.loads(row["training_info"]),
    }


def notices(cur: sqlml.Cursor) -> str:
    return " ".join(str(text) for _, text in cur.messages)


@pytest.fixture
def cur(tmp_path: Path) -> Iterator[sqlml.Cursor]:
    connection = sqlml.connect(str(tmp_path / "tuning.duckdb"))
    cursor = connection.cursor()
    for table in (XOR, LINE, BLOBS):
        cursor.execute(table)
    yield cursor
    connection.close()


def options_of(sql: str) -> dict[str, Any]:
    (statement,) = split_statements(sql)
    return plan(statement).options


# --- parsing and validation (no engine) ---------------------------------------------------------------


def test_search_spaces_parse_to_values() -> None:
    options = options_of(
        "CREATE MODEL m OPTIONS(model_type='dnn_classifier', learn_rate=HPARAM_RANGE(0.001, 0.1), "
        "max_iterations=hparam_range(10, 50), l2_reg=HPARAM_CANDIDATES([0, 0.5, 0.5]), "
        "hidden_units=HPARAM_CANDIDATES([[8], [16, 8]])) AS SELECT 1"
    )
    assert options["learn_rate"] == HParamRange(0.001, 0.1)
    assert options["max_iterations"] == HParamRange(10, 50)
    assert options["l2_reg"] == HParamCandidates((0, 0.5, 0.5))
    assert options["hidden_units"] == HParamCandidates(([8], [16, 8]))
    checked = validate({**options, "input_label_cols": ["y"]}, "m")
    assert checked["learn_rate"] == HParamRange(0.001, 0.1)
    assert checked["max_iterations"] == HParamRange(10, 50)
    # candidates are checked one by one as the option's own value (0 -> 0.0) and deduplicated
    assert checked["l2_reg"] == HParamCandidates((0.0, 0.5))
    assert checked["hidden_units"] == HParamCandidates(([8], [16, 8]))


@pytest.mark.parametrize(
    ("sql_options", "error", "words"),
    [
        (
            "model_type='boosted_tree_classifier', max_tree_depth=HPARAM_RANGE(0, 5)",
            errors.OptionError,
            ["'max_tree_depth' option of CREATE MODEL m must be an integer in [1, 100]; got 0."],
        ),
        (
            "model_type='boosted_tree_classifier', max_tree_depth=HPARAM_CANDIDATES([4, 101])",
            errors.OptionError,
            ["must be an integer in [1, 100]; got 101."],
        ),
        (
            "model_type='boosted_tree_classifier', learn_rate=HPARAM_RANGE(0.5, 0.1)",
            errors.OptionError,
            ["'learn_rate'", "low < high", "HPARAM_RANGE(0.5, 0.1)"],
        ),
        (
            # BigQuery tunes BATCH_SIZE (create-dnn-models), not STANDARDIZE_FEATURES.
            "model_type='kmeans', standardize_features=HPARAM_CANDIDATES([TRUE, FALSE])",
            errors.OptionError,
            [
                "'standardize_features'",
                "cannot be tuned",
                "max_tree_depth",
                "give 'standardize_features' one value",
            ],
        ),
        (
            "model_type='dnn_classifier', hidden_units=HPARAM_RANGE(8, 64)",
            errors.OptionError,
            ["HPARAM_RANGE does not apply", "'hidden_units'", "HPARAM_CANDIDATES"],
        ),
        (
            "model_type='logistic_reg', max_tree_depth=HPARAM_RANGE(2, 5)",
            errors.OptionError,
            ["'max_tree_depth' option does not apply to model_type 'logistic_reg'"],
        ),
        (
            "model_type='logistic_reg', hparam_tuning_objectives=['r2_score']",
            errors.OptionError,
            ["hparam_tuning_objectives", "classification", "'roc_auc'", "['r2_score']"],
        ),
        (
            "model_type='linear_reg', hparam_tuning_objectives=['bogus']",
            errors.OptionError,
            ["regression", "'mean_squared_error'", "['bogus']"],
        ),
        (
            "model_type='linear_reg', hparam_tuning_objectives=['r2_score', 'mean_squared_error']",
            errors.OptionError,
            ["an array of one metric"],
        ),
        (
            "model_type='linear_reg', num_folds=1",
            errors.OptionError,
            ["'num_folds'", "an integer in [2, 100]; got 1."],
        ),
        (
            "model_type='linear_reg', hparam_tuning_algorithm='BAYES'",
            errors.OptionError,
            ["'hparam_tuning_algorithm'", "'GRID_SEARCH'"],
        ),
        (
            "model_type='automl', budget_seconds=0",
            errors.OptionError,
            ["'budget_seconds'", "> 0"],
        ),
        (
            "model_type='linear_reg', budget_seconds=5",
            errors.OptionError,
            ["'budget_seconds' option does not apply to model_type 'linear_reg'"],
        ),
        (
            "model_type='linear_reg', l2_reg=HPARAM_RANGE('a', 2)",
            errors.OptionError,
            ["HPARAM_RANGE takes two numbers"],
        ),
        (
            "model_type='linear_reg', l2_reg=HPARAM_CANDIDATES(1, 2)",
            errors.OptionError,
            ["HPARAM_CANDIDATES takes one array"],
        ),
    ],
)
def test_bad_tuning_options(sql_options: str, error: type[Exception], words: list[str]) -> None:
    with pytest.raises(error) as caught:
        options = options_of(f"CREATE MODEL m OPTIONS({sql_options}) AS SELECT 1")
        validate({**options, "input_label_cols": ["y"]}, "m")
    assert issubclass(error, sqlml.ProgrammingError)
    for word in words:
        assert word in str(caught.value)


def test_objective_names_are_case_insensitive() -> None:
    options = validate(
        {"model_type": "linear_reg", "hparam_tuning_objectives": ["Mean_Squared_Error"]}, "m"
    )
    assert options["hparam_tuning_objectives"] == ["mean_squared_error"]


def test_requested() -> None:
    base = {"model_type": "linear_reg"}
    assert not tuning.requested(validate(base, "m"))
    assert not tuning.requested(validate({**base, "num_trials": 1}, "m"))
    assert tuning.requested(validate({**base, "num_trials": 2}, "m"))
    assert tuning.requested(validate({**base, "l2_reg": HParamCandidates((1, 2))}, "m"))
    assert tuning.requested(validate({"model_type": "automl"}, "m"))


def test_float_ranges_sample_log_uniformly_over_two_decades() -> None:
    rng = np.random.default_rng(0)
    wide = [tuning._sample({"l2_reg": HParamRange(0.001, 10.0)}, rng)["l2_reg"] for _ in range(400)]
    narrow = [
        tuning._sample({"subsample": HParamRange(0.5, 1.0)}, rng)["subsample"] for _ in range(400)
    ]
    depth = [
        tuning._sample({"max_tree_depth": HParamRange(2, 4)}, rng)["max_tree_depth"]
        for _ in range(60)
    ]
    assert all(0.001 <= v <= 10.0 for v in wide)
    # log-uniform: the median is near the geometric mean 0.1, far below the arithmetic mean 5
    assert 0.03 < float(np.median(wide)) < 0.3
    assert 0.7 < float(np.median(narrow)) < 0.8  # uniform: median near 0.75
    assert set(depth) == {2, 3, 4} and all(isinstance(v, int) for v in depth)


# --- random and grid search -------------------------------------------------------------------------


def test_random_search_keeps_the_deeper_tree(cur: sqlml.Cursor) -> None:
    cur.execute(
        "CREATE MODEL deep OPTIONS(model_type='boosted_tree_classifier', input_label_cols=['y'], "
        "max_tree_depth=HPARAM_CANDIDATES([1, 8]), num_trials=2, data_split_method='CUSTOM', "
        "data_split_col='is_eval') AS SELECT x1, x2, y, is_eval FROM checker"
    )
    trials = fetch(cur, "SELECT * FROM ML.TRIAL_INFO(MODEL deep) ORDER BY trial_id")
    assert [d[0] for d in cur.description] == [
        "trial_id",
        "hyperparameters",
        "hparam_tuning_evaluation_metrics",
        "training_loss",
        "eval_loss",
        "status",
        "error_message",
        "is_optimal",
        "model_type",
    ]
    assert [d[1] for d in cur.description][:1] == ["BIGINT"]
    assert [t["trial_id"] for t in trials] == [1, 2]
    depths = sorted(json.loads(t["hyperparameters"])["max_tree_depth"] for t in trials)
    assert depths == [1, 8]
    assert all(t["status"] == "SUCCEEDED" and t["error_message"] is None for t in trials)
    (best,) = [t for t in trials if t["is_optimal"]]
    assert best["eval_loss"] == max(t["eval_loss"] for t in trials)
    assert json.loads(best["hyperparameters"]) == {"max_tree_depth": 8}
    assert json.loads(best["hparam_tuning_evaluation_metrics"]) == {"roc_auc": best["eval_loss"]}

    # the winner's score, recomputed with scikit-learn on the same split
    rows = fetch(cur, "SELECT x1, x2, y, is_eval FROM checker ORDER BY id")
    x = np.array([[r["x1"], r["x2"]] for r in rows])
    y = np.array([r["y"] for r in rows])
    held = np.array([r["is_eval"] for r in rows])
    expected = GradientBoostingClassifier(
        n_estimators=20, learning_rate=0.3, max_depth=8, random_state=42
    ).fit(x[~held], y[~held])
    auc = roc_auc_score(y[held], expected.predict_proba(x[held])[:, 1])
    assert best["eval_loss"] == pytest.approx(auc, abs=1e-9)
    shallow = next(t for t in trials if not t["is_optimal"])
    assert shallow["eval_loss"] < 0.8 < auc

    model = stored(cur, "deep")
    assert model["model_type"] == "boosted_tree_classifier"
    assert model["options"]["max_tree_depth"] == 8  # the chosen value, not the search space
    assert model["info"]["best_trial_id"] == best["trial_id"]
    assert model["info"]["tuning"]["search_space"] == {"max_tree_depth": {"candidates": [1, 8]}}
    # the stored model is the refitted winner: it separates the XOR classes
    (evaluation,) = fetch(
        cur, f"SELECT roc_auc FROM ML.EVALUATE(MODEL deep, STRUCT({best['trial_id']} AS trial_id))"
    )
    assert evaluation["roc_auc"] == pytest.approx(auc, abs=1e-4)


def test_random_search_over_a_small_grid_does_not_repeat(cur: sqlml.Cursor) -> None:
    cur.execute(
        "CREATE MODEL few OPTIONS(model_type='linear_reg', input_label_cols=['y'], "
        "l2_reg=HPARAM_CANDIDATES([0.1, 10]), num_trials=5) AS SELECT x1, x2, y FROM line"
    )
    said = notices(cur)
    assert "2 trials ran instead of num_trials = 5" in said
    # scored on the training rows (under 500 rows, AUTO_SPLIT does not split): said so
    assert "scored on the training rows" in said
    trials = fetch(cur, "SELECT hyperparameters FROM ML.TRIAL_INFO(MODEL few)")
    assert sorted(json.loads(t["hyperparameters"])["l2_reg"] for t in trials) == [0.1, 10.0]


def test_grid_search_runs_every_combination(cur: sqlml.Cursor) -> None:
    cur.execute(
        "CREATE MODEL grid OPTIONS(model_type='boosted_tree_regressor', input_label_cols=['y'], "
        "max_tree_depth=HPARAM_RANGE(1, 2), learn_rate=HPARAM_CANDIDATES([0.1, 0.3]), "
        "max_iterations=5, num_trials=4, hparam_tuning_algorithm='GRID_SEARCH', "
        "hparam_tuning_objectives=['mean_squared_error']) AS SELECT x1, x2, y FROM line"
    )
    trials = fetch(cur, "SELECT * FROM ML.TRIAL_INFO(MODEL grid) ORDER BY trial_id")
    assert [json.loads(t["hyperparameters"]) for t in trials] == [
        {"learn_rate": 0.1, "max_tree_depth": 1},
        {"learn_rate": 0.3, "max_tree_depth": 1},
        {"learn_rate": 0.1, "max_tree_depth": 2},
        {"learn_rate": 0.3, "max_tree_depth": 2},
    ]
    # mean_squared_error is minimized
    (best,) = [t for t in trials if t["is_optimal"]]
    assert best["eval_loss"] == min(t["eval_loss"] for t in trials)
    assert all(t["training_loss"] is not None for t in trials)  # boosting reports its loss


def test_grid_search_larger_than_num_trials_takes_distinct_configurations(
    cur: sqlml.Cursor,
) -> None:
    cur.execute(
        "CREATE MODEL part OPTIONS(model_type='boosted_tree_regressor', input_label_cols=['y'], "
        "max_tree_depth=HPARAM_RANGE(1, 3), learn_rate=HPARAM_CANDIDATES([0.1, 0.3]), "
        "max_iterations=5, num_trials=3, hparam_tuning_algorithm='GRID_SEARCH') "
        "AS SELECT x1, x2, y FROM line"
    )
    trials = fetch(cur, "SELECT hyperparameters FROM ML.TRIAL_INFO(MODEL part)")
    configs = {t["hyperparameters"] for t in trials}
    assert len(trials) == 3 and len(configs) == 3
    for config in map(json.loads, configs):
        assert config["max_tree_depth"] in (1, 2, 3) and config["learn_rate"] in (0.1, 0.3)


@pytest.mark.parametrize(
    ("space", "words"),
    [
        (
            "max_tree_depth=HPARAM_RANGE(1, 50)",
            ["at most 20 values", "has 50", "HPARAM_CANDIDATES"],
        ),
        ("learn_rate=HPARAM_RANGE(0.1, 0.5)", ["cannot enumerate", "'learn_rate'"]),
        ("max_iterations=5", ["GRID_SEARCH", "needs the values to try"]),
    ],
)
def test_grid_search_errors(cur: sqlml.Cursor, space: str, words: list[str]) -> None:
    with pytest.raises(errors.OptionError) as caught:
        cur.execute(
            "CREATE MODEL g OPTIONS(model_type='boosted_tree_regressor', input_label_cols=['y'], "
            f"{space}, num_trials=3, hparam_tuning_algorithm='GRID_SEARCH') "
            "AS SELECT x1, x2, y FROM line"
        )
    for word in words:
        assert word in str(caught.value)
    with pytest.raises(errors.ModelNotFoundError):
        cur.execute("SHOW MODEL g")


def test_num_trials_alone_searches_the_default_space(cur: sqlml.Cursor) -> None:
    cur.execute(
        "CREATE MODEL dflt OPTIONS(model_type='random_forest_regressor', input_label_cols=['y'], "
        "num_parallel_tree=5, num_trials=3, hparam_tuning_algorithm='VIZIER_DEFAULT') "
        "AS SELECT x1, x2, y FROM line"
    )
    assert "'VIZIER_DEFAULT' runs as 'RANDOM_SEARCH'" in notices(cur)
    trials = fetch(cur, "SELECT hyperparameters, is_optimal FROM ML.TRIAL_INFO(MODEL dflt)")
    assert len(trials) == 3
    for trial in trials:
        values = json.loads(trial["hyperparameters"])
        assert set(values) == {"max_tree_depth", "subsample"}
        assert 2 <= values["max_tree_depth"] <= 20 and 0.5 <= values["subsample"] <= 1.0
    best = json.loads(next(t for t in trials if t["is_optimal"])["hyperparameters"])
    options = stored(cur, "dflt")["options"]
    assert options["max_tree_depth"] == best["max_tree_depth"]
    assert options["subsample"] == best["subsample"]


# --- cross-validation ---------------------------------------------------------------------------------


def test_num_folds_scores_the_mean_of_the_folds(cur: sqlml.Cursor) -> None:
    cur.execute(
        "CREATE MODEL cv OPTIONS(model_type='linear_reg', input_label_cols=['y'], "
        "l2_reg=HPARAM_CANDIDATES([0.1, 100]), num_folds=3, random_seed=7) "
        "AS SELECT x1, x2, y FROM line"
    )
    assert "scored on the training rows" not in notices(cur)
    trials = fetch(cur, "SELECT * FROM ML.TRIAL_INFO(MODEL cv)")
    rows = fetch(cur, "SELECT x1, x2, y FROM line ORDER BY id")
    x = np.array([[r["x1"], r["x2"]] for r in rows])
    y = np.array([r["y"] for r in rows])
    folds = KFold(n_splits=3, shuffle=True, random_state=7)
    info = {t["trial_id"]: t for t in stored(cur, "cv")["info"]["trials"]}
    for trial in trials:
        alpha = json.loads(trial["hyperparameters"])["l2_reg"]
        pipeline = make_pipeline(SimpleImputer(), StandardScaler(), Ridge(alpha=alpha))
        scores = cross_val_score(pipeline, x, y, cv=folds, scoring="r2")
        assert trial["eval_loss"] == pytest.approx(scores.mean(), abs=1e-9)
        assert info[trial["trial_id"]]["fold_values"] == pytest.approx(list(scores), abs=1e-9)
    (best,) = [t for t in trials if t["is_optimal"]]
    assert json.loads(best["hyperparameters"]) == {"l2_reg": 0.1}
    assert stored(cur, "cv")["info"]["tuning"]["num_folds"] == 3


def test_stratified_folds_for_classifiers(cur: sqlml.Cursor) -> None:
    cur.execute(
        "CREATE MODEL strat OPTIONS(model_type='logistic_reg', input_label_cols=['y'], "
        "num_trials=2, num_folds=4, hparam_tuning_objectives=['accuracy']) "
        "AS SELECT x1, x2, y FROM checker"
    )
    info = stored(cur, "strat")["info"]
    for trial in info["trials"]:
        assert len(trial["fold_values"]) == 4
        assert trial["eval_loss"] == pytest.approx(np.mean(trial["fold_values"]))
    assert info["tuning"]["objective"] == "accuracy"


def test_too_many_folds(cur: sqlml.Cursor) -> None:
    with pytest.raises(errors.OptionError, match="at most the number of training rows"):
        cur.execute(
            "CREATE MODEL f OPTIONS(model_type='linear_reg', input_label_cols=['y'], "
            "num_trials=2, num_folds=100) AS SELECT x1, x2, y FROM line"
        )


# --- failures -------------------------------------------------------------------------------------------


def test_a_failing_trial_is_recorded_not_raised(cur: sqlml.Cursor) -> None:
    # one cluster has no Davies-Bouldin index, so that trial fails; the three-cluster one wins
    cur.execute(
        "CREATE MODEL km OPTIONS(model_type='kmeans', num_clusters=HPARAM_CANDIDATES([1, 3]), "
        "hparam_tuning_algorithm='GRID_SEARCH') AS SELECT * FROM blobs"
    )
    trials = fetch(cur, "SELECT * FROM ML.TRIAL_INFO(MODEL km) ORDER BY trial_id")
    assert [t["status"] for t in trials] == ["FAILED", "SUCCEEDED"]
    assert "davies_bouldin_index is undefined" in trials[0]["error_message"]
    assert trials[0]["eval_loss"] is None and not trials[0]["is_optimal"]
    assert trials[1]["is_optimal"]
    assert stored(cur, "km")["options"]["num_clusters"] == 3


def test_every_trial_failing_fails_the_statement(cur: sqlml.Cursor) -> None:
    with pytest.raises(errors.TrainingError, match="Every trial of CREATE MODEL km1 failed"):
        cur.execute(
            "CREATE MODEL km1 OPTIONS(model_type='kmeans', num_clusters=HPARAM_CANDIDATES([1])) "
            "AS SELECT * FROM blobs"
        )


def test_trial_info_of_an_untuned_model(cur: sqlml.Cursor) -> None:
    cur.execute(
        "CREATE MODEL plain OPTIONS(model_type='linear_reg', input_label_cols=['y']) "
        "AS SELECT x1, x2, y FROM line"
    )
    with pytest.raises(sqlml.ProgrammingError) as caught:
        cur.execute("SELECT * FROM ML.TRIAL_INFO(MODEL plain)")
    message = str(caught.value)
    for word in ("ML.TRIAL_INFO", "num_trials", "HPARAM_RANGE", "automl", "plain"):
        assert word in message


# --- automl -----------------------------------------------------------------------------------------------


def test_automl_keeps_the_linear_model_on_linear_data(cur: sqlml.Cursor) -> None:
    cur.execute(
        "CREATE MODEL auto OPTIONS(model_type='automl', input_label_cols=['y'], num_trials=4) "
        "AS SELECT x1, x2, y FROM line"
    )
    assert "3-fold cross-validation" in notices(cur)
    trials = fetch(cur, "SELECT * FROM ML.TRIAL_INFO(MODEL auto) ORDER BY trial_id")
    assert [t["model_type"] for t in trials] == [
        "linear_reg",
        "boosted_tree_regressor",
        "random_forest_regressor",
        "dnn_regressor",
    ]
    assert all(json.loads(t["hyperparameters"]) == {} for t in trials)  # each type's defaults
    (best,) = [t for t in trials if t["is_optimal"]]
    assert best["model_type"] == "linear_reg"
    assert best["eval_loss"] > 0.999
    model = stored(cur, "auto")
    assert model["model_type"] == "linear_reg"
    assert model["options"]["model_type_requested"] == "automl"
    assert model["options"]["model_type"] == "linear_reg"
    # the stored model predicts the line
    rows = fetch(cur, "SELECT x1, x2, predicted_y FROM ML.PREDICT(MODEL auto, TABLE line)")
    for row in rows:
        assert row["predicted_y"] == pytest.approx(3 * row["x1"] - 2 * row["x2"], abs=0.05)


def test_automl_respects_a_tiny_budget(cur: sqlml.Cursor) -> None:
    cur.execute(
        "CREATE MODEL quick OPTIONS(model_type='automl', input_label_cols=['y'], "
        "budget_seconds=0.001) AS SELECT x1, x2, y FROM checker"
    )
    assert "automl stopped after 1 of 12 trials" in notices(cur)
    trials = fetch(cur, "SELECT model_type, is_optimal FROM ML.TRIAL_INFO(MODEL quick)")
    assert trials == [{"model_type": "logistic_reg", "is_optimal": True}]
    assert stored(cur, "quick")["model_type"] == "logistic_reg"


def test_automl_classifier_with_an_objective(cur: sqlml.Cursor) -> None:
    cur.execute(
        "CREATE MODEL cls OPTIONS(model_type='automl_classifier', input_label_cols=['y'], "
        "num_trials=2, hparam_tuning_objectives=['log_loss'], data_split_method='CUSTOM', "
        "data_split_col='is_eval') AS SELECT x1, x2, y, is_eval FROM checker"
    )
    trials = fetch(cur, "SELECT * FROM ML.TRIAL_INFO(MODEL cls) ORDER BY trial_id")
    assert [t["model_type"] for t in trials] == ["logistic_reg", "boosted_tree_classifier"]
    assert all("log_loss" in json.loads(t["hparam_tuning_evaluation_metrics"]) for t in trials)
    # log_loss is minimized: the tree, which learns the XOR, has the lower loss and wins
    assert trials[1]["eval_loss"] < trials[0]["eval_loss"]
    assert [t["is_optimal"] for t in trials] == [False, True]


def test_redshift_auto_on_searches_models(cur: sqlml.Cursor) -> None:
    cur.execute(
        "CREATE MODEL rs FROM (SELECT x1, x2, y FROM line) TARGET y FUNCTION predict_rs "
        "IAM_ROLE default AUTO ON OBJECTIVE 'MSE' SETTINGS (S3_BUCKET 'b', MAX_RUNTIME 0.001)"
    )
    said = notices(cur)
    assert "S3_BUCKET" in said and "MAX_RUNTIME" not in said  # used, not ignored
    model = stored(cur, "rs")
    assert model["model_type"] == "linear_reg"
    assert model["options"]["model_type_requested"] == "automl_regressor"
    assert model["options"]["budget_seconds"] == 0.001
    assert model["options"]["hparam_tuning_objectives"] == ["mean_squared_error"]
    (trial,) = fetch(cur, "SELECT * FROM ML.TRIAL_INFO(MODEL rs)")
    assert list(json.loads(trial["hparam_tuning_evaluation_metrics"])) == ["mean_squared_error"]
    (row,) = fetch(cur, "SELECT predict_rs(2.0, 1.0) AS p")
    assert row["p"] == pytest.approx(3 * 2.0 - 2 * 1.0, abs=0.05)


def test_redshift_objectives_and_max_runtime_in_the_plan() -> None:
    sql = "CREATE MODEL m FROM t TARGET y FUNCTION f {clauses}"
    auto = options_of(sql.format(clauses="OBJECTIVE 'AUC' SETTINGS (MAX_RUNTIME 900)"))
    assert auto == {
        "model_type": "automl",
        "hparam_tuning_objectives": ["roc_auc"],
        "budget_seconds": 900,
        "enable_global_explain": True,  # Redshift explains every model (EXPLAIN_MODEL)
    }
    xgb = options_of(sql.format(clauses="MODEL_TYPE XGBOOST OBJECTIVE 'AUC'"))
    # an explicit MODEL_TYPE is not searched
    assert xgb == {"model_type": "boosted_tree", "enable_global_explain": True}
    with pytest.raises(errors.OptionError, match="Unknown OBJECTIVE 'nonsense'"):
        options_of(sql.format(clauses="OBJECTIVE 'nonsense'"))
