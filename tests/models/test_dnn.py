"""DNNs watch the evaluation split (sqlml/models/dnn.py): BigQuery's EARLY_STOP and
MIN_REL_PROGRESS ("whether training should stop after the first iteration in which the relative
loss improvement is less than the value specified for MIN_REL_PROGRESS",
https://cloud.google.com/bigquery/docs/reference/standard-sql/bigqueryml-syntax-create-dnn-models),
with sqlml's default of patience and the best epoch kept.

Expected values: log losses and squared errors computed with numpy from ML.PREDICT's output on the
evaluation rows, and the rule itself applied to the recorded losses.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pyarrow as pa
import pytest
from sklearn import datasets

import sqlml
from sqlml.models.dnn import PATIENCE


@pytest.fixture
def con(tmp_path) -> Iterator[sqlml.Connection]:
    connection = sqlml.connect(str(tmp_path / "dnn.duckdb"))
    raw = connection.executor.backend.con
    for name, load in (
        ("cancer", datasets.load_breast_cancer),
        ("diabetes", datasets.load_diabetes),
    ):
        x, y = load(return_X_y=True)
        held_out = np.random.default_rng(0).random(len(y)) < 0.25
        columns = {f"x{i}": x[:, i] for i in range(x.shape[1])}
        raw.register("src", pa.table({**columns, "y": y, "is_eval": held_out}))
        raw.execute(f"CREATE TABLE {name} AS SELECT * FROM src")
        raw.unregister("src")
    yield connection
    connection.close()


def rows(con: sqlml.Connection, sql: str) -> list[tuple]:
    cur = con.cursor()
    cur.execute(sql)
    return cur.fetchall()


SPLIT = "data_split_method = 'CUSTOM', data_split_col = 'is_eval'"


def test_training_stops_patience_epochs_after_the_best_and_keeps_it(con: sqlml.Connection) -> None:
    con.execute(
        f"CREATE MODEL clf OPTIONS (model_type = 'dnn_classifier', input_label_cols = ['y'], "
        f"{SPLIT}, max_iterations = 300) AS SELECT * FROM cancer"
    )
    info = sorted(rows(con, "SELECT iteration, loss, eval_loss FROM ML.TRAINING_INFO(MODEL clf)"))
    eval_losses = [r[2] for r in info]
    assert None not in eval_losses
    assert len(info) < 300  # stopped
    assert eval_losses[-1] == min(eval_losses)  # the best epoch is the model
    predicted = rows(
        con,
        "SELECT y, predicted_y_probs FROM ML.PREDICT(MODEL clf, (SELECT * FROM cancer WHERE is_eval))",
    )
    p = np.clip([next(q["prob"] for q in r[1] if q["label"] == r[0]) for r in predicted], 1e-15, 1)
    log_loss = float(-np.mean(np.log(p)))
    assert eval_losses[-1] == pytest.approx(log_loss, rel=1e-4)
    assert rows(con, "SELECT log_loss FROM ML.EVALUATE(MODEL clf)")[0][0] == pytest.approx(
        log_loss, rel=1e-4
    )


def test_early_stop_false_trains_every_epoch(con: sqlml.Connection) -> None:
    con.execute(
        f"CREATE MODEL clf_all OPTIONS (model_type = 'dnn_classifier', input_label_cols = ['y'], "
        f"{SPLIT}, max_iterations = 40, early_stop = FALSE) AS SELECT * FROM cancer"
    )
    info = rows(con, "SELECT iteration, eval_loss FROM ML.TRAINING_INFO(MODEL clf_all)")
    assert len(info) == 40
    assert {r[1] for r in info} == {None}


def test_min_rel_progress_given_is_bigquerys_rule(con: sqlml.Connection) -> None:
    con.execute(
        f"CREATE MODEL reg OPTIONS (model_type = 'dnn_regressor', input_label_cols = ['y'], "
        f"{SPLIT}, min_rel_progress = 0.02, max_iterations = 500) AS SELECT * FROM diabetes"
    )
    losses = [
        r[1]
        for r in sorted(rows(con, "SELECT iteration, eval_loss FROM ML.TRAINING_INFO(MODEL reg)"))
    ]
    assert 1 < len(losses) < 500
    steps = [(a - b) / abs(a) for a, b in zip(losses[:-1], losses[1:], strict=True)]
    assert all(s >= 0.02 for s in steps[:-1])  # every epoch before the last improved by 2 %
    assert steps[-1] < 0.02  # the last did not: stop (its weights are the model, as in BigQuery)
    # the recorded loss is the squared error of the standardized label the MLP fits
    truth = [r[0] for r in rows(con, "SELECT y FROM diabetes")]
    predicted = rows(
        con,
        "SELECT y, predicted_y FROM ML.PREDICT(MODEL reg, (SELECT * FROM diabetes WHERE is_eval))",
    )
    got = np.array([r[1] for r in predicted])
    want = np.array([r[0] for r in predicted])
    mse = float(np.mean(((got - want) / np.std(np.asarray(truth)[~_eval_mask()])) ** 2))
    assert losses[-1] == pytest.approx(mse, rel=1e-3)


def _eval_mask() -> np.ndarray:
    _, y = datasets.load_diabetes(return_X_y=True)
    return np.random.default_rng(0).random(len(y)) < 0.25


def test_patience_is_scikit_learns_n_iter_no_change() -> None:
    from sklearn.neural_network import MLPClassifier

    assert MLPClassifier().n_iter_no_change == PATIENCE
