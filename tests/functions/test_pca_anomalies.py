"""model_type = 'pca', and ML.DETECT_ANOMALIES for k-means and PCA models.

Real DuckDB files and ONNX Runtime. Expected values are computed here with numpy / scikit-learn on
the same rows (standardized by hand, one-hot encoded by hand), never read from sqlml's output.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.decomposition import PCA

import sqlml
from sqlml import errors

CATEGORIES = ["a", "b", "c"]


def fetch(cur: sqlml.Cursor, sql: str, params: Any = None) -> list[dict[str, Any]]:
    cur.execute(sql, params)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


@pytest.fixture
def cur(tmp_path: Path) -> Iterator[sqlml.Cursor]:
    connection = sqlml.connect(str(tmp_path / "pca.duckdb"))
    yield connection.cursor()
    connection.close()


# --- PCA ------------------------------------------------------------------------------------------


def correlated_rows(seed: int, n: int) -> list[tuple[int, float, float, float, str]]:
    rng = np.random.default_rng(seed)
    x1 = rng.normal(0, 3, n)
    x2 = 2 * x1 + rng.normal(0, 1, n)
    x3 = rng.normal(5, 0.5, n)
    c = rng.choice(CATEGORIES, n)
    return [(i, float(x1[i]), float(x2[i]), float(x3[i]), str(c[i])) for i in range(n)]


def load(cur: sqlml.Cursor, name: str, rows: list[tuple[Any, ...]]) -> None:
    cur.execute(f"CREATE TABLE {name} (id BIGINT, x1 DOUBLE, x2 DOUBLE, x3 DOUBLE, c VARCHAR)")
    cur.executemany(f"INSERT INTO {name} VALUES (?, ?, ?, ?, ?)", rows)


def preprocess(rows: list[tuple[Any, ...]], train: list[tuple[Any, ...]], scale: bool) -> Any:
    """BigQuery's PCA preprocessing by hand: numbers standardized with the training mean and
    population standard deviation (or left as they are), categories one-hot."""
    numbers = np.array([r[1:4] for r in rows])
    reference = np.array([r[1:4] for r in train])
    if scale:
        numbers = (numbers - reference.mean(axis=0)) / reference.std(axis=0)
    onehot = np.array([[float(r[4] == c) for c in CATEGORIES] for r in rows])
    return np.hstack([numbers, onehot])


def components(out: list[dict[str, Any]], k: int) -> np.ndarray:
    return np.array([[r[f"principal_component_{j + 1}"] for j in range(k)] for r in out])


def assert_same_up_to_sign(got: np.ndarray, want: np.ndarray) -> None:
    assert got.shape == want.shape
    scale = float(np.sqrt(np.mean(want**2)))
    for j in range(want.shape[1]):
        sign = np.sign(np.dot(got[:, j], want[:, j]))
        np.testing.assert_allclose(got[:, j] * sign, want[:, j], atol=1e-4 * scale)


@pytest.mark.parametrize("scale", [True, False])
def test_pca_components_match_scikit_learn_up_to_sign(cur: sqlml.Cursor, scale: bool) -> None:
    rows = correlated_rows(7, 40)
    load(cur, "train", rows)
    option = "" if scale else ", scale_features = FALSE"
    cur.execute(
        f"CREATE MODEL p OPTIONS (model_type = 'pca', num_principal_components = 2{option}) "
        "AS SELECT x1, x2, x3, c FROM train"
    )
    out = fetch(cur, "SELECT * FROM ML.PREDICT(MODEL p, TABLE train) ORDER BY id")
    assert list(out[0]) == [
        "id",
        "x1",
        "x2",
        "x3",
        "c",
        "principal_component_1",
        "principal_component_2",
    ]
    assert [d[1] for d in cur.description][-2:] == ["DOUBLE", "DOUBLE"]
    matrix = preprocess(rows, rows, scale)
    reference = PCA(n_components=2, svd_solver="full").fit(matrix)
    assert_same_up_to_sign(components(out, 2), reference.transform(matrix))

    (evaluated,) = fetch(cur, "SELECT * FROM ML.EVALUATE(MODEL p)")
    assert list(evaluated) == ["total_explained_variance_ratio"]
    expected = float(np.sum(reference.explained_variance_ratio_))
    assert evaluated["total_explained_variance_ratio"] == pytest.approx(expected, rel=1e-5)

    # on new rows: the share of their variance the training components keep
    new = correlated_rows(8, 25)
    load(cur, "fresh", new)
    (fresh,) = fetch(cur, "SELECT * FROM ML.EVALUATE(MODEL p, TABLE fresh)")
    processed = preprocess(new, rows, scale)
    kept = np.var(reference.transform(processed), axis=0).sum() / np.var(processed, axis=0).sum()
    assert fresh["total_explained_variance_ratio"] == pytest.approx(kept, rel=1e-4)


def test_explained_variance_ratio_chooses_the_fewest_components(cur: sqlml.Cursor) -> None:
    rows = correlated_rows(3, 40)
    load(cur, "train", rows)
    cur.execute(
        "CREATE MODEL p OPTIONS (model_type = 'pca', pca_explained_variance_ratio = 0.8) "
        "AS SELECT x1, x2, x3, c FROM train"
    )
    ratios = PCA(svd_solver="full").fit(preprocess(rows, rows, True)).explained_variance_ratio_
    want = int(np.argmax(np.cumsum(ratios) >= 0.8)) + 1
    out = fetch(cur, "SELECT * FROM ML.PREDICT(MODEL p, TABLE train) LIMIT 1")
    names = [n for n in out[0] if n.startswith("principal_component_")]
    assert len(names) == want
    assert 1 < want < 6


def test_default_number_of_components_is_at_most_ten(cur: sqlml.Cursor) -> None:
    rows = correlated_rows(4, 30)
    load(cur, "train", rows)
    cur.execute("CREATE MODEL p OPTIONS (model_type = 'pca') AS SELECT x1, x2, x3, c FROM train")
    out = fetch(cur, "SELECT * FROM ML.PREDICT(MODEL p, TABLE train) LIMIT 1")
    # 3 numbers + 3 categories = 6 columns after preprocessing, under the default of 10
    assert [n for n in out[0] if n.startswith("principal_")] == [
        f"principal_component_{j}" for j in range(1, 7)
    ]


PCA_ERRORS = [
    (
        "OPTIONS (model_type = 'pca', num_principal_components = 7)",
        errors.OptionError,
        ["num_principal_components", "at most 6", "6 column(s) after preprocessing", "got 7"],
    ),
    (
        "OPTIONS (model_type = 'pca', num_principal_components = 0)",
        errors.OptionError,
        ["num_principal_components", "got 0"],
    ),
    (
        "OPTIONS (model_type = 'pca', num_principal_components = 2, "
        "pca_explained_variance_ratio = 0.5)",
        errors.OptionError,
        ["both 'num_principal_components' and 'pca_explained_variance_ratio'"],
    ),
    (
        "OPTIONS (model_type = 'pca', pca_explained_variance_ratio = 1.5)",
        errors.OptionError,
        ["pca_explained_variance_ratio", "(0, 1]", "1.5"],
    ),
    (
        "OPTIONS (model_type = 'pca', input_label_cols = ['x1'])",
        errors.OptionError,
        ["'input_label_cols' option does not apply to model_type 'pca'"],
    ),
]


@pytest.mark.parametrize(("options", "error", "words"), PCA_ERRORS)
def test_bad_pca_options_are_clear_errors(
    cur: sqlml.Cursor, options: str, error: type, words: list[str]
) -> None:
    load(cur, "train", correlated_rows(5, 20))
    with pytest.raises(error) as caught:
        cur.execute(f"CREATE MODEL bad {options} AS SELECT x1, x2, x3, c FROM train")
    for word in words:
        assert word in str(caught.value), (word, str(caught.value))


# --- ML.DETECT_ANOMALIES: k-means ---------------------------------------------------------------


def blobs(seed: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Three round blobs far apart (so k-means finds each blob's mean), and each row's blob."""
    rng = np.random.default_rng(seed)
    blob = np.arange(n) % 3
    centers = np.array([[0.0, 0.0], [20.0, -20.0], [40.0, 0.0]])
    spread = np.array([0.5, 1.0, 2.0])[blob][:, None]
    return centers[blob] + rng.normal(0, 1, (n, 2)) * spread, blob


def normalized_by_hand(points: np.ndarray, train: np.ndarray, blob: np.ndarray) -> np.ndarray:
    """Distance to the nearest blob mean over that blob's mean distance in training."""
    means = np.array([train[blob == g].mean(axis=0) for g in range(3)])
    scales = np.array(
        [np.linalg.norm(train[blob == g] - means[g], axis=1).mean() for g in range(3)]
    )
    distances = np.linalg.norm(points[:, None, :] - means[None, :, :], axis=2)
    nearest = distances.argmin(axis=1)
    return distances[np.arange(len(points)), nearest] / scales[nearest]


@pytest.fixture
def kmeans(cur: sqlml.Cursor) -> tuple[np.ndarray, np.ndarray]:
    points, blob = blobs(11, 90)
    cur.execute("CREATE TABLE pts (id BIGINT, x DOUBLE, y DOUBLE)")
    cur.executemany(
        "INSERT INTO pts VALUES (?, ?, ?)",
        [(i, float(p[0]), float(p[1])) for i, p in enumerate(points)],
    )
    cur.execute(
        "CREATE MODEL km OPTIONS (model_type = 'kmeans', num_clusters = 3, "
        "standardize_features = FALSE) AS SELECT x, y FROM pts"
    )
    return points, blob


def test_kmeans_anomalies_use_normalized_distances_and_training_quantiles(
    cur: sqlml.Cursor, kmeans: tuple[np.ndarray, np.ndarray]
) -> None:
    points, blob = kmeans
    probes = np.array([[0.1, 0.1], [21.0, -19.0], [40.0, 5.5], [60.0, 60.0], [1.6, 0.0]])
    cur.execute("CREATE TABLE probes (id BIGINT, x DOUBLE, y DOUBLE)")
    cur.executemany(
        "INSERT INTO probes VALUES (?, ?, ?)",
        [(i, float(p[0]), float(p[1])) for i, p in enumerate(probes)],
    )
    out = fetch(
        cur,
        "SELECT * FROM ML.DETECT_ANOMALIES(MODEL km, STRUCT(0.05 AS contamination), "
        "TABLE probes) ORDER BY id",
    )
    assert list(out[0]) == ["id", "x", "y", "is_anomaly", "normalized_distance", "centroid_id"]
    assert [d[1] for d in cur.description][3:] == ["BOOLEAN", "DOUBLE", "BIGINT"]
    want = normalized_by_hand(probes, points, blob)
    got = np.array([r["normalized_distance"] for r in out])
    np.testing.assert_allclose(got, want, rtol=1e-4)
    cutoff = np.quantile(normalized_by_hand(points, points, blob), 0.95)
    assert all(abs(w - cutoff) > 1e-3 for w in want)  # no probe sits on the cut-off
    assert [r["is_anomaly"] for r in out] == [bool(w > cutoff) for w in want]
    assert [r["is_anomaly"] for r in out][:4] == [False, False, True, True]
    # centroid ids: the probes near blobs 0, 1, 2 get three different ones
    assert len({r["centroid_id"] for r in out[:3]}) == 3


def test_contamination_is_the_share_of_training_rows_flagged(
    cur: sqlml.Cursor, kmeans: tuple[np.ndarray, np.ndarray]
) -> None:
    for contamination in (0.0, 0.1, 0.5):
        (row,) = fetch(
            cur,
            "SELECT count_if(is_anomaly)::INTEGER AS flagged FROM ML.DETECT_ANOMALIES(MODEL km, "
            f"STRUCT({contamination} AS contamination), TABLE pts)",
        )
        # the (1 - c) quantile interpolates between rows: at most one row either way
        assert abs(row["flagged"] - contamination * 90) <= 1, contamination
    (row,) = fetch(
        cur,
        "SELECT count_if(is_anomaly)::INTEGER AS flagged FROM ML.DETECT_ANOMALIES(MODEL km, "
        "STRUCT(0 AS contamination), TABLE pts)",
    )
    assert row["flagged"] == 0  # nothing beyond the farthest training row


def test_both_argument_orders_agree(cur: sqlml.Cursor, kmeans: Any) -> None:
    first = fetch(
        cur,
        "SELECT * FROM ML.DETECT_ANOMALIES(MODEL km, STRUCT(0.1 AS contamination), "
        "(SELECT * FROM pts WHERE id < 30)) ORDER BY id",
    )
    last = fetch(
        cur,
        "SELECT * FROM ML.DETECT_ANOMALIES(MODEL km, (SELECT * FROM pts WHERE id < 30), "
        "STRUCT(0.1 AS contamination)) ORDER BY id",
    )
    assert first == last
    assert len(first) == 30


# --- ML.DETECT_ANOMALIES: PCA ---------------------------------------------------------------------


def test_pca_anomalies_are_reconstruction_errors(cur: sqlml.Cursor) -> None:
    rows = correlated_rows(21, 60)
    load(cur, "train", rows)
    cur.execute(
        "CREATE MODEL p OPTIONS (model_type = 'pca', num_principal_components = 2) "
        "AS SELECT x1, x2, x3, c FROM train"
    )
    # x2 = 2 x1 + noise: a row breaking that relation reconstructs badly
    probes = [(100, 1.0, 2.0, 5.0, "a"), (101, 3.0, -6.0, 5.0, "b"), (102, 0.0, 0.5, 5.1, "c")]
    load(cur, "probes", probes)
    out = fetch(
        cur,
        "SELECT * FROM ML.DETECT_ANOMALIES(MODEL p, STRUCT(0.02 AS contamination), "
        "TABLE probes) ORDER BY id",
    )
    assert list(out[0]) == ["id", "x1", "x2", "x3", "c", "is_anomaly", "mean_squared_error"]
    train = preprocess(rows, rows, True)
    reference = PCA(n_components=2, svd_solver="full").fit(train)

    def errors_of(matrix: np.ndarray) -> np.ndarray:
        rebuilt = reference.inverse_transform(reference.transform(matrix))
        return np.mean((matrix - rebuilt) ** 2, axis=1)

    want = errors_of(preprocess(probes, rows, True))
    np.testing.assert_allclose([r["mean_squared_error"] for r in out], want, rtol=1e-3, atol=1e-5)
    cutoff = np.quantile(errors_of(train), 0.98)
    assert [r["is_anomaly"] for r in out] == [bool(w > cutoff) for w in want]
    assert out[1]["is_anomaly"] is True


# --- errors ---------------------------------------------------------------------------------------


def test_detect_anomalies_errors_name_the_problem(cur: sqlml.Cursor, kmeans: Any) -> None:
    cur.execute(
        "CREATE MODEL lin OPTIONS (model_type = 'linear_reg', input_label_cols = ['y']) "
        "AS SELECT x, y FROM pts"
    )
    cases = [
        (
            "ML.DETECT_ANOMALIES(MODEL lin, STRUCT(0.1 AS contamination), TABLE pts)",
            errors.ProgrammingError,
            "applies to k-means, PCA and ARIMA_PLUS models; model lin is a linear_reg model",
        ),
        (
            "ML.DETECT_ANOMALIES(MODEL km, TABLE pts)",
            errors.ProgrammingError,
            "needs STRUCT(<c> AS contamination)",
        ),
        (
            "ML.DETECT_ANOMALIES(MODEL km, STRUCT(0.6 AS contamination), TABLE pts)",
            errors.OptionError,
            "'contamination' option of ML.DETECT_ANOMALIES must be a number in [0, 0.5]; got 0.6",
        ),
        (
            "ML.DETECT_ANOMALIES(MODEL km, STRUCT(0.1 AS contamination))",
            errors.ProgrammingError,
            "needs input rows",
        ),
        (
            "ML.DETECT_ANOMALIES(MODEL km, STRUCT(0.1 AS threshold), TABLE pts)",
            errors.OptionError,
            "Unknown option 'threshold' in ML.DETECT_ANOMALIES; accepted: anomaly_prob_threshold, contamination",
        ),
        (
            "ML.DETECT_ANOMALIES(MODEL km, STRUCT(0.1 AS contamination), (SELECT x FROM pts))",
            errors.SchemaError,
            "lacks column 'y'",
        ),
    ]
    for call, error, words in cases:
        with pytest.raises(error) as caught:
            cur.execute(f"SELECT * FROM {call}")
        assert words in str(caught.value), (call, str(caught.value))
