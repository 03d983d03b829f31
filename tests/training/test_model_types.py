"""Conformance of every model_type with BigQuery ML's CREATE MODEL / ML.PREDICT / ML.EVALUATE.

Real DuckDB files, real ONNX Runtime, no mocks. Expected values are written by hand from the data
(y = 3x + 2, separable classes, well-apart blobs) or computed independently with numpy/scikit-learn
from ML.PREDICT's own output columns; never copied from sqlml's output.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from sklearn import metrics as skm

import sqlml
from sqlml.errors import ModelNotFoundError

# --- data -----------------------------------------------------------------------------------------

N = 60
TABLES = {
    # y = 3 * x1 + 2 exactly; x2 and cat are noise features.
    "reg": f"""
        SELECT i AS id, (i / 10.0)::DOUBLE AS x1, ((i * 7) % 11)::DOUBLE AS x2,
               ['p', 'q', 'r'][i % 3 + 1] AS cat, 3 * (i / 10.0)::DOUBLE + 2 AS y
        FROM range({N}) t(i)""",
    # separable at x1 = 0: label TRUE iff x1 > 0
    "bin": f"""
        SELECT i AS id, (i - 29.5)::DOUBLE AS x1, ((i * 7) % 11)::DOUBLE AS x2,
               ['p', 'q', 'r'][i % 3 + 1] AS cat, i >= 30 AS y
        FROM range({N}) t(i)""",
    # three string classes, separable by x1 bands 0..2, 10..12, 20..22
    "multi": f"""
        SELECT i AS id, (i // 20) * 10.0 + (i % 20) / 10.0 AS x1, ((i * 7) % 11)::DOUBLE AS x2,
               ['p', 'q', 'r'][i % 3 + 1] AS cat, ['lo', 'mid', 'hi'][i // 20 + 1] AS y
        FROM range({N}) t(i)""",
    # three blobs around (0, 0), (10, -10), (20, -20), blob = i % 3
    "blobs": f"""
        SELECT i AS id, (i % 3) * 10.0 + (i % 5) / 10.0 AS x1,
               (i % 3) * -10.0 + (i % 7) / 10.0 AS x2
        FROM range({N}) t(i)""",
}

CLASSIFICATION = (
    "precision",
    "recall",
    "accuracy",
    "f1_score",
    "log_loss",
    "roc_auc",
    "average_precision",
)
REGRESSION = (
    "mean_absolute_error",
    "mean_squared_error",
    "mean_squared_log_error",
    "median_absolute_error",
    "r2_score",
    "explained_variance",
)
CLUSTERING = ("davies_bouldin_index", "mean_squared_distance")

# case id -> (model_type, table, task, extra options)
CASES = {
    "linear_reg": ("linear_reg", "reg", "regression", ""),
    "logistic_reg_binary": ("logistic_reg", "bin", "classification", ""),
    "logistic_reg_multiclass": ("logistic_reg", "multi", "classification", ""),
    "random_forest_classifier": ("random_forest_classifier", "bin", "classification", ""),
    "random_forest_regressor": ("random_forest_regressor", "reg", "regression", ""),
    "boosted_tree_classifier": ("boosted_tree_classifier", "multi", "classification", ""),
    "boosted_tree_regressor": ("boosted_tree_regressor", "reg", "regression", ""),
    "dnn_classifier": ("dnn_classifier", "bin", "classification", ""),
    "dnn_regressor": ("dnn_regressor", "reg", "regression", ", max_iterations=2000"),
    "kmeans": ("kmeans", "blobs", "clustering", ", num_clusters=3"),
}


def fetch(cur: sqlml.Cursor, sql: str, params: Any = None) -> list[dict[str, Any]]:
    cur.execute(sql, params)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def types_of(cur: sqlml.Cursor) -> dict[str, str]:
    return {d[0]: d[1] for d in cur.description}


@pytest.fixture
def con(tmp_path: Path) -> Iterator[sqlml.Connection]:
    connection = sqlml.connect(str(tmp_path / "models.duckdb"))
    yield connection
    if not connection.closed:
        connection.close()


def run_onnx(model_bytes: bytes, rows: list[dict[str, Any]], features: list[dict[str, str]]):
    """Score raw column values with onnxruntime directly: float32 / string [N, 1] inputs."""
    session = ort.InferenceSession(model_bytes, providers=["CPUExecutionProvider"])
    feeds = {}
    for feature in features:
        values = [r[feature["name"]] for r in rows]
        if feature["kind"] == "numeric":
            feeds[feature["name"]] = np.array(
                [np.nan if v is None else v for v in values], dtype=np.float32
            ).reshape(-1, 1)
        else:
            feeds[feature["name"]] = np.array(values, dtype=object).reshape(-1, 1)
    return session.run(None, feeds)


# --- the conformance test ---------------------------------------------------------------------------


@pytest.mark.parametrize("case", list(CASES))
def test_model_type_conformance(con: sqlml.Connection, case: str) -> None:
    model_type, table, task, extra = CASES[case]
    cur = con.cursor()
    cur.execute(f"CREATE TABLE {table} AS {TABLES[table]}")
    label = "" if task == "clustering" else ", input_label_cols=['y']"
    cur.execute(
        f"CREATE MODEL m OPTIONS(model_type='{model_type}'{label}{extra}) "
        f"AS SELECT * EXCLUDE (id) FROM {table}"
    )

    # catalog row with the ONNX bytes
    (row,) = fetch(
        cur,
        "SELECT name, version, model_type, label, onnx, training_info, spec, features "
        "FROM sqlml.models",
    )
    assert row["name"] == "m"
    assert row["version"] == 1
    assert row["model_type"] == model_type
    assert row["label"] == (None if task == "clustering" else "y")
    model_bytes = bytes(row["onnx"])
    proto = onnx.load_model_from_string(model_bytes)
    onnx.checker.check_model(proto)
    features = json.loads(row["features"])
    expected_features = ["x1", "x2"] if table == "blobs" else ["x1", "x2", "cat"]
    assert [f["name"] for f in features] == expected_features

    # the stored fidelity report is within its tolerance
    fidelity = json.loads(row["training_info"])["fidelity"]
    difference = next(v for k, v in fidelity.items() if k.startswith("max_"))
    assert math.isfinite(difference)
    assert difference <= fidelity["tolerance"]

    # ML.PREDICT: all input columns in order, then BigQuery's output columns
    data = fetch(cur, f"SELECT * FROM {table} ORDER BY id")
    out = fetch(cur, f"SELECT * FROM ML.PREDICT(MODEL m, TABLE {table}) ORDER BY id")
    types = types_of(cur)
    input_columns = list(data[0])
    if task == "classification":
        added = ["predicted_y", "predicted_y_probs"]
    elif task == "regression":
        added = ["predicted_y"]
    else:
        added = ["centroid_id", "nearest_centroids_distance"]
    assert list(types) == input_columns + added
    assert len(out) == N
    for before, after in zip(data, out, strict=True):
        assert {k: after[k] for k in input_columns} == before

    direct = run_onnx(model_bytes, data, features)
    if task == "regression":
        assert types["predicted_y"] == "DOUBLE"
        predicted = np.array([r["predicted_y"] for r in out])
        truth = np.array([3 * r["x1"] + 2 for r in data])
        np.testing.assert_allclose(predicted, np.asarray(direct[0]).reshape(-1), rtol=1e-6)
        if model_type == "linear_reg":
            np.testing.assert_allclose(predicted, truth, atol=1e-3)
        else:
            r2 = 1 - np.sum((truth - predicted) ** 2) / np.sum((truth - truth.mean()) ** 2)
            assert r2 > 0.9
    elif task == "classification":
        classes = sorted({r["y"] for r in data})
        assert types["predicted_y"] == ("BOOLEAN" if table == "bin" else "VARCHAR")
        assert types["predicted_y_probs"] == (
            f'STRUCT("label" {types["predicted_y"]}, prob DOUBLE)[]'
        )
        accuracy = np.mean([r["predicted_y"] == r["y"] for r in out])
        assert accuracy == 1.0
        probs = np.array([[p["prob"] for p in r["predicted_y_probs"]] for r in out])
        for r in out:
            assert [p["label"] for p in r["predicted_y_probs"]] == classes
            best = max(r["predicted_y_probs"], key=lambda p: p["prob"])
            assert best["label"] == r["predicted_y"]
        np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
        np.testing.assert_allclose(probs, np.asarray(direct[1]), atol=1e-6)
    else:
        assert types["centroid_id"] == "BIGINT"
        ids = [r["centroid_id"] for r in out]
        assert all(isinstance(i, int) and 1 <= i <= 3 for i in ids)
        # each blob (i % 3) is one cluster, and the three blobs are three different clusters
        by_blob = {b: {ids[i] for i in range(N) if i % 3 == b} for b in range(3)}
        assert all(len(s) == 1 for s in by_blob.values())
        assert len(set().union(*by_blob.values())) == 3
        direct_distances = np.asarray(direct[1])
        for i, r in enumerate(out):
            entries = r["nearest_centroids_distance"]
            distances = [e["distance"] for e in entries]
            assert sorted(e["centroid_id"] for e in entries) == [1, 2, 3]
            assert distances == sorted(distances)
            assert entries[0]["centroid_id"] == r["centroid_id"]
            np.testing.assert_allclose(
                distances, np.sort(direct_distances[i]), rtol=1e-5, atol=1e-6
            )

    # ML.EVALUATE: BigQuery's metric names, with and without input rows
    names = {"classification": CLASSIFICATION, "regression": REGRESSION, "clustering": CLUSTERING}
    stored = fetch(cur, "SELECT * FROM ML.EVALUATE(MODEL m)")
    assert tuple(types_of(cur)) == names[task]
    assert len(stored) == 1
    given = fetch(cur, f"SELECT * FROM ML.EVALUATE(MODEL m, TABLE {table})")
    assert tuple(types_of(cur)) == names[task]
    if task == "classification":
        assert given[0]["accuracy"] == 1.0
    elif model_type == "linear_reg":
        assert given[0]["mean_absolute_error"] < 1e-3
        assert given[0]["r2_score"] > 0.999999

    # DROP MODEL: the catalog is empty and the model is gone
    cur.execute("DROP MODEL m")
    assert fetch(cur, "SELECT count(*) AS n FROM sqlml.models") == [{"n": 0}]
    with pytest.raises(ModelNotFoundError, match="'m'"):
        cur.execute(f"SELECT * FROM ML.PREDICT(MODEL m, TABLE {table})")


def test_kmeans_trains_when_a_row_sits_on_a_centroid(con: sqlml.Connection) -> None:
    """Evenly spaced 1-D data: some rows coincide with a centroid, distance 0 (not NaN)."""
    cur = con.cursor()
    cur.execute("CREATE TABLE line AS SELECT (i - 29.5)::DOUBLE AS x FROM range(60) t(i)")
    cur.execute("CREATE MODEL k OPTIONS(model_type='kmeans', num_clusters=3) AS SELECT * FROM line")
    out = fetch(cur, "SELECT * FROM ML.PREDICT(MODEL k, TABLE line)")
    for r in out:
        assert all(math.isfinite(e["distance"]) for e in r["nearest_centroids_distance"])


# --- shared models for the remaining tests ----------------------------------------------------------

NOISY = """
    SELECT i AS id, (i / 10.0)::DOUBLE AS x1, ['p', 'q', 'r'][i % 3 + 1] AS cat,
           (i >= 40) != (i % 7 = 0) AS y,
           ['a', 'b', 'c'][(i // 27 + (i % 5 = 0)::INT) % 3 + 1] AS c3,
           3 * (i / 10.0) + 2 + ((i * 37) % 11 - 5) / 5.0 AS v,
           (i * 13 % 80)::BIGINT AS n
    FROM range(80) t(i)
"""


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sqlml.Connection]:
    path = tmp_path_factory.mktemp("shared") / "shared.duckdb"
    connection = sqlml.connect(str(path))
    cur = connection.cursor()
    cur.execute(f"CREATE TABLE noisy AS {NOISY}")
    cur.execute(f"CREATE TABLE blobs AS {TABLES['blobs']}")
    cur.execute(
        "CREATE MODEL bin OPTIONS(model_type='logistic_reg', input_label_cols=['y']) "
        "AS SELECT x1, cat, y FROM noisy"
    )
    cur.execute(
        "CREATE MODEL multi OPTIONS(model_type='logistic_reg', input_label_cols=['c3']) "
        "AS SELECT x1, cat, c3 FROM noisy"
    )
    cur.execute(
        "CREATE MODEL reg OPTIONS(model_type='linear_reg', input_label_cols=['v']) "
        "AS SELECT x1, cat, v FROM noisy"
    )
    cur.execute(
        "CREATE MODEL km OPTIONS(model_type='kmeans', num_clusters=3) AS SELECT x1, x2 FROM blobs"
    )
    yield connection
    connection.close()


def test_binary_metrics_match_sklearn(trained: sqlml.Connection) -> None:
    cur = trained.cursor()
    out = fetch(cur, "SELECT * FROM ML.PREDICT(MODEL bin, (SELECT x1, cat, y FROM noisy))")
    (got,) = fetch(cur, "SELECT * FROM ML.EVALUATE(MODEL bin, (SELECT x1, cat, y FROM noisy))")
    truth = [r["y"] for r in out]
    predicted = [r["predicted_y"] for r in out]
    # positive class = the second class in sorted order: TRUE
    p_true = [next(p["prob"] for p in r["predicted_y_probs"] if p["label"]) for r in out]
    assert 0 < sum(predicted) < len(predicted)
    expected = {
        "precision": skm.precision_score(truth, predicted, pos_label=True),
        "recall": skm.recall_score(truth, predicted, pos_label=True),
        "accuracy": skm.accuracy_score(truth, predicted),
        "f1_score": skm.f1_score(truth, predicted, pos_label=True),
        "log_loss": skm.log_loss(truth, p_true),
        "roc_auc": skm.roc_auc_score(truth, p_true),
        "average_precision": skm.average_precision_score(truth, p_true),
    }
    assert got.keys() == expected.keys()
    for name, value in expected.items():
        assert got[name] == pytest.approx(value, abs=1e-6), name


def test_multiclass_metrics_match_sklearn_macro(trained: sqlml.Connection) -> None:
    cur = trained.cursor()
    out = fetch(cur, "SELECT * FROM ML.PREDICT(MODEL multi, (SELECT x1, cat, c3 FROM noisy))")
    (got,) = fetch(cur, "SELECT * FROM ML.EVALUATE(MODEL multi, (SELECT x1, cat, c3 FROM noisy))")
    classes = ["a", "b", "c"]
    truth = [r["c3"] for r in out]
    predicted = [r["predicted_c3"] for r in out]
    probs = np.array([[p["prob"] for p in r["predicted_c3_probs"]] for r in out])
    assert [p["label"] for p in out[0]["predicted_c3_probs"]] == classes
    expected = {
        "precision": skm.precision_score(truth, predicted, average="macro", zero_division=0),
        "recall": skm.recall_score(truth, predicted, average="macro", zero_division=0),
        "accuracy": skm.accuracy_score(truth, predicted),
        "f1_score": skm.f1_score(truth, predicted, average="macro", zero_division=0),
        "log_loss": skm.log_loss(truth, probs / probs.sum(axis=1, keepdims=True), labels=classes),
        "roc_auc": skm.roc_auc_score(
            truth,
            probs / probs.sum(axis=1, keepdims=True),
            multi_class="ovr",
            average="macro",
            labels=classes,
        ),
    }
    for name, value in expected.items():
        assert got[name] == pytest.approx(value, abs=1e-6), name


def test_regression_metrics_match_numpy(trained: sqlml.Connection) -> None:
    cur = trained.cursor()
    out = fetch(cur, "SELECT * FROM ML.PREDICT(MODEL reg, (SELECT x1, cat, v FROM noisy))")
    (got,) = fetch(cur, "SELECT * FROM ML.EVALUATE(MODEL reg, (SELECT x1, cat, v FROM noisy))")
    y = np.array([r["v"] for r in out])
    p = np.array([r["predicted_v"] for r in out])
    err = y - p
    expected = {
        "mean_absolute_error": np.mean(np.abs(err)),
        "mean_squared_error": np.mean(err**2),
        "mean_squared_log_error": np.mean((np.log1p(y) - np.log1p(p)) ** 2),
        "median_absolute_error": np.median(np.abs(err)),
        "r2_score": 1 - np.sum(err**2) / np.sum((y - y.mean()) ** 2),
        "explained_variance": 1 - np.var(err) / np.var(y),
    }
    for name, value in expected.items():
        assert got[name] == pytest.approx(value, rel=1e-6, abs=1e-9), name


def test_kmeans_metrics_match_sklearn(trained: sqlml.Connection) -> None:
    cur = trained.cursor()
    out = fetch(cur, "SELECT * FROM ML.PREDICT(MODEL km, TABLE blobs) ORDER BY id")
    (got,) = fetch(cur, "SELECT * FROM ML.EVALUATE(MODEL km, TABLE blobs)")
    x = np.array([[r["x1"], r["x2"]] for r in out])
    standardized = (x - x.mean(axis=0)) / x.std(axis=0)
    labels = [r["centroid_id"] for r in out]
    nearest = np.array([r["nearest_centroids_distance"][0]["distance"] for r in out])
    assert got["davies_bouldin_index"] == pytest.approx(
        skm.davies_bouldin_score(standardized, labels), rel=1e-3
    )
    assert got["mean_squared_distance"] == pytest.approx(np.mean(nearest**2), rel=1e-6)


def test_evaluate_without_input_returns_stored_metrics(trained: sqlml.Connection) -> None:
    cur = trained.cursor()
    for model, query in [
        ("bin", "SELECT x1, cat, y FROM noisy"),
        ("reg", "SELECT x1, cat, v FROM noisy"),
        ("km", "SELECT x1, x2 FROM blobs"),
    ]:
        (stored,) = fetch(cur, f"SELECT * FROM ML.EVALUATE(MODEL {model})")
        (row,) = fetch(cur, "SELECT metrics FROM sqlml.models WHERE name = ?", [model])
        assert stored == json.loads(row["metrics"])
        # fewer than 500 rows: no split, so the stored metrics are those of all training rows
        (fresh,) = fetch(cur, f"SELECT * FROM ML.EVALUATE(MODEL {model}, ({query}))")
        for name, value in fresh.items():
            assert stored[name] == pytest.approx(value, rel=1e-9, abs=1e-12), (model, name)


def test_threshold_changes_binary_predictions_consistently(trained: sqlml.Connection) -> None:
    cur = trained.cursor()
    default = fetch(cur, "SELECT * FROM ML.PREDICT(MODEL bin, TABLE noisy) ORDER BY id")
    strict = fetch(
        cur,
        "SELECT * FROM ML.PREDICT(MODEL bin, TABLE noisy, STRUCT(0.9 AS threshold)) ORDER BY id",
    )
    changed = 0
    for a, b in zip(default, strict, strict=True):
        p_true = next(p["prob"] for p in b["predicted_y_probs"] if p["label"] is True)
        assert b["predicted_y"] is (p_true >= 0.9)
        assert a["predicted_y"] is (p_true >= 0.5)
        assert a["predicted_y_probs"] == b["predicted_y_probs"]
        changed += a["predicted_y"] != b["predicted_y"]
    assert changed > 0


def test_threshold_changes_evaluate(trained: sqlml.Connection) -> None:
    cur = trained.cursor()
    out = fetch(cur, "SELECT * FROM ML.PREDICT(MODEL bin, TABLE noisy)")
    (got,) = fetch(
        cur, "SELECT * FROM ML.EVALUATE(MODEL bin, TABLE noisy, STRUCT(0.9 AS threshold))"
    )
    truth = [r["y"] for r in out]
    predicted = [next(p["prob"] for p in r["predicted_y_probs"] if p["label"]) >= 0.9 for r in out]
    assert got["recall"] == pytest.approx(skm.recall_score(truth, predicted), abs=1e-9)
    assert got["precision"] == pytest.approx(skm.precision_score(truth, predicted), abs=1e-9)


def test_nulls_in_features_score_fine(con: sqlml.Connection) -> None:
    cur = con.cursor()
    cur.execute(
        """CREATE TABLE t AS SELECT i AS id,
               CASE WHEN i % 6 = 0 THEN NULL ELSE (i - 19.5) END AS x,
               CASE WHEN i % 5 = 0 THEN NULL ELSE ['p', 'q'][i % 2 + 1] END AS cat,
               i >= 20 AS y
           FROM range(40) t(i)"""
    )
    cur.execute(
        "CREATE MODEL m OPTIONS(model_type='logistic_reg', input_label_cols=['y']) "
        "AS SELECT x, cat, y FROM t"
    )
    out = fetch(
        cur,
        "SELECT * FROM ML.PREDICT(MODEL m, (SELECT * FROM t UNION ALL "
        "SELECT 99, NULL, NULL, TRUE)) ORDER BY id",
    )
    assert len(out) == 41
    assert out[-1]["x"] is None and out[-1]["cat"] is None
    for r in out:
        assert r["predicted_y"] in (True, False)
        assert sum(p["prob"] for p in r["predicted_y_probs"]) == pytest.approx(1, abs=1e-5)
    # rows with a known x far from the boundary are classified by it
    assert all(r["predicted_y"] == r["y"] for r in out if r["x"] is not None and abs(r["x"]) > 5)


def test_unseen_category_is_ignored(con: sqlml.Connection) -> None:
    """An unseen category and an (unseen) NULL both encode as 'no category': same prediction."""
    cur = con.cursor()
    cur.execute(f"CREATE TABLE t AS {TABLES['bin']}")
    cur.execute(
        "CREATE MODEL m OPTIONS(model_type='logistic_reg', input_label_cols=['y']) "
        "AS SELECT x1, cat, y FROM t"
    )
    out = fetch(
        cur,
        "SELECT * FROM ML.PREDICT(MODEL m, (SELECT * FROM (VALUES (1, 0.3, 'zzz'), "
        "(2, 0.3, NULL), (3, -0.3, 'never')) v(id, x1, cat))) ORDER BY id",
    )
    assert len(out) == 3
    assert out[0]["predicted_y_probs"] == out[1]["predicted_y_probs"]
    assert out[0]["predicted_y"] is True
    assert out[2]["predicted_y"] is False


@pytest.mark.parametrize(
    ("label_sql", "sql_type", "classes"),
    [
        ("i >= 20", "BOOLEAN", [False, True]),
        ("CASE WHEN i >= 20 THEN 'yes' ELSE 'no' END", "VARCHAR", ["no", "yes"]),
        ("CASE WHEN i >= 20 THEN 7 ELSE -3 END::BIGINT", "BIGINT", [-3, 7]),
    ],
)
def test_label_types_round_trip(
    con: sqlml.Connection, label_sql: str, sql_type: str, classes: list[Any]
) -> None:
    cur = con.cursor()
    cur.execute(f"CREATE TABLE t AS SELECT (i - 19.5) AS x, {label_sql} AS lab FROM range(40) t(i)")
    cur.execute(
        "CREATE MODEL m OPTIONS(model_type='logistic_reg', input_label_cols=['lab']) "
        "AS SELECT * FROM t"
    )
    out = fetch(cur, "SELECT * FROM ML.PREDICT(MODEL m, TABLE t) ORDER BY x")
    types = types_of(cur)
    assert types["lab"] == sql_type
    assert types["predicted_lab"] == sql_type
    assert types["predicted_lab_probs"] == f'STRUCT("label" {sql_type}, prob DOUBLE)[]'
    assert [r["predicted_lab"] for r in out] == [r["lab"] for r in out]
    assert type(out[0]["predicted_lab"]) is type(classes[0])
    assert [p["label"] for p in out[0]["predicted_lab_probs"]] == classes


def test_predict_in_cte_join_ctas_and_with_parameters(trained: sqlml.Connection) -> None:
    cur = trained.cursor()
    # hand count: x1 = i / 10 > 5 for i in 51..79 -> 29 rows
    assert fetch(
        cur,
        "WITH p AS (SELECT * FROM ML.PREDICT(MODEL reg, TABLE noisy)) SELECT count(*) AS n FROM p",
    ) == [{"n": 80}]
    rows = fetch(
        cur,
        "SELECT count(*) AS n FROM ML.PREDICT(MODEL reg, (SELECT * FROM noisy WHERE x1 > ?))",
        [5],
    )
    assert rows == [{"n": 29}]
    # a CTE of the statement as the input: ids 0..4 -> 5 rows
    rows = fetch(
        cur,
        "WITH src AS (SELECT * FROM noisy WHERE id < 5) "
        "SELECT count(*) AS n FROM ML.PREDICT(MODEL reg, TABLE src)",
    )
    assert rows == [{"n": 5}]
    # inner and outer parameters: x1 > 5 and id < 60 -> i in 51..59 -> 9 rows
    rows = fetch(
        cur,
        "SELECT count(*) AS n FROM ML.PREDICT(MODEL reg, (SELECT * FROM noisy WHERE x1 > ?)) "
        "WHERE id < ?",
        [5, 60],
    )
    assert rows == [{"n": 9}]
    joined = fetch(
        cur,
        "SELECT n.id, p.predicted_v, 3 * n.x1 + 2 AS line FROM noisy n "
        "JOIN ML.PREDICT(MODEL reg, TABLE noisy) p ON n.id = p.id ORDER BY n.id",
    )
    assert len(joined) == 80
    assert all(abs(r["predicted_v"] - r["line"]) < 1.5 for r in joined)
    cur.execute("CREATE TABLE scored AS SELECT * FROM ML.PREDICT(MODEL bin, TABLE noisy)")
    cur.execute("SELECT * FROM scored LIMIT 0")
    assert list(types_of(cur))[-2:] == ["predicted_y", "predicted_y_probs"]
    assert fetch(cur, "SELECT count(*) AS n FROM scored") == [{"n": 80}]
    cur.execute("DROP TABLE scored")


def test_two_predict_calls_in_one_statement(trained: sqlml.Connection) -> None:
    cur = trained.cursor()
    rows = fetch(
        cur,
        "SELECT a.id, a.predicted_v, b.predicted_y, b.y "
        "FROM ML.PREDICT(MODEL reg, TABLE noisy) a "
        "JOIN ML.PREDICT(MODEL bin, (SELECT * FROM noisy WHERE id < ?)) b USING (id) ORDER BY id",
        [10],
    )
    assert [r["id"] for r in rows] == list(range(10))
    assert all(isinstance(r["predicted_v"], float) for r in rows)
    assert all(isinstance(r["predicted_y"], bool) for r in rows)


def test_export_model_runs_in_onnxruntime(trained: sqlml.Connection, tmp_path: Path) -> None:
    cur = trained.cursor()
    target = tmp_path / "bin.onnx"
    cur.execute(f"EXPORT MODEL bin OPTIONS(uri='{target}')")
    proto = onnx.load(str(target))
    props = {p.key: p.value for p in proto.metadata_props}
    assert {"sqlml.spec", "sqlml.features", "sqlml.model_type"} <= props.keys()
    assert props["sqlml.model_type"] == "logistic_reg"
    features = json.loads(props["sqlml.features"])
    assert [f["name"] for f in features] == ["x1", "cat"]
    spec = json.loads(props["sqlml.spec"])
    assert spec["classes"] == [False, True]

    data = fetch(cur, "SELECT * FROM noisy ORDER BY id")
    out = fetch(cur, "SELECT * FROM ML.PREDICT(MODEL bin, TABLE noisy) ORDER BY id")
    session = ort.InferenceSession(str(target), providers=["CPUExecutionProvider"])
    feeds = {
        "x1": np.array([[r["x1"]] for r in data], dtype=np.float32),
        "cat": np.array([[r["cat"]] for r in data], dtype=object),
    }
    probabilities = np.asarray(session.run(None, feeds)[1])
    expected = np.array([[p["prob"] for p in r["predicted_y_probs"]] for r in out])
    np.testing.assert_allclose(probabilities, expected, atol=1e-6)


def test_exported_kmeans_gives_finite_distances(con: sqlml.Connection, tmp_path: Path) -> None:
    """The exported graph itself, run by onnxruntime, agrees with ML.PREDICT (no NaN distances)."""
    cur = con.cursor()
    cur.execute("CREATE TABLE line AS SELECT (i - 29.5)::DOUBLE AS x FROM range(60) t(i)")
    cur.execute("CREATE MODEL k OPTIONS(model_type='kmeans', num_clusters=3) AS SELECT * FROM line")
    target = tmp_path / "k.onnx"
    cur.execute(f"EXPORT MODEL k OPTIONS(uri='{target}')")
    out = fetch(cur, "SELECT * FROM ML.PREDICT(MODEL k, TABLE line) ORDER BY x")
    session = ort.InferenceSession(str(target), providers=["CPUExecutionProvider"])
    xs = np.array([[r["x"]] for r in out], dtype=np.float32)
    distances = np.asarray(session.run(None, {"x": xs})[1])
    assert np.isfinite(distances).all()
    expected = [sorted(e["distance"] for e in r["nearest_centroids_distance"]) for r in out]
    np.testing.assert_allclose(np.sort(distances, axis=1), expected, atol=1e-3)
