"""ML.CONFUSION_MATRIX, ML.ROC_CURVE, ML.EVALUATE's average_precision and optimize_threshold.

Real DuckDB files and ONNX Runtime, no mocks. Expected values come from scikit-learn and numpy, run on
ML.PREDICT's own output probabilities and the true labels; never from the functions under test.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from sklearn import metrics as skm
from sklearn.preprocessing import label_binarize

import sqlml
from sqlml import errors
from sqlml.measures.metrics import curve_thresholds, roc_curve
from sqlml.plan.jobs import MLQuery
from sqlml.plan.planner import plan
from sqlml.sql import split_statements

# 102 rows; every third is an evaluation row (CUSTOM split), so the evaluation rows are known.
DATA = """
    CREATE TABLE d AS
    SELECT i AS id, (i / 10.0)::DOUBLE AS x1, ['p', 'q', 'r'][i % 3 + 1] AS cat,
           ((i * 53) % 102) < i * 0.7 AS y,  -- noisy, more likely as i grows
           ['a', 'b', 'c'][(i // 34 + (i % 5 = 0)::INT) % 3 + 1] AS c3,
           (i // 34 + (i % 6 = 0)::INT) % 3 AS k3,
           3 * (i / 10.0) + ((i * 37) % 11 - 5) / 5.0 AS v,
           i % 3 = 0 AS is_eval
    FROM range(102) t(i)
"""
EVAL_ROWS = "(SELECT * FROM d WHERE is_eval)"
SPLIT = "data_split_method='CUSTOM', data_split_col='is_eval'"
ROC_COLUMNS = [
    ("threshold", "DOUBLE"),
    ("recall", "DOUBLE"),
    ("false_positive_rate", "DOUBLE"),
    ("true_positives", "BIGINT"),
    ("false_positives", "BIGINT"),
    ("true_negatives", "BIGINT"),
    ("false_negatives", "BIGINT"),
]


def create(cur: sqlml.Cursor, name: str, options: str, columns: str) -> None:
    cur.execute(f"CREATE MODEL {name} OPTIONS({options}) AS SELECT {columns}, is_eval FROM d")


@pytest.fixture(scope="module")
def con(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sqlml.Connection]:
    connection = sqlml.connect(str(tmp_path_factory.mktemp("evalfn") / "evalfn.duckdb"))
    cur = connection.cursor()
    cur.execute(DATA)
    create(cur, "bin", f"model_type='logistic_reg', input_label_cols=['y'], {SPLIT}", "x1, cat, y")
    create(cur, "multi", f"model_type='logistic_reg', input_label_cols=['c3'], {SPLIT}", "x1, c3")
    create(cur, "ints", f"model_type='logistic_reg', input_label_cols=['k3'], {SPLIT}", "x1, k3")
    create(cur, "reg", f"model_type='linear_reg', input_label_cols=['v'], {SPLIT}", "x1, v")
    cur.execute("CREATE MODEL km OPTIONS(model_type='kmeans', num_clusters=2) AS SELECT x1 FROM d")
    yield connection
    connection.close()


def fetch(cur: sqlml.Cursor, sql: str) -> list[dict[str, Any]]:
    cur.execute(sql)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def columns_of(cur: sqlml.Cursor) -> list[tuple[str, str]]:
    return [(d[0], d[1]) for d in cur.description]


def predicted(cur: sqlml.Cursor, model: str, label: str, rows: str = EVAL_ROWS) -> tuple:
    """(true labels, P(second class) as ML.PREDICT reports it, predicted labels, all probs)."""
    out = fetch(cur, f"SELECT * FROM ML.PREDICT(MODEL {model}, {rows})")
    truth = [r[label] for r in out]
    probs = np.array([[p["prob"] for p in r[f"predicted_{label}_probs"]] for r in out])
    labels = [r[f"predicted_{label}"] for r in out]
    return truth, probs[:, -1], labels, probs


def stored(cur: sqlml.Cursor, model: str, column: str) -> dict[str, Any]:
    cur.execute(
        f"SELECT {column} FROM sqlml.models WHERE name = ? ORDER BY version DESC LIMIT 1", [model]
    )
    return json.loads(cur.fetchone()[0])


# --- ML.EVALUATE: average_precision ---------------------------------------------------------------


def test_average_precision_binary_matches_sklearn(con: sqlml.Connection) -> None:
    cur = con.cursor()
    truth, p_true, _, _ = predicted(cur, "bin", "y", "(SELECT * FROM d)")
    (got,) = fetch(cur, "SELECT * FROM ML.EVALUATE(MODEL bin, TABLE d)")
    assert list(got)[-1] == "average_precision"
    assert 0.5 < got["average_precision"] < 1
    assert got["average_precision"] == pytest.approx(
        skm.average_precision_score(truth, p_true, pos_label=True), abs=1e-6
    )


def test_average_precision_multiclass_is_the_macro_over_one_vs_rest(con: sqlml.Connection) -> None:
    cur = con.cursor()
    truth, _, _, probs = predicted(cur, "multi", "c3", "(SELECT * FROM d)")
    (got,) = fetch(cur, "SELECT * FROM ML.EVALUATE(MODEL multi, TABLE d)")
    onehot = label_binarize(truth, classes=["a", "b", "c"])
    per_class = [skm.average_precision_score(onehot[:, k], probs[:, k]) for k in range(3)]
    assert got["average_precision"] == pytest.approx(np.mean(per_class), abs=1e-6)
    assert got["average_precision"] == pytest.approx(
        skm.average_precision_score(onehot, probs, average="macro"), abs=1e-6
    )


def test_average_precision_is_null_without_positives(con: sqlml.Connection) -> None:
    cur = con.cursor()
    (got,) = fetch(cur, "SELECT * FROM ML.EVALUATE(MODEL bin, (SELECT * FROM d WHERE NOT y))")
    assert got["average_precision"] is None and got["roc_auc"] is None


def test_stored_metrics_equal_the_metrics_of_the_evaluation_rows(con: sqlml.Connection) -> None:
    cur = con.cursor()
    for model in ("bin", "multi"):
        (recorded,) = fetch(cur, f"SELECT * FROM ML.EVALUATE(MODEL {model})")
        (given,) = fetch(cur, f"SELECT * FROM ML.EVALUATE(MODEL {model}, {EVAL_ROWS})")
        assert recorded["average_precision"] is not None
        assert recorded == pytest.approx(given, abs=1e-9), model


# --- ML.CONFUSION_MATRIX --------------------------------------------------------------------------


def test_confusion_matrix_binary_matches_sklearn(con: sqlml.Connection) -> None:
    cur = con.cursor()
    truth, _, labels, _ = predicted(cur, "bin", "y", "(SELECT * FROM d)")
    rows = fetch(cur, "SELECT * FROM ML.CONFUSION_MATRIX(MODEL bin, TABLE d)")
    assert columns_of(cur) == [
        ("expected_label", "BOOLEAN"),
        ("false", "BIGINT"),
        ("true", "BIGINT"),
    ]
    expected = skm.confusion_matrix(truth, labels, labels=[False, True])
    assert [r["expected_label"] for r in rows] == [False, True]
    assert [[r["false"], r["true"]] for r in rows] == expected.tolist()
    assert sum(r["false"] + r["true"] for r in rows) == 102


def test_confusion_matrix_threshold_matches_predict_with_the_same_threshold(
    con: sqlml.Connection,
) -> None:
    cur = con.cursor()
    out = fetch(cur, "SELECT * FROM ML.PREDICT(MODEL bin, TABLE d, STRUCT(0.8 AS threshold))")
    rows = fetch(
        cur, "SELECT * FROM ML.CONFUSION_MATRIX(MODEL bin, TABLE d, STRUCT(0.8 AS threshold))"
    )
    expected = skm.confusion_matrix(
        [r["y"] for r in out], [r["predicted_y"] for r in out], labels=[False, True]
    )
    assert [[r["false"], r["true"]] for r in rows] == expected.tolist()
    (default,) = fetch(cur, 'SELECT sum("true") AS n FROM ML.CONFUSION_MATRIX(MODEL bin, TABLE d)')
    assert sum(r["true"] for r in rows) < default["n"]  # a higher threshold flags fewer rows


def test_confusion_matrix_multiclass_string_and_integer_labels(con: sqlml.Connection) -> None:
    cur = con.cursor()
    truth, _, labels, _ = predicted(cur, "multi", "c3", "(SELECT * FROM d)")
    rows = fetch(cur, "SELECT * FROM ML.CONFUSION_MATRIX(MODEL multi, TABLE d)")
    assert columns_of(cur) == [("expected_label", "VARCHAR")] + [
        (c, "BIGINT") for c in ("a", "b", "c")
    ]
    expected = skm.confusion_matrix(truth, labels, labels=["a", "b", "c"])
    assert [[r[c] for c in "abc"] for r in rows] == expected.tolist()

    truth, _, labels, _ = predicted(cur, "ints", "k3", "(SELECT * FROM d)")
    rows = fetch(cur, "SELECT * FROM ML.CONFUSION_MATRIX(MODEL ints, TABLE d)")
    assert columns_of(cur) == [("expected_label", "BIGINT")] + [
        (c, "BIGINT") for c in ("_0", "_1", "_2")
    ]
    assert [r["expected_label"] for r in rows] == [0, 1, 2]
    expected = skm.confusion_matrix(truth, labels, labels=[0, 1, 2])
    assert [[r["_0"], r["_1"], r["_2"]] for r in rows] == expected.tolist()


def test_stored_confusion_matrix_equals_the_one_of_the_evaluation_rows(
    con: sqlml.Connection,
) -> None:
    cur = con.cursor()
    for model in ("bin", "multi", "ints"):
        recorded = fetch(cur, f"SELECT * FROM ML.CONFUSION_MATRIX(MODEL {model})")
        given = fetch(cur, f"SELECT * FROM ML.CONFUSION_MATRIX(MODEL {model}, {EVAL_ROWS})")
        assert recorded == given, model
        assert sum(sum(v for k, v in r.items() if k != "expected_label") for r in recorded) == 34


# --- ML.ROC_CURVE -----------------------------------------------------------------------------------


def test_roc_curve_matches_sklearn_at_every_distinct_probability(con: sqlml.Connection) -> None:
    cur = con.cursor()
    truth, p_true, _, _ = predicted(cur, "bin", "y", "(SELECT * FROM d)")
    rows = fetch(cur, "SELECT * FROM ML.ROC_CURVE(MODEL bin, TABLE d)")
    assert columns_of(cur) == ROC_COLUMNS
    fpr, tpr, thresholds = skm.roc_curve(truth, p_true, drop_intermediate=False)
    # scikit-learn's first point (threshold +inf, nothing positive) is not a row
    assert [r["threshold"] for r in rows] == pytest.approx(thresholds[1:].tolist(), abs=0)
    assert [r["recall"] for r in rows] == pytest.approx(tpr[1:].tolist(), abs=1e-12)
    assert [r["false_positive_rate"] for r in rows] == pytest.approx(fpr[1:].tolist(), abs=1e-12)
    y, p = np.array(truth), np.array(p_true)
    for r in rows:
        flagged = p >= r["threshold"]
        assert r["true_positives"] == int(np.sum(flagged & y))
        assert r["false_positives"] == int(np.sum(flagged & ~y))
        assert r["true_negatives"] == int(np.sum(~flagged & ~y))
        assert r["false_negatives"] == int(np.sum(~flagged & y))


def test_roc_curve_at_given_thresholds(con: sqlml.Connection) -> None:
    cur = con.cursor()
    truth, p_true, _, _ = predicted(cur, "bin", "y", "(SELECT * FROM d)")
    y, p = np.array(truth), np.array(p_true)
    listed = fetch(cur, "SELECT * FROM ML.ROC_CURVE(MODEL bin, TABLE d, [0.9, 0.1, 0.5, 0])")
    assert [r["threshold"] for r in listed] == [0.9, 0.1, 0.5, 0.0]  # as given, in that order
    generated = fetch(
        cur, "SELECT * FROM ML.ROC_CURVE(MODEL bin, TABLE d, GENERATE_ARRAY(0.0, 1.0, 0.1))"
    )
    assert [r["threshold"] for r in generated] == [i / 10 for i in range(11)]
    for r in listed + generated:
        flagged = p >= r["threshold"]
        assert r["recall"] == pytest.approx(skm.recall_score(y, flagged), abs=1e-12)
        assert r["false_positive_rate"] == pytest.approx(np.mean(flagged[~y]), abs=1e-12)
        assert r["true_positives"] == int(np.sum(flagged & y))
        assert r["false_positives"] == int(np.sum(flagged & ~y))
    assert (generated[0]["recall"], generated[0]["false_positive_rate"]) == (1.0, 1.0)


def test_roc_curve_rates_are_null_without_positives(con: sqlml.Connection) -> None:
    cur = con.cursor()
    rows = fetch(cur, "SELECT * FROM ML.ROC_CURVE(MODEL bin, (SELECT * FROM d WHERE NOT y), [0.5])")
    assert rows[0]["recall"] is None
    assert rows[0]["true_positives"] == 0 and rows[0]["false_negatives"] == 0
    assert rows[0]["false_positive_rate"] is not None


def test_stored_roc_curve_equals_the_one_of_the_evaluation_rows(con: sqlml.Connection) -> None:
    cur = con.cursor()
    recorded = fetch(cur, "SELECT * FROM ML.ROC_CURVE(MODEL bin)")
    given = fetch(cur, f"SELECT * FROM ML.ROC_CURVE(MODEL bin, {EVAL_ROWS})")
    assert len(recorded) == 34  # 34 evaluation rows, each of its own probability
    assert recorded == given


def test_stored_roc_curve_is_capped_to_exact_points(con: sqlml.Connection) -> None:
    """1,200 evaluation rows, each its own probability: 1,000 stored points, every one exact."""
    cur = con.cursor()
    cur.execute(
        "CREATE TABLE big AS SELECT (i / 100.0)::DOUBLE AS x, (i * 7919) % 1500 < i AS y, "
        "i % 5 <> 0 AS is_eval FROM range(1500) t(i)"
    )
    cur.execute(
        f"CREATE MODEL big_m OPTIONS(model_type='logistic_reg', input_label_cols=['y'], {SPLIT}) "
        "AS SELECT * FROM big"
    )
    truth, p_true, _, _ = predicted(cur, "big_m", "y", "(SELECT * FROM big WHERE is_eval)")
    assert len(set(p_true)) > 1000
    recorded = fetch(cur, "SELECT * FROM ML.ROC_CURVE(MODEL big_m)")
    assert 900 <= len(recorded) <= 1000
    thresholds = [r["threshold"] for r in recorded]
    assert thresholds == sorted(thresholds, reverse=True)
    assert thresholds[0] == max(p_true) and thresholds[-1] == min(p_true)
    assert recorded[-1]["recall"] == 1.0 and recorded[-1]["false_positive_rate"] == 1.0
    y, p = np.array(truth), np.array(p_true)
    for r in recorded:
        flagged = p >= r["threshold"]
        assert (r["true_positives"], r["false_positives"]) == (
            int(np.sum(flagged & y)),
            int(np.sum(flagged & ~y)),
        )


def test_curve_thresholds_cap_by_quantiles() -> None:
    rng = np.random.default_rng(0)
    scores = rng.random(500)
    y = (rng.random(500) < scores).astype(np.int64)
    capped = curve_thresholds(scores, max_points=50)
    assert len(capped) == 50 and capped[0] == scores.max() and capped[-1] == scores.min()
    assert set(capped) <= set(scores)
    full = roc_curve(y, scores)
    fpr, tpr, thresholds = skm.roc_curve(y, scores, drop_intermediate=False)
    assert full["threshold"] == thresholds[1:].tolist()
    positives = int(y.sum())
    assert np.array(full["true_positives"]) / positives == pytest.approx(tpr[1:])
    assert np.array(full["false_positives"]) / (500 - positives) == pytest.approx(fpr[1:])


# --- optimize_threshold ---------------------------------------------------------------------------

OBJECTIVES = {
    "f1": skm.f1_score,
    "accuracy": skm.accuracy_score,
    "balanced_accuracy": skm.balanced_accuracy_score,
}


@pytest.mark.parametrize("objective", sorted(OBJECTIVES))
def test_optimize_threshold(con: sqlml.Connection, objective: str) -> None:
    cur = con.cursor()
    name = f"opt_{objective}"
    create(
        cur,
        name,
        f"model_type='logistic_reg', input_label_cols=['y'], {SPLIT}, "
        f"optimize_threshold='{objective.upper()}'",
        "x1, cat, y",
    )
    truth, p_true, _, _ = predicted(cur, name, "y")
    y, p = np.array(truth), np.array(p_true)
    # Independently: every distinct probability as the threshold; ties to the highest threshold.
    candidates = sorted(set(p_true), reverse=True)
    bests = {}
    for each, score in OBJECTIVES.items():
        values = [score(y, p >= t) for t in candidates]
        bests[each] = candidates[int(np.argmax(values))]
    assert len(set(bests.values())) == 3  # the data tells the objectives apart
    score = OBJECTIVES[objective]
    values = [score(y, p >= t) for t in candidates]
    best = bests[objective]
    assert max(values) > score(y, p >= 0.5)

    info = stored(cur, name, "training_info")
    assert info["threshold_optimization"] == {
        "objective": objective,
        "threshold": best,
        "value": pytest.approx(max(values), abs=1e-12),
    }
    assert stored(cur, name, "spec")["threshold"] == best
    assert not any("training rows" in note for note in info["notes"])

    # ML.PREDICT uses the tuned threshold by default; STRUCT(... AS threshold) still overrides it
    _, _, labels, _ = predicted(cur, name, "y")
    assert labels == (p >= best).tolist()
    out = fetch(
        cur, f"SELECT * FROM ML.PREDICT(MODEL {name}, {EVAL_ROWS}, STRUCT(0.5 AS threshold))"
    )
    assert [r["predicted_y"] for r in out] == (p >= 0.5).tolist()

    # the metrics recorded at training, and ML.EVALUATE on rows, use the tuned threshold
    flagged = p >= best
    expected = {
        "precision": skm.precision_score(y, flagged),
        "recall": skm.recall_score(y, flagged),
        "accuracy": skm.accuracy_score(y, flagged),
        "f1_score": skm.f1_score(y, flagged),
    }
    (recorded,) = fetch(cur, f"SELECT * FROM ML.EVALUATE(MODEL {name})")
    (given,) = fetch(cur, f"SELECT * FROM ML.EVALUATE(MODEL {name}, {EVAL_ROWS})")
    for metric, value in expected.items():
        assert recorded[metric] == pytest.approx(value, abs=1e-12), metric
        assert given[metric] == pytest.approx(value, abs=1e-12), metric
    (half,) = fetch(
        cur, f"SELECT * FROM ML.EVALUATE(MODEL {name}, {EVAL_ROWS}, STRUCT(0.5 AS threshold))"
    )
    assert half["accuracy"] == pytest.approx(skm.accuracy_score(y, p >= 0.5), abs=1e-12)

    # and so does the stored confusion matrix
    rows = fetch(cur, f"SELECT * FROM ML.CONFUSION_MATRIX(MODEL {name})")
    assert [[r["false"], r["true"]] for r in rows] == skm.confusion_matrix(y, flagged).tolist()


def test_optimize_threshold_on_unsplit_data_says_so(con: sqlml.Connection) -> None:
    cur = con.cursor()
    cur.execute(
        "CREATE MODEL opt_nosplit OPTIONS(model_type='logistic_reg', input_label_cols=['y'], "
        "data_split_method='NO_SPLIT', optimize_threshold='f1') AS SELECT x1, cat, y FROM d"
    )
    notices = [text for _, text in cur.messages]
    assert any("optimize_threshold" in n and "training rows" in n for n in notices), notices
    info = stored(cur, "opt_nosplit", "training_info")
    assert any("training rows" in note for note in info["notes"])
    truth, p_true, _, _ = predicted(cur, "opt_nosplit", "y", "(SELECT * FROM d)")
    candidates = sorted(set(p_true), reverse=True)
    values = [skm.f1_score(truth, np.array(p_true) >= t) for t in candidates]
    assert info["threshold_optimization"]["threshold"] == candidates[int(np.argmax(values))]


# --- the thresholds argument, parsed and planned ---------------------------------------------------


def thresholds_of(sql: str) -> tuple[float, ...] | None:
    job = plan(split_statements(sql)[0])
    assert isinstance(job, MLQuery)
    return job.calls[0].thresholds


def test_planner_evaluates_thresholds() -> None:
    base = "SELECT * FROM ML.ROC_CURVE(MODEL m, TABLE t{})"
    assert thresholds_of(base.format("")) is None
    assert thresholds_of(base.format(", [0.9, 0.1, 1, 0]")) == (0.9, 0.1, 1.0, 0.0)
    tenths = thresholds_of(base.format(", GENERATE_ARRAY(0, 1, 0.1)"))
    assert tenths == tuple(i / 10 for i in range(11))
    assert tenths[3] == 0.3  # not 0.30000000000000004
    assert thresholds_of(base.format(", GENERATE_ARRAY(0.5, 0, -0.25)")) == (0.5, 0.25, 0.0)
    assert thresholds_of(base.format(", GENERATE_ARRAY(0.2, 0.2, 0.5)")) == (0.2,)
    assert len(thresholds_of(base.format(", GENERATE_ARRAY(0, 0.9999, 0.0001)"))) == 10_000
    no_input = "SELECT * FROM ML.ROC_CURVE(MODEL m, GENERATE_ARRAY(0.25, 0.75, 0.25))"
    assert thresholds_of(no_input) == (0.25, 0.5, 0.75)
    assert thresholds_of(no_input.replace("GENERATE_ARRAY", "generate_array")) == (0.25, 0.5, 0.75)


@pytest.mark.parametrize(
    ("argument", "words"),
    [
        ("[1.5]", ["[0, 1]", "1.5"]),
        ("[-0.1]", ["[0, 1]", "-0.1"]),
        ("['high']", ["[0, 1]", "'high'"]),
        ("[NULL]", ["[0, 1]", "None"]),
        ("[]", ["empty", "[0.5]"]),
        ("[x1]", ["number literals", "x1"]),
        ("[0.5 + 0.1]", ["number literals"]),
        ("GENERATE_ARRAY(0, 1)", ["three numbers", "GENERATE_ARRAY(0.0, 1.0, 0.01)"]),
        ("GENERATE_ARRAY(0, 1, 'a')", ["three numbers"]),
        ("GENERATE_ARRAY(0, 1, 0)", ["step other than 0"]),
        ("GENERATE_ARRAY(1, 0, 0.1)", ["empty", "step"]),
        ("GENERATE_ARRAY(0, 2, 0.5)", ["[0, 1]", "1.5"]),
        ("GENERATE_ARRAY(0, 1, 0.00001)", ["at most 10,000 thresholds", "100,001", "step"]),
        ("GENERATE_ARRAY(0, 1, 1e-300)", ["at most 10,000 thresholds"]),
        ("[" + ", ".join(["0.5"] * 10_001) + "]", ["at most 10,000 thresholds", "10,001"]),
    ],
    ids=lambda v: v[:30] if isinstance(v, str) else None,
)
def test_bad_thresholds(con: sqlml.Connection, argument: str, words: list[str]) -> None:
    cur = con.cursor()
    with pytest.raises(errors.OptionError) as info:
        cur.execute(f"SELECT * FROM ML.ROC_CURVE(MODEL bin, TABLE d, {argument})")
    for word in words:
        assert word in str(info.value)


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        (
            "SELECT * FROM ML.ROC_CURVE(MODEL bin, TABLE d, 0.5)",
            "Expected [threshold, ...], GENERATE_ARRAY(start, end, step) or STRUCT",
        ),
        (
            "SELECT * FROM ML.PREDICT(MODEL bin, TABLE d, [0.5])",
            "Expected STRUCT(<value> AS <name>, ...) as the last argument of ML.PREDICT",
        ),
        (
            "SELECT * FROM ML.EVALUATE(MODEL bin, GENERATE_ARRAY(0, 1, 0.1))",
            "Expected TABLE <name>, (<query>) or STRUCT(...) after the model in ML.EVALUATE",
        ),
        (
            "SELECT * FROM ML.ROC_CURVE(MODEL bin, TABLE d, [0.5 0.6])",
            "Expected ] to close the thresholds of ML.ROC_CURVE",
        ),
        (
            "SELECT * FROM ML.ROC_CURVE(MODEL bin, TABLE d, GENERATE_ARRAY(0, 1, 0.1)",
            "Expected ) to close ML.ROC_CURVE(...)",
        ),
    ],
)
def test_thresholds_syntax_errors(con: sqlml.Connection, sql: str, message: str) -> None:
    with pytest.raises(errors.SQLSyntaxError) as info:
        con.cursor().execute(sql)
    assert message in str(info.value)


# --- errors ---------------------------------------------------------------------------------------

FUNCTION_ERRORS = [
    (
        "roc-on-regressor",
        "SELECT * FROM ML.ROC_CURVE(MODEL reg, TABLE d)",
        errors.ProgrammingError,
        ["ML.ROC_CURVE applies to binary classifiers", "reg is a linear_reg model"],
    ),
    (
        "roc-on-multiclass",
        "SELECT * FROM ML.ROC_CURVE(MODEL multi)",
        errors.ProgrammingError,
        ["ML.ROC_CURVE applies to binary classifiers", "with 3 classes"],
    ),
    (
        "confusion-on-kmeans",
        "SELECT * FROM ML.CONFUSION_MATRIX(MODEL km)",
        errors.ProgrammingError,
        ["ML.CONFUSION_MATRIX applies to classifiers", "km is a kmeans model"],
    ),
    (
        "confusion-on-regressor",
        "SELECT * FROM ML.CONFUSION_MATRIX(MODEL reg, TABLE d)",
        errors.ProgrammingError,
        ["ML.CONFUSION_MATRIX applies to classifiers", "linear_reg"],
    ),
    (
        "confusion-threshold-multiclass",
        "SELECT * FROM ML.CONFUSION_MATRIX(MODEL multi, TABLE d, STRUCT(0.3 AS threshold))",
        errors.SchemaError,
        ["'threshold'", "binary classifiers", "3 classes"],
    ),
    (
        "confusion-threshold-without-rows",
        "SELECT * FROM ML.CONFUSION_MATRIX(MODEL bin, STRUCT(0.3 AS threshold))",
        errors.ProgrammingError,
        ["needs evaluation rows", "TABLE t"],
    ),
    (
        "confusion-threshold-out-of-range",
        "SELECT * FROM ML.CONFUSION_MATRIX(MODEL bin, TABLE d, STRUCT(2 AS threshold))",
        errors.OptionError,
        ["'threshold'", "[0, 1]"],
    ),
    (
        "roc-thresholds-without-rows",
        "SELECT * FROM ML.ROC_CURVE(MODEL bin, [0.5])",
        errors.ProgrammingError,
        ["needs evaluation rows", "TABLE t"],
    ),
    (
        "roc-struct-option",
        "SELECT * FROM ML.ROC_CURVE(MODEL bin, TABLE d, STRUCT(0.5 AS threshold))",
        errors.OptionError,
        ["Unknown option 'threshold' in ML.ROC_CURVE"],
    ),
    (
        "roc-input-without-label",
        "SELECT * FROM ML.ROC_CURVE(MODEL bin, (SELECT x1, cat FROM d))",
        errors.SchemaError,
        ["label column 'y'"],
    ),
    (
        "confusion-unseen-label",
        "SELECT * FROM ML.CONFUSION_MATRIX(MODEL multi, (SELECT x1, 'zz' AS c3 FROM d))",
        errors.SchemaError,
        ["never saw", "zz"],
    ),
]


@pytest.mark.parametrize(
    ("sql", "error", "words"),
    [case[1:] for case in FUNCTION_ERRORS],
    ids=[case[0] for case in FUNCTION_ERRORS],
)
def test_function_errors(
    con: sqlml.Connection, sql: str, error: type[Exception], words: list[str]
) -> None:
    with pytest.raises(error) as info:
        con.cursor().execute(sql)
    for word in words:
        assert word in str(info.value)


LR = "model_type='logistic_reg', input_label_cols=['y']"
OPTION_ERRORS = [
    (
        "optimize-on-regressor",
        "model_type='linear_reg', input_label_cols=['v'], optimize_threshold='f1'",
        "x1, v",
        errors.OptionError,
        ["'optimize_threshold'", "does not apply to model_type 'linear_reg'"],
    ),
    (
        "optimize-unknown-objective",
        LR + ", optimize_threshold='recall'",
        "x1, y",
        errors.OptionError,
        ["'optimize_threshold'", "'f1', 'accuracy', 'balanced_accuracy'", "'recall'"],
    ),
    (
        "optimize-and-threshold",
        LR + ", optimize_threshold='f1', threshold=0.3",
        "x1, y",
        errors.OptionError,
        ["'threshold'", "'optimize_threshold'", "drop one"],
    ),
    (
        "optimize-on-multiclass",
        "model_type='logistic_reg', input_label_cols=['c3'], optimize_threshold='f1'",
        "x1, c3",
        errors.OptionError,
        ["'optimize_threshold'", "binary classifiers", "3 classes"],
    ),
    (
        "optimize-one-class-evaluation",
        LR + f", {SPLIT}, optimize_threshold='accuracy'",
        "x1, y",
        errors.TrainingError,
        ["optimize_threshold", "both classes", "data_split_method"],
    ),
]


@pytest.mark.parametrize(
    ("options", "columns", "error", "words"),
    [case[1:] for case in OPTION_ERRORS],
    ids=[case[0] for case in OPTION_ERRORS],
)
def test_optimize_threshold_errors(
    con: sqlml.Connection, options: str, columns: str, error: type[Exception], words: list[str]
) -> None:
    cur = con.cursor()
    # the one-class case: evaluation rows are all FALSE (rows 0..33 are mostly FALSE; drop TRUE)
    query = f"SELECT {columns}, is_eval FROM d WHERE NOT (is_eval AND y)"
    with pytest.raises(error) as info:
        cur.execute(f"CREATE MODEL bad OPTIONS({options}) AS {query}")
    for word in words:
        assert word in str(info.value)
    assert fetch(cur, "SELECT count(*) AS n FROM sqlml.models WHERE name = 'bad'") == [{"n": 0}]
