"""Documented CREATE MODEL options that change the model, on both engines (the ``backend`` fixture).

Each test trains through SQL with an option BigQuery ML documents, then checks the model against
an independent computation (scikit-learn fitted here on the same rows, numpy), and that the option
changed something (the same statement without it gives another answer). Small tables: Spark
collects them and trains with scikit-learn, so both engines must agree with the reference.

Pages: https://cloud.google.com/bigquery/docs/reference/standard-sql/bigqueryml-syntax-create-kmeans,
…-create-dnn-models, …-create-boosted-tree, …-create-random-forest, …-create-glm.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from conformance_data import X1, X2, blobs, reg

import sqlml

N = 120
ROW = np.arange(N)


def rays() -> pa.Table:
    """Three directions (0°, 25°, 50°) at radii 1 … 40: apart by angle, not by distance."""
    angle = np.radians(np.array([0.0, 25.0, 50.0])[ROW % 3])
    radius = 1.0 + (ROW // 3)
    return pa.table(
        {"id": ROW, "x1": radius * np.cos(angle), "x2": radius * np.sin(angle), "ray": ROW % 3}
    )


def same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    from sklearn.metrics import adjusted_rand_score

    return bool(adjusted_rand_score(a, b) == 1.0)


def test_kmeans_cosine_distance_clusters_the_unit_rows(backend: Any) -> None:
    """DISTANCE_TYPE = 'COSINE' (create-kmeans): k-means of the L2-normalised rows, which the
    ONNX graph normalises too when it scores."""
    from sklearn.cluster import KMeans
    from sklearn.preprocessing import normalize

    table = rays()
    backend.load("c_rays", table)
    for name, distance in (("c_km_cos", "COSINE"), ("c_km_euc", "EUCLIDEAN")):
        backend.run(
            f"CREATE MODEL {name} OPTIONS (model_type = 'kmeans', num_clusters = 3, "
            f"standardize_features = FALSE, distance_type = '{distance}') "
            f"AS SELECT x1, x2 FROM c_rays"
        )
    x = np.column_stack([table.column("x1").to_numpy(), table.column("x2").to_numpy()])
    reference = KMeans(3, init="k-means++", n_init=3, max_iter=20, random_state=42)
    expected = reference.fit_predict(normalize(x))

    def assigned(name: str) -> np.ndarray:
        rows = backend.rows(
            f"SELECT id, centroid_id FROM ML.PREDICT(MODEL {name}, TABLE c_rays) ORDER BY id"
        )
        return np.array([r[1] for r in rows])

    cosine = assigned("c_km_cos")
    assert same_partition(cosine, expected)
    assert same_partition(cosine, table.column("ray").to_numpy())  # the three directions
    assert not same_partition(assigned("c_km_euc"), cosine)  # Euclidean splits by radius


def test_kmeans_custom_init_starts_from_the_marked_rows(backend: Any) -> None:
    """KMEANS_INIT_METHOD = 'CUSTOM' with KMEANS_INIT_COL (create-kmeans): the TRUE rows are the
    initial centroids, and the column is not a feature."""
    from sklearn.cluster import KMeans
    from sklearn.preprocessing import StandardScaler

    base = blobs()
    seeds = np.isin(ROW, [2, 4, 6])  # rows of blobs 2, 1 and 0, in that order
    table = base.append_column("seed", pa.array(seeds))
    backend.load("c_seeded", table)
    backend.run(
        "CREATE MODEL c_km_custom OPTIONS (model_type = 'kmeans', num_clusters = 3, "
        "kmeans_init_method = 'CUSTOM', kmeans_init_col = 'seed') "
        "AS SELECT x1, x2, seed FROM c_seeded"
    )
    x = StandardScaler().fit_transform(
        np.column_stack([base.column("x1").to_numpy(), base.column("x2").to_numpy()])
    )
    reference = KMeans(3, init=x[seeds], n_init=1, max_iter=20).fit(x)
    rows = backend.rows(
        "SELECT id, centroid_id FROM ML.PREDICT(MODEL c_km_custom, "
        "(SELECT id, x1, x2 FROM c_seeded)) ORDER BY id"
    )
    found = np.array([r[1] for r in rows])
    # Centroids keep the order of their seeds: centroid 1 started at row 2 (blob 2), and so on.
    assert list(found) == list(reference.labels_ + 1)
    assert list(found) == list(3 - ROW % 3)
    features = backend.rows("SELECT input FROM ML.FEATURE_INFO(MODEL c_km_custom)")
    assert sorted(r[0] for r in features) == ["x1", "x2"]


def test_kmeans_custom_init_needs_num_clusters_true_rows(backend: Any) -> None:
    """create-kmeans: "The number of TRUE rows in this column must be equal to NUM_CLUSTERS"."""
    backend.load("c_seeded2", blobs().append_column("seed", pa.array(ROW < 2)))
    with pytest.raises(sqlml.DataError, match=r"TRUE on 2 training row\(s\).*\(3\)"):
        backend.run(
            "CREATE MODEL c_km_bad OPTIONS (model_type = 'kmeans', num_clusters = 3, "
            "kmeans_init_method = 'CUSTOM', kmeans_init_col = 'seed') "
            "AS SELECT x1, x2, seed FROM c_seeded2"
        )


@pytest.mark.parametrize(
    ("activation", "optimizer", "expected"),
    [
        ("TANH", "ADAM", {"activation": "tanh", "solver": "adam"}),
        ("SIGMOID", "ADAM", {"activation": "logistic", "solver": "adam"}),
        (
            "RELU",
            "SGD",
            {
                "activation": "relu",
                "solver": "sgd",
                "momentum": 0.0,
                "nesterovs_momentum": False,
                "learning_rate": "constant",
            },
        ),
    ],
)
def test_dnn_activation_and_optimizer_train_that_network(
    backend: Any, activation: str, optimizer: str, expected: dict[str, Any]
) -> None:
    """ACTIVATION_FN and OPTIMIZER (create-dnn-models): the network scikit-learn's MLPRegressor
    trains with that activation and solver, the same seed and the same standardized rows; the label
    standardized for the fit and the predictions back in its units (issue 12)."""
    from sklearn.neural_network import MLPRegressor
    from sklearn.preprocessing import StandardScaler

    table = reg()
    backend.load("c_dnn_rows", table)
    name = f"c_dnn_{activation.lower()}_{optimizer.lower()}"
    backend.run(
        f"CREATE MODEL {name} OPTIONS (model_type = 'dnn_regressor', input_label_cols = ['y'], "
        f"hidden_units = [6], max_iterations = 40, learn_rate = 0.01, batch_size = 16, "
        f"activation_fn = '{activation.lower()}', optimizer = '{optimizer}') "
        f"AS SELECT x1, x2, y FROM c_dnn_rows"
    )
    rows = backend.rows(
        f"SELECT id, predicted_y FROM ML.PREDICT(MODEL {name}, TABLE c_dnn_rows) ORDER BY id"
    )
    found = np.array([r[1] for r in rows])
    x = StandardScaler().fit_transform(np.column_stack([X1, X2]))
    y = table.column("y").to_numpy()
    settings = {
        "hidden_layer_sizes": (6,),
        "alpha": 1e-4,
        "learning_rate_init": 0.01,
        "max_iter": 40,
        "batch_size": 16,
        "early_stopping": False,
        "random_state": 42,
    }
    mean, spread = y.mean(), y.std()
    scaled = (y - mean) / spread
    reference = MLPRegressor(**settings, **expected).fit(x, scaled).predict(x) * spread + mean
    np.testing.assert_allclose(found, reference, rtol=1e-4, atol=1e-4)
    default = MLPRegressor(**settings).fit(x, scaled).predict(x) * spread + mean  # relu + adam
    assert np.max(np.abs(reference - default)) > 1e-2


def test_tree_colsample_bynode_and_min_child_weight(backend: Any) -> None:
    """COLSAMPLE_BYNODE (columns drawn at each split) and MIN_TREE_CHILD_WEIGHT (the least sum of
    hessians in a child) of create-boosted-tree: XGBoost's colsample_bynode and min_child_weight,
    the same seed."""
    import xgboost

    table = reg()
    backend.load("c_gb_rows", table)
    backend.run(
        "CREATE MODEL c_gb_cols OPTIONS (model_type = 'boosted_tree_regressor', "
        "input_label_cols = ['y'], max_iterations = 5, max_tree_depth = 3, early_stop = FALSE, "
        "learn_rate = 0.3, colsample_bynode = 0.5, min_tree_child_weight = 15, booster_type = 'GBTREE', "
        "tree_method = 'HIST') AS SELECT x1, x2, y FROM c_gb_rows"
    )
    rows = backend.rows("SELECT id, predicted_y FROM ML.PREDICT(MODEL c_gb_cols, TABLE c_gb_rows)")
    found = np.array([r[1] for r in sorted(rows)])
    x = np.column_stack([X1, X2])
    y = table.column("y").to_numpy()
    settings = {"n_estimators": 5, "learning_rate": 0.3, "max_depth": 3, "random_state": 42}
    reference = xgboost.XGBRegressor(**settings, colsample_bynode=0.5, min_child_weight=15)
    expected = reference.fit(x, y).predict(x)
    np.testing.assert_allclose(found, expected, rtol=1e-5, atol=1e-4)
    default = xgboost.XGBRegressor(**settings).fit(x, y).predict(x)
    assert np.max(np.abs(expected - default)) > 1e-3


def test_instance_weight_col_weighs_the_rows(backend: Any) -> None:
    """INSTANCE_WEIGHT_COL (create-boosted-tree, create-random-forest): each row's weight in the
    loss, XGBoost's sample_weight; the column is not a feature."""
    import xgboost

    base = reg()
    weight = 1.0 + (ROW % 4) * 3.0
    table = base.append_column("w", pa.array(weight))
    backend.load("c_weighted_rows", table)
    backend.run(
        "CREATE MODEL c_weighted OPTIONS (model_type = 'boosted_tree_regressor', "
        "input_label_cols = ['y'], max_iterations = 5, max_tree_depth = 3, early_stop = FALSE, "
        "learn_rate = 0.3, instance_weight_col = 'w') AS SELECT x1, x2, w, y FROM c_weighted_rows"
    )
    rows = backend.rows(
        "SELECT id, predicted_y FROM ML.PREDICT(MODEL c_weighted, "
        "(SELECT id, x1, x2 FROM c_weighted_rows)) ORDER BY id"
    )
    found = np.array([r[1] for r in rows])
    x = np.column_stack([X1, X2])
    y = table.column("y").to_numpy()
    settings = {"n_estimators": 5, "learning_rate": 0.3, "max_depth": 3, "random_state": 42}
    expected = xgboost.XGBRegressor(**settings).fit(x, y, sample_weight=weight).predict(x)
    np.testing.assert_allclose(found, expected, rtol=1e-5, atol=1e-4)
    unweighted = xgboost.XGBRegressor(**settings).fit(x, y).predict(x)
    assert np.max(np.abs(expected - unweighted)) > 1e-3
    features = backend.rows("SELECT input FROM ML.FEATURE_INFO(MODEL c_weighted)")
    assert sorted(r[0] for r in features) == ["x1", "x2"]


def test_linear_reg_without_intercept(backend: Any) -> None:
    """FIT_INTERCEPT = FALSE (create-glm): least squares through the origin of the standardized
    features, which ML.WEIGHTS reports with a zero intercept."""
    from sklearn.linear_model import LinearRegression
    from sklearn.preprocessing import StandardScaler

    table = reg()
    backend.load("c_noint_rows", table)
    backend.run(
        "CREATE MODEL c_noint OPTIONS (model_type = 'linear_reg', input_label_cols = ['y'], "
        "fit_intercept = FALSE) AS SELECT x1, x2, y FROM c_noint_rows"
    )
    rows = backend.rows(
        "SELECT id, predicted_y FROM ML.PREDICT(MODEL c_noint, TABLE c_noint_rows) ORDER BY id"
    )
    found = np.array([r[1] for r in rows])
    x = StandardScaler().fit_transform(np.column_stack([X1, X2]))
    y = table.column("y").to_numpy()
    expected = LinearRegression(fit_intercept=False).fit(x, y).predict(x)
    np.testing.assert_allclose(found, expected, rtol=1e-5, atol=1e-4)
    assert abs(float(np.mean(found)) - float(np.mean(y))) > 0.5  # no intercept: not y's mean


def test_options_with_no_effect_here_are_accepted_with_a_notice(backend: Any) -> None:
    """create-boosted-tree's XGBOOST_VERSION and create-glm's CALCULATE_P_VALUES change nothing
    here: accepted, and the cursor's messages say so."""
    backend.load("c_notice_rows", reg())
    cur = backend.run(
        "CREATE MODEL c_notice OPTIONS (model_type = 'linear_reg', input_label_cols = ['y'], "
        "calculate_p_values = TRUE, ls_init_learn_rate = 0.5) "
        "AS SELECT x1, x2, y FROM c_notice_rows"
    )
    texts = [text for _kind, text in cur.messages]
    assert any("'calculate_p_values'" in t and "ML.ADVANCED_WEIGHTS" in t for t in texts)
    assert any("'ls_init_learn_rate'" in t and "ignored" in t for t in texts)


def test_documented_values_sqlml_cannot_train_yet_say_so(backend: Any) -> None:
    """TREE_METHOD = 'APPROX' (create-random-forest): scikit-learn's forests split exactly, so it
    is refused as not supported yet, naming what is."""
    backend.load("c_approx_rows", reg())
    with pytest.raises(sqlml.NotSupportedError, match=r"tree_method = 'APPROX'.*not supported yet"):
        backend.run(
            "CREATE MODEL c_approx OPTIONS (model_type = 'random_forest_regressor', "
            "input_label_cols = ['y'], tree_method = 'APPROX') AS SELECT x1, x2, y FROM c_approx_rows"
        )


def test_dart_booster_is_xgboosts(backend: Any) -> None:
    """BOOSTER_TYPE = 'DART' with DROPOUT and DART_NORMALIZE_TYPE (create-boosted-tree): XGBoost's
    DART booster (rate_drop, normalize_type), the same seed; its ONNX graph scores as it does."""
    import xgboost

    table = reg()
    backend.load("c_dart_rows", table)
    backend.run(
        "CREATE MODEL c_dart OPTIONS (model_type = 'boosted_tree_regressor', "
        "input_label_cols = ['y'], booster_type = 'DART', dropout = 0.3, "
        "dart_normalize_type = 'FOREST', max_iterations = 8, early_stop = FALSE, learn_rate = 0.3) "
        "AS SELECT x1, x2, y FROM c_dart_rows"
    )
    rows = backend.rows("SELECT id, predicted_y FROM ML.PREDICT(MODEL c_dart, TABLE c_dart_rows)")
    found = np.array([r[1] for r in sorted(rows)])
    x = np.column_stack([X1, X2])
    y = table.column("y").to_numpy()
    reference = xgboost.XGBRegressor(
        n_estimators=8, booster="dart", rate_drop=0.3, normalize_type="forest", random_state=42
    ).fit(x, y)
    np.testing.assert_allclose(found, reference.predict(x), rtol=1e-5, atol=1e-4)
