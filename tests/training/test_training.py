"""Training behaviour: data splits, class weights, stored options, and a light ``import sqlml``.

Expected counts and metrics are worked out by hand from the generated data.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hang import HANG

import sqlml


@pytest.fixture
def cur(tmp_path: Path) -> Iterator[sqlml.Cursor]:
    connection = sqlml.connect(str(tmp_path / "training.duckdb"))
    yield connection.cursor()
    connection.close()


def info(cur: sqlml.Cursor, name: str = "m") -> dict[str, Any]:
    cur.execute(
        "SELECT training_info FROM sqlml.models WHERE name = ? ORDER BY version DESC LIMIT 1",
        [name],
    )
    return json.loads(cur.fetchone()[0])


def stored_metrics(cur: sqlml.Cursor, name: str = "m") -> dict[str, Any]:
    cur.execute(f"SELECT * FROM ML.EVALUATE(MODEL {name})")
    names = [d[0] for d in cur.description]
    return dict(zip(names, cur.fetchone(), strict=True))


# 40 rows; y = 2x + 1 exactly, except rows with shifted = TRUE where y is 100 higher.
# seq = (7 i) mod 40 is a permutation of 0..39 unrelated to the row order.
SHIFTED = """
    CREATE TABLE d AS
    SELECT x, seq, is_eval, 2 * x + 1 + CASE WHEN shifted THEN 100 ELSE 0 END AS y
    FROM (
        SELECT (i / 4.0)::DOUBLE AS x, (7 * i) % 40 AS seq, i % 4 = 0 AS is_eval,
               {shifted} AS shifted
        FROM range(40) t(i)
    )
"""


def linear(options: str, query: str = "SELECT x, y FROM d") -> str:
    return (
        f"CREATE MODEL m OPTIONS(model_type='linear_reg', input_label_cols=['y'], {options}) "
        f"AS {query}"
    )


def test_no_split_evaluates_on_all_rows(cur: sqlml.Cursor) -> None:
    cur.execute(SHIFTED.format(shifted="FALSE"))
    cur.execute(linear("data_split_method='NO_SPLIT'"))
    assert info(cur)["training_rows"] == 40
    assert info(cur)["evaluation_rows"] == 40
    assert info(cur)["data_split_method"] == "NO_SPLIT"


def test_random_split_fraction(cur: sqlml.Cursor) -> None:
    cur.execute(SHIFTED.format(shifted="FALSE"))
    cur.execute(linear("data_split_method='RANDOM', data_split_eval_fraction=0.25"))
    assert info(cur)["evaluation_rows"] == 10
    assert info(cur)["training_rows"] == 30


def test_seq_split_evaluates_on_the_last_rows_by_column(cur: sqlml.Cursor) -> None:
    # the last quarter by seq (seq >= 30) follows y = 2x + 101; the rest y = 2x + 1
    cur.execute(SHIFTED.format(shifted="(7 * i) % 40 >= 30"))
    cur.execute(
        linear(
            "data_split_method='SEQ', data_split_col='seq', data_split_eval_fraction=0.25",
            "SELECT x, seq, y FROM d",
        )
    )
    assert info(cur)["training_rows"] == 30
    assert info(cur)["evaluation_rows"] == 10
    # trained on the unshifted rows only, so every evaluation row is off by exactly 100
    metrics = stored_metrics(cur)
    assert metrics["mean_absolute_error"] == pytest.approx(100, abs=1e-2)
    assert metrics["median_absolute_error"] == pytest.approx(100, abs=1e-2)
    assert metrics["mean_squared_error"] == pytest.approx(10_000, rel=1e-3)


def test_custom_split_with_boolean_column(cur: sqlml.Cursor) -> None:
    # is_eval = (i % 4 = 0): rows 0, 4, ..., 36 -> 10 evaluation rows, and those are shifted
    cur.execute(SHIFTED.format(shifted="i % 4 = 0"))
    cur.execute(
        linear(
            "data_split_method='CUSTOM', data_split_col='is_eval'",
            "SELECT x, is_eval, y FROM d",
        )
    )
    assert info(cur)["training_rows"] == 30
    assert info(cur)["evaluation_rows"] == 10
    assert stored_metrics(cur)["mean_absolute_error"] == pytest.approx(100, abs=1e-2)
    cur.execute("SELECT features FROM sqlml.models")
    assert [f["name"] for f in json.loads(cur.fetchone()[0])] == ["x"]


@pytest.mark.parametrize(("rows", "evaluation"), [(499, 499), (1000, 200)])
def test_auto_split_row_count_rules(cur: sqlml.Cursor, rows: int, evaluation: int) -> None:
    cur.execute(
        f"CREATE TABLE d AS SELECT (i / 100.0)::DOUBLE AS x, 2 * (i / 100.0) + 1 AS y "
        f"FROM range({rows}) t(i)"
    )
    cur.execute(
        "CREATE MODEL m OPTIONS(model_type='linear_reg', input_label_cols=['y']) AS SELECT * FROM d"
    )
    got = info(cur)
    assert got["evaluation_rows"] == evaluation
    assert got["training_rows"] == (rows if rows < 500 else rows - evaluation)
    assert got["data_split_method"] == "AUTO_SPLIT"


# 100 rows, 10 positives; positives sit at the top of x but overlap the negatives.
IMBALANCED = """
    CREATE TABLE imb AS
    SELECT (i / 10.0)::DOUBLE AS x,
           CASE WHEN i IN (70, 75, 80, 84, 88, 91, 94, 96, 98, 99) THEN 'pos' ELSE 'neg' END AS lab,
           i IN (70, 75, 80, 84, 88, 91, 94, 96, 98, 99) AS flag
    FROM range(100) t(i)
"""


def positives(cur: sqlml.Cursor, model: str, column: str, positive: Any) -> int:
    cur.execute(
        f"SELECT count(*) FROM ML.PREDICT(MODEL {model}, TABLE imb) WHERE predicted_{column} = ?",
        [positive],
    )
    return cur.fetchone()[0]


def test_class_weights_predict_more_positives(cur: sqlml.Cursor) -> None:
    cur.execute(IMBALANCED)
    base = "model_type='logistic_reg', input_label_cols=['lab']"
    cur.execute(f"CREATE MODEL plain OPTIONS({base}) AS SELECT x, lab FROM imb")
    cur.execute(
        f"CREATE MODEL auto OPTIONS({base}, auto_class_weights=TRUE) AS SELECT x, lab FROM imb"
    )
    cur.execute(
        f"CREATE MODEL explicit OPTIONS({base}, class_weights=[STRUCT('pos', 9.0)]) "
        "AS SELECT x, lab FROM imb"
    )
    plain = positives(cur, "plain", "lab", "pos")
    assert plain < positives(cur, "auto", "lab", "pos")
    assert plain < positives(cur, "explicit", "lab", "pos")
    cur.execute("SELECT options FROM sqlml.models WHERE name = 'explicit'")
    assert json.loads(cur.fetchone()[0])["class_weights"] == {"pos": 9.0}


def test_class_weights_on_a_boolean_label(cur: sqlml.Cursor) -> None:
    """A BOOL label's classes are spelled TRUE / FALSE in class_weights, as in BigQuery."""
    cur.execute(IMBALANCED)
    base = "model_type='logistic_reg', input_label_cols=['flag']"
    cur.execute(f"CREATE MODEL plain OPTIONS({base}) AS SELECT x, flag FROM imb")
    cur.execute(
        f"CREATE MODEL weighted OPTIONS({base}, class_weights=[STRUCT('true', 9.0)]) "
        "AS SELECT x, flag FROM imb"
    )
    assert positives(cur, "plain", "flag", True) < positives(cur, "weighted", "flag", True)


def test_options_land_in_the_catalog(cur: sqlml.Cursor) -> None:
    cur.execute(IMBALANCED)
    cur.execute(
        "CREATE MODEL m OPTIONS(model_type='boosted_tree_classifier', input_label_cols=['lab'], "
        "max_iterations=7, max_tree_depth=3, learn_rate=0.2, subsample=0.9, random_seed=7, "
        "data_split_method='NO_SPLIT') AS SELECT x, lab FROM imb"
    )
    cur.execute("SELECT options, model_type FROM sqlml.models")
    options_json, model_type = cur.fetchone()
    options = json.loads(options_json)
    assert model_type == "boosted_tree_classifier"
    assert options["model_type"] == "boosted_tree_classifier"
    assert options["max_iterations"] == 7
    assert options["max_tree_depth"] == 3
    assert options["learn_rate"] == 0.2
    assert options["subsample"] == 0.9
    assert options["random_seed"] == 7
    assert options["data_split_method"] == "NO_SPLIT"
    assert info(cur)["iterations"] == 7  # seven boosting rounds


def test_import_sqlml_is_light() -> None:
    script = (
        "import sys, sqlml\n"
        "heavy = ('sklearn', 'onnxruntime', 'pyspark', 'skl2onnx')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=HANG, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
