"""The statements around the models, on both engines: lifecycle (OR REPLACE, IF NOT EXISTS, SHOW,
EXPORT, DROP), Redshift functions, TRANSFORM, thresholds, parameters, cursor descriptions, errors,
ML calls inside larger statements, and plain SQL passed through.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from conformance_data import X1, binary, column, multi, prob, reg

import sqlml
from sqlml.errors import (
    ModelExistsError,
    ModelNotFoundError,
    OptionError,
    SchemaError,
    TrainingError,
)

LOGIT = (
    "CREATE {verb} MODEL {name} OPTIONS (model_type = 'logistic_reg', input_label_cols = ['y']) "
    "AS SELECT x1, x2, cat, y FROM {source}"
)


def names(cursor: Any) -> list[str]:
    return [d[0] for d in cursor.description]


# --- lifecycle -----------------------------------------------------------------------------------


def test_replace_if_not_exists_show_export_and_drop(backend: Any, tmp_path: Path) -> None:
    backend.load("c_bin", binary())
    backend.run(LOGIT.format(verb="", name="c_life", source="c_bin"))
    with pytest.raises(ModelExistsError, match="CREATE OR REPLACE MODEL c_life"):
        backend.run(LOGIT.format(verb="", name="c_life", source="c_bin"))
    cur = backend.run(
        "CREATE MODEL IF NOT EXISTS c_life OPTIONS (model_type = 'linear_reg', "
        "input_label_cols = ['x1']) AS SELECT x1, x2 FROM c_bin"
    )
    assert any("already exists" in str(m[1]) for m in cur.messages)
    backend.run(LOGIT.format(verb="OR REPLACE", name="c_life", source="c_bin"))
    # A failed replace (one class only) leaves version 2 live and predicting.
    with pytest.raises(TrainingError):
        backend.run(
            LOGIT.format(
                verb="OR REPLACE",
                name="c_life",
                source="(SELECT x1, x2, cat, TRUE AS y FROM c_bin) AS one_class",
            )
        )
    cur = backend.run("SHOW MODEL ALL")
    assert names(cur)[:3] == ["model_name", "version", "model_type"]
    assert [r[:3] for r in cur.fetchall() if r[0] == "c_life"] == [("c_life", 2, "logistic_reg")]
    shown = dict(backend.rows("SHOW MODEL c_life"))
    assert shown["Model Type"] == "logistic_reg" and shown["Target Column"] == "y"
    assert shown["Function Parameters"] == "x1 x2 cat"

    path = tmp_path / "c_life.onnx"
    backend.run(f"EXPORT MODEL c_life OPTIONS (uri = '{path}')")
    import onnx

    exported = onnx.load(str(path))
    metadata = {p.key: p.value for p in exported.metadata_props}
    assert "sqlml.spec" in metadata
    assert [i.name for i in exported.graph.input] == ["x1", "x2", "cat"]

    backend.run("DROP MODEL c_life")
    assert "c_life" not in [r[0] for r in backend.rows("SHOW MODEL ALL")]
    with pytest.raises(ModelNotFoundError, match="c_life"):
        backend.run("SELECT * FROM ML.PREDICT(MODEL c_life, TABLE c_bin)")
    with pytest.raises(ModelNotFoundError, match="c_life"):
        backend.run("DROP MODEL c_life")
    cur = backend.run("DROP MODEL IF EXISTS c_life")
    assert any("does not exist" in str(m[1]) for m in cur.messages)


def test_redshift_model_function_and_its_probabilities(backend: Any) -> None:
    table = binary()
    backend.load("c_bin", table)
    backend.run(
        "CREATE MODEL c_rs FROM (SELECT x1, x2, cat, y FROM c_bin) TARGET y FUNCTION c_rs_fn "
        "IAM_ROLE default MODEL_TYPE XGBOOST PROBLEM_TYPE BINARY_CLASSIFICATION "
        "HYPERPARAMETERS DEFAULT EXCEPT (NUM_ROUND '5', MAX_DEPTH '3')"
    )
    called = backend.rows(
        "SELECT id, c_rs_fn(x1, x2, cat), c_rs_fn_probabilities(x1, x2, cat) FROM c_bin ORDER BY id"
    )
    predicted = backend.rows(
        "SELECT id, predicted_y, predicted_y_probs FROM ML.PREDICT(MODEL c_rs, TABLE c_bin) "
        "ORDER BY id"
    )
    assert [r[1] for r in called] == [r[1] for r in predicted]
    # ONNX Runtime's float32 results may differ by an ulp with how rows are batched
    np.testing.assert_allclose(
        [prob(r[2], True) for r in called], [prob(r[2], True) for r in predicted], atol=1e-6
    )
    assert np.mean([r[1] for r in called] == column(table, "y")) > 0.75
    # a fresh connection registers the function from the catalog
    shown = dict(backend.rows("SHOW MODEL c_rs"))
    assert shown["Model Type"] == "boosted_tree_classifier"
    assert shown["Function Name"] == "c_rs_fn"
    with pytest.raises(sqlml.ProgrammingError, match="argument"):
        backend.rows("SELECT c_rs_fn(x1, x2) FROM c_bin")
    backend.run("DROP MODEL c_rs")
    with pytest.raises(sqlml.ProgrammingError, match="c_rs_fn"):
        backend.run("SELECT c_rs_fn(x1, x2, cat) FROM c_bin")


def test_transform_computes_features_inside_the_model(backend: Any) -> None:
    from sklearn.linear_model import LinearRegression

    table = reg()
    backend.load("c_reg", table)
    backend.run(
        "CREATE MODEL c_tf TRANSFORM (ML.MIN_MAX_SCALER(x1) OVER () AS s1, x2, y) "
        "OPTIONS (model_type = 'linear_reg', input_label_cols = ['y']) "
        "AS SELECT x1, x2, y FROM c_reg"
    )
    found = backend.rows(
        "SELECT id, predicted_y FROM ML.PREDICT(MODEL c_tf, (SELECT id, x1, x2 FROM c_reg)) "
        "ORDER BY id"
    )
    x = np.column_stack([X1, table.column("x2").to_numpy()])
    reference = LinearRegression().fit(x, table.column("y").to_numpy())
    np.testing.assert_allclose([r[1] for r in found], reference.predict(x), atol=1e-4)


def test_optimize_threshold_keeps_the_best_f1_threshold(backend: Any) -> None:
    from sklearn.metrics import f1_score

    table = binary()
    backend.load("c_bin", table)
    cur = backend.run(
        "CREATE MODEL c_thr OPTIONS (model_type = 'logistic_reg', input_label_cols = ['y'], "
        "optimize_threshold = 'f1') AS SELECT x1, y FROM c_bin"
    )
    assert any(
        "training rows" in str(m[1]) for m in cur.messages
    )  # not split: tuned on training rows
    found = backend.rows(
        "SELECT id, predicted_y, predicted_y_probs FROM ML.PREDICT(MODEL c_thr, TABLE c_bin) "
        "ORDER BY id"
    )
    p1 = np.array([prob(r[2], True) for r in found])
    truth = np.array(table.column("y").to_pylist())
    candidates = sorted(set(p1), reverse=True)  # ties go to the highest threshold
    scores = [f1_score(truth, p1 >= t) for t in candidates]
    best = candidates[int(np.argmax(scores))]
    # The stored threshold is one of the training rows' probabilities, computed at CREATE MODEL;
    # a row scored in another batch may come out an ulp (float32) off it, on either side.
    clear = np.abs(p1 - best) > 1e-6
    assert [r[1] for r, c in zip(found, clear, strict=True) if c] == list((p1 >= best)[clear])
    assert clear.sum() >= len(p1) - 3
    overridden = backend.rows(
        "SELECT id, predicted_y FROM ML.PREDICT(MODEL c_thr, TABLE c_bin, "
        "STRUCT(0.99 AS threshold)) ORDER BY id"
    )
    assert [r[1] for r in overridden] == list(p1 >= 0.99)


def test_class_weights_weigh_the_loss(backend: Any) -> None:
    from sklearn.linear_model import LogisticRegression

    table = multi()
    backend.load("c_multi", table)
    backend.run(
        "CREATE MODEL c_weighted OPTIONS (model_type = 'logistic_reg', input_label_cols = ['y'], "
        "l2_reg = 0, early_stop = FALSE, max_iterations = 100, "
        "class_weights = [STRUCT('hi', 3.0), STRUCT('lo', 0.5)]) AS SELECT x1, x2, y FROM c_multi"
    )
    found = backend.rows(
        "SELECT predicted_y_probs FROM ML.PREDICT(MODEL c_weighted, TABLE c_multi) ORDER BY id"
    )
    truth = column(table, "y").astype(str)
    x = np.column_stack([X1, table.column("x2").to_numpy()])
    weights = np.select([truth == "hi", truth == "lo"], [3.0, 0.5], 1.0)
    reference = LogisticRegression(C=np.inf, max_iter=10_000, tol=1e-10)
    reference.fit(x, truth, sample_weight=weights)
    np.testing.assert_allclose(
        [[p["prob"] for p in r[0]] for r in found], reference.predict_proba(x), atol=2e-3
    )


def test_recorded_evaluation_of_a_custom_split(backend: Any) -> None:
    """Without input rows, ML.EVALUATE / CONFUSION_MATRIX / ROC_CURVE report the evaluation rows
    that data_split_col chose, as computed here from ML.PREDICT on those rows."""
    from sklearn import metrics

    table = binary()
    backend.load("c_bin", table)
    backend.run(
        "CREATE MODEL c_split OPTIONS (model_type = 'logistic_reg', input_label_cols = ['y'], "
        "data_split_method = 'CUSTOM', data_split_col = 'held_out') "
        "AS SELECT x1, x2, y, id % 4 = 0 AS held_out FROM c_bin"
    )
    found = backend.rows(
        "SELECT y, predicted_y, predicted_y_probs FROM ML.PREDICT(MODEL c_split, "
        "(SELECT * FROM c_bin WHERE id % 4 = 0)) ORDER BY id"
    )
    truth = np.array([r[0] for r in found])
    p1 = np.array([prob(r[2], True) for r in found])
    row = backend.arrow("SELECT * FROM ML.EVALUATE(MODEL c_split)").to_pylist()[0]
    assert row["accuracy"] == pytest.approx(metrics.accuracy_score(truth, p1 >= 0.5))
    assert row["roc_auc"] == pytest.approx(metrics.roc_auc_score(truth, p1))
    matrix = metrics.confusion_matrix(truth, p1 >= 0.5)
    recorded = backend.rows("SELECT * FROM ML.CONFUSION_MATRIX(MODEL c_split)")
    assert recorded == [(False, *matrix[0]), (True, *matrix[1])]
    curve = backend.rows(
        "SELECT threshold, recall FROM ML.ROC_CURVE(MODEL c_split) ORDER BY threshold DESC"
    )
    assert len(curve) == len(set(p1))
    for threshold, recall in curve:  # thresholds are probabilities: allow an ulp either way
        positives = p1[truth]
        assert np.mean(positives >= threshold + 1e-6) <= recall + 1e-9
        assert recall <= np.mean(positives >= threshold - 1e-6) + 1e-9


def test_integer_labels_and_model_names(backend: Any) -> None:
    """Integer classes keep their type, and BigQuery's `_-1` column names; model names are
    case-insensitive and may be schema-qualified."""
    i = np.arange(120)
    backend.load(
        "c_ints",
        pa.table({"id": i, "x1": X1, "lab": pa.array(np.digitize(X1, [-2.0, 2.0]) - 1)}),
    )
    backend.run(
        "CREATE MODEL C_Stage.C_Ints OPTIONS (model_type = 'random_forest_classifier', "
        "input_label_cols = ['lab'], num_parallel_tree = 5) AS SELECT x1, lab FROM c_ints"
    )
    cur = backend.run(
        "SELECT lab, predicted_lab FROM ML.PREDICT(MODEL c_stage.c_ints, TABLE c_ints)"
    )
    assert dict((d[0], d[1]) for d in cur.description)["predicted_lab"] == "BIGINT"
    assert np.mean([a == b for a, b in cur.fetchall()]) > 0.95
    cur = backend.run("SELECT * FROM ML.CONFUSION_MATRIX(MODEL c_stage.C_INTS, TABLE c_ints)")
    assert names(cur) == ["expected_label", "_-1", "_0", "_1"]
    assert [r[0] for r in cur.fetchall()] == [-1, 0, 1]
    assert "c_stage.c_ints" in [r[0] for r in backend.rows("SHOW MODEL ALL")]
    backend.run("DROP MODEL c_stage.c_ints")


# --- parameters, descriptions, larger statements, pass-through ----------------------------------------


def test_parameters_in_ml_statements(backend: Any) -> None:
    backend.load("c_reg", reg())
    backend.run(
        "CREATE MODEL c_param OPTIONS (model_type = 'linear_reg', input_label_cols = ['y']) "
        "AS SELECT x1, y FROM c_reg"
    )
    inside = backend.rows(
        "SELECT id FROM ML.PREDICT(MODEL c_param, (SELECT id, x1 FROM c_reg WHERE id < ?)) "
        "WHERE predicted_y > ? ORDER BY id",
        [10, -100.0],
    )
    assert [r[0] for r in inside] == list(range(10))
    numbered = backend.rows(
        "SELECT count(*) FROM ML.PREDICT(MODEL c_param, (SELECT id, x1 FROM c_reg WHERE id < $2)) "
        "WHERE id >= $1",
        [5, 10],
    )
    assert numbered == [(5,)]
    named = backend.rows(
        "SELECT id FROM ML.PREDICT(MODEL c_param, (SELECT id, x1 FROM c_reg WHERE id < $top)) "
        "WHERE id >= $bottom ORDER BY id",
        {"top": 4, "bottom": 2},
    )
    assert named == [(2,), (3,)]
    # the same three styles in plain SQL (Spark itself takes only ? and :name)
    plain = "SELECT id FROM c_reg WHERE id >= {} AND id < {} ORDER BY id"
    assert backend.rows(plain.format("?", "?"), [1, 3]) == [(1,), (2,)]
    assert backend.rows(plain.format("$2", "$1"), [3, 1]) == [(1,), (2,)]
    assert backend.rows(plain.format("$lo", "$hi"), {"lo": 1, "hi": 3}) == [(1,), (2,)]
    with pytest.raises(sqlml.ProgrammingError, match="parameter"):
        backend.rows("SELECT * FROM ML.PREDICT(MODEL c_param, (SELECT x1 FROM c_reg WHERE id < ?))")
    with pytest.raises(sqlml.ProgrammingError, match="Parameters are not accepted"):
        backend.run("DROP MODEL c_param", [1])


def test_plain_sql_passes_through(backend: Any) -> None:
    table = reg()
    backend.load("c_reg", table)
    cur = backend.run(
        "SELECT cat, count(*) AS n, CAST(sum(x2) AS DOUBLE) AS total, min(id) AS first_id "
        "FROM c_reg WHERE x1 > ? GROUP BY cat ORDER BY cat",
        [0],
    )
    assert names(cur) == ["cat", "n", "total", "first_id"]
    assert cur.description[0][1] == sqlml.STRING
    assert all(d[1] == sqlml.NUMBER for d in cur.description[1:])
    x1, x2, cat = X1, table.column("x2").to_numpy(), column(table, "cat")
    expected = [
        (
            c,
            int(np.sum((cat == c) & (x1 > 0))),
            float(np.sum(x2[(cat == c) & (x1 > 0)])),
            int(np.flatnonzero((cat == c) & (x1 > 0))[0]),
        )
        for c in ["p", "q", "r"]
    ]
    assert cur.fetchall() == expected
    assert backend.rows("SELECT CAST(x2 AS INT), CAST(id AS DOUBLE) FROM c_reg WHERE id = 3") == [
        (10, 3.0)
    ]


def test_ml_calls_inside_larger_statements(backend: Any) -> None:
    table = reg()
    backend.load("c_reg", table)
    backend.run(
        "CREATE MODEL c_inside OPTIONS (model_type = 'linear_reg', input_label_cols = ['y']) "
        "AS SELECT x1, x2, y FROM c_reg"
    )
    predicted = np.array(
        [
            r[0]
            for r in backend.rows(
                "SELECT predicted_y FROM ML.PREDICT(MODEL c_inside, TABLE c_reg) ORDER BY id"
            )
        ]
    )
    cat = column(table, "cat")
    grouped = backend.rows(
        "SELECT r.cat, count(*), avg(p.predicted_y) FROM c_reg AS r "
        "JOIN ML.PREDICT(MODEL c_inside, (SELECT id, x1, x2 FROM c_reg)) AS p ON r.id = p.id "
        "WHERE r.x1 > 0 GROUP BY r.cat ORDER BY r.cat"
    )
    positive = X1 > 0
    assert [(r[0], r[1]) for r in grouped] == [
        (c, int(np.sum(positive & (cat == c)))) for c in ["p", "q", "r"]
    ]
    for c, _, mean in grouped:
        assert mean == pytest.approx(predicted[positive & (cat == c)].mean())
    both = backend.rows(
        "SELECT e.r2_score, p.n FROM ML.EVALUATE(MODEL c_inside, TABLE c_reg) AS e "
        "CROSS JOIN (SELECT count(*) AS n FROM ML.PREDICT(MODEL c_inside, TABLE c_reg) "
        "WHERE predicted_y > 0) AS p"
    )
    assert both[0][1] == int(np.sum(predicted > 0))
    assert 0.9 < both[0][0] <= 1.0

    backend.run(
        "CREATE TABLE c_scored AS SELECT id, predicted_y FROM ML.PREDICT(MODEL c_inside, "
        "(SELECT * FROM c_reg WHERE id < 10))"
    )
    try:
        backend.run(
            "INSERT INTO c_scored SELECT id, predicted_y FROM ML.PREDICT(MODEL c_inside, "
            "(SELECT * FROM c_reg WHERE id >= 110))"
        )
        stored = backend.rows("SELECT id, predicted_y FROM c_scored ORDER BY id")
        assert [r[0] for r in stored] == [*range(10), *range(110, 120)]
        np.testing.assert_allclose(
            [r[1] for r in stored], np.concatenate([predicted[:10], predicted[110:]]), atol=1e-9
        )
    finally:
        backend.run("DROP TABLE c_scored")
    with pytest.raises(sqlml.NotSupportedError, match="CREATE VIEW over an ML.* call"):
        backend.run("CREATE VIEW c_view AS SELECT * FROM ML.PREDICT(MODEL c_inside, TABLE c_reg)")


# --- errors: the same sqlml error class on both engines ------------------------------------------------


def test_errors_are_the_same_class_on_both_engines(backend: Any) -> None:
    backend.load("c_bin", binary())
    with pytest.raises(sqlml.ProgrammingError, match="no_such_column"):
        backend.run(
            LOGIT.format(verb="", name="c_err", source="c_bin").replace("x2", "no_such_column")
        )
    with pytest.raises(OptionError, match="max_tree_depth"):
        backend.run(
            "CREATE MODEL c_err OPTIONS (model_type = 'random_forest_classifier', "
            "input_label_cols = ['y'], max_tree_depth = -1) AS SELECT x1, y FROM c_bin"
        )
    with pytest.raises(OptionError, match="model_type"):
        backend.run(
            "CREATE MODEL c_err OPTIONS (model_type = 'no_such_type') AS SELECT x1 FROM c_bin"
        )
    with pytest.raises(sqlml.Error, match="input_label_cols"):
        backend.run(
            "CREATE MODEL c_err OPTIONS (model_type = 'logistic_reg') AS SELECT x1, y FROM c_bin"
        )
    with pytest.raises(SchemaError, match="'z'"):
        backend.run(
            "CREATE MODEL c_err OPTIONS (model_type = 'logistic_reg', input_label_cols = ['z']) "
            "AS SELECT x1, y FROM c_bin"
        )
    with pytest.raises(ModelNotFoundError, match="c_missing"):
        backend.run("SELECT * FROM ML.EVALUATE(MODEL c_missing)")

    backend.run(LOGIT.format(verb="", name="c_err", source="c_bin"))
    with pytest.raises(SchemaError, match="lacks column 'cat'"):
        backend.run("SELECT * FROM ML.PREDICT(MODEL c_err, (SELECT x1, x2 FROM c_bin))")
    with pytest.raises(SchemaError, match=r"Column 'x1' was DOUBLE .* but is VARCHAR"):
        backend.run(
            "SELECT * FROM ML.PREDICT(MODEL c_err, "
            "(SELECT CAST(x1 AS STRING) AS x1, x2, cat FROM c_bin))"
        )
    with pytest.raises(SchemaError, match="lacks the label column 'y'"):
        backend.run("SELECT * FROM ML.EVALUATE(MODEL c_err, (SELECT x1, x2, cat FROM c_bin))")
    with pytest.raises(OptionError, match="threshold"):
        backend.run("SELECT * FROM ML.PREDICT(MODEL c_err, TABLE c_bin, STRUCT(2 AS threshold))")
    with pytest.raises(sqlml.ProgrammingError, match="ML.WEIGHTS applies to"):
        backend.run(
            "CREATE MODEL c_err_tree OPTIONS (model_type = 'random_forest_classifier', "
            "input_label_cols = ['y'], num_parallel_tree = 2) AS SELECT x1, y FROM c_bin"
        )
        backend.run("SELECT * FROM ML.WEIGHTS(MODEL c_err_tree)")
    with pytest.raises(sqlml.ProgrammingError):
        backend.run("SELECT * FROM no_such_table")


# --- the registry: every ML function is exercised here -------------------------------------------------


def test_every_registered_ml_function_has_a_conformance_test() -> None:
    from sqlml.functions import REGISTRY, lookup

    lookup("PREDICT")  # loads the built-in modules
    source = "\n".join(p.read_text() for p in Path(__file__).parent.glob("test_*.py"))
    used = set(re.findall(r"ML\.([A-Z_]+)\(", source))
    assert sorted(set(REGISTRY) - used) == []
