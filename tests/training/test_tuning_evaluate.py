"""ML.EVALUATE (and the functions over new rows) of a tuned model, as BigQuery documents them
(https://cloud.google.com/bigquery/docs/hp-tuning-overview, "Model serving functions";
https://cloud.google.com/bigquery/docs/reference/standard-sql/bigqueryml-syntax-evaluate,
TRIAL_ID): without input rows, one row per trial, trial_id first, each trial's model scored on
the held-out rows; STRUCT(n AS trial_id) keeps one trial. Expected metrics are recomputed with
scikit-learn on the same split.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import xgboost
from sklearn.metrics import accuracy_score, log_loss, roc_auc_score

import sqlml

XOR = """
    CREATE TABLE checker AS
    SELECT i AS id, (i % 10)::DOUBLE AS x1, ((i * 7) % 13)::DOUBLE AS x2,
           ((i % 10) > 4) <> (((i * 7) % 13) > 6) AS y, i % 4 = 0 AS is_eval
    FROM range(200) t(i)
"""
CLASSIFICATION = [
    "precision",
    "recall",
    "accuracy",
    "f1_score",
    "log_loss",
    "roc_auc",
    "average_precision",
]


def fetch(cur: sqlml.Cursor, sql: str) -> list[dict[str, Any]]:
    cur.execute(sql)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


@pytest.fixture(scope="module")
def cur(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sqlml.Cursor]:
    path: Path = tmp_path_factory.mktemp("tuned") / "tuned.duckdb"
    connection = sqlml.connect(str(path))
    cursor = connection.cursor()
    cursor.execute(XOR)
    cursor.execute(
        "CREATE MODEL deep OPTIONS(model_type='boosted_tree_classifier', input_label_cols=['y'], "
        "max_tree_depth=HPARAM_CANDIDATES([1, 8]), num_trials=2, data_split_method='CUSTOM', "
        "data_split_col='is_eval', early_stop=FALSE, max_iterations=20, learn_rate=0.3) AS SELECT x1, x2, y, is_eval FROM checker"
    )
    cursor.execute(
        "CREATE MODEL plain OPTIONS(model_type='logistic_reg', input_label_cols=['y']) "
        "AS SELECT x1, x2, y FROM checker"
    )
    yield cursor
    connection.close()


def expected_metrics(cur: sqlml.Cursor, depth: int) -> dict[str, float]:
    rows = fetch(cur, "SELECT x1, x2, y, is_eval FROM checker ORDER BY id")
    x = np.array([[r["x1"], r["x2"]] for r in rows])
    y = np.array([r["y"] for r in rows])
    held = np.array([r["is_eval"] for r in rows])
    model = xgboost.XGBClassifier(  # BigQuery's boosted trees are XGBoost's
        n_estimators=20, learning_rate=0.3, max_depth=depth, tree_method="hist", random_state=42
    ).fit(x[~held], y[~held])
    probs = model.predict_proba(x[held])
    return {
        "roc_auc": roc_auc_score(y[held], probs[:, 1]),
        "accuracy": accuracy_score(y[held], probs[:, 1] >= 0.5),
        "log_loss": log_loss(y[held], probs),
    }


def test_evaluate_without_input_is_one_row_per_trial(cur: sqlml.Cursor) -> None:
    rows = fetch(cur, "SELECT * FROM ML.EVALUATE(MODEL deep) ORDER BY trial_id")
    assert [d[0] for d in cur.description] == ["trial_id", *CLASSIFICATION]
    assert cur.description[0][1] == "BIGINT"
    trials = fetch(cur, "SELECT trial_id, hyperparameters FROM ML.TRIAL_INFO(MODEL deep)")
    depth = {t["trial_id"]: int(t["hyperparameters"].split(":")[1].strip(" }")) for t in trials}
    assert [r["trial_id"] for r in rows] == [1, 2]
    for row in rows:
        expected = expected_metrics(cur, depth[row["trial_id"]])
        assert {k: row[k] for k in expected} == pytest.approx(expected, abs=1e-6)
    (one,) = fetch(cur, "SELECT * FROM ML.EVALUATE(MODEL deep, STRUCT(1 AS trial_id))")
    assert one == rows[0]


def test_evaluate_with_input_uses_the_optimal_trial(cur: sqlml.Cursor) -> None:
    (best,) = fetch(cur, "SELECT trial_id FROM ML.TRIAL_INFO(MODEL deep) WHERE is_optimal")
    best_id = best["trial_id"]
    source = "(SELECT x1, x2, y FROM checker WHERE is_eval)"
    (default,) = fetch(cur, f"SELECT * FROM ML.EVALUATE(MODEL deep, {source})")
    assert list(default) == CLASSIFICATION  # one trial's result: no trial_id column
    (chosen,) = fetch(
        cur, f"SELECT * FROM ML.EVALUATE(MODEL deep, {source}, STRUCT({best_id} AS trial_id))"
    )
    assert chosen == default
    (per_trial,) = fetch(
        cur, f"SELECT * FROM ML.EVALUATE(MODEL deep, STRUCT({best_id} AS trial_id))"
    )
    assert default["roc_auc"] == pytest.approx(per_trial["roc_auc"], abs=1e-4)  # ONNX vs sklearn
    other = 3 - best_id
    for function in ("EVALUATE", "PREDICT", "CONFUSION_MATRIX"):
        with pytest.raises(sqlml.NotSupportedError) as info:
            cur.execute(
                f"SELECT * FROM ML.{function}(MODEL deep, {source}, STRUCT({other} AS trial_id))"
            )
        message = str(info.value)
        assert f"ML.{function} of trial {other} of model deep is not supported yet" in message
        assert f"optimal trial ({best_id})" in message
    rows = fetch(
        cur, f"SELECT * FROM ML.PREDICT(MODEL deep, {source}, STRUCT({best_id} AS trial_id))"
    )
    assert len(rows) == 50


def test_trial_id_errors(cur: sqlml.Cursor) -> None:
    with pytest.raises(sqlml.ProgrammingError, match="has no trial 7; its trials are 1, 2"):
        cur.execute("SELECT * FROM ML.EVALUATE(MODEL deep, STRUCT(7 AS trial_id))")
    with pytest.raises(sqlml.ProgrammingError, match="'trial_id' option of ML.EVALUATE applies"):
        cur.execute("SELECT * FROM ML.EVALUATE(MODEL plain, STRUCT(1 AS trial_id))")
    (row,) = fetch(cur, "SELECT * FROM ML.EVALUATE(MODEL plain)")  # untuned: one row, as before
    assert list(row) == CLASSIFICATION
