"""ML.CENTROIDS of a k-means model trained on Spark's executors (engine = 'spark': Spark MLlib's
KMeans), read back through the Spark pipeline's scaling.

https://cloud.google.com/bigquery/docs/reference/standard-sql/bigqueryml-syntax-centroids. The
blobs (tests/backends/spark/conftest.py) are far apart, so each centroid is its blob's mean; the
expected values are numpy's means of the same rows.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import sqlml

pytestmark = [pytest.mark.spark, pytest.mark.slow]


@pytest.mark.parametrize("standardize", ["TRUE", "FALSE"])
def test_centroids_of_mllib_kmeans_are_the_blob_means(
    con: sqlml.Connection, data: dict[str, Any], standardize: str
) -> None:
    cur = con.cursor()
    cur.execute(
        "CREATE OR REPLACE MODEL sp_centroids OPTIONS (model_type = 'kmeans', num_clusters = 3, "
        f"standardize_features = {standardize}, engine = 'spark') AS "
        "SELECT x1, x2, CASE WHEN id % 3 = 0 THEN 'a' ELSE 'b' END AS shade FROM blobs"
    )
    try:
        cur.execute("SELECT * FROM ML.CENTROIDS(MODEL sp_centroids) ORDER BY centroid_id, feature")
        names = [d[0] for d in cur.description]
        rows = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
        blobs = data["blobs"]
        blob = np.arange(blobs.num_rows) % 3
        x1, x2 = blobs.column("x1").to_numpy(), blobs.column("x2").to_numpy()
        found: dict[int, dict[str, Any]] = {}
        for row in rows:
            found.setdefault(row["centroid_id"], {})[row["feature"]] = row
        assert sorted(found) == [1, 2, 3]
        for centroid in found.values():
            b = int(round(centroid["x1"]["numerical_value"] / 10))
            assert centroid["x1"]["numerical_value"] == pytest.approx(x1[blob == b].mean())
            assert centroid["x2"]["numerical_value"] == pytest.approx(x2[blob == b].mean())
            shares = {
                c["category"]: float(c["value"]) for c in centroid["shade"]["categorical_value"]
            }
            assert shares == ({"a": 1.0} if b == 0 else {"b": 1.0})
        cur.execute(
            "SELECT centroid_id, numerical_value FROM ML.CENTROIDS(MODEL sp_centroids, "
            "STRUCT(TRUE AS standardize)) WHERE feature = 'x1'"
        )
        standardized = dict(cur.fetchall())
        for k, centroid in found.items():
            b = int(round(centroid["x1"]["numerical_value"] / 10))
            # Spark's StandardScaler divides by the sample standard deviation
            ddof = 1 if standardize == "TRUE" else 0
            z = (x1[blob == b].mean() - x1.mean()) / x1.std(ddof=ddof)
            assert standardized[k] == pytest.approx(z, rel=1e-6)
    finally:
        cur.execute("DROP MODEL IF EXISTS sp_centroids")
