"""The ML functions of the model types sqlml has, as BigQuery's reference pages document them, on
both engines: ML.CENTROIDS (k-means), ML.PRINCIPAL_COMPONENTS and ML.PRINCIPAL_COMPONENT_INFO (PCA),
ML.TRANSFORM, and TRANSFORM (* EXCEPT (...)).

Expected values come from numpy on the same rows (blob means, the covariance's eigenvalues, a
min-max scaling), never from sqlml.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pytest

import sqlml


def blobs() -> pa.Table:
    i = np.arange(90)
    blob = i % 3
    return pa.table(
        {
            "id": i,
            "x1": blob * 10.0 + (i % 5) / 10.0,
            "x2": blob * -10.0 + (i % 7) / 10.0,
            "shade": np.where(blob == 0, "a", "b"),
        }
    )


def rows_of(backend: Any, sql: str) -> list[dict[str, Any]]:
    cur = backend.run(sql)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def test_centroids(backend: Any) -> None:
    """https://cloud.google.com/bigquery/docs/reference/standard-sql/bigqueryml-syntax-centroids"""
    table = blobs()
    backend.load("f_blobs", table)
    backend.run(
        "CREATE MODEL f_km OPTIONS (model_type = 'kmeans', num_clusters = 3) "
        "AS SELECT x1, x2, shade FROM f_blobs"
    )
    rows = rows_of(backend, "SELECT * FROM ML.CENTROIDS(MODEL f_km) ORDER BY centroid_id, feature")
    assert list(rows[0]) == [
        "centroid_id",
        "feature",
        "numerical_value",
        "categorical_value",
        "geography_value",
    ]
    blob = np.arange(table.num_rows) % 3
    x1, x2 = table.column("x1").to_numpy(), table.column("x2").to_numpy()
    found: dict[int, dict[str, Any]] = {}
    for row in rows:
        found.setdefault(row["centroid_id"], {})[row["feature"]] = row
    assert sorted(found) == [1, 2, 3]
    for centroid in found.values():
        b = int(round(centroid["x1"]["numerical_value"] / 10))
        assert centroid["x1"]["numerical_value"] == pytest.approx(x1[blob == b].mean())
        assert centroid["x2"]["numerical_value"] == pytest.approx(x2[blob == b].mean())
        assert centroid["shade"]["numerical_value"] is None
        shares = {c["category"]: float(c["value"]) for c in centroid["shade"]["categorical_value"]}
        assert shares == ({"a": 1.0} if b == 0 else {"b": 1.0})
    standardized = rows_of(
        backend,
        "SELECT centroid_id, numerical_value FROM ML.CENTROIDS(MODEL f_km, "
        "STRUCT(TRUE AS standardize)) WHERE feature = 'x2'",
    )
    for row in standardized:
        b = int(round(found[row["centroid_id"]]["x1"]["numerical_value"] / 10))
        z = (x2[blob == b].mean() - x2.mean()) / x2.std()
        assert row["numerical_value"] == pytest.approx(z, rel=1e-9)


def test_principal_components_and_their_info(backend: Any) -> None:
    """https://cloud.google.com/bigquery/docs/reference/standard-sql/bigqueryml-syntax-principal-components
    and .../bigqueryml-syntax-principal-component-info"""
    table = blobs()
    backend.load("f_pts", table)
    backend.run(
        "CREATE MODEL f_pca OPTIONS (model_type = 'pca', num_principal_components = 2) "
        "AS SELECT x1, x2 FROM f_pts"
    )
    x = np.column_stack([table.column("x1").to_numpy(), table.column("x2").to_numpy()])
    z = (x - x.mean(axis=0)) / x.std(axis=0)
    eigenvalues, vectors = np.linalg.eigh(np.cov(z, rowvar=False))
    order = np.argsort(eigenvalues)[::-1]
    eigenvalues, vectors = eigenvalues[order], vectors[:, order]
    info = rows_of(backend, "SELECT * FROM ML.PRINCIPAL_COMPONENT_INFO(MODEL f_pca)")
    assert list(info[0]) == [
        "principal_component_id",
        "eigenvalue",
        "explained_variance_ratio",
        "cumulative_explained_variance_ratio",
    ]
    assert [r["principal_component_id"] for r in info] == [1, 2]
    np.testing.assert_allclose([r["eigenvalue"] for r in info], eigenvalues, rtol=1e-6)
    np.testing.assert_allclose(
        [r["cumulative_explained_variance_ratio"] for r in info],
        np.cumsum(eigenvalues) / eigenvalues.sum(),
        rtol=1e-6,
    )
    components = rows_of(
        backend,
        "SELECT principal_component_id, feature, numerical_value "
        "FROM ML.PRINCIPAL_COMPONENTS(MODEL f_pca)",
    )
    for k in (1, 2):
        vector = np.array(
            [
                next(r["numerical_value"] for r in components
                     if r["principal_component_id"] == k and r["feature"] == name)
                for name in ("x1", "x2")
            ]
        )  # fmt: skip
        expected = vectors[:, k - 1]
        np.testing.assert_allclose(np.sign(vector @ expected) * vector, expected, atol=1e-6)


def test_transform_star_except(backend: Any) -> None:
    """https://cloud.google.com/bigquery/docs/reference/standard-sql/bigqueryml-syntax-create#select_list"""
    from sklearn.linear_model import LinearRegression

    i = np.arange(40)
    x1 = (i * 37 % 41).astype(float)
    x2 = (i * 7 % 13).astype(float)
    y = 2 * x1 - x2 + (i % 3)
    backend.load("f_reg", pa.table({"id": i, "x1": x1, "x2": x2, "y": y}))
    backend.run(
        "CREATE MODEL f_star TRANSFORM (* EXCEPT (id, x1), ML.MIN_MAX_SCALER(x1) OVER () AS x1) "
        "OPTIONS (model_type = 'linear_reg', input_label_cols = ['y']) AS SELECT * FROM f_reg"
    )
    found = rows_of(
        backend, "SELECT id, predicted_y FROM ML.PREDICT(MODEL f_star, TABLE f_reg) ORDER BY id"
    )
    features = np.column_stack([x2, (x1 - x1.min()) / (x1.max() - x1.min())])
    expected = LinearRegression().fit(features, y).predict(features)
    np.testing.assert_allclose([r["predicted_y"] for r in found], expected, atol=1e-3)


def test_transform_sql_output_reusing_an_input_name(backend: Any) -> None:
    """https://cloud.google.com/bigquery/docs/bigqueryml-transform: an output named like a column
    another output reads (here x1 * x2 AS x1 beside ML.MIN_MAX_SCALER(x1))."""
    from sklearn.linear_model import LinearRegression

    i = np.arange(40)
    x1 = (i * 37 % 41).astype(float)
    x2 = (i * 7 % 13).astype(float)
    y = 2 * x1 - x2 * x1 + (i % 3)
    backend.load("f_reuse_t", pa.table({"id": i, "x1": x1, "x2": x2, "y": y}))
    backend.run(
        "CREATE MODEL f_reuse TRANSFORM (ML.MIN_MAX_SCALER(x1) OVER () AS s, x1 * x2 AS x1, y) "
        "OPTIONS (model_type = 'linear_reg', input_label_cols = ['y']) AS SELECT * FROM f_reuse_t"
    )
    found = rows_of(
        backend,
        "SELECT id, predicted_y FROM ML.PREDICT(MODEL f_reuse, TABLE f_reuse_t) ORDER BY id",
    )
    features = np.column_stack([(x1 - x1.min()) / (x1.max() - x1.min()), x1 * x2])
    expected = LinearRegression().fit(features, y).predict(features)
    np.testing.assert_allclose([r["predicted_y"] for r in found], expected, atol=1e-3)


def test_ml_transform(backend: Any) -> None:
    """https://cloud.google.com/bigquery/docs/reference/standard-sql/bigqueryml-syntax-transform:
    the page's model shape (ML.MAX_ABS_SCALER outputs reusing their columns' names); the outputs,
    then the input's other columns; an error for a model without TRANSFORM."""
    i = np.arange(30)
    x1 = (i * 37 % 41).astype(float) - 10
    x2 = (i * 7 % 13).astype(float)
    y = 2 * x1 - x2
    table = pa.table({"id": i, "x1": x1, "x2": x2, "cat": np.where(i % 2 == 0, "p", "q"), "y": y})
    backend.load("f_tf", table)
    backend.run(
        "CREATE MODEL f_mt TRANSFORM (cat, ML.MAX_ABS_SCALER(x1) OVER () AS x1, y) "
        "OPTIONS (model_type = 'linear_reg', input_label_cols = ['y']) AS SELECT * FROM f_tf"
    )
    rows = rows_of(backend, "SELECT * FROM ML.TRANSFORM(MODEL f_mt, TABLE f_tf)")
    assert list(rows[0]) == ["cat", "x1", "id", "x2", "y"]
    by_id = {r["id"]: r for r in rows}
    np.testing.assert_allclose([by_id[k]["x1"] for k in i], x1 / np.abs(x1).max())
    assert [by_id[k]["cat"] for k in i] == table.column("cat").to_pylist()
    backend.run(
        "CREATE MODEL f_plain OPTIONS (model_type = 'linear_reg', input_label_cols = ['y']) "
        "AS SELECT x1, y FROM f_tf"
    )
    with pytest.raises(
        sqlml.ProgrammingError,
        match=r"^ML\.TRANSFORM applies to models trained with a TRANSFORM clause; model f_plain "
        r"is a linear_reg model\.$",
    ):
        backend.rows("SELECT * FROM ML.TRANSFORM(MODEL f_plain, TABLE f_tf)")
