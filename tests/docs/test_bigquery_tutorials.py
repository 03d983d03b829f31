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

import numpy as np
import pytest
from docs_data import (
    census_adult_income,
    iris,
    london_bicycles,
    penguins,
    taxi_tip_input,
    where_not_null,
)

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


def documented(got: list[str], expected: list[str]) -> bool:
    """The documented columns are all there, in the documented order (sqlml may add its own: see
    test_evaluate_classifier_columns_exactly)."""
    return [name for name in got if name in expected] == expected


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


def test_linear_regression_tutorial_global_explain_categorical(backend) -> None:
    """https://cloud.google.com/bigquery/docs/linear-regression-tutorial prints island 5737.315921,
    species 4073.280549, sex 622.070896. A categorical feature's attribution is, as BigQuery
    defines a linear model's ("weight × feature value"), the weight of the row's category, and its
    global attribution the mean absolute value over the rows (issue 11, item 10: the feature as a
    whole). Those weights are not identifiable: one-hot columns with an intercept are collinear,
    so how a solver splits the intercept among them moves every category's weight of a feature by
    the same constant without changing one prediction; BigQuery's printed numbers come from its
    own solver's split and no other solver reproduces them (sql/reference.md, Compatibility).
    Checked instead: the global attribution is that mean computed with numpy from the penguins
    rows and the model's own category weights (ML.WEIGHTS, the documented UNNEST form), and
    predictions do not depend on the split (the numeric features, which are identifiable, match
    the page within 1 %: the test above)."""
    attributions = global_explain(backend)
    table = where_not_null(penguins(), "body_mass_g")
    for feature in ("island", "species", "sex"):
        weights = dict(
            backend.rows(
                "SELECT category, weight FROM UNNEST((SELECT category_weights FROM "
                "ML.WEIGHTS(MODEL `bqml_tutorial.penguins_model`) "
                f"WHERE processed_input = '{feature}'))"
            )
        )
        values = table.column(feature).to_pylist()
        expected = float(np.mean([abs(weights[v]) for v in values]))
        assert attributions[feature] == pytest.approx(expected, rel=1e-6), feature


LOGISTIC_URL = "https://cloud.google.com/bigquery/docs/logistic-regression-prediction"

# The view of the tutorial's "Prepare the sample data" step, verbatim but for the table location:
# `bigquery-public-data.ml_datasets.census_adult_income` -> `census_adult_income` (synthetic).
CENSUS_VIEW = """
CREATE OR REPLACE VIEW
`census.input_data` AS
SELECT
age,
workclass,
marital_status,
education_num,
occupation,
hours_per_week,
income_bracket,
CASE
  WHEN MOD(functional_weight, 10) < 8 THEN 'training'
  WHEN MOD(functional_weight, 10) = 8 THEN 'evaluation'
  WHEN MOD(functional_weight, 10) = 9 THEN 'prediction'
END AS dataframe
FROM
`census_adult_income`;
"""
CENSUS_CREATE = """
CREATE OR REPLACE MODEL
`census.census_model`
OPTIONS
( model_type='LOGISTIC_REG',
  auto_class_weights=TRUE,
  enable_global_explain=TRUE,
  data_split_method='NO_SPLIT',
  input_label_cols=['income_bracket'],
  max_iterations=15) AS
SELECT * EXCEPT(dataframe)
FROM
`census.input_data`
WHERE
dataframe = 'training'
"""
CENSUS_EVALUATE = """
SELECT
*
FROM
ML.EVALUATE (MODEL `census.census_model`,
  (
  SELECT
    *
  FROM
    `census.input_data`
  WHERE
    dataframe = 'evaluation'
  )
);
"""
CENSUS_PREDICT = """
SELECT
*
FROM
ML.PREDICT (MODEL `census.census_model`,
  (
  SELECT
    *
  FROM
    `census.input_data`
  WHERE
    dataframe = 'prediction'
  )
);
"""
CENSUS_EXPLAIN_PREDICT = """
SELECT
*
FROM
ML.EXPLAIN_PREDICT(MODEL `census.census_model`,
  (
  SELECT
    *
  FROM
    `census.input_data`
  WHERE
    dataframe = 'evaluation'),
  STRUCT(3 as top_k_features));
"""
CENSUS_GLOBAL_EXPLAIN = """
SELECT
  *
FROM
  ML.GLOBAL_EXPLAIN(MODEL `census.census_model`)
"""
CENSUS_FEATURES = [
    "age",
    "workclass",
    "marital_status",
    "education_num",
    "occupation",
    "hours_per_week",
]
CLASSIFIER_METRICS = ["precision", "recall", "accuracy", "f1_score", "log_loss", "roc_auc"]


def load_census(backend, dataset: str) -> None:
    # persist: the tutorial creates a (persistent) view over it.
    backend.load("census_adult_income", census_adult_income(), persist=True)
    # The tutorial's "Create a dataset" step.
    backend.run(f"CREATE SCHEMA IF NOT EXISTS {dataset}")


def test_logistic_regression_tutorial(backend) -> None:
    """https://cloud.google.com/bigquery/docs/logistic-regression-prediction: the view, create,
    evaluate (the page's columns precision, recall, accuracy, f1_score, log_loss, roc_auc), predict
    (predicted_income_bracket, predicted_income_bracket_probs of {label, prob}), explain and global
    explain. The census table is synthetic, so the page's numbers are not compared."""
    load_census(backend, "census")
    backend.run(CENSUS_VIEW)
    backend.run(CENSUS_CREATE)
    cur = backend.run(CENSUS_EVALUATE)
    assert documented(columns(cur), CLASSIFIER_METRICS)
    (row,) = records(cur)
    assert 0.5 < row["roc_auc"] <= 1.0

    cur = backend.run(CENSUS_PREDICT)
    names = columns(cur)
    # The page prints the predictions first; the reference page fixes no order.
    assert set(names) == {
        "predicted_income_bracket",
        "predicted_income_bracket_probs",
        *CENSUS_FEATURES,
        "income_bracket",
        "dataframe",
    }
    for r in records(cur):
        probs = r["predicted_income_bracket_probs"]
        assert {p["label"] for p in probs} == {" >50K", " <=50K"}
        assert sum(p["prob"] for p in probs) == pytest.approx(1.0, abs=1e-6)
        best = max(probs, key=lambda p: p["prob"])["label"]
        assert r["predicted_income_bracket"] == best

    cur = backend.run(CENSUS_EXPLAIN_PREDICT)
    assert {
        "predicted_income_bracket",
        "top_feature_attributions",
        "baseline_prediction_value",
        "prediction_value",
        "approximation_error",
    } <= set(columns(cur))
    assert all(len(r["top_feature_attributions"]) == 3 for r in records(cur))

    cur = backend.run(CENSUS_GLOBAL_EXPLAIN)
    assert columns(cur) == ["feature", "attribution"]
    assert {r["feature"] for r in records(cur)} == set(CENSUS_FEATURES)


def test_logistic_regression_tutorial_explain_probability(backend) -> None:
    """https://cloud.google.com/bigquery/docs/reference/standard-sql/bigqueryml-syntax-explain-predict
    (the tutorial's ML.EXPLAIN_PREDICT): for a classifier BigQuery's output has ``probability``, the
    predicted class's (issue 11, item 6)."""
    load_census(backend, "census")
    backend.run(CENSUS_VIEW)
    backend.run(CENSUS_CREATE)
    cur = backend.run(CENSUS_EXPLAIN_PREDICT)
    assert "probability" in columns(cur), f"no probability column in {columns(cur)}"


BOOSTED_URL = "https://cloud.google.com/bigquery/docs/boosted-tree-classifier-tutorial"

# The tutorial's statements, verbatim but for the table location (as CENSUS_VIEW).
TREE_VIEW = CENSUS_VIEW.replace("`census.input_data`", "`bqml_tutorial.input_data`")
TREE_CREATE = """
CREATE MODEL `bqml_tutorial.tree_model`
OPTIONS(MODEL_TYPE='BOOSTED_TREE_CLASSIFIER',
        BOOSTER_TYPE = 'GBTREE',
        NUM_PARALLEL_TREE = 1,
        MAX_ITERATIONS = 50,
        TREE_METHOD = 'HIST',
        EARLY_STOP = FALSE,
        SUBSAMPLE = 0.85,
        INPUT_LABEL_COLS = ['income_bracket'])
AS SELECT * EXCEPT(dataframe)
FROM `bqml_tutorial.input_data`
WHERE dataframe = 'training';
"""
TREE_EVALUATE = """
  SELECT
    *
  FROM
    ML.EVALUATE (MODEL `bqml_tutorial.tree_model`,
      (
      SELECT
        *
      FROM
        `bqml_tutorial.input_data`
      WHERE
        dataframe = 'evaluation'
      )
    );
"""
TREE_PREDICT = """
  SELECT
    *
  FROM
    ML.PREDICT (MODEL `bqml_tutorial.tree_model`,
      (
      SELECT
        *
      FROM
        `bqml_tutorial.input_data`
      WHERE
        dataframe = 'prediction'
      )
    );
"""


def test_boosted_tree_classifier_tutorial(backend) -> None:
    """https://cloud.google.com/bigquery/docs/boosted-tree-classifier-tutorial: create (with
    BOOSTER_TYPE and TREE_METHOD, issue 11 item 2), evaluate (precision … roc_auc) and predict
    (predicted_income_bracket, predicted_income_bracket_probs)."""
    load_census(backend, "bqml_tutorial")
    backend.run(TREE_VIEW)
    backend.run(TREE_CREATE)
    assert documented(columns(backend.run(TREE_EVALUATE)), CLASSIFIER_METRICS)
    names = columns(backend.run(TREE_PREDICT))
    assert {"predicted_income_bracket", "predicted_income_bracket_probs"} <= set(names)


def test_evaluate_classifier_columns_exactly(backend) -> None:
    """https://cloud.google.com/bigquery/docs/reference/standard-sql/bigqueryml-syntax-evaluate
    ("Classification"): ML.EVALUATE returns precision, recall, accuracy, f1_score, log_loss and
    roc_auc, in that order. sqlml keeps one column more, last: average_precision (the area under
    the precision-recall curve, what automl's MAXIMIZE_AU_PRC objective ranks by; a query that
    names BigQuery's columns is unaffected; sql/reference.md, Compatibility)."""
    load_census(backend, "census")
    backend.run(CENSUS_VIEW)
    backend.run(CENSUS_CREATE)
    got = columns(backend.run(CENSUS_EVALUATE))
    assert got == [*CLASSIFIER_METRICS, "average_precision"]


TRANSFORM_URL = "https://cloud.google.com/bigquery/docs/bigqueryml-transform"

# The tutorial's statements, verbatim but for the table location (penguins as above).
TRANSFORM_CREATE = """
CREATE OR REPLACE MODEL `bqml_tutorial.penguin_transform`
  TRANSFORM(
    body_mass_g,
    culmen_depth_mm,
    flipper_length_mm,
    ML.QUANTILE_BUCKETIZE(culmen_length_mm, 10) OVER () AS bucketized_culmen_length,
    CAST(culmen_length_mm AS string) AS culmen_length_mm,
    ML.FEATURE_CROSS(STRUCT(species, sex)) AS species_sex)
  OPTIONS (
    model_type = 'linear_reg',
    input_label_cols = ['body_mass_g'])
AS
SELECT
  *
FROM
  `penguins`
WHERE
  body_mass_g IS NOT NULL
  AND RAND() < 0.2;
"""
TRANSFORM_EVALUATE = """
SELECT
  *
FROM
  ML.EVALUATE(
    MODEL `bqml_tutorial.penguin_transform`,
    (
      SELECT
        *
      FROM
        `penguins`
      WHERE
        body_mass_g IS NOT NULL
    ));
"""
TRANSFORM_PREDICT = """
SELECT
  predicted_body_mass_g
FROM
  ML.PREDICT(
    MODEL `bqml_tutorial.penguin_transform`,
    (
      SELECT
        *
      FROM
        `penguins`
      WHERE
        sex = 'MALE'
    ));
"""
REGRESSION_METRICS = [
    "mean_absolute_error",
    "mean_squared_error",
    "mean_squared_log_error",
    "median_absolute_error",
    "r2_score",
    "explained_variance",
]


def test_transform_tutorial(backend) -> None:
    """https://cloud.google.com/bigquery/docs/bigqueryml-transform: TRANSFORM with
    ML.QUANTILE_BUCKETIZE, an output reusing an input's name (``CAST(culmen_length_mm AS string) AS
    culmen_length_mm``, issue 11 item 4) and ML.FEATURE_CROSS; evaluate and predict. The sample is
    ``RAND() < 0.2``, so the page's r2 0.9813 is not compared."""
    load_penguins(backend)
    backend.run(TRANSFORM_CREATE)
    assert columns(backend.run(TRANSFORM_EVALUATE)) == REGRESSION_METRICS
    cur = backend.run(TRANSFORM_PREDICT)
    assert columns(cur) == ["predicted_body_mass_g"]
    assert len(cur.fetchall()) == 168  # the male penguins


KMEANS_URL = "https://cloud.google.com/bigquery/docs/kmeans-tutorial"

# The tutorial's statements, verbatim but for the table locations:
# `bigquery-public-data.london_bicycles.cycle_hire` / `.cycle_stations` -> `cycle_hire` /
# `cycle_stations` (synthetic, docs_data.london_bicycles).
KMEANS_STATIONSTATS = """
WITH
hs AS (
  SELECT
    h.start_station_name AS station_name,
    IF(
      EXTRACT(DAYOFWEEK FROM h.start_date) = 1
        OR EXTRACT(DAYOFWEEK FROM h.start_date) = 7,
      'weekend',
      'weekday') AS isweekday,
    h.duration,
    ST_DISTANCE(ST_GEOGPOINT(s.longitude, s.latitude), ST_GEOGPOINT(-0.1, 51.5)) / 1000
      AS distance_from_city_center
  FROM
    `cycle_hire` AS h
  JOIN
    `cycle_stations` AS s
    ON
      h.start_station_id = s.id
  WHERE
    h.start_date
    BETWEEN CAST('2015-01-01 00:00:00' AS TIMESTAMP)
    AND CAST('2016-01-01 00:00:00' AS TIMESTAMP)
),
stationstats AS (
  SELECT
    station_name,
    isweekday,
    AVG(duration) AS duration,
    COUNT(duration) AS num_trips,
    MAX(distance_from_city_center) AS distance_from_city_center
  FROM
    hs
  GROUP BY
    station_name, isweekday
)
"""
KMEANS_CREATE = (
    """
CREATE OR REPLACE MODEL `bqml_tutorial.london_station_clusters`
OPTIONS (
  model_type = 'kmeans',
  num_clusters = 4)
AS"""
    + KMEANS_STATIONSTATS
    + """SELECT *
EXCEPT (station_name, isweekday)
FROM
stationstats;
"""
)
KMEANS_PREDICT = (
    KMEANS_STATIONSTATS
    + """SELECT *
EXCEPT (nearest_centroids_distance)
FROM
ML.PREDICT(
  MODEL `bqml_tutorial.london_station_clusters`,
  (
    SELECT *
    FROM
      stationstats
    WHERE
      REGEXP_CONTAINS(station_name, 'Kennington')
  ));
"""
)


# Not an item of issue 11: DuckDB has ST_DISTANCE / ST_GEOGPOINT only in its spatial extension,
# which sqlml does not install (no network at test time); Spark has no geography functions.
@pytest.mark.notyet(
    "spark",
    raises=sqlml.ProgrammingError,
    match=re.escape("[UNRESOLVED_ROUTINE] Cannot resolve routine `ST_DISTANCE`"),
)
@pytest.mark.notyet(
    "duckdb",
    raises=sqlml.ProgrammingError,
    match=re.escape('Scalar Function with name "st_distance" is not in the catalog'),
)
def test_kmeans_tutorial(backend) -> None:
    """https://cloud.google.com/bigquery/docs/kmeans-tutorial: four clusters of station statistics
    (the query uses the geography functions ST_DISTANCE and ST_GEOGPOINT), then ML.PREDICT of the
    Kennington stations: CENTROID_ID and the input columns."""
    hire, stations = london_bicycles()
    backend.load("cycle_hire", hire)
    backend.load("cycle_stations", stations)
    backend.run("CREATE SCHEMA IF NOT EXISTS bqml_tutorial")  # the "Create a dataset" step
    backend.run(KMEANS_CREATE)
    cur = backend.run(KMEANS_PREDICT)
    assert {name.lower() for name in columns(cur)} == {
        "centroid_id",
        "station_name",
        "isweekday",
        "duration",
        "num_trips",
        "distance_from_city_center",
    }
    rows = records(cur)
    assert len(rows) == 8  # 4 Kennington stations, weekday and weekend
    assert {r["centroid_id"] for r in rows} <= {1, 2, 3, 4}


HP_TUNING_URL = "https://cloud.google.com/bigquery/docs/hyperparameter-tuning-tutorial"

# The tutorial's statements, verbatim but for the table location:
# `bigquery-public-data.new_york_taxi_trips.tlc_yellow_trips_2018` -> `tlc_yellow_trips_2018`
# (synthetic, 400 rows: the page's LIMIT 100000 stays).
HP_INPUT = """
CREATE OR REPLACE TABLE `bqml_tutorial.taxi_tip_input`
AS
SELECT * EXCEPT (tip_amount), tip_amount AS label
FROM
  `tlc_yellow_trips_2018`
WHERE
  tip_amount IS NOT NULL
LIMIT 100000;
"""
HP_BASELINE = """
CREATE OR REPLACE MODEL `bqml_tutorial.baseline_taxi_tip_model`
  OPTIONS (
    MODEL_TYPE = 'LINEAR_REG'
  )
AS
SELECT
  *
FROM
  `bqml_tutorial.taxi_tip_input`;
"""
HP_BASELINE_EVALUATE = """
SELECT *
FROM
  ML.EVALUATE(MODEL `bqml_tutorial.baseline_taxi_tip_model`);
"""
HP_CREATE = """
CREATE OR REPLACE MODEL `bqml_tutorial.hp_taxi_tip_model`
  OPTIONS (
    MODEL_TYPE = 'LINEAR_REG',
    NUM_TRIALS = 20,
    MAX_PARALLEL_TRIALS = 2,
    L1_REG = HPARAM_RANGE(0, 5))
AS
SELECT
  *
FROM
  `bqml_tutorial.taxi_tip_input`;
"""
HP_TRIAL_INFO = """
SELECT *
FROM
  ML.TRIAL_INFO(MODEL `bqml_tutorial.hp_taxi_tip_model`)
ORDER BY is_optimal DESC;
"""
HP_EVALUATE = """
SELECT *
FROM
  ML.EVALUATE(MODEL `bqml_tutorial.hp_taxi_tip_model`)
ORDER BY r2_score DESC;
"""
HP_PREDICT = """
SELECT *
FROM
  ML.PREDICT(
    MODEL `bqml_tutorial.hp_taxi_tip_model`,
    (
      SELECT
        *
      FROM
        `bqml_tutorial.taxi_tip_input`
      LIMIT 5
    ));
"""


def load_taxi(backend) -> None:
    backend.load("tlc_yellow_trips_2018", taxi_tip_input())
    backend.run("CREATE SCHEMA IF NOT EXISTS bqml_tutorial")  # the "Create a dataset" step
    backend.run(HP_INPUT)


def test_hyperparameter_tuning_tutorial_baseline(backend) -> None:
    """https://cloud.google.com/bigquery/docs/hyperparameter-tuning-tutorial: the baseline model has
    no input_label_cols (the label is the column named ``label``, issue 11 item 1) and DATETIME
    features (pickup_datetime, dropoff_datetime: item 10); ML.EVALUATE without input returns the
    regression metrics."""
    load_taxi(backend)
    backend.run(HP_BASELINE)
    assert columns(backend.run(HP_BASELINE_EVALUATE)) == REGRESSION_METRICS


def test_hyperparameter_tuning_tutorial(backend) -> None:
    """https://cloud.google.com/bigquery/docs/hyperparameter-tuning-tutorial: 20 trials over
    L1_REG = HPARAM_RANGE(0, 5); ML.TRIAL_INFO's columns (trial_id, hyperparameters,
    hparam_tuning_evaluation_metrics, training_loss, eval_loss, status, error_message, is_optimal),
    ML.EVALUATE with one row per trial led by trial_id (item 6), ML.PREDICT with trial_id and
    predicted_label."""
    load_taxi(backend)
    backend.run(HP_CREATE)
    cur = backend.run(HP_TRIAL_INFO)
    assert documented(
        columns(cur),
        [
            "trial_id",
            "hyperparameters",
            "hparam_tuning_evaluation_metrics",
            "training_loss",
            "eval_loss",
            "status",
            "error_message",
            "is_optimal",
        ],
    )
    trials = records(cur)
    assert len(trials) == 20
    assert sum(bool(t["is_optimal"]) for t in trials) == 1
    assert trials[0]["is_optimal"]  # ORDER BY is_optimal DESC
    cur = backend.run(HP_EVALUATE)
    assert columns(cur) == ["trial_id", *REGRESSION_METRICS]
    assert len(records(cur)) == 20
    cur = backend.run(HP_PREDICT)
    assert "predicted_label" in columns(cur)
    assert len(cur.fetchall()) == 5


def test_hyperparameter_tuning_tutorial_predict_trial_id(backend) -> None:
    """https://cloud.google.com/bigquery/docs/hyperparameter-tuning-tutorial: the page's ML.PREDICT
    of the tuned model prints ``trial_id`` (7, the optimal trial) before ``predicted_label``
    (issue 11, item 6: output shapes)."""
    load_taxi(backend)
    backend.run(HP_CREATE)
    best = backend.rows(
        "SELECT trial_id FROM ML.TRIAL_INFO(MODEL `bqml_tutorial.hp_taxi_tip_model`) "
        "WHERE is_optimal"
    )[0][0]
    cur = backend.run(HP_PREDICT)
    names = columns(cur)
    assert "trial_id" in names, f"no trial_id in {names}"
    assert names.index("trial_id") == names.index("predicted_label") - 1
    assert {row[names.index("trial_id")] for row in cur.fetchall()} == {best}


ONNX_URL = (
    "https://cloud.google.com/bigquery/docs/making-predictions-with-sklearn-models-in-onnx-format"
)

# The tutorial's statements, verbatim but for the locations: BUCKET_PATH (the page says to replace
# it) is the local file the page's own Python wrote; `bigquery-public-data.ml_datasets.iris` ->
# `iris` (scikit-learn's iris, docs_data.iris).
ONNX_CREATE = """
 CREATE OR REPLACE MODEL `bqml_tutorial.imported_onnx_model`
  OPTIONS (MODEL_TYPE='ONNX',
   MODEL_PATH='BUCKET_PATH')
"""
ONNX_PREDICT = """
SELECT *
  FROM ML.PREDICT(MODEL `bqml_tutorial.imported_onnx_model`,
    (
    SELECT * FROM `iris`
    )
)
"""


def pipeline_rf(path) -> object:
    """The page's "Train a model and convert it to ONNX format" code (a seeded shuffle and forest,
    so the test is repeatable); the fitted pipeline, its ONNX file written to ``path``."""
    import numpy
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType
    from sklearn.datasets import load_iris
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    data = load_iris()
    X = data.data[:, :4]
    y = data.target
    ind = numpy.arange(X.shape[0])
    numpy.random.default_rng(0).shuffle(ind)
    X = X[ind, :].copy()
    y = y[ind].copy()
    pipe = Pipeline([("scaler", StandardScaler()), ("clr", RandomForestClassifier(random_state=0))])
    pipe.fit(X, y)
    options = {id(pipe): {"zipmap": False}}
    initial_types = [
        ("sepal_length", FloatTensorType([None, 1])),
        ("sepal_width", FloatTensorType([None, 1])),
        ("petal_length", FloatTensorType([None, 1])),
        ("petal_width", FloatTensorType([None, 1])),
    ]
    model_onnx = convert_sklearn(pipe, "pipeline_rf", initial_types=initial_types, options=options)
    path.write_bytes(model_onnx.SerializeToString())
    return pipe


def import_onnx(backend, tmp_path):
    pipe = pipeline_rf(tmp_path / "pipeline_rf.onnx")
    backend.load("iris", iris())
    backend.run("CREATE SCHEMA IF NOT EXISTS bqml_tutorial")  # the "Create a dataset" step
    backend.run(ONNX_CREATE.replace("BUCKET_PATH", str(tmp_path / "pipeline_rf.onnx")))
    return pipe


def test_onnx_import_tutorial(backend, tmp_path) -> None:
    """https://cloud.google.com/bigquery/docs/making-predictions-with-sklearn-models-in-onnx-format:
    import the scikit-learn pipeline's ONNX file and predict on iris: one prediction per row, the
    classes scikit-learn's own pipeline predicts."""
    import numpy as np

    pipe = import_onnx(backend, tmp_path)
    cur = backend.run(ONNX_PREDICT)
    names = columns(cur)
    rows = records(cur)
    assert len(rows) == 150
    assert {"sepal_length", "sepal_width", "petal_length", "petal_width", "species"} <= set(names)
    label = "label" if "label" in names else "predicted_label"
    features = np.array(
        [[r["sepal_length"], r["sepal_width"], r["petal_length"], r["petal_width"]] for r in rows]
    )
    expected = pipe.predict(features)
    assert [int(r[label]) for r in rows] == expected.tolist()


def test_onnx_import_tutorial_output_names(backend, tmp_path) -> None:
    """https://cloud.google.com/bigquery/docs/making-predictions-with-sklearn-models-in-onnx-format:
    "The outputs include the label and probabilities columns" — named after the graph's outputs
    (issue 11, item 6)."""
    import_onnx(backend, tmp_path)
    names = columns(backend.run(ONNX_PREDICT))
    assert {"label", "probabilities"} <= set(names), f"label, probabilities not in {names}"
