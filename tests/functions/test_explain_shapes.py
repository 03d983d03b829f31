"""ML.EXPLAIN_PREDICT's and ML.GLOBAL_EXPLAIN's output as BigQuery documents it: the options of
other attribution methods, class-level global explanations, and a linear model's global
attributions on BigQuery's penguins table (palmerpenguins' penguins_raw, renamed as BigQuery's
``ml_datasets.penguins``), checked with numpy from the model's weights and against the tutorial.
"""

from __future__ import annotations

from collections.abc import Iterator
from importlib.resources import files
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from pyarrow import csv

import sqlml

MIX = """
    SELECT i AS id, ((i * 37) % 101) / 10.0 AS x1, ((i * 53) % 97) / 10.0 AS x2,
           CASE WHEN ((i * 37) % 101) / 10.0 < 3.5 THEN 'lo'
                WHEN ((i * 37) % 101) / 10.0 < 7 THEN 'mid' ELSE 'hi' END AS ym,
           ((i * 37) % 101) / 10.0 + ((i * 53) % 97) / 20.0 > 7 AS yb
    FROM range(120) t(i)"""

PENGUINS = {
    "Species": "species",
    "Island": "island",
    "Culmen Length (mm)": "culmen_length_mm",
    "Culmen Depth (mm)": "culmen_depth_mm",
    "Flipper Length (mm)": "flipper_length_mm",
    "Body Mass (g)": "body_mass_g",
    "Sex": "sex",
}


def penguins() -> pa.Table:
    raw = files("palmerpenguins") / "data" / "penguins-raw.csv"
    numbers = {name: pa.float64() for name in list(PENGUINS)[2:6]}
    with raw.open("rb") as handle:
        table = csv.read_csv(
            handle,
            convert_options=csv.ConvertOptions(
                include_columns=list(PENGUINS),
                null_values=["NA", ""],
                strings_can_be_null=True,
                column_types=numbers,
            ),
        )
    return table.rename_columns([PENGUINS[name] for name in table.column_names])


def fetch(cur: sqlml.Cursor, sql: str) -> list[dict[str, Any]]:
    cur.execute(sql)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


@pytest.fixture(scope="module")
def cur(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sqlml.Cursor]:
    path: Path = tmp_path_factory.mktemp("shapes") / "shapes.duckdb"
    connection = sqlml.connect(str(path))
    cursor = connection.cursor()
    cursor.execute(f"CREATE TABLE mix AS {MIX}")
    yield cursor
    connection.close()


def test_class_level_explain_is_per_class_mean_absolute_attribution(cur: sqlml.Cursor) -> None:
    """https://cloud.google.com/bigquery/docs/reference/standard-sql/bigqueryml-syntax-global-explain:
    with class_level_explain, a row per class and feature (the class's name, feature,
    attribution), the top 10 per class. A logistic_reg's attribution for class k is its weight
    for k times the standardized value (the XAI overview), so its mean |.| is
    |raw weight| × mean |x − mean| (numpy, from ML.WEIGHTS)."""
    cur.execute(
        "CREATE OR REPLACE MODEL multi OPTIONS(model_type='logistic_reg', input_label_cols=['ym'], "
        "enable_global_explain=TRUE) AS SELECT x1, x2, ym FROM mix"
    )
    rows = fetch(
        cur, "SELECT * FROM ML.GLOBAL_EXPLAIN(MODEL multi, STRUCT(TRUE AS class_level_explain))"
    )
    assert [d[0] for d in cur.description] == ["ym", "feature", "attribution"]
    assert cur.description[0][1] == "VARCHAR"
    weights = fetch(cur, "SELECT class_label, processed_input, weight FROM ML.WEIGHTS(MODEL multi)")
    data = fetch(cur, "SELECT x1, x2 FROM mix")  # 120 rows: all trained on (AUTO_SPLIT < 500)
    spread = {
        f: np.mean(np.abs((x := np.array([r[f] for r in data])) - x.mean())) for f in ("x1", "x2")
    }
    expected = {
        (w["class_label"], w["processed_input"]): abs(w["weight"]) * spread[w["processed_input"]]
        for w in weights
        if w["processed_input"] in spread
    }
    got = {(r["ym"], r["feature"]): r["attribution"] for r in rows}
    assert got == pytest.approx(expected, rel=1e-6)
    for label in ("hi", "lo", "mid"):
        values = [r["attribution"] for r in rows if r["ym"] == label]
        assert values == sorted(values, reverse=True)
    # the model-level rows are unchanged, and a regressor has only those (as BigQuery)
    model_level = fetch(cur, "SELECT * FROM ML.GLOBAL_EXPLAIN(MODEL multi)")
    assert [d[0] for d in cur.description] == ["feature", "attribution"]
    assert {r["feature"] for r in model_level} == {"x1", "x2"}


def test_class_level_explain_of_a_binary_tree_model(cur: sqlml.Cursor) -> None:
    """A binary classifier: both classes; the probability of one is 1 − the other's, so their
    attributions have the same magnitudes."""
    cur.execute(
        "CREATE OR REPLACE MODEL forest_b OPTIONS(model_type='random_forest_classifier', "
        "input_label_cols=['yb'], num_parallel_tree=5, max_tree_depth=3, "
        "enable_global_explain=TRUE) AS SELECT x1, x2, yb FROM mix"
    )
    rows = fetch(
        cur,
        "SELECT * FROM ML.GLOBAL_EXPLAIN(MODEL forest_b, STRUCT(TRUE AS class_level_explain))",
    )
    assert {r["yb"] for r in rows} == {"false", "true"}
    per = {(r["yb"], r["feature"]): r["attribution"] for r in rows}
    for feature in ("x1", "x2"):
        assert per[("true", feature)] == pytest.approx(per[("false", feature)], abs=1e-6)
    model_level = {
        r["feature"]: r["attribution"]
        for r in fetch(cur, "SELECT * FROM ML.GLOBAL_EXPLAIN(MODEL forest_b)")
    }
    assert model_level == pytest.approx({f: per[("true", f)] for f in ("x1", "x2")}, abs=1e-6)


def test_other_methods_options_are_accepted_with_a_notice(cur: sqlml.Cursor) -> None:
    """integrated_gradients_num_steps (DNN models, the XAI overview) and approx_feature_contrib
    (boosted tree and random forest models, bigqueryml-syntax-explain-predict) are documented
    for BigQuery's other methods: sqlml's sampled Shapley values take neither, so the result is
    the same and a notice says so."""
    cur.execute(
        "CREATE OR REPLACE MODEL dnn_m OPTIONS(model_type='dnn_classifier', input_label_cols=['ym'], "
        "hidden_units=[4], max_iterations=50) AS SELECT x1, x2, ym FROM mix"
    )
    cur.execute(
        "CREATE OR REPLACE MODEL gbt_m OPTIONS(model_type='boosted_tree_classifier', "
        "input_label_cols=['yb'], max_iterations=5) AS SELECT x1, x2, yb FROM mix"
    )
    for model, option in (
        ("dnn_m", "30 AS integrated_gradients_num_steps"),
        ("gbt_m", "TRUE AS approx_feature_contrib"),
    ):
        sql = f"SELECT * FROM ML.EXPLAIN_PREDICT(MODEL {model}, (SELECT * FROM mix WHERE id < 10){{}})"
        plain = fetch(cur, sql.format(""))
        assert cur.messages == []
        with_option = fetch(cur, sql.format(f", STRUCT({option})"))
        assert with_option == plain
        name = option.split(" AS ")[1]
        assert any(f"'{name}' is accepted and ignored" in str(m) for _, m in cur.messages)


def test_penguins_global_explain_as_the_tutorial(cur: sqlml.Cursor) -> None:
    """https://cloud.google.com/bigquery/docs/linear-regression-tutorial ("Globally explain the
    model"): mean |attribution| over the training rows, where a number's attribution is its
    weight × its standardized value and a category's is the weight of the row's category
    (bigqueryml-syntax-xai-overview). Checked with numpy from ML.WEIGHTS and the rows; the
    numbers agree with the tutorial's (flipper_length_mm 193.61, culmen_depth_mm 117.08,
    culmen_length_mm 94.37). Its island 5737 / species 4073 / sex 622 are not reproducible: with
    every category one-hot encoded next to an intercept the weights are not identified, and
    BigQuery's solver puts large offsetting values into the category weights and the intercept
    (the tutorial's baseline, its intercept, is −5320; Biscoe's weight 7349); sqlml's solver
    (scikit-learn's minimum-norm least squares) predicts the same values with small ones."""
    raw = cur.connection.executor.backend.con
    raw.register("penguins_src", penguins())
    raw.execute("CREATE OR REPLACE TABLE penguins AS SELECT * FROM penguins_src")
    raw.unregister("penguins_src")
    cur.execute(
        "CREATE OR REPLACE MODEL penguins_model OPTIONS (model_type = 'linear_reg', "
        "input_label_cols = ['body_mass_g'], enable_global_explain = TRUE) AS "
        "SELECT * FROM penguins WHERE body_mass_g IS NOT NULL"
    )
    got = {
        r["feature"]: r["attribution"]
        for r in fetch(cur, "SELECT * FROM ML.GLOBAL_EXPLAIN(MODEL penguins_model)")
    }
    data = fetch(
        cur, "SELECT * FROM penguins WHERE body_mass_g IS NOT NULL"
    )  # 342 rows, all trained on
    weights = {
        r["processed_input"]: r
        for r in fetch(cur, "SELECT * FROM ML.WEIGHTS(MODEL penguins_model)")
    }
    expected = {}
    for name in ("culmen_length_mm", "culmen_depth_mm", "flipper_length_mm"):
        x = np.array([np.nan if r[name] is None else r[name] for r in data])
        x = np.where(np.isnan(x), np.nanmean(x), x)  # NULL: the training mean
        expected[name] = abs(weights[name]["weight"]) * np.mean(np.abs(x - x.mean()))
    for name in ("species", "island", "sex"):
        by_category = {c["category"]: c["weight"] for c in weights[name]["category_weights"]}
        expected[name] = np.mean([abs(by_category[r[name]]) for r in data])
    assert got == pytest.approx(expected, rel=1e-6)
    documented = {
        "flipper_length_mm": 193.612051,
        "culmen_depth_mm": 117.084944,
        "culmen_length_mm": 94.366793,
    }
    assert {k: got[k] for k in documented} == pytest.approx(documented, rel=5e-3)
    rows = fetch(
        cur,
        "SELECT * FROM ML.EXPLAIN_PREDICT(MODEL penguins_model, (SELECT * FROM penguins "
        "WHERE island = 'Biscoe'), STRUCT(3 as top_k_features))",
    )
    names = [d[0] for d in cur.description]
    assert names[-5:] == [
        "predicted_body_mass_g",
        "top_feature_attributions",
        "baseline_prediction_value",
        "prediction_value",
        "approximation_error",
    ]
    assert "probability" not in names  # classifiers only
    assert len({r["baseline_prediction_value"] for r in rows}) == 1  # the intercept
