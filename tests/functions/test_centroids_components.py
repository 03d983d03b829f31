"""ML.CENTROIDS (k-means), ML.PRINCIPAL_COMPONENTS and ML.PRINCIPAL_COMPONENT_INFO (PCA).

Pages: https://cloud.google.com/bigquery/docs/reference/standard-sql/bigqueryml-syntax-centroids,
.../bigqueryml-syntax-principal-components and .../bigqueryml-syntax-principal-component-info
(output columns and their types, one row per centroid and feature, components in descending order
of eigenvalue). Expected values come from numpy on the same rows: three well-separated blobs, so a
centroid is its blob's mean whatever the initialization; PCA's eigenvectors and eigenvalues from
numpy's eigendecomposition of the covariance of the standardized, one-hot encoded matrix.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

import sqlml
from sqlml import errors

BLOB = np.repeat([0, 1, 2], 30)


def blobs() -> pa.Table:
    rng = np.random.default_rng(7)
    centers = np.array([[0.0, 0.0], [10.0, 10.0], [0.0, 10.0]])
    xy = centers[BLOB] + rng.normal(0, 1, (len(BLOB), 2))
    shade = np.where(BLOB == 0, "a", np.where(np.arange(len(BLOB)) % 3 == 0, "b", "c"))
    return pa.table({"x": xy[:, 0] * 3 + 100, "y": xy[:, 1], "shade": shade})


@pytest.fixture
def cur(tmp_path: Path) -> Iterator[sqlml.Cursor]:
    connection = sqlml.connect(str(tmp_path / "centroids.duckdb"))
    raw = connection.executor.backend.con
    raw.register("source", blobs())
    raw.execute("CREATE TABLE pts AS SELECT * FROM source")
    cursor = connection.cursor()
    yield cursor
    connection.close()


def fetch(cur: sqlml.Cursor, sql: str) -> list[dict[str, Any]]:
    cur.execute(sql)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def by_blob(rows: list[dict[str, Any]], data: pa.Table) -> dict[int, dict[str, dict[str, Any]]]:
    """centroid rows -> {blob: {feature: row}}, matching each centroid to its nearest blob mean."""
    x = data.column("x").to_numpy()
    found: dict[int, dict[str, dict[str, Any]]] = {}
    for row in rows:
        found.setdefault(row["centroid_id"], {})[row["feature"]] = row
    matched = {}
    for centroid in found.values():
        blob = int(np.argmin([abs(centroid["x"]["numerical_value"] - x[b == BLOB].mean())
                              for b in range(3)]))  # fmt: skip
        matched[blob] = centroid
    assert sorted(matched) == [0, 1, 2]
    return matched


@pytest.mark.parametrize("standardized", [True, False], ids=["standardize_features", "raw"])
def test_centroids_are_the_blob_means_on_the_original_scale(
    cur: sqlml.Cursor, standardized: bool
) -> None:
    data = blobs()
    cur.execute(
        "CREATE MODEL km OPTIONS (model_type = 'kmeans', num_clusters = 3, "
        f"standardize_features = {str(standardized).upper()}) AS SELECT * FROM pts"
    )
    rows = fetch(cur, "SELECT * FROM ML.CENTROIDS(MODEL km) ORDER BY centroid_id, feature")
    assert [d[0] for d in cur.description] == [
        "centroid_id",
        "feature",
        "numerical_value",
        "categorical_value",
        "geography_value",
    ]
    assert len(rows) == 3 * 3  # one row per centroid per feature
    assert sorted({r["centroid_id"] for r in rows}) == [1, 2, 3]
    matched = by_blob(rows, data)
    shade = np.asarray(data.column("shade").to_pylist(), dtype=object)
    for blob, centroid in matched.items():
        for name in ("x", "y"):
            mean = data.column(name).to_numpy()[blob == BLOB].mean()
            assert centroid[name]["numerical_value"] == pytest.approx(mean, rel=1e-9)
            assert centroid[name]["categorical_value"] == []
            assert centroid[name]["geography_value"] is None
        assert centroid["shade"]["numerical_value"] is None
        shares = {c["category"]: float(c["value"]) for c in centroid["shade"]["categorical_value"]}
        values, counts = np.unique(shade[blob == BLOB], return_counts=True)
        expected = {str(v): c / counts.sum() for v, c in zip(values, counts, strict=True)}
        assert shares == pytest.approx(expected)

    standard = fetch(cur, "SELECT * FROM ML.CENTROIDS(MODEL km, STRUCT(TRUE AS standardize))")
    for blob, centroid in by_blob_standardized(standard, matched).items():
        for name in ("x", "y"):
            column = data.column(name).to_numpy()
            z = (column[blob == BLOB].mean() - column.mean()) / column.std()
            assert centroid[name] == pytest.approx(z, rel=1e-9)


def by_blob_standardized(
    rows: list[dict[str, Any]], matched: dict[int, dict[str, dict[str, Any]]]
) -> dict[int, dict[str, float]]:
    ids = {centroid["x"]["centroid_id"]: blob for blob, centroid in matched.items()}
    out: dict[int, dict[str, float]] = {}
    for row in rows:
        if row["numerical_value"] is not None:
            out.setdefault(ids[row["centroid_id"]], {})[row["feature"]] = row["numerical_value"]
    return out


def test_centroids_apply_to_kmeans_models_only(cur: sqlml.Cursor) -> None:
    cur.execute("CREATE MODEL p OPTIONS (model_type = 'pca') AS SELECT x, y FROM pts")
    with pytest.raises(sqlml.ProgrammingError, match="ML.CENTROIDS applies to k-means models"):
        cur.execute("SELECT * FROM ML.CENTROIDS(MODEL p)")
    cur.execute("CREATE MODEL km OPTIONS (model_type = 'kmeans') AS SELECT x, y FROM pts")
    with pytest.raises(errors.OptionError, match="Unknown option 'scale' in ML.CENTROIDS"):
        cur.execute("SELECT * FROM ML.CENTROIDS(MODEL km, STRUCT(TRUE AS scale))")


def standardized_matrix(data: pa.Table, scale: bool) -> tuple[np.ndarray, list[str]]:
    columns = []
    for name in ("x", "y"):
        values = data.column(name).to_numpy()
        centered = values - values.mean()
        columns.append(centered / values.std() if scale else centered)
    shade = np.asarray(data.column("shade").to_pylist(), dtype=object)
    categories = sorted(set(shade))
    columns += [(shade == c).astype(float) for c in categories]
    return np.column_stack(columns), categories


@pytest.mark.parametrize("scale", [True, False], ids=["scale_features", "unscaled"])
def test_principal_components_are_the_covariance_eigenvectors(
    cur: sqlml.Cursor, scale: bool
) -> None:
    data = blobs()
    cur.execute(
        "CREATE MODEL p OPTIONS (model_type = 'pca', num_principal_components = 3, "
        f"scale_features = {str(scale).upper()}) AS SELECT * FROM pts"
    )
    matrix, categories = standardized_matrix(data, scale)
    eigenvalues, vectors = np.linalg.eigh(np.cov(matrix, rowvar=False))
    order = np.argsort(eigenvalues)[::-1]
    eigenvalues, vectors = eigenvalues[order], vectors[:, order]

    info = fetch(cur, "SELECT * FROM ML.PRINCIPAL_COMPONENT_INFO(MODEL p)")
    assert [d[0] for d in cur.description] == [
        "principal_component_id",
        "eigenvalue",
        "explained_variance_ratio",
        "cumulative_explained_variance_ratio",
    ]
    assert [r["principal_component_id"] for r in info] == [1, 2, 3]
    np.testing.assert_allclose([r["eigenvalue"] for r in info], eigenvalues[:3], rtol=1e-6)
    ratios = eigenvalues[:3] / eigenvalues.sum()
    np.testing.assert_allclose([r["explained_variance_ratio"] for r in info], ratios, rtol=1e-6)
    np.testing.assert_allclose(
        [r["cumulative_explained_variance_ratio"] for r in info], np.cumsum(ratios), rtol=1e-6
    )

    rows = fetch(cur, "SELECT * FROM ML.PRINCIPAL_COMPONENTS(MODEL p)")
    assert [d[0] for d in cur.description] == [
        "principal_component_id",
        "feature",
        "numerical_value",
        "categorical_value",
    ]
    assert len(rows) == 3 * 3
    for k in (1, 2, 3):
        found = {r["feature"]: r for r in rows if r["principal_component_id"] == k}
        shares = {c["category"]: c["value"] for c in found["shade"]["categorical_value"]}
        vector = np.array(
            [found["x"]["numerical_value"], found["y"]["numerical_value"]]
            + [shares[c] for c in categories]
        )
        expected = vectors[:, k - 1]
        sign = np.sign(vector @ expected)  # an eigenvector's sign is arbitrary
        np.testing.assert_allclose(sign * vector, expected, atol=1e-6)


def test_principal_components_apply_to_pca_models_only(cur: sqlml.Cursor) -> None:
    cur.execute("CREATE MODEL km OPTIONS (model_type = 'kmeans') AS SELECT x, y FROM pts")
    for function in ("PRINCIPAL_COMPONENTS", "PRINCIPAL_COMPONENT_INFO"):
        with pytest.raises(sqlml.ProgrammingError, match=f"ML.{function} applies to PCA models"):
            cur.execute(f"SELECT * FROM ML.{function}(MODEL km)")
