"""logistic_reg's Newton steps (issue 12): the matrix is transformed once, the training loss of
ML.TRAINING_INFO comes from the last step instead of a second pass over the rows, and
ML.FEATURE_INFO summarizes large tables' columns in parallel. Every expected value here is
computed again with scikit-learn and numpy, with BigQuery's min_rel_progress rule written out.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss
from sklearn.preprocessing import StandardScaler

import sqlml


@pytest.fixture
def con(tmp_path: Path) -> Iterator[sqlml.Connection]:
    connection = sqlml.connect(str(tmp_path / "steps.duckdb"))
    yield connection
    connection.close()


def _load(con: sqlml.Connection, name: str, table: pa.Table) -> None:
    raw = con.executor.backend.con
    raw.register("source", table)
    raw.execute(f"CREATE TABLE {name} AS SELECT * FROM source")
    raw.unregister("source")


def _stepwise(
    x: np.ndarray, y: np.ndarray, weight: np.ndarray | None, relative: float = 0.01
) -> tuple[LogisticRegression, int]:
    """The default logistic_reg by hand: l2_reg 0.5 is C = 1; one Newton step per call until a
    step lowers C × the (weighted) summed log loss + ½|w|² by less than ``relative``."""
    estimator = LogisticRegression(solver="newton-cholesky", C=1.0, warm_start=True, max_iter=1)
    previous, steps = None, 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        while steps < 20:
            estimator.fit(x, y, sample_weight=weight)
            steps += 1
            summed = log_loss(y, estimator.predict_proba(x), sample_weight=weight, normalize=False)
            now = summed + 0.5 * float(np.sum(estimator.coef_**2))
            if previous is not None and previous - now < relative * abs(previous):
                break
            previous = now
    return estimator, steps


def _problem(n: int, classes: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, 4))
    x = z * [1.0, 3.0, 0.5, 10.0] + [0.0, 5.0, -1.0, 100.0]  # for the scaler to undo
    scores = z @ rng.normal(size=(4, classes)) + rng.normal(scale=2.0, size=(n, classes))
    y = np.argmax(scores, axis=1) if classes > 2 else (scores[:, 0] > np.median(scores[:, 0]))
    is_eval = rng.random(n) < 0.25
    return x, y.astype(np.int64), is_eval


def _table(x: np.ndarray, y: np.ndarray, is_eval: np.ndarray) -> pa.Table:
    columns = {f"x{j}": x[:, j] for j in range(x.shape[1])}
    return pa.table({**columns, "label": y, "is_eval": is_eval})


def _probabilities(con: sqlml.Connection, model: str, classes: int) -> np.ndarray:
    rows = con.execute(
        f"SELECT predicted_label_probs FROM ML.PREDICT(MODEL {model}, TABLE t) ORDER BY id"
    ).fetchall()
    return np.array(
        [[next(p["prob"] for p in r[0] if p["label"] == k) for k in range(classes)] for r in rows]
    )


@pytest.mark.parametrize(
    ("classes", "weighted"), [(2, False), (3, False), (2, True), (3, True)], ids=str
)
def test_losses_and_steps_match_the_rule_by_hand(
    con: sqlml.Connection, classes: int, weighted: bool
) -> None:
    """The training loss is the unweighted mean log loss over the training rows (the fit may
    weight them), the evaluation loss the same over the evaluation split; the number of steps
    and the probabilities are those of the rule applied by hand."""
    x, y, is_eval = _problem(3000, classes, seed=classes + 10 * weighted)
    _load(con, "rows", _table(x, y, is_eval))
    _load(con, "t", _table(x, y, is_eval).append_column("id", pa.array(np.arange(len(y)))))
    options = "auto_class_weights = TRUE, " if weighted else ""
    con.execute(
        f"CREATE MODEL m OPTIONS (model_type = 'logistic_reg', {options}input_label_cols = "
        "['label'], data_split_method = 'CUSTOM', data_split_col = 'is_eval') AS "
        "SELECT * FROM rows"
    )
    train = ~is_eval
    scaler = StandardScaler().fit(x[train])
    weight = None
    if weighted:  # BigQuery's auto_class_weights: n / (classes × rows of the class)
        counts = np.bincount(y[train], minlength=classes)
        weight = (train.sum() / (classes * counts))[y[train]]
    estimator, steps = _stepwise(scaler.transform(x[train]), y[train], weight)

    # one row per Newton step; the last is the fitted model's
    info_rows = con.execute(
        "SELECT loss, eval_loss FROM ML.TRAINING_INFO(MODEL m) ORDER BY iteration"
    ).fetchall()
    assert len(info_rows) == steps
    (loss, eval_loss) = info_rows[-1]
    assert all(row[1] is None for row in info_rows[:-1])
    labels = list(range(classes))
    expected = log_loss(y[train], estimator.predict_proba(scaler.transform(x[train])))
    held_out = estimator.predict_proba(scaler.transform(x[is_eval]))
    assert loss == pytest.approx(expected, rel=1e-9)
    assert eval_loss == pytest.approx(log_loss(y[is_eval], held_out, labels=labels), rel=1e-9)
    (info,) = con.executor.backend.con.execute(
        "SELECT training_info FROM sqlml.models WHERE name = 'm'"
    ).fetchone()
    assert (json.loads(info) if isinstance(info, str) else info)["iterations"] == steps
    predicted = _probabilities(con, "m", classes)
    np.testing.assert_allclose(
        predicted, estimator.predict_proba(scaler.transform(x)), rtol=0, atol=2e-5
    )


def test_feature_info_of_a_large_table_with_nulls_and_nan(con: sqlml.Connection) -> None:
    """Over 100,000 rows the columns are summarized in parallel: the same statistics, per column
    in order, NaN counted as NULL, categories (booleans among them) counted without NULL."""
    n = 120_000
    rng = np.random.default_rng(3)
    a = rng.normal(5.0, 2.0, n)
    a[rng.random(n) < 0.1] = np.nan
    b = rng.exponential(3.0, n)
    b_null = rng.random(n) < 0.05
    flag = rng.random(n) < 0.3
    color = rng.choice(["red", "green", "blue"], n).astype(object)
    color[rng.random(n) < 0.02] = None
    y = (np.nan_to_num(a) + b + rng.normal(size=n) > 8).astype(np.int64)
    table = pa.table(
        {
            "a": pa.array(a, from_pandas=False),  # NaN stays NaN, not NULL
            "b": pa.array(b, mask=b_null),
            "flag": pa.array(flag),
            "color": pa.array(color, pa.string()),
            "label": y,
        }
    )
    _load(con, "big", table)
    con.execute(
        "CREATE MODEL fi OPTIONS (model_type = 'logistic_reg', input_label_cols = ['label'], "
        "data_split_method = 'NO_SPLIT') AS SELECT * FROM big"
    )
    rows = con.execute(
        "SELECT input, min, max, mean, median, stddev, category_count, null_count "
        "FROM ML.FEATURE_INFO(MODEL fi)"
    ).fetchall()
    assert [r[0] for r in rows] == ["a", "b", "flag", "color"]
    for name, values in (("a", a), ("b", np.where(b_null, np.nan, b))):
        present = values[~np.isnan(values)]
        row = next(r for r in rows if r[0] == name)
        expected = (
            present.min(),
            present.max(),
            present.mean(),
            np.median(present),
            present.std(ddof=1),
        )
        np.testing.assert_allclose(row[1:6], expected, rtol=1e-12)
        assert row[6] is None
        assert row[7] == n - len(present)
    for name, count, nulls in (("flag", 2, 0), ("color", 3, int(sum(c is None for c in color)))):
        row = next(r for r in rows if r[0] == name)
        assert row[1:] == (None,) * 5 + (count, nulls)
