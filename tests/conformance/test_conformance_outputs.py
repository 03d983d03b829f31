"""Output shapes as BigQuery documents them, on both engines, with ``connect(dialect='bigquery')``:
ML.WEIGHTS' documented UNNEST example and ML.EXPLAIN_PREDICT's classifier columns."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

DIALECT = "bigquery"

ROWS = 40


def table() -> pa.Table:
    i = np.arange(ROWS)
    x = (i * 37 % 101) / 10.0
    c = np.array(["a", "b", "c", "a"])[i % 4]
    effect = {"a": 0.0, "b": 4.0, "c": -2.0}
    y = 2.0 * x + np.array([effect[v] for v in c]) + 1.0
    return pa.table({"x": x, "c": c, "y": y, "yb": y > 8.0})


def test_weights_unnest_expands_the_structs(backend) -> None:
    """https://cloud.google.com/bigquery/docs/reference/standard-sql/bigqueryml-syntax-weights
    ("Without standardization"), verbatim but for the model's name: UNNEST of the ARRAY<STRUCT>
    category_weights gives its fields, category and weight, as columns. The weights of a
    one-hot column are identified up to a constant; their differences are the data's effects."""
    backend.load("ow_data", table())
    backend.run(
        "CREATE MODEL ow_model OPTIONS (model_type = 'linear_reg', input_label_cols = ['y']) "
        "AS SELECT x, c, y FROM ow_data"
    )
    cur = backend.run(
        """SELECT
  category,
  weight
FROM
  UNNEST((
    SELECT
      category_weights
    FROM
      ML.WEIGHTS(MODEL `ow_model`)
    WHERE
      processed_input = 'c'))"""
    )
    assert [d[0] for d in cur.description] == ["category", "weight"]
    weights = dict(cur.fetchall())
    assert set(weights) == {"a", "b", "c"}
    assert weights["b"] - weights["a"] == pytest.approx(4.0, abs=1e-6)
    assert weights["c"] - weights["a"] == pytest.approx(-2.0, abs=1e-6)


def test_explain_predict_has_probability(backend) -> None:
    """https://cloud.google.com/bigquery/docs/reference/standard-sql/bigqueryml-syntax-explain-predict:
    a classifier's output is predicted_<label>, probability (the predicted class's), then the
    attributions; a linear model's baseline is its intercept (one value for every row)."""
    backend.load("oe_data", table())
    backend.run(
        "CREATE MODEL oe_model OPTIONS (model_type = 'logistic_reg', input_label_cols = ['yb'], "
        "l2_reg = 10.0) "
        "AS SELECT x, c, yb FROM oe_data"
    )
    cur = backend.run(
        "SELECT * FROM ML.EXPLAIN_PREDICT(MODEL `oe_model`, (SELECT x, c FROM oe_data), "
        "STRUCT(2 AS top_k_features))"
    )
    names = [d[0] for d in cur.description]
    assert names == [
        "x",
        "c",
        "predicted_yb",
        "probability",
        "top_feature_attributions",
        "baseline_prediction_value",
        "prediction_value",
        "approximation_error",
    ]
    rows = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    probs = backend.rows(
        "SELECT predicted_yb, predicted_yb_probs FROM ML.PREDICT(MODEL `oe_model`, "
        "(SELECT x, c FROM oe_data))"
    )
    expected = sorted((label, max(p["prob"] for p in scored)) for label, scored in probs)
    got = sorted((r["predicted_yb"], r["probability"]) for r in rows)
    assert [g[0] for g in got] == [e[0] for e in expected]
    assert [g[1] for g in got] == pytest.approx([e[1] for e in expected], abs=1e-6)
    for r in rows:
        p = r["probability"]
        assert r["prediction_value"] == pytest.approx(np.log(p / (1 - p)), abs=1e-3)
        assert r["approximation_error"] < 1e-9


def test_imported_onnx_outputs_are_named_after_the_graph(backend, tmp_path) -> None:
    """https://cloud.google.com/bigquery/docs/making-predictions-with-sklearn-models-in-onnx-format:
    the tutorial's pipeline (StandardScaler + RandomForestClassifier on iris, one [None, 1] input
    per column, zipmap disabled) imported with CREATE MODEL ... OPTIONS (MODEL_TYPE='ONNX',
    MODEL_PATH=...) and ML.PREDICT over the iris table: the input's columns, then ``label`` (the
    predicted class, INT64) and ``probabilities`` (an ARRAY of FLOAT64), as the graph computes."""
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType
    from sklearn.datasets import load_iris
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    data = load_iris()
    x = data.data[:, :4]
    y = data.target
    pipe = Pipeline([("scaler", StandardScaler()), ("clr", RandomForestClassifier(random_state=0))])
    pipe.fit(x, y)
    names = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    model_onnx = convert_sklearn(
        pipe,
        "pipeline_rf",
        initial_types=[(name, FloatTensorType([None, 1])) for name in names],
        options={id(pipe): {"zipmap": False}},
    )
    path = tmp_path / "pipeline_rf.onnx"
    path.write_bytes(model_onnx.SerializeToString())
    iris = {name: x[:, i] for i, name in enumerate(names)}
    iris["species"] = np.array(data.target_names)[y]
    backend.load("o_iris", pa.table(iris))
    # the tutorial's statements; the model's and the table's locations adapted
    backend.run(
        f"CREATE OR REPLACE MODEL `imported_onnx_model` OPTIONS (MODEL_TYPE='ONNX', "
        f"MODEL_PATH='{path}')"
    )
    cur = backend.run(
        "SELECT *\n  FROM ML.PREDICT(MODEL `imported_onnx_model`,\n    (\n    SELECT * FROM "
        "`o_iris`\n    )\n)"
    )
    assert [d[0] for d in cur.description] == [*names, "species", "label", "probabilities"]
    rows = cur.fetchall()
    expected = pipe.predict_proba(x.astype(np.float32))
    by_row = {tuple(r[:4]): r for r in rows}
    for i in range(len(x)):
        row = by_row[tuple(x[i])]
        assert row[5] == pipe.predict(x[i : i + 1].astype(np.float32))[0]
        assert row[6] == pytest.approx(list(expected[i]), abs=1e-5)


def test_evaluate_of_a_tuned_model_is_one_row_per_trial(backend) -> None:
    """https://cloud.google.com/bigquery/docs/hp-tuning-overview ("Model serving functions"):
    ML.EVALUATE without input rows returns every trial, trial_id first; with STRUCT(n AS
    trial_id), trial n; with input rows, one trial's result (the optimal one's, the model kept).
    Each trial's r2_score is its ML.TRIAL_INFO objective (both on the held-out rows)."""
    backend.load("ot_data", table())
    backend.run(
        "CREATE MODEL ot_model OPTIONS (model_type = 'linear_reg', input_label_cols = ['y'], "
        "l2_reg = HPARAM_CANDIDATES([0.1, 1000.0]), num_trials = 2, "
        "data_split_method = 'RANDOM', data_split_eval_fraction = 0.3) AS SELECT x, c, y FROM ot_data"
    )
    cur = backend.run("SELECT * FROM ML.EVALUATE(MODEL `ot_model`) ORDER BY trial_id")
    names = [d[0] for d in cur.description]
    assert names[0] == "trial_id"
    rows = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    trials = dict(backend.rows("SELECT trial_id, eval_loss FROM ML.TRIAL_INFO(MODEL `ot_model`)"))
    assert [r["trial_id"] for r in rows] == [1, 2]
    for r in rows:
        assert r["r2_score"] == pytest.approx(trials[r["trial_id"]], abs=1e-9)
    assert rows[0]["r2_score"] != pytest.approx(rows[1]["r2_score"], abs=1e-3)
    (one,) = backend.rows("SELECT * FROM ML.EVALUATE(MODEL `ot_model`, STRUCT(2 AS trial_id))")
    assert one[0] == 2
    cur = backend.run("SELECT * FROM ML.EVALUATE(MODEL `ot_model`, (SELECT x, c, y FROM ot_data))")
    assert "trial_id" not in [d[0] for d in cur.description]
    assert len(cur.fetchall()) == 1
    # ML.PREDICT names the trial that scored (the optimal one), before the prediction
    # (https://cloud.google.com/bigquery/docs/hyperparameter-tuning-tutorial).
    (best,) = backend.rows("SELECT trial_id FROM ML.TRIAL_INFO(MODEL `ot_model`) WHERE is_optimal")
    cur = backend.run("SELECT * FROM ML.PREDICT(MODEL `ot_model`, (SELECT x, c FROM ot_data))")
    assert [d[0] for d in cur.description][-2:] == ["trial_id", "predicted_y"]
    assert {r[-2] for r in cur.fetchall()} == {best[0]}


def test_global_explain_class_level(backend) -> None:
    """https://cloud.google.com/bigquery/docs/reference/standard-sql/bigqueryml-syntax-global-explain:
    STRUCT(TRUE AS class_level_explain) gives, per class, feature and attribution."""
    backend.load("og_data", table())
    backend.run(
        "CREATE MODEL og_model OPTIONS (model_type = 'logistic_reg', input_label_cols = ['yb'], "
        "l2_reg = 10.0, enable_global_explain = TRUE) AS SELECT x, c, yb FROM og_data"
    )
    cur = backend.run(
        "SELECT * FROM ML.GLOBAL_EXPLAIN(MODEL `og_model`, STRUCT(TRUE AS class_level_explain))"
    )
    assert [d[0] for d in cur.description] == ["yb", "feature", "attribution"]
    rows = cur.fetchall()
    assert {(r[0], r[1]) for r in rows} == {
        (label, feature) for label in ("false", "true") for feature in ("x", "c")
    }
    model_level = dict(backend.rows("SELECT * FROM ML.GLOBAL_EXPLAIN(MODEL `og_model`)"))
    for _label, feature, value in rows:  # binary: each class's logit is the other's negation
        assert value == pytest.approx(model_level[feature], rel=1e-9)
