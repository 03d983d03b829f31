"""Documented CREATE MODEL options on Spark's executors (engine = 'spark', Spark MLlib): what is
honoured there, what has no effect (a notice, as in this process), and what is refused with the way
to train in this process instead.

https://cloud.google.com/bigquery/docs/reference/standard-sql/bigqueryml-syntax-create-random-forest
(COLSAMPLE_BYNODE: "The subsample ratio of columns for each node (split)"),
…-create-boosted-tree (XGBOOST_VERSION), …-create-kmeans (DISTANCE_TYPE, KMEANS_INIT_METHOD).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

import sqlml

pytestmark = [pytest.mark.spark, pytest.mark.slow]

N = 200


@pytest.fixture
def con(spark_session: Any) -> Iterator[sqlml.Connection]:
    rows = np.arange(N)
    x1 = (rows % 17) / 4.0
    x2 = (rows % 5) * 1.0
    spark_session.createDataFrame(
        pa.table({"x1": x1, "x2": x2, "seed": rows < 2, "y": 2 * x1 - x2}).to_pandas()
    ).createOrReplaceTempView("mo_rows")
    connection = sqlml.connect(spark=spark_session)
    yield connection
    for name in ("mo_forest", "mo_gbt", "mo_origin"):
        connection.execute(f"DROP MODEL IF EXISTS {name}")
    connection.close()
    spark_session.catalog.dropTempView("mo_rows")


def test_colsample_bynode_is_the_share_of_features_per_split(spark_session: Any) -> None:
    """Spark's featureSubsetStrategy takes the share of features drawn at each split as a number
    in (0, 1]: colsample_bynode = 0.5 becomes "0.5"; unset, the strategy stays Spark's."""
    from sqlml.models import mllib
    from sqlml.models.options import validate

    ctx = mllib.MLlibContext(rows=N, width=2, classes=0, prediction="p", common={})
    given = validate({"model_type": "random_forest_regressor", "colsample_bynode": 0.5}, "m")
    assert mllib.forest_regressor(given, ctx).getFeatureSubsetStrategy() == "0.5"
    unset = validate({"model_type": "random_forest_regressor"}, "m")
    assert mllib.forest_regressor(unset, ctx).getFeatureSubsetStrategy() == "all"
    # boosted trees train with XGBoost on the executors: its own colsample_bynode
    boosted = validate({"model_type": "boosted_tree_regressor", "colsample_bynode": 0.25}, "m")
    assert mllib.boosted_regressor(boosted, ctx).getOrDefault("colsample_bynode") == 0.25


def test_options_on_the_executors(con: sqlml.Connection) -> None:
    cur = con.cursor()
    cur.execute(
        "CREATE MODEL mo_forest OPTIONS (model_type = 'random_forest_regressor', "
        "input_label_cols = ['y'], num_parallel_tree = 5, colsample_bynode = 0.5, "
        "xgboost_version = '2.1', tree_method = 'AUTO', engine = 'spark') "
        "AS SELECT x1, x2, y FROM mo_rows"
    )
    texts = [text for _kind, text in cur.messages]
    assert any("'xgboost_version'" in t and "no effect here" in t for t in texts)
    cur.execute("SELECT count(*) FROM ML.PREDICT(MODEL mo_forest, TABLE mo_rows)")
    assert cur.fetchone() == (N,)
    for options in (
        "model_type = 'kmeans', num_clusters = 2, distance_type = 'COSINE'",
        "model_type = 'kmeans', kmeans_init_method = 'CUSTOM', kmeans_init_col = 'seed'",
        "model_type = 'boosted_tree_regressor', input_label_cols = ['y'], tree_method = 'EXACT'",
    ):
        with pytest.raises(sqlml.NotSupportedError, match="engine = 'duckdb'"):
            cur.execute(
                f"CREATE MODEL mo_gbt OPTIONS ({options}, engine = 'spark') "
                f"AS SELECT x1, x2, y, seed FROM mo_rows"
            )


def test_fit_intercept_false_on_the_executors(con: sqlml.Connection) -> None:
    """FIT_INTERCEPT = FALSE (create-glm): Spark's LinearRegression through the origin of the
    centered, scaled features gives least squares without an intercept on the standardized
    features (scaling a column does not change least squares' predictions)."""
    from sklearn.linear_model import LinearRegression
    from sklearn.preprocessing import StandardScaler

    cur = con.cursor()
    cur.execute(
        "CREATE MODEL mo_origin OPTIONS (model_type = 'linear_reg', input_label_cols = ['y'], "
        "fit_intercept = FALSE, engine = 'spark') AS SELECT x1, x2, y + 5 AS y FROM mo_rows"
    )
    cur.execute("SELECT x1, x2, predicted_y FROM ML.PREDICT(MODEL mo_origin, TABLE mo_rows)")
    rows = sorted(cur.fetchall())
    x = np.array([r[:2] for r in rows])
    y = 2 * x[:, 0] - x[:, 1] + 5
    expected = LinearRegression(fit_intercept=False).fit(StandardScaler().fit_transform(x), y)
    found = np.array([r[2] for r in rows])
    np.testing.assert_allclose(
        found, expected.predict(StandardScaler().fit_transform(x)), atol=1e-4
    )
    assert abs(float(found.mean()) - float(y.mean())) > 1.0  # no intercept: not y's mean
