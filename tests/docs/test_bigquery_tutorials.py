"""The official BigQuery ML tutorials, their statements verbatim, on DuckDB and Spark.

Only table locations are adapted, each where it happens: ``bigquery-public-data.ml_datasets.penguins``
is the local table ``penguins`` (palmerpenguins, see docs_data.py), the census, taxi and London
bicycles tables are synthetic tables with the documented columns (the real ones ship in no package),
and a tutorial's dataset (``bqml_tutorial``, ``census``) is created as its "Create a dataset" step
does. Numbers the pages print are checked where the data is the page's own (penguins, iris).

notyet marks name the item of issue 11 (1-10) each belongs to.
"""

from __future__ import annotations

import re

import pytest
from docs_data import census_adult_income, iris, penguins

import sqlml

DIALECT = "bigquery"

LINEAR_REG_URL = "https://cloud.google.com/bigquery/docs/linear-regression-tutorial"

# The tutorial's statements, verbatim but for the table location:
# `bigquery-public-data.ml_datasets.penguins` -> `penguins`.
PENGUINS_CREATE = """
CREATE OR REPLACE MODEL `bqml_tutorial.penguins_model`
OPTIONS
  (model_type='linear_reg',
  input_label_cols=['body_mass_g']) AS
SELECT
  *
FROM
  `penguins`
WHERE
  body_mass_g IS NOT NULL;
"""
PENGUINS_EVALUATE_DEFAULT = """
SELECT
      *
    FROM
      ML.EVALUATE(MODEL bqml_tutorial.penguins_model);
"""
PENGUINS_EVALUATE = """
SELECT
    *
  FROM
    ML.EVALUATE(MODEL `bqml_tutorial.penguins_model`,
      (
      SELECT
        *
      FROM
        `penguins`
      WHERE
        body_mass_g IS NOT NULL));
"""
PENGUINS_PREDICT = """
SELECT
*
FROM
ML.PREDICT(MODEL `bqml_tutorial.penguins_model`,
  (
  SELECT
    *
  FROM
    `penguins`
  WHERE island = 'Biscoe'));
"""
PENGUINS_EXPLAIN_PREDICT = """
SELECT
  *
FROM
  ML.EXPLAIN_PREDICT(MODEL `bqml_tutorial.penguins_model`,
    (
    SELECT
      *
    FROM
      `penguins`
    WHERE island = 'Biscoe'),
    STRUCT(3 as top_k_features));
"""
PENGUINS_CREATE_GLOBAL_EXPLAIN = """
#standardSQL
CREATE OR REPLACE MODEL `bqml_tutorial.penguins_model`
OPTIONS (
  model_type = 'linear_reg',
  input_label_cols = ['body_mass_g'],
  enable_global_explain = TRUE)
AS
SELECT
*
FROM
`penguins`
WHERE
body_mass_g IS NOT NULL;
"""
PENGUINS_GLOBAL_EXPLAIN = """
SELECT
*
FROM
ML.GLOBAL_EXPLAIN(MODEL `bqml_tutorial.penguins_model`)
"""

PENGUIN_FEATURES = [
    "species",
    "island",
    "culmen_length_mm",
    "culmen_depth_mm",
    "flipper_length_mm",
    "body_mass_g",
    "sex",
]


def columns(cursor) -> list[str]:
    return [d[0] for d in cursor.description]


def records(cursor) -> list[dict]:
    names = columns(cursor)
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def load_penguins(backend) -> None:
    backend.load("penguins", penguins())
    # The tutorial's "Create a dataset" step (bq mk --dataset bqml_tutorial).
    backend.run("CREATE SCHEMA IF NOT EXISTS bqml_tutorial")


def test_linear_regression_tutorial(backend) -> None:
    """https://cloud.google.com/bigquery/docs/linear-regression-tutorial: create, evaluate (with and
    without input), predict and explain. The page prints (BigQuery DataFrames' ml.evaluate over the
    training rows) mean_absolute_error 227.012237, mean_squared_error 81838.159892,
    mean_squared_log_error 0.00507, median_absolute_error 173.080816, r2_score 0.872377; palmerpenguins
    gives 0.87237 (227.10, 81840): the one row BigQuery has with sex '.' is NULL here, so r2 agrees to
    1e-5 and the errors to 0.1 %; the median error (an order statistic) to 1.5 %."""
    load_penguins(backend)
    backend.run(PENGUINS_CREATE)
    expected = [
        "mean_absolute_error",
        "mean_squared_error",
        "mean_squared_log_error",
        "median_absolute_error",
        "r2_score",
        "explained_variance",
    ]
    for statement in (PENGUINS_EVALUATE_DEFAULT, PENGUINS_EVALUATE):
        cur = backend.run(statement)
        assert columns(cur) == expected
    (row,) = records(backend.run(PENGUINS_EVALUATE))
    assert row["r2_score"] == pytest.approx(0.872377, abs=1e-4)
    assert row["explained_variance"] == pytest.approx(0.872377, abs=1e-4)
    assert row["mean_absolute_error"] == pytest.approx(227.012237, rel=2e-3)
    assert row["mean_squared_error"] == pytest.approx(81838.159892, rel=2e-3)
    assert row["mean_squared_log_error"] == pytest.approx(0.00507, abs=1e-4)
    assert row["median_absolute_error"] == pytest.approx(173.080816, rel=0.015)

    cur = backend.run(PENGUINS_PREDICT)
    assert set(columns(cur)) == {"predicted_body_mass_g", *PENGUIN_FEATURES}
    rows = records(cur)
    assert len(rows) == 168  # the Biscoe penguins
    assert all(r["island"] == "Biscoe" for r in rows)

    cur = backend.run(PENGUINS_EXPLAIN_PREDICT)
    assert {
        "predicted_body_mass_g",
        "top_feature_attributions",
        "baseline_prediction_value",
        "prediction_value",
        "approximation_error",
    } <= set(columns(cur))
    assert set(PENGUIN_FEATURES) <= set(columns(cur))
    for r in records(cur):
        attributions = r["top_feature_attributions"]
        assert len(attributions) == 3
        sizes = [abs(a["attribution"]) for a in attributions]
        assert sizes == sorted(sizes, reverse=True)  # "sorted by the absolute value"
        # Shapley values of a linear model add up to the prediction (approximation_error 0.0).
        assert r["prediction_value"] == pytest.approx(r["predicted_body_mass_g"], rel=1e-5)
        assert r["approximation_error"] == pytest.approx(0.0, abs=1e-6)


def global_explain(backend) -> dict[str, float]:
    load_penguins(backend)
    backend.run(PENGUINS_CREATE_GLOBAL_EXPLAIN)
    cur = backend.run(PENGUINS_GLOBAL_EXPLAIN)
    assert columns(cur) == ["feature", "attribution"]
    return {r["feature"]: r["attribution"] for r in records(cur)}


def test_linear_regression_tutorial_global_explain(backend) -> None:
    """https://cloud.google.com/bigquery/docs/linear-regression-tutorial, "Globally explain the model":
    the page prints flipper_length_mm 193.612051, culmen_depth_mm 117.084944, culmen_length_mm
    94.366793 for the numeric features (within 1 % here; the one sex '.' row differs)."""
    attributions = global_explain(backend)
    assert set(attributions) == {
        "species",
        "island",
        "culmen_length_mm",
        "culmen_depth_mm",
        "flipper_length_mm",
        "sex",
    }
    assert attributions["flipper_length_mm"] == pytest.approx(193.612051, rel=0.01)
    assert attributions["culmen_depth_mm"] == pytest.approx(117.084944, rel=0.01)
    assert attributions["culmen_length_mm"] == pytest.approx(94.366793, rel=0.01)


@pytest.mark.notyet("duckdb", "spark", raises=AssertionError, match=r"island")
def test_linear_regression_tutorial_global_explain_categorical(backend) -> None:
    """https://cloud.google.com/bigquery/docs/linear-regression-tutorial: the categorical features'
    global attributions, island 5737.315921, species 4073.280549, sex 622.070896 (issue 11, item 10:
    sqlml does not yet attribute a one-hot encoded feature as a whole)."""
    attributions = global_explain(backend)
    got = {name: round(attributions[name], 1) for name in ("island", "species", "sex")}
    expected = {"island": 5737.3, "species": 4073.3, "sex": 622.1}
    assert all(abs(got[n] - expected[n]) < 0.01 * expected[n] for n in got), (
        f"island, species, sex: got {got}, the page prints {expected}"
    )
