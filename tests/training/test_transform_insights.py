"""What ML.FEATURE_INFO, ML.WEIGHTS and ML.FEATURE_IMPORTANCE say of a model with a TRANSFORM clause.

BigQuery ML (https://cloud.google.com/bigquery/docs/reference/standard-sql/bigqueryml-syntax-feature,
.../bigqueryml-syntax-weights): ML.FEATURE_INFO describes the pre-transform columns of the training
query, ML.WEIGHTS the TRANSFORM output features. Expected weights are numpy's least squares on the
rows ML.TRANSFORM gives; expected statistics are numpy's on the training columns.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import sqlml
from sqlml import errors


def fetch(cur: sqlml.Cursor, sql: str) -> list[dict[str, Any]]:
    cur.execute(sql)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


@pytest.fixture
def cur(tmp_path: Path) -> Iterator[sqlml.Cursor]:
    connection = sqlml.connect(str(tmp_path / "insights.duckdb"))
    cursor = connection.cursor()
    # y = 3x - 4z + 5 * (plan's position), exactly; plan's three values 15 times each
    cursor.execute(
        """CREATE TABLE t AS
           SELECT i AS id, (2 + (i * 37) % 79)::DOUBLE AS x, ((i * 7) % 20) / 10 AS z,
                  ['Basic', 'PRO', 'team'][i % 3 + 1] AS plan,
                  (3 * (2 + (i * 37) % 79) - 4 * ((i * 7) % 20) / 10 + (i % 3) * 5)::DOUBLE AS y
           FROM range(45) t(i)"""
    )
    yield cursor
    connection.close()


SCALED = """CREATE MODEL m
    TRANSFORM (ML.STANDARD_SCALER(x) OVER () AS xs, z,
               ML.ONE_HOT_ENCODER(plan, 'most_frequent') OVER () AS p, y)
    OPTIONS (model_type = 'linear_reg', input_label_cols = ['y'])
    AS SELECT x, z, plan, y FROM t"""


def test_weights_are_those_of_the_transform_outputs(cur: sqlml.Cursor) -> None:
    """xs (an ML.STANDARD_SCALER output) and p (ML.ONE_HOT_ENCODER's dummy encoding, 'Basic'
    dropped: the most frequent, first in order of the tie) are the weights' processed inputs."""
    cur.execute(SCALED)
    weights = {r["processed_input"]: r for r in fetch(cur, "SELECT * FROM ML.WEIGHTS(MODEL m)")}
    assert list(weights) == ["xs", "z", "p", "__INTERCEPT__"]
    rows = fetch(cur, "SELECT * FROM ML.TRANSFORM(MODEL m, TABLE t)")  # id passes through
    plan = {r["id"]: r["plan"] for r in fetch(cur, "SELECT id, plan FROM t")}
    design = np.array(
        [[r["xs"], r["z"], plan[r["id"]] == "PRO", plan[r["id"]] == "team", 1.0] for r in rows],
        dtype=float,
    )
    expected, *_ = np.linalg.lstsq(design, np.array([r["y"] for r in rows]), rcond=None)
    assert weights["xs"]["weight"] == pytest.approx(expected[0], rel=1e-4)
    assert weights["z"]["weight"] == pytest.approx(expected[1], rel=1e-4)
    categories = {c["category"]: c["weight"] for c in weights["p"]["category_weights"]}
    assert categories == pytest.approx({"PRO": expected[2], "team": expected[3]}, rel=1e-4)
    assert weights["__INTERCEPT__"]["weight"] == pytest.approx(expected[4], rel=1e-4)


def test_explanations_of_ml_outputs_stay_over_the_raw_columns(cur: sqlml.Cursor) -> None:
    """ML.EXPLAIN_PREDICT attributes to the model's inputs (x, z, plan), which the recorded weights
    of the outputs (xs, p) are not; its attributions still add up to the prediction."""
    cur.execute(SCALED)
    rows = fetch(cur, "SELECT * FROM ML.EXPLAIN_PREDICT(MODEL m, (SELECT * FROM t LIMIT 3))")
    for row in rows:
        assert {a["feature"] for a in row["top_feature_attributions"]} == {"x", "z", "plan"}
        total = sum(a["attribution"] for a in row["top_feature_attributions"])
        assert row["baseline_prediction_value"] + total == pytest.approx(row["predicted_y"])


def test_weights_of_buckets_are_category_weights(cur: sqlml.Cursor) -> None:
    """ML.BUCKETIZE(x, [20, 50]): buckets bin_1 … bin_3 and NULL (BigQuery's bucket names)."""
    cur.execute(
        """CREATE MODEL w TRANSFORM (ML.BUCKETIZE(x, [20, 50]) OVER () AS xb, y)
           OPTIONS (model_type = 'linear_reg', input_label_cols = ['y'])
           AS SELECT x, y FROM t"""
    )
    rows = fetch(cur, "SELECT * FROM ML.WEIGHTS(MODEL w)")
    assert [r["processed_input"] for r in rows] == ["xb", "__INTERCEPT__"]
    assert [c["category"] for c in rows[0]["category_weights"]] == [
        "bin_1",
        "bin_2",
        "bin_3",
        None,
    ]


def test_weights_of_a_polynomial_expansion_are_refused_by_name(cur: sqlml.Cursor) -> None:
    cur.execute(
        """CREATE MODEL pe TRANSFORM (ML.POLYNOMIAL_EXPAND(STRUCT(x, z)) OVER () AS xz, y)
           OPTIONS (model_type = 'linear_reg', input_label_cols = ['y'])
           AS SELECT x, z, y FROM t"""
    )
    with pytest.raises(errors.NotSupportedError, match=r"TRANSFORM output xz \(ML.POLYNOMIAL_"):
        cur.execute("SELECT * FROM ML.WEIGHTS(MODEL pe)")


def test_feature_importance_is_that_of_the_transform_outputs(cur: sqlml.Cursor) -> None:
    cur.execute(
        """CREATE MODEL b
           TRANSFORM (ML.QUANTILE_BUCKETIZE(x, 4) OVER () AS xq, ML.LABEL_ENCODER(plan) OVER ()
                      AS code, y)
           OPTIONS (model_type = 'boosted_tree_regressor', input_label_cols = ['y'])
           AS SELECT x, plan, y FROM t"""
    )
    rows = fetch(cur, "SELECT * FROM ML.FEATURE_IMPORTANCE(MODEL b)")
    assert {r["feature"] for r in rows} == {"xq", "code"}
    # XGBoost's mean gain per split (BigQuery's definition): positive for a feature split on
    assert sum(r["importance_weight"] for r in rows) > 0
    assert all((r["importance_gain"] > 0) == (r["importance_weight"] > 0) for r in rows)


def test_feature_info_describes_the_pre_transform_columns(cur: sqlml.Cursor) -> None:
    """plan is replaced by a SQL output of its name (two values): FEATURE_INFO still describes the
    query's plan (three values); x is described unscaled, z (not read) and y (the label) not."""
    cur.execute(
        """CREATE MODEL f
           TRANSFORM (ML.MIN_MAX_SCALER(x) OVER () AS x01,
                      CASE WHEN plan = 'team' THEN 'team' ELSE 'other' END AS plan, y)
           OPTIONS (model_type = 'linear_reg', input_label_cols = ['y'],
                    data_split_method = 'NO_SPLIT')
           AS SELECT x, z, plan, y FROM t"""
    )
    info = {r["input"]: r for r in fetch(cur, "SELECT * FROM ML.FEATURE_INFO(MODEL f)")}
    assert list(info) == ["x", "plan"]
    x = np.array([r["x"] for r in fetch(cur, "SELECT x FROM t")])
    assert info["x"]["min"] == x.min() and info["x"]["max"] == x.max()
    assert info["x"]["mean"] == pytest.approx(x.mean())
    assert info["x"]["stddev"] == pytest.approx(x.std(ddof=1))
    assert info["plan"]["category_count"] == 3
    predicted = fetch(cur, "SELECT * FROM ML.PREDICT(MODEL f, TABLE t)")
    assert len(predicted) == 45


def test_a_transform_of_columns_and_sql_is_explained_exactly(cur: sqlml.Cursor) -> None:
    """Outputs that are columns or SQL are the model's inputs: a linear model's attribution of one
    is "model weight × feature value" (BigQuery's). y − 7z − 5 · (id % 3) = 3x − 11z = 3s − 14z for
    s = x + z, so s gets 3 · (s − mean s) and z −14 · (z − mean z); the means are numpy's over the
    (unsplit) training rows."""
    cur.execute(
        """CREATE MODEL e TRANSFORM (x + z AS s, z, y)
           OPTIONS (model_type = 'linear_reg', input_label_cols = ['y'],
                    data_split_method = 'NO_SPLIT', enable_global_explain = TRUE)
           AS SELECT x, z, y - 7 * z - 5 * (id % 3) AS y FROM t"""
    )
    data = fetch(cur, "SELECT id, x, z FROM t")
    s_mean = np.mean([r["x"] + r["z"] for r in data])
    z_mean = np.mean([r["z"] for r in data])
    rows = fetch(cur, "SELECT * FROM ML.EXPLAIN_PREDICT(MODEL e, TABLE t)")
    for row in rows:
        got = {a["feature"]: a["attribution"] for a in row["top_feature_attributions"]}
        assert got["s"] == pytest.approx(3 * (row["x"] + row["z"] - s_mean), abs=1e-3)
        assert got["z"] == pytest.approx(-14 * (row["z"] - z_mean), abs=1e-3)
    ranked = [r["feature"] for r in fetch(cur, "SELECT * FROM ML.GLOBAL_EXPLAIN(MODEL e)")]
    assert ranked == ["s", "z"]
