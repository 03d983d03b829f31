"""Defaults as good as the libraries' (issue 12): a default logistic_reg keeps calibrated
probabilities on near-separable data, so BigQuery's THRESHOLD option
(https://cloud.google.com/bigquery/docs/reference/standard-sql/bigqueryml-syntax-predict) changes
its predictions; a regression DNN predicts in the label's units whatever their scale.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from sklearn.datasets import load_breast_cancer

import sqlml


@pytest.fixture
def con(tmp_path: Path) -> Iterator[sqlml.Connection]:
    connection = sqlml.connect(str(tmp_path / "defaults.duckdb"))
    yield connection
    connection.close()


def _load(con: sqlml.Connection, name: str, table: pa.Table) -> None:
    raw = con.executor.backend.con
    raw.register("source", table)
    raw.execute(f"CREATE TABLE {name} AS SELECT * FROM source")
    raw.unregister("source")


def test_threshold_changes_the_predictions_of_a_default_logistic_reg(
    con: sqlml.Connection,
) -> None:
    """breast_cancer is nearly separable: unpenalized to convergence, nearly every probability is 0
    or 1 and no threshold between 0.1 and 0.9 moves a prediction. With the default penalty the
    number of positives falls as the threshold rises, by the rows whose probability lies between."""
    x, y = load_breast_cancer(return_X_y=True)
    _load(con, "bc", pa.table({**{f"x{j}": x[:, j] for j in range(x.shape[1])}, "label": y}))
    con.execute("CREATE MODEL m OPTIONS (model_type = 'logistic_reg') AS SELECT * FROM bc")
    probs = np.array(
        [
            next(p["prob"] for p in r[0] if p["label"] == 1)
            for r in con.execute(
                "SELECT predicted_label_probs FROM ML.PREDICT(MODEL m, TABLE bc)"
            ).fetchall()
        ]
    )
    counts = {}
    for threshold in (0.1, 0.5, 0.9):
        (count,) = con.execute(
            "SELECT count(*) FILTER (WHERE predicted_label = 1) FROM ML.PREDICT(MODEL m, "
            f"TABLE bc, STRUCT({threshold} AS threshold))"
        ).fetchone()
        assert count == int(np.sum(probs > threshold))  # the rule, on the probabilities themselves
        counts[threshold] = count
    assert counts[0.1] > counts[0.5] > counts[0.9]
    # and the unpenalized fit (l2_reg = 0, to convergence) saturates on the same rows
    con.execute(
        "CREATE MODEL raw OPTIONS (model_type = 'logistic_reg', l2_reg = 0, early_stop = FALSE, "
        "max_iterations = 100) AS SELECT * FROM bc"
    )
    (between,) = con.execute(
        "SELECT count(*) FROM ML.PREDICT(MODEL raw, TABLE bc), UNNEST(predicted_label_probs) p "
        "WHERE p.label = 1 AND p.prob > 0.1 AND p.prob < 0.9"
    ).fetchone()
    assert between < int(np.sum((probs > 0.1) & (probs < 0.9)))


def test_a_regression_dnn_predicts_in_the_labels_units(con: sqlml.Connection) -> None:
    """A label around 50,000 ± 20,000: fitted unscaled, an MLP's small initial outputs need many
    epochs to reach it (r2 far below 0); standardized inside the model, r2 is that of the shape."""
    rng = np.random.default_rng(7)
    x = rng.uniform(-1, 1, size=(1200, 3))
    label = 50_000 + 20_000 * np.tanh(2 * x[:, 0]) + 5_000 * x[:, 1] + rng.normal(0, 500, 1200)
    _load(con, "big", pa.table({"a": x[:, 0], "b": x[:, 1], "c": x[:, 2], "label": label}))
    con.execute(
        "CREATE MODEL d OPTIONS (model_type = 'dnn_regressor', data_split_method = 'NO_SPLIT') "
        "AS SELECT * FROM big"
    )
    predicted = np.array(
        [r[0] for r in con.execute("SELECT predicted_label FROM ML.PREDICT(MODEL d, TABLE big)")]
    )
    r2 = 1 - np.sum((label - predicted) ** 2) / np.sum((label - label.mean()) ** 2)
    assert r2 > 0.9
    assert abs(predicted.mean() - label.mean()) < 0.02 * label.mean()
    (reported,) = con.execute("SELECT r2_score FROM ML.EVALUATE(MODEL d)").fetchone()
    assert reported == pytest.approx(r2, abs=1e-4)
