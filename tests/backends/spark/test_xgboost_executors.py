"""Boosted trees trained by XGBoost on the Spark executors (xgboost.spark): the same parameters
as the DuckDB path's XGBoost, early stopping on the evaluation split, any number of classes.

Expected values: XGBoost's own scikit-learn estimators fitted here on the same rows with the
parameters BigQuery's options document (one Spark worker builds the same trees), and log losses
computed with numpy from ML.PREDICT's probabilities.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pytest
import xgboost

import sqlml

pytestmark = [pytest.mark.spark, pytest.mark.slow]


def rows(con: sqlml.Connection, sql: str) -> list[tuple[Any, ...]]:
    cur = con.cursor()
    cur.execute(sql)
    return cur.fetchall()


def design(table: pa.Table, columns: list[str]) -> np.ndarray:
    return np.column_stack([table.column(c).to_numpy() for c in columns]).astype(np.float32)


def test_a_multiclass_boosted_tree_trains_on_the_executors(
    con: sqlml.Connection, data: dict[str, pa.Table]
) -> None:
    # https://cloud.google.com/bigquery/docs/reference/standard-sql/bigqueryml-syntax-create-boosted-tree
    # (max_iterations = rounds, learn_rate = eta, max_tree_depth, l2_reg = lambda); Spark's
    # GBTClassifier, which trained here before, is binary only.
    con.execute(
        "CREATE MODEL gbt_multi OPTIONS (model_type = 'boosted_tree_classifier', "
        "input_label_cols = ['y'], engine = 'spark', max_iterations = 8, early_stop = FALSE, "
        "learn_rate = 0.3, max_tree_depth = 3, l2_reg = 2.0) AS SELECT x1, x2, y FROM multi"
    )
    info = con.executor.catalog.get("gbt_multi").training_info
    assert info["training_path"] == "spark_mllib"
    table = data["multi"]
    classes = np.array(["hi", "lo", "mid"])  # the labels, sorted
    codes = np.searchsorted(classes, np.array(table.column("y").to_pylist()))
    reference = xgboost.XGBClassifier(
        n_estimators=8, learning_rate=0.3, max_depth=3, reg_lambda=2.0, tree_method="hist"
    ).fit(design(table, ["x1", "x2"]), codes)
    expected = reference.predict_proba(design(table, ["x1", "x2"]))
    predicted = rows(
        con,
        "SELECT id, predicted_y, predicted_y_probs FROM ML.PREDICT(MODEL gbt_multi, TABLE multi)",
    )
    predicted.sort()
    got = np.array([[p["prob"] for p in sorted(r[2], key=lambda p: p["label"])] for r in predicted])
    np.testing.assert_allclose(got, expected, atol=1e-5)
    assert [r[1] for r in predicted] == list(classes[np.argmax(expected, axis=1)])
    training = rows(con, "SELECT iteration, loss FROM ML.TRAINING_INFO(MODEL gbt_multi)")
    assert [r[0] for r in sorted(training)] == list(range(8))


def test_regressor_options_reach_xgboost_on_the_executors(
    con: sqlml.Connection, data: dict[str, pa.Table]
) -> None:
    # The same page: l1_reg = alpha, min_tree_child_weight, colsample_bytree, subsample.
    con.execute(
        "CREATE MODEL gbt_reg OPTIONS (model_type = 'boosted_tree_regressor', "
        "input_label_cols = ['y'], engine = 'spark', max_iterations = 12, early_stop = FALSE, "
        "l1_reg = 0.5, min_tree_child_weight = 4, colsample_bytree = 0.5, max_tree_depth = 4, "
        "random_seed = 7) AS SELECT x1, x2, y FROM reg"
    )
    table = data["reg"]
    x = design(table, ["x1", "x2"])
    reference = xgboost.XGBRegressor(
        n_estimators=12,
        learning_rate=0.1,  # sqlml's default (sql/reference.md, "Defaults that differ")
        reg_alpha=0.5,
        min_child_weight=4,
        colsample_bytree=0.5,
        max_depth=4,
        random_state=7,
        tree_method="hist",
    ).fit(x, table.column("y").to_numpy())
    predicted = sorted(
        rows(con, "SELECT id, predicted_y FROM ML.PREDICT(MODEL gbt_reg, TABLE reg)")
    )
    np.testing.assert_allclose(
        [r[1] for r in predicted], reference.predict(x), rtol=1e-5, atol=1e-4
    )


def test_early_stopping_watches_the_evaluation_split(spark: Any) -> None:
    """AUTO_SPLIT's evaluation rows travel with the training rows to XGBoost, which stops 20
    rounds after their loss last improved and keeps the best round (sqlml's default)."""
    rng = np.random.default_rng(3)
    n = 4000
    x = rng.normal(size=(n, 3))
    y = (x[:, 0] + 0.7 * x[:, 1] + rng.normal(scale=1.2, size=n)) > 0
    held_out = np.arange(n) % 5 == 0
    table = pa.table(
        {"id": np.arange(n), "a": x[:, 0], "b": x[:, 1], "c": x[:, 2], "y": y, "is_eval": held_out}
    )
    spark.createDataFrame(table).createOrReplaceTempView("noisy_big")
    with sqlml.connect(spark=spark) as con:
        con.execute(
            "CREATE MODEL gbt_stop OPTIONS (model_type = 'boosted_tree_classifier', "
            "input_label_cols = ['y'], engine = 'spark', data_split_method = 'CUSTOM', "
            "data_split_col = 'is_eval') AS SELECT a, b, c, y, is_eval FROM noisy_big"
        )
        training = sorted(
            rows(con, "SELECT iteration, loss, eval_loss FROM ML.TRAINING_INFO(MODEL gbt_stop)")
        )
        predicted = sorted(
            rows(
                con,
                "SELECT id, predicted_y_probs FROM ML.PREDICT(MODEL gbt_stop, "
                "(SELECT * FROM noisy_big WHERE is_eval))",
            )
        )
        evaluated = rows(con, "SELECT log_loss FROM ML.EVALUATE(MODEL gbt_stop)")
    rounds = len(training)
    assert 1 < rounds < 500  # stopped early, before the 500-round cap
    eval_losses = [r[2] for r in training]
    assert None not in eval_losses
    assert eval_losses[-1] == min(eval_losses)  # the kept round is the best one
    p1 = np.clip(
        [next(p["prob"] for p in r[1] if p["label"] is True) for r in predicted], 1e-15, 1 - 1e-15
    )
    truth = y[held_out]
    log_loss = float(-np.mean(np.where(truth, np.log(p1), np.log(1 - p1))))
    assert eval_losses[-1] == pytest.approx(log_loss, abs=1e-4)
    assert evaluated[0][0] == pytest.approx(log_loss, abs=1e-4)
