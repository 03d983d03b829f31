"""ML.EXPLAIN_PREDICT and ML.GLOBAL_EXPLAIN.

Linear models are checked against attributions computed by hand from the known coefficients of
the data (y = 3a − 2b + 1); other models against the properties sampled Shapley values must have
(they add up to prediction − baseline, a feature the model never uses gets 0, the baseline is the
model's output at the training medians and modes), with the ignored feature confirmed by a
scikit-learn fit here. Real DuckDB files and ONNX Runtime throughout.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.ensemble import GradientBoostingRegressor

import sqlml
from sqlml import errors

TABLES = {
    # y = 3a - 2b + 1 exactly
    "lin": """
        SELECT i AS id, (((i * 7) % 23) / 2.0)::DOUBLE AS a, (((i * 5) % 19) - 4.0)::DOUBLE AS b,
               3 * (((i * 7) % 23) / 2.0) - 2 * (((i * 5) % 19) - 4.0) + 1 AS y
        FROM range(60) t(i)""",
    # y = 3a - 2b + 1 + effect(c): effect u 0, v 5, w -1
    "linc": """
        SELECT i AS id, (((i * 7) % 23) / 2.0)::DOUBLE AS a, (((i * 5) % 19) - 4.0)::DOUBLE AS b,
               ['u', 'v', 'w', 'u'][i % 4 + 1] AS c,
               3 * (((i * 7) % 23) / 2.0) - 2 * (((i * 5) % 19) - 4.0) + 1
                 + [0.0, 5.0, -1.0, 0.0][i % 4 + 1] AS y
        FROM range(60) t(i)""",
    # y is a step in x1 only; x2 is noise, k is constant
    "step": """
        SELECT i AS id, (i - 49.5) / 10.0 AS x1, ((i * 37) % 101) / 10.0 AS x2, 5.0 AS k,
               CASE WHEN i >= 50 THEN 10.0 ELSE 0.0 END AS y
        FROM range(100) t(i)""",
    # four features, a binary and a three-class label, some text
    "mix": """
        SELECT i AS id, ((i * 37) % 101) / 10.0 AS x1, ((i * 53) % 97) / 10.0 AS x2,
               ((i * 17) % 13)::DOUBLE AS x3, ['p', 'q', 'r'][i % 3 + 1] AS cat,
               ((i * 37) % 101) / 10.0 + ((i * 53) % 97) / 20.0 > 7 AS yb,
               CASE WHEN ((i * 37) % 101) / 10.0 < 3.5 THEN 'lo'
                    WHEN ((i * 37) % 101) / 10.0 < 7 THEN 'mid' ELSE 'hi' END AS ym,
               sin(((i * 37) % 101) / 10.0) * 5 + ((i * 53) % 97) / 20.0 AS yr
        FROM range(120) t(i)""",
    "blobs": """
        SELECT i AS id, (i % 3) * 10.0 + (i % 5) / 10.0 AS x1,
               (i % 3) * -10.0 + (i % 7) / 10.0 AS x2
        FROM range(30) t(i)""",
}

EXPLAIN_COLUMNS = [
    "top_feature_attributions",
    "baseline_prediction_value",
    "prediction_value",
    "approximation_error",
]


def fetch(cur: sqlml.Cursor, sql: str) -> list[dict[str, Any]]:
    cur.execute(sql)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def attributions(row: dict[str, Any]) -> dict[str, float]:
    return {e["feature"]: e["attribution"] for e in row["top_feature_attributions"]}


@pytest.fixture(scope="module")
def cur(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sqlml.Cursor]:
    path: Path = tmp_path_factory.mktemp("explain") / "explain.duckdb"
    connection = sqlml.connect(str(path))
    cursor = connection.cursor()
    for name, sql in TABLES.items():
        cursor.execute(f"CREATE TABLE {name} AS {sql}")
    cursor.execute(
        "CREATE MODEL lin_m OPTIONS(model_type='linear_reg', input_label_cols=['y'], "
        "enable_global_explain=TRUE) AS SELECT a, b, y FROM lin"
    )
    cursor.execute(
        "CREATE MODEL forest_bin OPTIONS(model_type='random_forest_classifier', "
        "input_label_cols=['yb'], num_parallel_tree=15, max_tree_depth=5) "
        "AS SELECT x1, x2, x3, cat, yb FROM mix"
    )
    yield cursor
    connection.close()


# --- linear models: exact ----------------------------------------------------------------------------


def test_linear_reg_attributions_are_the_hand_computed_contributions(cur: sqlml.Cursor) -> None:
    data = fetch(cur, "SELECT a, b FROM lin")
    mean_a = np.mean([r["a"] for r in data])
    mean_b = np.mean([r["b"] for r in data])
    rows = fetch(
        cur,
        "SELECT * FROM ML.EXPLAIN_PREDICT(MODEL lin_m, (SELECT 1 AS id, 10.0::DOUBLE AS a, "
        "3.0::DOUBLE AS b UNION ALL SELECT 2, 0.0, -4.0 UNION ALL SELECT 3, NULL, 12.0)) ORDER BY id",
    )
    assert [d[0] for d in cur.description] == ["id", "a", "b", "predicted_y", *EXPLAIN_COLUMNS]
    types = {d[0]: d[1] for d in cur.description}
    assert types["top_feature_attributions"] == "STRUCT(feature VARCHAR, attribution DOUBLE)[]"
    assert types["approximation_error"] == "DOUBLE"
    baseline = 3 * mean_a - 2 * mean_b + 1
    for row in rows:
        a = mean_a if row["a"] is None else row["a"]  # NULL is imputed with the training mean
        expected = {"a": 3 * (a - mean_a), "b": -2 * (row["b"] - mean_b)}
        got = attributions(row)
        assert got == pytest.approx(expected, abs=1e-9)
        assert row["baseline_prediction_value"] == pytest.approx(baseline, abs=1e-9)
        assert row["prediction_value"] == pytest.approx(3 * a - 2 * row["b"] + 1, abs=1e-9)
        assert sum(got.values()) == pytest.approx(
            row["prediction_value"] - row["baseline_prediction_value"], abs=1e-9
        )
        assert row["approximation_error"] < 1e-9
        assert row["predicted_y"] == pytest.approx(row["prediction_value"], abs=1e-4)
        # ordered by |attribution|
        sizes = [abs(e["attribution"]) for e in row["top_feature_attributions"]]
        assert sizes == sorted(sizes, reverse=True)
    assert attributions(rows[2])["a"] == 0.0


def test_linear_reg_category_attribution_is_its_weight(cur: sqlml.Cursor) -> None:
    """BigQuery: a linear model's attribution is "model weight * feature value", with standardized
    numbers and one-hot categories, and the baseline is the model's intercept
    (https://cloud.google.com/bigquery/docs/reference/standard-sql/bigqueryml-syntax-xai-overview,
    https://cloud.google.com/bigquery/docs/reference/standard-sql/bigqueryml-syntax-explain-predict).
    The expected weights are numpy's least-squares fit of the same design (the one-hot columns
    and the intercept are collinear: the minimum-norm solution of the centred problem)."""
    cur.execute(
        "CREATE OR REPLACE MODEL linc_m OPTIONS(model_type='linear_reg', input_label_cols=['y']) "
        "AS SELECT a, b, c, y FROM linc"
    )
    data = fetch(cur, "SELECT a, b, c, y FROM linc")
    a = np.array([r["a"] for r in data])
    b = np.array([r["b"] for r in data])
    y = np.array([r["y"] for r in data])
    cats = ["u", "v", "w"]
    onehot = np.array([[r["c"] == c for c in cats] for r in data], dtype=float)
    z = np.column_stack([(a - a.mean()) / a.std(), (b - b.mean()) / b.std(), onehot])
    w, *_ = np.linalg.lstsq(z - z.mean(axis=0), y - y.mean(), rcond=None)
    intercept = y.mean() - z.mean(axis=0) @ w
    rows = fetch(
        cur,
        "SELECT * FROM ML.EXPLAIN_PREDICT(MODEL linc_m, (SELECT 1.0::DOUBLE AS a, 2.0::DOUBLE AS b, "
        "c FROM (VALUES ('u'), ('v'), ('w'), ('new')) v(c)), STRUCT(3 AS top_k_features)) "
        "ORDER BY c",
    )
    for row in rows:
        got = attributions(row)
        index = cats.index(row["c"]) if row["c"] in cats else None
        assert got["c"] == pytest.approx(0.0 if index is None else w[2 + index], abs=1e-6)
        assert got["a"] == pytest.approx(w[0] * (1.0 - a.mean()) / a.std(), abs=1e-6)
        assert row["baseline_prediction_value"] == pytest.approx(intercept, abs=1e-6)
        assert row["approximation_error"] < 1e-9
    by_c = {row["c"]: attributions(row)["c"] for row in rows}
    assert by_c["v"] - by_c["u"] == pytest.approx(5.0, abs=1e-9)  # the effects of the data
    assert by_c["w"] - by_c["u"] == pytest.approx(-1.0, abs=1e-9)
    predictions = {row["c"]: row["prediction_value"] for row in rows}
    assert predictions["v"] == pytest.approx(3 * 1.0 - 2 * 2.0 + 1 + 5.0, abs=1e-9)


def test_logistic_reg_is_explained_exactly_in_logit_space(cur: sqlml.Cursor) -> None:
    """BigQuery's columns: predicted_<label>, probability (of the predicted class), then the
    attributions of the predicted class, prediction_value its logit
    (https://cloud.google.com/bigquery/docs/reference/standard-sql/bigqueryml-syntax-explain-predict)."""
    cur.execute(
        "CREATE OR REPLACE MODEL logit_m OPTIONS(model_type='logistic_reg', "
        "input_label_cols=['yb'], l2_reg=1.0) AS SELECT x1, x2, cat, yb FROM mix"
    )
    for threshold in (None, 0.8):
        option = "" if threshold is None else f", STRUCT({threshold} AS threshold)"
        rows = fetch(
            cur,
            "SELECT * FROM ML.EXPLAIN_PREDICT(MODEL logit_m, (SELECT * FROM mix WHERE id < 40)"
            f"{option}) ORDER BY id",
        )
        names = [d[0] for d in cur.description]
        assert names[names.index("predicted_yb") :] == [
            "predicted_yb",
            "probability",
            *EXPLAIN_COLUMNS,
        ]
        predicted = fetch(
            cur,
            "SELECT id, predicted_yb_probs FROM ML.PREDICT(MODEL logit_m, "
            f"(SELECT * FROM mix WHERE id < 40){option}) ORDER BY id",
        )
        cut = 0.5 if threshold is None else threshold
        for row, scored in zip(rows, predicted, strict=True):
            p_true = scored["predicted_yb_probs"][1]["prob"]  # the positive class, TRUE
            assert row["predicted_yb"] is (p_true >= cut)
            p = p_true if row["predicted_yb"] else 1 - p_true
            assert row["probability"] == pytest.approx(p, abs=1e-6)
            assert row["prediction_value"] == pytest.approx(np.log(p / (1 - p)), abs=1e-3)
            total = sum(attributions(row).values())
            assert total == pytest.approx(
                row["prediction_value"] - row["baseline_prediction_value"], abs=1e-9
            )
            assert row["approximation_error"] < 1e-9
        assert {r["predicted_yb"] for r in rows} == {True, False}


# --- sampled Shapley ---------------------------------------------------------------------------------


def test_forest_attributions_add_up_and_start_from_the_median_mode_row(cur: sqlml.Cursor) -> None:
    rows = fetch(
        cur,
        "SELECT * FROM ML.EXPLAIN_PREDICT(MODEL forest_bin, (SELECT * FROM mix WHERE id < 30), "
        "STRUCT(4 AS top_k_features)) ORDER BY id",
    )
    for row in rows:
        assert len(row["top_feature_attributions"]) == 4
        assert row["approximation_error"] < 1e-9
        total = sum(attributions(row).values())
        assert total == pytest.approx(
            row["prediction_value"] - row["baseline_prediction_value"], abs=1e-9
        )
        # what is explained: the probability of the predicted class
        assert row["prediction_value"] == pytest.approx(row["probability"], abs=1e-5)
    # the baseline is the model's output at the training medians and the modes
    data = fetch(cur, "SELECT x1, x2, x3, cat FROM mix")
    medians = {f: float(np.median([r[f] for r in data])) for f in ("x1", "x2", "x3")}
    cats, counts = np.unique([r["cat"] for r in data], return_counts=True)
    mode = str(cats[np.argmax(counts)])
    (at_baseline,) = fetch(
        cur,
        f"SELECT predicted_yb_probs FROM ML.PREDICT(MODEL forest_bin, (SELECT "
        f"{medians['x1']}::DOUBLE AS x1, {medians['x2']}::DOUBLE AS x2, "
        f"{medians['x3']}::DOUBLE AS x3, '{mode}' AS cat))",
    )
    p_true = at_baseline["predicted_yb_probs"][1]["prob"]
    for r in rows:
        expected = p_true if r["predicted_yb"] else 1 - p_true
        assert r["baseline_prediction_value"] == pytest.approx(expected, abs=1e-5)


def test_unused_and_constant_features_get_zero(cur: sqlml.Cursor) -> None:
    cur.execute(
        "CREATE OR REPLACE MODEL step_m OPTIONS(model_type='boosted_tree_regressor', "
        "input_label_cols=['y'], max_tree_depth=1, max_iterations=5) "
        "AS SELECT x1, x2, k, y FROM step ORDER BY id"
    )
    # confirm independently that the model never splits on x2 (nor on the constant k)
    data = fetch(cur, "SELECT x1, x2, k, y FROM step ORDER BY id")
    x = np.array([[r["x1"], r["x2"], r["k"]] for r in data])
    reference = GradientBoostingRegressor(
        n_estimators=5, learning_rate=0.3, max_depth=1, random_state=42
    ).fit(x, [r["y"] for r in data])
    used = {int(t.tree_.feature[0]) for t in reference.estimators_.ravel()}
    assert used == {0}

    rows = fetch(
        cur,
        "SELECT * FROM ML.EXPLAIN_PREDICT(MODEL step_m, TABLE step, STRUCT(3 AS top_k_features))",
    )
    assert len(rows) == 100
    for row in rows:
        got = attributions(row)
        assert got["x2"] == 0.0 and got["k"] == 0.0
        assert got["x1"] == pytest.approx(
            row["prediction_value"] - row["baseline_prediction_value"], abs=1e-9
        )
    assert max(abs(attributions(r)["x1"]) for r in rows) > 1.0


def test_top_k_features_keeps_the_largest(cur: sqlml.Cursor) -> None:
    query = "(SELECT * FROM mix WHERE id < 25)"
    full = fetch(
        cur,
        f"SELECT id, top_feature_attributions FROM ML.EXPLAIN_PREDICT(MODEL forest_bin, {query}, "
        "STRUCT(10 AS top_k_features)) ORDER BY id",
    )
    two = fetch(
        cur,
        f"SELECT id, top_feature_attributions FROM ML.EXPLAIN_PREDICT(MODEL forest_bin, {query}, "
        "STRUCT(2 AS top_k_features)) ORDER BY id",
    )
    default = fetch(
        cur,
        f"SELECT id, top_feature_attributions FROM ML.EXPLAIN_PREDICT(MODEL forest_bin, {query}) "
        "ORDER BY id",
    )
    for whole, short, usual in zip(full, two, default, strict=True):
        assert len(whole["top_feature_attributions"]) == 4  # capped at the number of features
        assert len(usual["top_feature_attributions"]) == 4  # default 5, capped
        assert len(short["top_feature_attributions"]) == 2
        ranked = sorted(whole["top_feature_attributions"], key=lambda e: -abs(e["attribution"]))
        assert short["top_feature_attributions"] == ranked[:2]


def test_multiclass_dnn_explains_the_predicted_class_reproducibly(cur: sqlml.Cursor) -> None:
    cur.execute(
        "CREATE OR REPLACE MODEL dnn_multi OPTIONS(model_type='dnn_classifier', "
        "input_label_cols=['ym'], hidden_units=[8], max_iterations=300, learn_rate=0.01) "
        "AS SELECT x1, x2, cat, ym FROM mix"
    )
    sql = (
        "SELECT * FROM ML.EXPLAIN_PREDICT(MODEL dnn_multi, (SELECT * FROM mix WHERE id < 30), "
        "STRUCT(3 AS top_k_features, 6 AS num_paths)) ORDER BY id"
    )
    first, second = fetch(cur, sql), fetch(cur, sql)
    assert first == second  # seeded by the model's random_seed
    probs = fetch(
        cur,
        "SELECT predicted_ym_probs FROM ML.PREDICT(MODEL dnn_multi, (SELECT * FROM mix "
        "WHERE id < 30)) ORDER BY id",
    )
    for row, scored in zip(first, probs, strict=True):
        best = max(scored["predicted_ym_probs"], key=lambda p: p["prob"])
        assert best["label"] == row["predicted_ym"]
        assert row["probability"] == pytest.approx(best["prob"], abs=1e-6)
        assert row["prediction_value"] == pytest.approx(best["prob"], abs=1e-5)
        assert row["approximation_error"] < 1e-9


def test_batches_do_not_change_the_result(cur: sqlml.Cursor) -> None:
    # the paths are drawn once per query, not per row or batch: a row's attributions do not
    # depend on which other rows are explained with it
    sql = (
        "SELECT id, top_feature_attributions FROM ML.EXPLAIN_PREDICT(MODEL forest_bin, {source}, "
        "STRUCT(50 AS num_paths)) ORDER BY id"
    )
    whole = fetch(cur, sql.format(source="TABLE mix"))
    alone = fetch(cur, sql.format(source="(SELECT * FROM mix WHERE id IN (7, 99))"))
    by_id = {r["id"]: r for r in whole}
    for row in alone:
        same_as(row, by_id[row["id"]])


def same_as(row: dict[str, Any], other: dict[str, Any]) -> None:
    """The same attributions, up to float32 rounding (ONNX Runtime sums trees in an order that
    depends on how many rows it scores at once)."""
    assert [e["feature"] for e in row["top_feature_attributions"]] == [
        e["feature"] for e in other["top_feature_attributions"]
    ]
    assert attributions(row) == pytest.approx(attributions(other), abs=1e-6)


def test_scoring_chunks_agree(cur: sqlml.Cursor, monkeypatch: pytest.MonkeyPatch) -> None:
    from sqlml.measures import attribution as explain

    sql = (
        "SELECT id, top_feature_attributions, prediction_value FROM ML.EXPLAIN_PREDICT("
        "MODEL forest_bin, (SELECT * FROM mix WHERE id < 40)) ORDER BY id"
    )
    one_call = fetch(cur, sql)
    monkeypatch.setattr(explain, "SCORING_BUDGET", 100)  # 3 rows per call
    many_calls = fetch(cur, sql)
    for split, whole in zip(many_calls, one_call, strict=True):
        same_as(split, whole)
        assert split["prediction_value"] == pytest.approx(whole["prediction_value"], abs=1e-6)


# --- ML.GLOBAL_EXPLAIN -------------------------------------------------------------------------------


def test_global_explain_is_mean_absolute_attribution(cur: sqlml.Cursor) -> None:
    rows = fetch(cur, "SELECT * FROM ML.GLOBAL_EXPLAIN(MODEL lin_m)")
    assert [d[0] for d in cur.description] == ["feature", "attribution"]
    data = fetch(cur, "SELECT a, b FROM lin")  # 60 rows: all of them are trained on and sampled
    a = np.array([r["a"] for r in data])
    b = np.array([r["b"] for r in data])
    expected = {"a": 3 * np.mean(np.abs(a - a.mean())), "b": 2 * np.mean(np.abs(b - b.mean()))}
    assert {r["feature"]: r["attribution"] for r in rows} == pytest.approx(expected, rel=1e-9)
    values = [r["attribution"] for r in rows]
    assert values == sorted(values, reverse=True)
    rows = fetch(
        cur, "SELECT * FROM ML.GLOBAL_EXPLAIN(MODEL lin_m, STRUCT(FALSE AS class_level_explain))"
    )
    assert len(rows) == 2


def test_global_explain_of_a_tree_model(cur: sqlml.Cursor) -> None:
    cur.execute(
        "CREATE OR REPLACE MODEL step_g OPTIONS(model_type='boosted_tree_regressor', "
        "input_label_cols=['y'], max_tree_depth=1, max_iterations=5, enable_global_explain=TRUE) "
        "AS SELECT x1, x2, k, y FROM step"
    )
    assert not any("enable_global_explain" in m for m in cur.messages)  # a real option now
    rows = fetch(cur, "SELECT * FROM ML.GLOBAL_EXPLAIN(MODEL step_g)")
    assert rows[0]["feature"] == "x1" and rows[0]["attribution"] > 1.0
    assert {r["feature"]: r["attribution"] for r in rows[1:]} == {"x2": 0.0, "k": 0.0}


# --- errors ------------------------------------------------------------------------------------------


def test_explain_errors(cur: sqlml.Cursor) -> None:
    with pytest.raises(sqlml.ProgrammingError, match="enable_global_explain = TRUE") as info:
        cur.execute("SELECT * FROM ML.GLOBAL_EXPLAIN(MODEL forest_bin)")
    assert "forest_bin" in str(info.value) and "CREATE OR REPLACE MODEL" in str(info.value)
    with pytest.raises(errors.OptionError, match="'top_k_features'.*≥ 1; got 0"):
        cur.execute(
            "SELECT * FROM ML.EXPLAIN_PREDICT(MODEL lin_m, TABLE lin, STRUCT(0 AS top_k_features))"
        )
    with pytest.raises(sqlml.ProgrammingError, match="needs input rows"):
        cur.execute("SELECT * FROM ML.EXPLAIN_PREDICT(MODEL lin_m)")
    with pytest.raises(errors.SchemaError, match="'approx_feature_contrib'.*boosted tree"):
        cur.execute(
            "SELECT * FROM ML.EXPLAIN_PREDICT(MODEL lin_m, TABLE lin, "
            "STRUCT(TRUE AS approx_feature_contrib))"
        )
    with pytest.raises(errors.SchemaError, match="'integrated_gradients_num_steps'.*DNN"):
        cur.execute(
            "SELECT * FROM ML.EXPLAIN_PREDICT(MODEL forest_bin, TABLE mix, "
            "STRUCT(30 AS integrated_gradients_num_steps))"
        )
    with pytest.raises(errors.SchemaError, match="'threshold'.*binary classifiers"):
        cur.execute(
            "SELECT * FROM ML.EXPLAIN_PREDICT(MODEL lin_m, TABLE lin, STRUCT(0.3 AS threshold))"
        )
    cur.execute(
        "CREATE MODEL km OPTIONS(model_type='kmeans', num_clusters=3) AS SELECT x1, x2 FROM blobs"
    )
    with pytest.raises(sqlml.ProgrammingError, match="ML.EXPLAIN_PREDICT applies to supervised"):
        cur.execute("SELECT * FROM ML.EXPLAIN_PREDICT(MODEL km, TABLE blobs)")
    with pytest.raises(errors.OptionError, match="enable_global_explain.*kmeans"):
        cur.execute(
            "CREATE MODEL km2 OPTIONS(model_type='kmeans', enable_global_explain=TRUE) "
            "AS SELECT x1, x2 FROM blobs"
        )
    with pytest.raises(errors.SchemaError, match="prediction_value"):
        cur.execute(
            "SELECT * FROM ML.EXPLAIN_PREDICT(MODEL lin_m, (SELECT a, b, 1.0 AS prediction_value "
            "FROM lin))"
        )
