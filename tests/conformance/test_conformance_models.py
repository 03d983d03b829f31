"""Every model_type, trained and used through SQL, on both engines (the ``backend`` fixture).

Small tables (120 rows) train collected with scikit-learn on Spark too, so both engines must give
the same models; each test checks its engine against scikit-learn, numpy or ONNX Runtime run here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conformance_data import (
    CAT,
    NULL_CAT,
    NULL_X2,
    X1,
    X2,
    binary,
    blobs,
    column,
    design,
    multi,
    onnx_outputs,
    prob,
    reg,
)

import sqlml


def describe(cursor: Any) -> dict[str, Any]:
    return {d[0]: d[1] for d in cursor.description}


# --- linear models: exact references ----------------------------------------------------------


def test_linear_reg_predicts_evaluates_and_weighs_as_least_squares(backend: Any) -> None:
    from sklearn import metrics
    from sklearn.linear_model import LinearRegression

    table = reg()
    backend.load("c_reg", table)
    backend.run(
        "CREATE MODEL c_linear OPTIONS (model_type = 'linear_reg', input_label_cols = ['y']) "
        "AS SELECT x1, x2, cat, y FROM c_reg"
    )
    cur = backend.run(
        "SELECT id, y, predicted_y FROM ML.PREDICT(MODEL c_linear, TABLE c_reg) ORDER BY id"
    )
    assert cur.description[2][0] == "predicted_y" and cur.description[2][1] == sqlml.NUMBER
    predicted = np.array([r[2] for r in cur.fetchall()])
    truth = table.column("y").to_numpy()
    reference = LinearRegression().fit(design(table, ["x1", "x2"], ["cat"]), truth)
    expected = reference.predict(design(table, ["x1", "x2"], ["cat"]))
    np.testing.assert_allclose(predicted, expected, atol=1e-4)

    evaluated = backend.arrow("SELECT * FROM ML.EVALUATE(MODEL c_linear, TABLE c_reg)")
    row = evaluated.to_pylist()[0]
    assert row["mean_absolute_error"] == pytest.approx(
        metrics.mean_absolute_error(truth, predicted)
    )
    assert row["mean_squared_error"] == pytest.approx(metrics.mean_squared_error(truth, predicted))
    assert row["median_absolute_error"] == pytest.approx(
        metrics.median_absolute_error(truth, predicted)
    )
    assert row["r2_score"] == pytest.approx(metrics.r2_score(truth, predicted))
    assert row["explained_variance"] == pytest.approx(
        metrics.explained_variance_score(truth, predicted)
    )
    assert row["mean_squared_log_error"] is None  # some labels are ≤ -1

    weights = dict(backend.rows("SELECT processed_input, weight FROM ML.WEIGHTS(MODEL c_linear)"))
    assert weights["x1"] == pytest.approx(reference.coef_[0], rel=1e-5)
    assert weights["x2"] == pytest.approx(reference.coef_[1], rel=1e-5)
    assert weights["cat"] is None


def test_logistic_reg_binary_matches_unpenalized_scikit_learn(backend: Any) -> None:
    from sklearn import metrics
    from sklearn.linear_model import LogisticRegression

    table = binary()
    backend.load("c_bin", table)
    backend.run(
        "CREATE MODEL c_logit OPTIONS (model_type = 'logistic_reg', input_label_cols = ['y'], "
        "l2_reg = 0, early_stop = FALSE, max_iterations = 100) "
        "AS SELECT x1, x2, cat, y FROM c_bin"
    )
    cur = backend.run(
        "SELECT id, predicted_y, predicted_y_probs FROM ML.PREDICT(MODEL c_logit, TABLE c_bin) "
        "ORDER BY id"
    )
    types = describe(cur)
    assert types["predicted_y"] == "BOOLEAN"
    found = cur.fetchall()
    p1 = np.array([prob(r[2], True) for r in found])
    assert [[p["label"] for p in r[2]] for r in found[:1]] == [[False, True]]
    assert [r[1] for r in found] == list(p1 >= 0.5)
    truth = np.array(table.column("y").to_pylist())
    x = design(table, ["x1", "x2"], ["cat"])
    reference = LogisticRegression(C=np.inf, max_iter=10_000, tol=1e-10).fit(x, truth)
    np.testing.assert_allclose(p1, reference.predict_proba(x)[:, 1], atol=2e-3)

    row = backend.arrow("SELECT * FROM ML.EVALUATE(MODEL c_logit, TABLE c_bin)").to_pylist()[0]
    labels = p1 >= 0.5
    assert row["accuracy"] == pytest.approx(metrics.accuracy_score(truth, labels))
    assert row["precision"] == pytest.approx(metrics.precision_score(truth, labels))
    assert row["recall"] == pytest.approx(metrics.recall_score(truth, labels))
    assert row["f1_score"] == pytest.approx(metrics.f1_score(truth, labels))
    assert row["log_loss"] == pytest.approx(metrics.log_loss(truth, p1), rel=1e-5)
    assert row["roc_auc"] == pytest.approx(metrics.roc_auc_score(truth, p1))

    cur = backend.run("SELECT * FROM ML.CONFUSION_MATRIX(MODEL c_logit, TABLE c_bin)")
    assert [d[0] for d in cur.description] == ["expected_label", "false", "true"]
    matrix = metrics.confusion_matrix(truth, labels)
    assert cur.fetchall() == [(False, *matrix[0]), (True, *matrix[1])]

    curve = backend.rows(
        "SELECT threshold, true_positives, false_positives, true_negatives, false_negatives "
        "FROM ML.ROC_CURVE(MODEL c_logit, TABLE c_bin, [0.25, 0.5])"
    )
    for threshold, tp, fp, tn, fn in curve:
        flagged = p1 >= threshold
        assert (tp, fp, tn, fn) == (
            np.sum(flagged & truth),
            np.sum(flagged & ~truth),
            np.sum(~flagged & ~truth),
            np.sum(~flagged & truth),
        )
    assert [r[0] for r in curve] == [0.25, 0.5]


def test_logistic_reg_default_is_scikit_learns_default_penalty(backend: Any) -> None:
    """With neither l1_reg nor l2_reg, logistic_reg takes scikit-learn's default penalty (C = 1 on
    the standardized numbers and the one-hot categories: l2_reg = 0.5 on BigQuery's scale), so its
    probabilities stay calibrated where the unpenalized optimum saturates (issue 12)."""
    from sklearn.linear_model import LogisticRegression

    table = binary()
    backend.load("c_bin_default", table)
    backend.run(
        "CREATE MODEL c_logit_default OPTIONS (model_type = 'logistic_reg', "
        "input_label_cols = ['y']) AS SELECT x1, x2, cat, y FROM c_bin_default"
    )
    found = backend.rows(
        "SELECT id, predicted_y_probs FROM ML.PREDICT(MODEL c_logit_default, TABLE c_bin_default) "
        "ORDER BY id"
    )
    p1 = np.array([prob(r[1], True) for r in found])
    truth = np.array(table.column("y").to_pylist())
    x = design(table, ["x1", "x2"], ["cat"])
    x[:, :2] = (x[:, :2] - x[:, :2].mean(axis=0)) / x[:, :2].std(axis=0)
    reference = LogisticRegression().fit(x, truth).predict_proba(x)[:, 1]
    np.testing.assert_allclose(p1, reference, atol=2e-3)
    unpenalized = LogisticRegression(C=np.inf, max_iter=10_000).fit(x, truth).predict_proba(x)
    assert np.max(np.abs(reference - unpenalized[:, 1])) > 1e-2  # the penalty matters here


def test_logistic_reg_multiclass(backend: Any) -> None:
    from sklearn import metrics
    from sklearn.linear_model import LogisticRegression

    table = multi()
    backend.load("c_multi", table)
    backend.run(
        "CREATE MODEL c_multi_logit OPTIONS (model_type = 'logistic_reg', "
        "l2_reg = 0, early_stop = FALSE, max_iterations = 100, "
        "input_label_cols = ['y']) AS SELECT x1, x2, y FROM c_multi"
    )
    found = backend.rows(
        "SELECT id, predicted_y, predicted_y_probs "
        "FROM ML.PREDICT(MODEL c_multi_logit, TABLE c_multi) ORDER BY id"
    )
    assert [p["label"] for p in found[0][2]] == ["hi", "lo", "mid"]  # classes sorted
    probs = np.array([[p["prob"] for p in r[2]] for r in found])
    truth = column(table, "y").astype(str)
    x = design(table, ["x1", "x2"], [])
    reference = LogisticRegression(C=np.inf, max_iter=10_000, tol=1e-10).fit(x, truth)
    np.testing.assert_allclose(probs, reference.predict_proba(x), atol=2e-3)
    predicted = np.array([r[1] for r in found])
    assert list(predicted) == list(np.array(["hi", "lo", "mid"])[probs.argmax(axis=1)])

    row = backend.arrow("SELECT * FROM ML.EVALUATE(MODEL c_multi_logit, TABLE c_multi)")
    row = row.to_pylist()[0]
    assert row["accuracy"] == pytest.approx(metrics.accuracy_score(truth, predicted))
    assert row["precision"] == pytest.approx(
        metrics.precision_score(truth, predicted, average="macro")
    )
    assert row["recall"] == pytest.approx(metrics.recall_score(truth, predicted, average="macro"))
    assert row["roc_auc"] == pytest.approx(
        metrics.roc_auc_score(truth, probs, multi_class="ovr", average="macro"), abs=1e-6
    )
    cur = backend.run("SELECT * FROM ML.CONFUSION_MATRIX(MODEL c_multi_logit, TABLE c_multi)")
    assert [d[0] for d in cur.description] == ["expected_label", "hi", "lo", "mid"]
    matrix = metrics.confusion_matrix(truth, predicted, labels=["hi", "lo", "mid"])
    assert cur.fetchall() == [(c, *matrix[k]) for k, c in enumerate(["hi", "lo", "mid"])]


# --- trees and networks: the stored ONNX graph is the reference -------------------------------------

SUPERVISED = [
    ("random_forest_classifier", "num_parallel_tree = 10, max_tree_depth = 4", "bin"),
    ("random_forest_regressor", "num_parallel_tree = 10, max_tree_depth = 4", "reg"),
    ("boosted_tree_classifier", "max_iterations = 5, max_tree_depth = 3, learn_rate = 0.3", "bin"),
    ("boosted_tree_regressor", "max_iterations = 5, max_tree_depth = 3, learn_rate = 0.3", "reg"),
    ("dnn_classifier", "hidden_units = [8], max_iterations = 100, learn_rate = 0.05", "bin"),
    ("dnn_regressor", "hidden_units = [8], max_iterations = 100, learn_rate = 0.05", "reg"),
]


@pytest.mark.parametrize(("model_type", "options", "kind"), SUPERVISED)
def test_supervised_model_types_predict_what_their_onnx_graph_computes(
    backend: Any, tmp_path: Path, model_type: str, options: str, kind: str
) -> None:
    from sklearn import metrics

    table = binary() if kind == "bin" else reg()
    backend.load("c_train", table)
    name = f"c_{model_type}"
    backend.run(
        f"CREATE MODEL {name} OPTIONS (model_type = '{model_type}', input_label_cols = ['y'], "
        f"{options}) AS SELECT x1, x2, cat, y FROM c_train"
    )
    path = tmp_path / f"{name}.onnx"
    backend.run(f"EXPORT MODEL {name} OPTIONS (uri = '{path}')")
    outputs = onnx_outputs(path, table, ["x1", "x2"], ["cat"])
    cur = backend.run(
        f"SELECT id, predicted_y{', predicted_y_probs' if kind == 'bin' else ''} "
        f"FROM ML.PREDICT(MODEL {name}, TABLE c_train) ORDER BY id"
    )
    types = describe(cur)
    found = cur.fetchall()
    truth = np.array(table.column("y").to_pylist())
    evaluated = backend.arrow(f"SELECT * FROM ML.EVALUATE(MODEL {name}, TABLE c_train)")
    row = evaluated.to_pylist()[0]
    if kind == "bin":
        assert types["predicted_y"] == "BOOLEAN"
        p1 = np.array([prob(r[2], True) for r in found])
        np.testing.assert_allclose(p1, outputs["probabilities"][:, 1], atol=1e-6)
        assert [r[1] for r in found] == list(p1 >= 0.5)
        assert row["roc_auc"] == pytest.approx(metrics.roc_auc_score(truth, p1))
        assert row["accuracy"] == pytest.approx(metrics.accuracy_score(truth, p1 >= 0.5))
        assert row["accuracy"] > 0.75
    else:
        predicted = np.array([r[1] for r in found])
        np.testing.assert_allclose(predicted, outputs["variable"].ravel(), rtol=1e-6, atol=1e-5)
        assert row["r2_score"] == pytest.approx(metrics.r2_score(truth, predicted))
        assert row["r2_score"] > 0.8

    iterations = backend.rows(
        f"SELECT iteration, loss FROM ML.TRAINING_INFO(MODEL {name}) ORDER BY iteration"
    )
    expected_rows = {"boosted": 5, "dnn": 100, "random": 1}[model_type.split("_")[0]]
    assert len(iterations) <= expected_rows  # a DNN may converge before max_iterations
    assert [r[0] for r in iterations] == list(range(len(iterations)))
    if model_type.startswith("boosted"):
        assert len(iterations) == 5
    if "tree" in model_type or "forest" in model_type:
        importance = backend.rows(
            f"SELECT feature, importance_gain FROM ML.FEATURE_IMPORTANCE(MODEL {name})"
        )
        assert sorted(r[0] for r in importance) == ["cat", "x1", "x2"]
        if not model_type.startswith("boosted"):
            # impurity importances (scikit-learn's forests, MLlib) sum to one; XGBoost's gain
            # (BigQuery's boosted trees) is the mean gain of a feature's splits
            assert sum(r[1] for r in importance) == pytest.approx(1.0)
        assert importance[0][0] == "x1"  # the label is made from x1


# --- unsupervised ------------------------------------------------------------------------------------


def test_kmeans_finds_the_blobs_and_flags_a_far_point(backend: Any) -> None:
    from sklearn.metrics import davies_bouldin_score

    table = blobs()
    backend.load("c_blobs", table)
    backend.run(
        "CREATE MODEL c_km OPTIONS (model_type = 'kmeans', num_clusters = 3, "
        "standardize_features = FALSE) AS SELECT x1, x2 FROM c_blobs"
    )
    cur = backend.run(
        "SELECT id, x1, x2, centroid_id, nearest_centroids_distance "
        "FROM ML.PREDICT(MODEL c_km, TABLE c_blobs) ORDER BY id"
    )
    assert describe(cur)["centroid_id"] == "BIGINT"
    found = cur.fetchall()
    blob = np.arange(len(found)) % 3
    ids = np.array([r[3] for r in found])
    assert sorted(set(ids)) == [1, 2, 3]
    assert all(len(set(ids[blob == b])) == 1 for b in range(3))
    points = np.array([[r[1], r[2]] for r in found])
    means = np.array([points[blob == b].mean(axis=0) for b in range(3)])
    nearest = np.array([r[4][0]["distance"] for r in found])
    distances = np.linalg.norm(points - means[blob], axis=1)
    # float32 distances through |x|² − 2x·c + |c|², |x|² up to 800: about 1e-2 near a centroid
    np.testing.assert_allclose(nearest, distances, atol=2e-2)

    row = backend.arrow("SELECT * FROM ML.EVALUATE(MODEL c_km, TABLE c_blobs)").to_pylist()[0]
    assert row["davies_bouldin_index"] == pytest.approx(
        davies_bouldin_score(points, blob), rel=2e-3
    )  # float32 distances
    assert row["mean_squared_distance"] == pytest.approx(np.mean(distances**2), rel=5e-3)

    flagged = backend.rows(
        "SELECT id, is_anomaly, centroid_id FROM ML.DETECT_ANOMALIES(MODEL c_km, "
        "STRUCT(0.0 AS contamination), (SELECT id, x1, x2 FROM c_blobs WHERE id < 3 UNION ALL "
        "SELECT 999 AS id, CAST(5 AS DOUBLE) AS x1, CAST(40 AS DOUBLE) AS x2)) ORDER BY id"
    )
    assert [(r[0], r[1]) for r in flagged] == [(0, False), (1, False), (2, False), (999, True)]


def test_pca_projects_as_scikit_learn(backend: Any) -> None:
    from sklearn.decomposition import PCA

    table = reg()
    backend.load("c_reg", table)
    backend.run(
        "CREATE MODEL c_pca OPTIONS (model_type = 'pca', num_principal_components = 2) "
        "AS SELECT x1, x2, y FROM c_reg"
    )
    found = backend.rows(
        "SELECT id, principal_component_1, principal_component_2 "
        "FROM ML.PREDICT(MODEL c_pca, TABLE c_reg) ORDER BY id"
    )
    x = design(table, ["x1", "x2", "y"], [])
    scaled = (x - x.mean(axis=0)) / x.std(axis=0)
    reference = PCA(n_components=2).fit(scaled)
    expected = reference.transform(scaled)
    mine = np.array([[r[1], r[2]] for r in found])
    np.testing.assert_allclose(np.abs(mine), np.abs(expected), atol=1e-4)  # signs are arbitrary

    row = backend.arrow("SELECT * FROM ML.EVALUATE(MODEL c_pca, TABLE c_reg)").to_pylist()[0]
    assert row["total_explained_variance_ratio"] == pytest.approx(
        reference.explained_variance_ratio_.sum(), rel=1e-4
    )
    scored = backend.rows(
        "SELECT id, is_anomaly, mean_squared_error FROM ML.DETECT_ANOMALIES(MODEL c_pca, "
        "TABLE c_reg, STRUCT(0.1 AS contamination)) ORDER BY id"
    )
    residual = scaled - reference.inverse_transform(expected)
    np.testing.assert_allclose(
        [r[2] for r in scored], (residual**2).mean(axis=1), rtol=1e-3, atol=1e-6
    )
    assert 6 <= sum(r[1] for r in scored) <= 18  # about 10 % of the training rows


# --- inspection and explanation ----------------------------------------------------------------------


def test_feature_info_explain_predict_and_global_explain_of_a_linear_model(backend: Any) -> None:
    from sklearn.linear_model import LinearRegression

    table = binary()  # NULL in x2 and cat
    backend.load("c_bin", table)
    backend.run(
        "CREATE MODEL c_explained OPTIONS (model_type = 'linear_reg', input_label_cols = ['x1'], "
        "enable_global_explain = TRUE) AS SELECT x1, x2, cat FROM c_bin"
    )
    info = {
        r["input"]: r
        for r in backend.arrow("SELECT * FROM ML.FEATURE_INFO(MODEL c_explained)").to_pylist()
    }
    x2 = np.array([v for k, v in enumerate(X2) if k != NULL_X2])
    assert info["x2"]["min"] == x2.min() and info["x2"]["max"] == x2.max()
    assert info["x2"]["mean"] == pytest.approx(x2.mean())
    assert info["x2"]["median"] == pytest.approx(np.median(x2))
    assert info["x2"]["stddev"] == pytest.approx(x2.std(ddof=1))
    assert (info["x2"]["null_count"], info["x2"]["category_count"]) == (1, None)
    assert (info["cat"]["null_count"], info["cat"]["category_count"]) == (2, 3)

    x = design(table, ["x2"], ["cat"])
    reference = LinearRegression().fit(x, X1)
    weight_x2 = reference.coef_[0]
    explained = backend.rows(
        "SELECT id, x2, predicted_x1, top_feature_attributions, baseline_prediction_value, "
        "prediction_value, approximation_error FROM ML.EXPLAIN_PREDICT(MODEL c_explained, "
        "(SELECT id, x2, cat FROM c_bin WHERE id < 12), STRUCT(2 AS top_k_features)) ORDER BY id"
    )
    mean_x2 = x2.mean()
    for row_id, value, predicted, top, baseline, value_out, error in explained:
        assert value_out == pytest.approx(predicted, abs=1e-4)
        assert len(top) == 2
        attributions = {a["feature"]: a["attribution"] for a in top}
        if "x2" in attributions:  # exact for a linear model: w · (x − mean); NULL → 0
            want = 0.0 if row_id == NULL_X2 else weight_x2 * (value - mean_x2)
            assert attributions["x2"] == pytest.approx(want, abs=1e-4)
        assert error == pytest.approx(0.0, abs=1e-4)
        assert baseline == pytest.approx(explained[0][4])

    explained_globally = dict(
        backend.rows("SELECT feature, attribution FROM ML.GLOBAL_EXPLAIN(MODEL c_explained)")
    )
    centered = np.array([0.0 if v is None else v - mean_x2 for v in table.column("x2").to_pylist()])
    assert explained_globally["x2"] == pytest.approx(
        np.mean(np.abs(weight_x2 * centered)), rel=1e-3
    )
    assert set(explained_globally) == {"x2", "cat"}


def test_tuning_records_its_trials(backend: Any) -> None:
    backend.load("c_bin", binary())
    backend.run(
        "CREATE MODEL c_tuned OPTIONS (model_type = 'logistic_reg', input_label_cols = ['y'], "
        "num_trials = 3, l2_reg = HPARAM_CANDIDATES([0.0, 1.0, 100.0]), "
        "hparam_tuning_algorithm = 'GRID_SEARCH') AS SELECT x1, x2, y FROM c_bin"
    )
    trials = backend.rows(
        "SELECT trial_id, status, is_optimal FROM ML.TRIAL_INFO(MODEL c_tuned) ORDER BY trial_id"
    )
    assert len(trials) == 3
    assert [r[1] for r in trials] == ["SUCCEEDED"] * 3
    assert sum(r[2] for r in trials) == 1


@pytest.mark.slow
def test_automl_keeps_one_model_type(backend: Any) -> None:
    backend.load("c_reg", reg())
    backend.run(
        "CREATE MODEL c_auto OPTIONS (model_type = 'automl', input_label_cols = ['y'], "
        "budget_seconds = 20, num_trials = 3) AS SELECT x1, x2, y FROM c_reg"
    )
    optimal = backend.rows("SELECT model_type FROM ML.TRIAL_INFO(MODEL c_auto) WHERE is_optimal")
    assert len(optimal) == 1
    shown = [r for r in backend.rows("SHOW MODEL ALL") if r[0] == "c_auto"]
    assert shown[0][2] == optimal[0][0]
    row = backend.arrow("SELECT r2_score FROM ML.EVALUATE(MODEL c_auto, TABLE c_reg)")
    assert row.column(0)[0].as_py() > 0.9


# --- imported ONNX -----------------------------------------------------------------------------------


def test_an_imported_scikit_learn_graph_scores_as_scikit_learn(
    backend: Any, tmp_path: Path
) -> None:
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import FloatTensorType
    from sklearn.linear_model import LogisticRegression

    table = binary()
    backend.load("c_bin", table)
    x = np.column_stack([X1, (X1 * 3) % 7])
    truth = np.array(table.column("y").to_pylist())
    classifier = LogisticRegression().fit(x, truth)
    graph = to_onnx(
        classifier,
        initial_types=[("X", FloatTensorType([None, 2]))],
        options={"zipmap": False},
    )
    path = tmp_path / "sk.onnx"
    path.write_bytes(graph.SerializeToString())
    backend.run(
        f"CREATE MODEL c_imported OPTIONS (model_type = 'onnx', model_path = '{path}', "
        "input_columns = ['a', 'b'], input_label_cols = ['y'])"
    )
    found = backend.rows(
        "SELECT id, predicted_y, predicted_y_probs FROM ML.PREDICT(MODEL c_imported, "
        "(SELECT id, x1 AS a, CAST(x1 * 3 - 7 * FLOOR(x1 * 3 / 7) AS DOUBLE) AS b FROM c_bin)) "
        "ORDER BY id"
    )
    np.testing.assert_allclose(
        [prob(r[2], True) for r in found], classifier.predict_proba(x)[:, 1], atol=1e-5
    )
    assert [r[1] for r in found] == list(classifier.predict(x))


def test_categorical_columns_keep_their_categories(backend: Any) -> None:
    """A NULL category and an unseen one score on both engines as the graph says (ignored)."""
    table = binary()
    backend.load("c_bin", table)
    backend.run(
        "CREATE MODEL c_cats OPTIONS (model_type = 'logistic_reg', input_label_cols = ['y']) "
        "AS SELECT x1, cat, y FROM c_bin"
    )
    found = backend.rows(
        "SELECT id, predicted_y_probs FROM ML.PREDICT(MODEL c_cats, (SELECT id, x1, cat FROM "
        "c_bin WHERE id = 7 UNION ALL SELECT id, x1, 'never seen' AS cat FROM c_bin WHERE id = 8))"
        " ORDER BY id"
    )
    assert [r[0] for r in found] == [NULL_CAT[0], 8]
    assert CAT[8] != "never seen"
    assert all(0 < prob(r[1], True) < 1 for r in found)
