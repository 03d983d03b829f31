"""ML.FEATURE_INFO, ML.TRAINING_INFO, ML.WEIGHTS and ML.FEATURE_IMPORTANCE.

Real DuckDB files and ONNX Runtime. Expected values come from numpy on the fetched training rows or
from scikit-learn estimators fitted here on the same rows with the same parameters (numeric data
without NULLs reaches tree models unchanged, so their trees are reproducible by hand); never from
sqlml's own output.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import xgboost
from sklearn.cluster import KMeans
from sklearn.ensemble import (
    RandomForestRegressor,
)
from sklearn.linear_model import LinearRegression

import sqlml
from sqlml import errors

TABLES = {
    # numbers with NULLs and NaN, an integer, text with NULLs, a boolean; is_eval marks 1 row in 4
    "mixed": """
        SELECT i AS id,
               CASE WHEN i % 7 = 0 THEN NULL WHEN i % 11 = 0 THEN 'NaN'::DOUBLE
                    ELSE ((i * 37) % 101) / 4.0 END AS x,
               (i * 13) % 17 AS n,
               CASE WHEN i % 5 = 0 THEN NULL ELSE ['a', 'b', 'c', 'd'][i % 4 + 1] END AS cat,
               i % 3 = 0 AS flag,
               (i % 9)::DOUBLE AS y,
               i % 4 = 0 AS is_eval
        FROM range(80) t(i)""",
    # y = 3a - 2b + 1 + effect(c), exactly; effect u 0, v 5, w -1
    "lin": """
        SELECT i AS id, ((i * 7) % 23) / 2.0 AS a, ((i * 5) % 19) - 4.0 AS b,
               ['u', 'v', 'w'][i % 3 + 1] AS c,
               3 * (((i * 7) % 23) / 2.0) - 2 * (((i * 5) % 19) - 4.0) + 1
                 + [0.0, 5.0, -1.0][i % 3 + 1] AS y
        FROM range(60) t(i)""",
    # numeric only, no NULLs: a smooth target with noise-free structure, an eval flag
    "num": """
        SELECT i AS id, ((i * 37) % 101) / 10.0 AS x1, ((i * 53) % 97) / 10.0 AS x2,
               ((i * 17) % 13)::DOUBLE AS x3,
               sin(((i * 37) % 101) / 10.0) * 5 + ((i * 53) % 97) / 20.0 AS y,
               ((i * 37) % 101) / 10.0 + ((i * 53) % 97) / 10.0 > 10 AS yb,
               i % 5 = 0 AS is_eval
        FROM range(150) t(i)""",
    # three classes by bands of x1, with overlap so a penalized fit is finite
    "multi": """
        SELECT i AS id, ((i * 37) % 101) / 10.0 AS x1, ((i * 53) % 97) / 10.0 AS x2,
               ['p', 'q'][i % 2 + 1] AS cat,
               CASE WHEN ((i * 37) % 101) / 10.0 + ((i * 11) % 7) / 2.0 < 5 THEN 'lo'
                    WHEN ((i * 37) % 101) / 10.0 + ((i * 11) % 7) / 2.0 < 9 THEN 'mid'
                    ELSE 'hi' END AS y
        FROM range(120) t(i)""",
    "blobs": """
        SELECT i AS id, (i % 3) * 10.0 + (i % 5) / 10.0 AS x1,
               (i % 3) * -10.0 + (i % 7) / 10.0 AS x2
        FROM range(60) t(i)""",
}


def fetch(cur: sqlml.Cursor, sql: str) -> list[dict[str, Any]]:
    cur.execute(sql)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def column(rows: list[dict[str, Any]], name: str) -> np.ndarray:
    return np.array([r[name] for r in rows], dtype=np.float64)


@pytest.fixture(scope="module")
def cur(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sqlml.Cursor]:
    path: Path = tmp_path_factory.mktemp("inspection") / "inspection.duckdb"
    connection = sqlml.connect(str(path))
    cursor = connection.cursor()
    for name, sql in TABLES.items():
        cursor.execute(f"CREATE TABLE {name} AS {sql}")
    yield cursor
    connection.close()


def train(cur: sqlml.Cursor, name: str, options: str, query: str) -> None:
    cur.execute(f"CREATE OR REPLACE MODEL {name} OPTIONS({options}) AS {query}")


# --- ML.FEATURE_INFO -------------------------------------------------------------------------------


def test_feature_info_is_numpy_statistics_of_the_training_rows(cur: sqlml.Cursor) -> None:
    train(
        cur,
        "info_m",
        "model_type='linear_reg', input_label_cols=['y'], data_split_method='CUSTOM', "
        "data_split_col='is_eval'",
        "SELECT x, n, cat, flag, y, is_eval FROM mixed",
    )
    rows = fetch(cur, "SELECT * FROM ML.FEATURE_INFO(MODEL info_m)")
    assert [d[0] for d in cur.description] == [
        "input",
        "min",
        "max",
        "mean",
        "median",
        "stddev",
        "category_count",
        "null_count",
        "dimension",
    ]
    types = {d[0]: d[1] for d in cur.description}
    assert types["min"] == "DOUBLE" and types["category_count"] == "BIGINT"
    assert [r["input"] for r in rows] == ["x", "n", "cat", "flag"]
    by_input = {r["input"]: r for r in rows}
    training = fetch(cur, "SELECT x, n, cat, flag FROM mixed WHERE NOT is_eval")
    assert len(training) == 60

    for name in ("x", "n"):
        raw = [r[name] for r in training]
        values = np.array([v for v in raw if v is not None and not np.isnan(v)], dtype=float)
        got = by_input[name]
        assert got["min"] == pytest.approx(values.min())
        assert got["max"] == pytest.approx(values.max())
        assert got["mean"] == pytest.approx(values.mean())
        assert got["median"] == pytest.approx(np.median(values))
        assert got["stddev"] == pytest.approx(np.std(values, ddof=1))
        assert got["category_count"] is None
        assert got["null_count"] == len(raw) - len(values)
    assert by_input["x"]["null_count"] > 0  # NULL and NaN both count
    assert by_input["n"]["null_count"] == 0

    for name in ("cat", "flag"):
        raw = [r[name] for r in training]
        got = by_input[name]
        assert got["category_count"] == len({v for v in raw if v is not None})
        assert got["null_count"] == sum(v is None for v in raw)
        assert got["min"] is None and got["mean"] is None and got["stddev"] is None
    assert by_input["cat"]["null_count"] > 0


# --- ML.TRAINING_INFO ------------------------------------------------------------------------------


def test_training_info_boosted_regressor_per_round(cur: sqlml.Cursor) -> None:
    train(
        cur,
        "gb_reg",
        "model_type='boosted_tree_regressor', input_label_cols=['y'], max_iterations=7, "
        "max_tree_depth=3, learn_rate=0.25, data_split_method='CUSTOM', data_split_col='is_eval', "
        "early_stop=FALSE",
        "SELECT x1, x2, x3, y, is_eval FROM num ORDER BY id",
    )
    rows = fetch(cur, "SELECT * FROM ML.TRAINING_INFO(MODEL gb_reg) ORDER BY iteration")
    assert [d[0] for d in cur.description] == [
        "training_run",
        "iteration",
        "loss",
        "eval_loss",
        "learning_rate",
        "duration_ms",
    ]
    assert [r["iteration"] for r in rows] == list(range(7))
    assert all(r["training_run"] == 0 for r in rows)
    assert all(r["learning_rate"] == 0.25 for r in rows)
    losses = [r["loss"] for r in rows]
    assert all(b < a for a, b in zip(losses, losses[1:], strict=False))
    assert [r["duration_ms"] is None for r in rows] == [True] * 6 + [False]
    assert rows[-1]["duration_ms"] >= 0

    data = fetch(cur, "SELECT x1, x2, x3, y, is_eval FROM num ORDER BY id")
    fit_rows = [r for r in data if not r["is_eval"]]
    eval_rows = [r for r in data if r["is_eval"]]
    features = ("x1", "x2", "x3")
    x = np.column_stack([column(fit_rows, f) for f in features])
    x_eval = np.column_stack([column(eval_rows, f) for f in features])
    reference = xgboost.XGBRegressor(
        n_estimators=7, learning_rate=0.25, max_depth=3, tree_method="hist", random_state=42
    ).fit(x, column(fit_rows, "y"))

    def mse(rows: list[dict[str, Any]], x: np.ndarray, rounds: int) -> float:
        predicted = reference.predict(x, iteration_range=(0, rounds)).astype(np.float64)
        return float(np.mean((column(rows, "y") - predicted) ** 2))

    # the mean squared error after each round, on the training rows and the evaluation split
    np.testing.assert_allclose(losses, [mse(fit_rows, x, i + 1) for i in range(7)], rtol=1e-5)
    expected_eval = [mse(eval_rows, x_eval, i + 1) for i in range(7)]
    np.testing.assert_allclose([r["eval_loss"] for r in rows], expected_eval, rtol=1e-5)


def test_training_info_boosted_classifier_log_loss(cur: sqlml.Cursor) -> None:
    train(
        cur,
        "gb_clf",
        "model_type='boosted_tree_classifier', input_label_cols=['yb'], max_iterations=5, "
        "max_tree_depth=2, data_split_method='CUSTOM', data_split_col='is_eval', early_stop=FALSE, "
        "learn_rate=0.3",
        "SELECT x1, x2, x3, yb, is_eval FROM num ORDER BY id",
    )
    rows = fetch(cur, "SELECT * FROM ML.TRAINING_INFO(MODEL gb_clf) ORDER BY iteration")
    assert len(rows) == 5
    data = fetch(cur, "SELECT x1, x2, x3, yb, is_eval FROM num ORDER BY id")
    parts = {split: [r for r in data if r["is_eval"] == split] for split in (False, True)}
    matrices = {
        split: np.column_stack([column(part, f) for f in ("x1", "x2", "x3")])
        for split, part in parts.items()
    }
    labels = {split: np.array([r["yb"] for r in part], dtype=int) for split, part in parts.items()}
    reference = xgboost.XGBClassifier(
        n_estimators=5, learning_rate=0.3, max_depth=2, tree_method="hist", random_state=42
    ).fit(matrices[False], labels[False])
    for i, row in enumerate(rows):  # the log loss after each round, computed here
        for split, key in ((False, "loss"), (True, "eval_loss")):
            probs = reference.predict_proba(matrices[split], iteration_range=(0, i + 1))
            y = labels[split]
            expected = -np.mean(np.log(probs[np.arange(len(y)), y].astype(np.float64)))
            assert row[key] == pytest.approx(expected, rel=1e-5)


def test_training_info_linear_one_row_and_no_eval_loss_without_split(cur: sqlml.Cursor) -> None:
    train(
        cur,
        "lin_split",
        "model_type='linear_reg', input_label_cols=['y'], data_split_method='CUSTOM', "
        "data_split_col='is_eval'",
        "SELECT x1, x2, y, is_eval FROM num ORDER BY id",
    )
    (row,) = fetch(cur, "SELECT * FROM ML.TRAINING_INFO(MODEL lin_split)")
    data = fetch(cur, "SELECT x1, x2, y, is_eval FROM num ORDER BY id")
    fit_rows = [r for r in data if not r["is_eval"]]
    eval_rows = [r for r in data if r["is_eval"]]
    x = np.column_stack([column(fit_rows, "x1"), column(fit_rows, "x2")])
    x_eval = np.column_stack([column(eval_rows, "x1"), column(eval_rows, "x2")])
    reference = LinearRegression().fit(x, column(fit_rows, "y"))
    assert row["iteration"] == 0
    assert row["loss"] == pytest.approx(
        np.mean((column(fit_rows, "y") - reference.predict(x)) ** 2)
    )
    assert row["eval_loss"] == pytest.approx(
        np.mean((column(eval_rows, "y") - reference.predict(x_eval)) ** 2)
    )
    assert row["learning_rate"] is None
    assert row["duration_ms"] is not None

    # under 500 rows AUTO_SPLIT evaluates on the training rows: no separate eval loss (BigQuery)
    train(
        cur,
        "lin_nosplit",
        "model_type='linear_reg', input_label_cols=['y']",
        "SELECT x1, y FROM num",
    )
    (row,) = fetch(cur, "SELECT loss, eval_loss FROM ML.TRAINING_INFO(MODEL lin_nosplit)")
    assert row["loss"] > 0
    assert row["eval_loss"] is None


def test_training_info_dnn_epochs_and_kmeans(cur: sqlml.Cursor) -> None:
    train(
        cur,
        "dnn_m",
        "model_type='dnn_regressor', input_label_cols=['y'], max_iterations=6, "
        "hidden_units=[8], learn_rate=0.01",
        "SELECT x1, x2, y FROM num",
    )
    rows = fetch(cur, "SELECT * FROM ML.TRAINING_INFO(MODEL dnn_m) ORDER BY iteration")
    assert [r["iteration"] for r in rows] == list(range(6))
    assert all(r["learning_rate"] == 0.01 and r["eval_loss"] is None for r in rows)
    assert all(np.isfinite(r["loss"]) and r["loss"] > 0 for r in rows)

    train(
        cur,
        "km",
        "model_type='kmeans', num_clusters=3, standardize_features=FALSE",
        "SELECT x1, x2 FROM blobs ORDER BY id",
    )
    (row,) = fetch(cur, "SELECT * FROM ML.TRAINING_INFO(MODEL km)")
    data = fetch(cur, "SELECT x1, x2 FROM blobs ORDER BY id")
    x = np.column_stack([column(data, "x1"), column(data, "x2")])
    reference = KMeans(n_clusters=3, max_iter=20, n_init=3, random_state=42).fit(x)
    assert row["loss"] == pytest.approx(reference.inertia_ / len(x), rel=1e-6)
    assert row["eval_loss"] is None  # 60 rows: no split


# --- ML.WEIGHTS ------------------------------------------------------------------------------------


def test_weights_linear_reg_original_and_standardized_scale(cur: sqlml.Cursor) -> None:
    train(
        cur,
        "w_lin",
        "model_type='linear_reg', input_label_cols=['y']",
        "SELECT a, b, c, y FROM lin",
    )
    rows = fetch(cur, "SELECT * FROM ML.WEIGHTS(MODEL w_lin)")
    assert [d[0] for d in cur.description] == ["processed_input", "weight", "category_weights"]
    assert [r["processed_input"] for r in rows] == ["a", "b", "c", "__INTERCEPT__"]
    w = {r["processed_input"]: r for r in rows}
    assert w["a"]["weight"] == pytest.approx(3.0, abs=1e-9)
    assert w["b"]["weight"] == pytest.approx(-2.0, abs=1e-9)
    assert w["a"]["category_weights"] == [] and w["__INTERCEPT__"]["category_weights"] == []
    assert w["c"]["weight"] is None
    category = {e["category"]: e["weight"] for e in w["c"]["category_weights"]}
    assert sorted(category) == ["u", "v", "w"]
    # one-hot weights are defined up to a constant the intercept absorbs; differences are not
    assert category["v"] - category["u"] == pytest.approx(5.0, abs=1e-9)
    assert category["w"] - category["u"] == pytest.approx(-1.0, abs=1e-9)
    assert w["__INTERCEPT__"]["weight"] + category["u"] == pytest.approx(1.0, abs=1e-9)

    # x·w + b reproduces ML.PREDICT on rows without NULLs and with a known category
    scored = fetch(
        cur,
        "SELECT a, b, c, predicted_y FROM ML.PREDICT(MODEL w_lin, "
        "(SELECT 2.5::DOUBLE AS a, 7.0::DOUBLE AS b, 'v' AS c UNION ALL SELECT -1.0, 0.5, 'w'))",
    )
    for r in scored:
        by_hand = (
            r["a"] * w["a"]["weight"]
            + r["b"] * w["b"]["weight"]
            + category[r["c"]]
            + w["__INTERCEPT__"]["weight"]
        )
        assert r["predicted_y"] == pytest.approx(by_hand, abs=1e-4)

    # standardized: as fitted on features scaled to mean 0, standard deviation 1
    data = fetch(cur, "SELECT a, b FROM lin")
    a, b = column(data, "a"), column(data, "b")
    std = {
        r["processed_input"]: r
        for r in fetch(cur, "SELECT * FROM ML.WEIGHTS(MODEL w_lin, STRUCT(TRUE AS standardize))")
    }
    assert std["a"]["weight"] == pytest.approx(3.0 * np.std(a), abs=1e-9)
    assert std["b"]["weight"] == pytest.approx(-2.0 * np.std(b), abs=1e-9)
    assert std["c"]["category_weights"] == w["c"]["category_weights"]
    assert std["__INTERCEPT__"]["weight"] == pytest.approx(
        w["__INTERCEPT__"]["weight"] + 3.0 * a.mean() - 2.0 * b.mean(), abs=1e-9
    )


def test_weights_multiclass_logistic_reproduce_probabilities(cur: sqlml.Cursor) -> None:
    train(
        cur,
        "w_multi",
        "model_type='logistic_reg', input_label_cols=['y'], l2_reg=1.0",
        "SELECT x1, x2, cat, y FROM multi",
    )
    rows = fetch(cur, "SELECT * FROM ML.WEIGHTS(MODEL w_multi)")
    assert [d[0] for d in cur.description] == [
        "class_label",
        "processed_input",
        "weight",
        "category_weights",
    ]
    classes = ["hi", "lo", "mid"]
    assert [r["class_label"] for r in rows] == [c for c in classes for _ in range(4)]
    weights = {(r["class_label"], r["processed_input"]): r for r in rows}

    scored = fetch(cur, "SELECT * FROM ML.PREDICT(MODEL w_multi, TABLE multi)")
    for r in scored[:20]:
        logits = np.array(
            [
                r["x1"] * weights[(k, "x1")]["weight"]
                + r["x2"] * weights[(k, "x2")]["weight"]
                + {e["category"]: e["weight"] for e in weights[(k, "cat")]["category_weights"]}[
                    r["cat"]
                ]
                + weights[(k, "__INTERCEPT__")]["weight"]
                for k in classes
            ]
        )
        softmax = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
        probs = [p["prob"] for p in r["predicted_y_probs"]]
        np.testing.assert_allclose(probs, softmax, atol=1e-5)

    # binary logistic: one set of rows, no class_label column
    train(
        cur,
        "w_bin",
        "model_type='logistic_reg', input_label_cols=['yb'], l2_reg=1.0",
        "SELECT x1, x2, yb FROM num",
    )
    fetch(cur, "SELECT * FROM ML.WEIGHTS(MODEL w_bin)")
    assert [d[0] for d in cur.description] == ["processed_input", "weight", "category_weights"]


# --- ML.FEATURE_IMPORTANCE -------------------------------------------------------------------------


def _splits_and_cover(trees: list[Any], n_features: int) -> tuple[np.ndarray, np.ndarray]:
    splits, cover = np.zeros(n_features), np.zeros(n_features)
    for tree in trees:
        t = tree.tree_
        for node in range(t.node_count):
            if t.children_left[node] != -1:
                splits[t.feature[node]] += 1
                cover[t.feature[node]] += t.n_node_samples[node]
    return splits, cover


def test_feature_importance_of_a_forest_matches_scikit_learn(cur: sqlml.Cursor) -> None:
    train(
        cur,
        "fi_forest",
        "model_type='random_forest_regressor', input_label_cols=['y'], num_parallel_tree=12, "
        "max_tree_depth=4",
        "SELECT x1, x2, x3, y FROM num ORDER BY id",
    )
    rows = fetch(cur, "SELECT * FROM ML.FEATURE_IMPORTANCE(MODEL fi_forest)")
    assert [d[0] for d in cur.description] == [
        "feature",
        "importance_weight",
        "importance_gain",
        "importance_cover",
    ]
    gains = [r["importance_gain"] for r in rows]
    assert gains == sorted(gains, reverse=True)

    data = fetch(cur, "SELECT x1, x2, x3, y FROM num ORDER BY id")  # 150 rows: all train
    names = ["x1", "x2", "x3"]
    x = np.column_stack([column(data, f) for f in names])
    reference = RandomForestRegressor(
        n_estimators=12, max_depth=4, max_samples=0.8, random_state=42
    ).fit(x, column(data, "y"))
    splits, cover = _splits_and_cover(reference.estimators_, 3)
    by_feature = {r["feature"]: r for r in rows}
    for j, name in enumerate(names):
        got = by_feature[name]
        assert got["importance_gain"] == pytest.approx(reference.feature_importances_[j], abs=1e-12)
        assert got["importance_weight"] == splits[j]
        expected_cover = cover[j] / splits[j] if splits[j] else None
        assert got["importance_cover"] == pytest.approx(expected_cover)


def test_feature_importance_sums_one_hot_columns(cur: sqlml.Cursor) -> None:
    """BigQuery's ML.FEATURE_IMPORTANCE of a boosted tree is XGBoost's: importance_weight the number
    of splits on a feature, importance_gain and importance_cover their mean gain and cover
    (https://cloud.google.com/bigquery/docs/reference/standard-sql/bigqueryml-syntax-importance);
    a categorical feature's one-hot columns count as the feature."""
    train(
        cur,
        "fi_boost",
        "model_type='boosted_tree_regressor', input_label_cols=['y'], max_iterations=6, "
        "max_tree_depth=3, early_stop=FALSE, data_split_method='NO_SPLIT', learn_rate=0.3",
        "SELECT a, b, c, y FROM lin ORDER BY id",
    )
    rows = fetch(cur, "SELECT * FROM ML.FEATURE_IMPORTANCE(MODEL fi_boost)")
    data = fetch(cur, "SELECT a, b, c, y FROM lin ORDER BY id")
    # the model's preprocessing by hand: the numbers, then one column per sorted category
    one_hot = [[float(r["c"] == c) for r in data] for c in ("u", "v", "w")]
    x = np.column_stack([column(data, "a"), column(data, "b"), *one_hot])
    reference = xgboost.XGBRegressor(
        n_estimators=6, learning_rate=0.3, max_depth=3, tree_method="hist", random_state=42
    ).fit(x, column(data, "y"))
    scores = {
        kind: reference.get_booster().get_score(importance_type=kind)
        for kind in ("weight", "total_gain", "total_cover")
    }
    owner = {"a": [0], "b": [1], "c": [2, 3, 4]}
    by_feature = {r["feature"]: r for r in rows}
    assert set(by_feature) == {"a", "b", "c"}
    for name, columns in owner.items():
        got = by_feature[name]
        total = {k: sum(v.get(f"f{j}", 0.0) for j in columns) for k, v in scores.items()}
        assert got["importance_weight"] == total["weight"]
        if total["weight"]:
            assert got["importance_gain"] == pytest.approx(
                total["total_gain"] / total["weight"], rel=1e-5
            )
            assert got["importance_cover"] == pytest.approx(
                total["total_cover"] / total["weight"], rel=1e-5
            )
    assert by_feature["c"]["importance_weight"] > 0


# --- errors ----------------------------------------------------------------------------------------


def test_inspection_errors_name_the_function_and_the_model(cur: sqlml.Cursor) -> None:
    train(
        cur,
        "err_forest",
        "model_type='random_forest_classifier', input_label_cols=['yb'], num_parallel_tree=3",
        "SELECT x1, x2, yb FROM num",
    )
    train(
        cur, "err_lin", "model_type='linear_reg', input_label_cols=['y']", "SELECT x1, y FROM num"
    )
    train(
        cur,
        "err_dnn",
        "model_type='dnn_regressor', input_label_cols=['y'], max_iterations=3, hidden_units=[4]",
        "SELECT x1, y FROM num",
    )
    with pytest.raises(sqlml.ProgrammingError, match="ML.WEIGHTS applies to linear_reg") as info:
        cur.execute("SELECT * FROM ML.WEIGHTS(MODEL err_forest)")
    assert "err_forest" in str(info.value) and "random_forest_classifier" in str(info.value)
    for model in ("err_lin", "err_dnn"):
        with pytest.raises(
            sqlml.ProgrammingError, match="ML.FEATURE_IMPORTANCE applies to"
        ) as info:
            cur.execute(f"SELECT * FROM ML.FEATURE_IMPORTANCE(MODEL {model})")
        assert "random forest and boosted tree" in str(info.value) and model in str(info.value)
        # a linear model is pointed to its weights (BigQuery's page for linear models' importance:
        # ML.WEIGHTS, ML.GLOBAL_EXPLAIN); a DNN is not
        assert ("ML.WEIGHTS(MODEL err_lin" in str(info.value)) == (model == "err_lin")
    cur.execute("SELECT * FROM ML.WEIGHTS(MODEL err_lin, STRUCT(TRUE AS standardize))")
    assert cur.fetchall()  # the query the message gives runs
    with pytest.raises(errors.OptionError, match="'standardize'.*TRUE or FALSE"):
        cur.execute("SELECT * FROM ML.WEIGHTS(MODEL err_lin, STRUCT('yes' AS standardize))")
    with pytest.raises(sqlml.ProgrammingError, match="takes no input rows"):
        cur.execute("SELECT * FROM ML.FEATURE_INFO(MODEL err_lin, TABLE num)")


def test_models_without_recorded_insights_say_what_to_do(cur: sqlml.Cursor) -> None:
    import json

    train(
        cur, "old_lin", "model_type='linear_reg', input_label_cols=['y']", "SELECT x1, y FROM num"
    )
    cur.execute("SELECT training_info FROM sqlml.models WHERE name = 'old_lin'")
    info = json.loads(cur.fetchone()[0])

    def store(changed: dict[str, Any]) -> None:
        cur.execute(
            "UPDATE sqlml.models SET training_info = ? WHERE name = 'old_lin'",
            [json.dumps(changed)],
        )

    # as written by a sqlml from before these functions: retrain
    store({k: v for k, v in info.items() if k not in ("linear_weights", "feature_info")})
    with pytest.raises(sqlml.ProgrammingError, match="CREATE OR REPLACE MODEL old_lin"):
        cur.execute("SELECT * FROM ML.WEIGHTS(MODEL old_lin)")
    with pytest.raises(sqlml.ProgrammingError, match="ML.FEATURE_INFO needs"):
        cur.execute("SELECT * FROM ML.FEATURE_INFO(MODEL old_lin)")
    # preprocessing the weights cannot be traced through: the recorded reason
    reason = {"linear_weights": "its features are preprocessed by a TRANSFORM clause"}
    store({**info, "linear_weights": None, "insights_unavailable": reason})
    with pytest.raises(sqlml.NotSupportedError, match="not available for model old_lin: its feat"):
        cur.execute("SELECT * FROM ML.WEIGHTS(MODEL old_lin)")


def test_unfamiliar_preprocessing_is_recorded_as_unavailable() -> None:
    import pandas as pd
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import MinMaxScaler

    from sqlml.training import insights

    frame = pd.DataFrame({"a": [1.0, 2.0, 4.0]})
    branch = ColumnTransformer([("t0", MinMaxScaler(), ["a"])]).fit(frame)
    features = [{"name": "a", "kind": "numeric"}]

    def layout() -> Any:
        return insights.column_layout(branch, features)

    with pytest.raises(insights.UnsupportedLayout, match="TRANSFORM"):
        layout()
    info: dict[str, Any] = {}
    insights._record(info, insights.LINEAR_WEIGHTS, layout)
    assert insights.LINEAR_WEIGHTS not in info
    assert "TRANSFORM" in info[insights.UNAVAILABLE][insights.LINEAR_WEIGHTS]


def test_training_info_logistic_one_row_per_newton_step(cur: sqlml.Cursor) -> None:
    """BigQuery reports a row per iteration of a logistic regression, so a loss curve can be
    drawn: here one per Newton step, the training log loss falling, the last step's equal to the
    log loss of ML.PREDICT's probabilities over the training rows (numpy)."""
    train(
        cur,
        "logit_steps",
        "model_type='logistic_reg', input_label_cols=['yb'], data_split_method='NO_SPLIT', "
        "min_rel_progress=0.000001",
        "SELECT x1, x2, yb FROM num",
    )
    rows = fetch(cur, "SELECT * FROM ML.TRAINING_INFO(MODEL logit_steps) ORDER BY iteration")
    assert len(rows) >= 2 and [r["iteration"] for r in rows] == list(range(len(rows)))
    losses = [r["loss"] for r in rows]
    assert all(a > b for a, b in zip(losses, losses[1:], strict=False))
    assert [r["eval_loss"] for r in rows] == [None] * len(rows)  # NO_SPLIT: no evaluation rows
    assert [r["duration_ms"] is not None for r in rows] == [False] * (len(rows) - 1) + [True]
    scored = fetch(
        cur,
        "SELECT yb, p.prob FROM ML.PREDICT(MODEL logit_steps, (SELECT x1, x2, yb FROM num)), "
        "UNNEST(predicted_yb_probs) u(p) WHERE p.label = yb",
    )
    expected = -np.mean(np.log(np.clip(column(scored, "prob"), 1e-15, 1.0)))
    assert losses[-1] == pytest.approx(expected, rel=1e-5)  # float32 graph against float64 fit
