"""TRANSFORM as BigQuery's pages write it: ``*``, ``* EXCEPT (...)``, ``* REPLACE (...)``, and an
output that reuses the name of an input column another output reads.

https://cloud.google.com/bigquery/docs/reference/standard-sql/bigqueryml-syntax-create#select_list
("You can pass columns from query_statement through to model training without transformation by
either using *, * EXCEPT(), or by listing the column names directly"; * REPLACE() is listed too) and
the tutorial https://cloud.google.com/bigquery/docs/bigqueryml-transform
(``ML.QUANTILE_BUCKETIZE(culmen_length_mm, 10) OVER () AS bucketized_culmen_length,
CAST(culmen_length_mm AS string) AS culmen_length_mm``). Expected predictions come from
scikit-learn's LinearRegression on the same features computed here with numpy (linear_reg is
ordinary least squares, which standardization does not change).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import onnx
import pytest
from sklearn.linear_model import LinearRegression

import sqlml


@pytest.fixture
def cur(tmp_path: Path) -> Iterator[sqlml.Cursor]:
    connection = sqlml.connect(str(tmp_path / "star.duckdb"))
    cursor = connection.cursor()
    cursor.execute(
        """CREATE TABLE t AS
           SELECT i AS id, (2 + (i * 37) % 79)::DOUBLE AS x, ((i * 7) % 20) / 10 AS z,
                  ['Basic', 'PRO', 'team'][i % 3 + 1] AS plan,
                  (3 * (2 + (i * 37) % 79) - 4 * ((i * 7) % 20) / 10 + (i % 3) * 5
                   + (2 + (i * 37) % 79) * ((i * 7) % 20) / 10)::DOUBLE AS y
           FROM range(60) t(i)"""
    )
    yield cursor
    connection.close()


def columns(cur: sqlml.Cursor) -> dict[str, np.ndarray]:
    cur.execute("SELECT x, z, plan, y FROM t ORDER BY id")
    rows = cur.fetchall()
    return {
        "x": np.array([r[0] for r in rows]),
        "z": np.array([r[1] for r in rows]),
        "plan": np.array([r[2] for r in rows], dtype=object),
        "y": np.array([r[3] for r in rows]),
    }


def one_hot(values: np.ndarray) -> np.ndarray:
    return np.column_stack([values == v for v in sorted(set(values))]).astype(float)


def minmax(values: np.ndarray) -> np.ndarray:
    return (values - values.min()) / (values.max() - values.min())


def predictions(cur: sqlml.Cursor, model: str) -> np.ndarray:
    cur.execute(f"SELECT predicted_y FROM ML.PREDICT(MODEL {model}, TABLE t) ORDER BY id")
    return np.array([r[0] for r in cur.fetchall()])


def ols(features: list[np.ndarray], y: np.ndarray) -> np.ndarray:
    x = np.column_stack(features)
    return LinearRegression().fit(x, y).predict(x)


OPTIONS = "OPTIONS (model_type = 'linear_reg', input_label_cols = ['y'])"


def test_star_except_passes_the_other_columns_through(cur: sqlml.Cursor) -> None:
    cur.execute(
        "CREATE MODEL m TRANSFORM (* EXCEPT (id, x), ML.MIN_MAX_SCALER(x) OVER () AS x) "
        f"{OPTIONS} AS SELECT * FROM t"
    )
    c = columns(cur)
    expected = ols([c["z"], one_hot(c["plan"]), minmax(c["x"])], c["y"])
    np.testing.assert_allclose(predictions(cur, "m"), expected, rtol=1e-4, atol=1e-3)
    cur.execute("SELECT input FROM ML.FEATURE_INFO(MODEL m) ORDER BY input")
    assert [r[0] for r in cur.fetchall()] == ["plan", "x", "z"]


def test_plain_star_is_the_model_without_transform(cur: sqlml.Cursor) -> None:
    cur.execute(f"CREATE MODEL starred TRANSFORM (*) {OPTIONS} AS SELECT x, z, plan, y FROM t")
    cur.execute(f"CREATE MODEL plain {OPTIONS} AS SELECT x, z, plan, y FROM t")
    c = columns(cur)
    expected = ols([c["x"], c["z"], one_hot(c["plan"])], c["y"])
    np.testing.assert_allclose(predictions(cur, "starred"), expected, rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(predictions(cur, "plain"), expected, rtol=1e-4, atol=1e-3)


def test_star_replace_computes_the_replaced_column(cur: sqlml.Cursor) -> None:
    cur.execute(
        "CREATE MODEL m TRANSFORM (* EXCEPT (id) REPLACE (x * z AS x)) "
        f"{OPTIONS} AS SELECT * FROM t"
    )
    c = columns(cur)
    expected = ols([c["x"] * c["z"], c["z"], one_hot(c["plan"])], c["y"])
    np.testing.assert_allclose(predictions(cur, "m"), expected, rtol=1e-4, atol=1e-3)


def test_sql_output_reusing_a_column_another_output_reads(
    cur: sqlml.Cursor, tmp_path: Path
) -> None:
    """The raw x feeds ML.MIN_MAX_SCALER; the output named x is x * z: both reach the model."""
    cur.execute(
        "CREATE MODEL m TRANSFORM (ML.MIN_MAX_SCALER(x) OVER () AS xs, x * z AS x, y) "
        f"{OPTIONS} AS SELECT * FROM t"
    )
    c = columns(cur)
    expected = ols([minmax(c["x"]), c["x"] * c["z"]], c["y"])
    np.testing.assert_allclose(predictions(cur, "m"), expected, rtol=1e-4, atol=1e-3)
    # scoring takes the raw columns only
    cur.execute("SELECT predicted_y FROM ML.PREDICT(MODEL m, (SELECT x, z FROM t)) LIMIT 1")
    assert cur.fetchone()[0] is not None
    cur.execute("SELECT * FROM ML.EVALUATE(MODEL m, TABLE t)")
    r2 = dict(zip([d[0] for d in cur.description], cur.fetchone(), strict=True))["r2_score"]
    y = c["y"]
    expected_r2 = 1 - ((y - expected) ** 2).sum() / ((y - y.mean()) ** 2).sum()
    assert r2 == pytest.approx(expected_r2, abs=1e-5)
    # the exported graph reads raw x, and the SQL output under a name of its own
    target = tmp_path / "m.onnx"
    cur.execute(f"EXPORT MODEL m OPTIONS (uri = '{target}')")
    proto = onnx.load(str(target))
    props = {p.key: p.value for p in proto.metadata_props}
    assert sorted(i.name for i in proto.graph.input) == ["x", "x (TRANSFORM)"]
    assert props["sqlml.transform_sql"] == 'SELECT *, x * z AS "x (TRANSFORM)" FROM input'


def test_the_tutorials_transform_trains_and_predicts(cur: sqlml.Cursor) -> None:
    """The TRANSFORM of https://cloud.google.com/bigquery/docs/bigqueryml-transform, verbatim but
    for the column names (x for culmen_length_mm, z and plan for the others)."""
    cur.execute(
        "CREATE TABLE p AS SELECT y AS body_mass_g, z AS culmen_depth_mm, x * 3 AS "
        "flipper_length_mm, x AS culmen_length_mm, plan AS species, "
        "CASE WHEN id % 2 = 0 THEN 'MALE' ELSE 'FEMALE' END AS sex FROM t"
    )
    cur.execute(
        """CREATE OR REPLACE MODEL penguin_transform
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
  p
WHERE
  body_mass_g IS NOT NULL"""
    )
    cur.execute(
        "SELECT predicted_body_mass_g FROM ML.PREDICT(MODEL penguin_transform, "
        "(SELECT * FROM p WHERE sex = 'MALE'))"
    )
    assert len(cur.fetchall()) == 30
    cur.execute("SELECT * FROM ML.EVALUATE(MODEL penguin_transform, (SELECT * FROM p))")
    assert [d[0] for d in cur.description][:2] == ["mean_absolute_error", "mean_squared_error"]


def test_option_columns_pass_through_the_star_without_being_features(cur: sqlml.Cursor) -> None:
    """select_list: data_split_col, kmeans_init_col and instance_weight_col "must appear in
    select_list without transformation" (here through *); like the label, not features."""
    cur.execute(
        "CREATE MODEL m TRANSFORM (* EXCEPT (plan), ML.MIN_MAX_SCALER(x) OVER () AS xs) "
        "OPTIONS (model_type = 'linear_reg', input_label_cols = ['y'], "
        "data_split_method = 'SEQ', data_split_col = 'id', data_split_eval_fraction = 0.25) "
        "AS SELECT *, id AS k FROM t"
    )
    cur.execute("SELECT input FROM ML.FEATURE_INFO(MODEL m) ORDER BY input")
    assert [r[0] for r in cur.fetchall()] == ["k", "x", "z"]
    cur.execute(
        "CREATE MODEL w TRANSFORM (x, z, k, y) OPTIONS (model_type = 'boosted_tree_regressor', "
        "input_label_cols = ['y'], instance_weight_col = 'k') AS SELECT *, id + 1 AS k FROM t"
    )
    cur.execute("SELECT input FROM ML.FEATURE_INFO(MODEL w) ORDER BY input")
    assert [r[0] for r in cur.fetchall()] == ["x", "z"]
    with pytest.raises(sqlml.ProgrammingError, match="'k' of CREATE MODEL bad.*pass through"):
        cur.execute(
            "CREATE MODEL bad TRANSFORM (x, k * 2 AS k, y) OPTIONS (model_type = "
            "'boosted_tree_regressor', input_label_cols = ['y'], instance_weight_col = 'k') "
            "AS SELECT *, id AS k FROM t"
        )
