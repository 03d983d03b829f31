"""Model lifecycle: CREATE / IF NOT EXISTS / OR REPLACE versions, Redshift functions, DROP, SHOW.

Real DuckDB files and ONNX Runtime; expectations are written by hand from separable data.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hang import HANG

import sqlml
from sqlml.errors import ModelExistsError, ModelNotFoundError

# a, b, c -> label y = (a > 0); b and c are noise (c a string)
DATA = """
    CREATE TABLE t AS
    SELECT i AS id, (i - 19.5)::DOUBLE AS a, ((i * 7) % 11)::DOUBLE AS b,
           ['p', 'q', 'r'][i % 3 + 1] AS c, i >= 20 AS y, (i - 19.5) * 2.0 + 1 AS v
    FROM range(40) t(i)
"""
CREATE = (
    "CREATE {how} MODEL m OPTIONS(model_type='logistic_reg', input_label_cols=['y']) "
    "AS SELECT a, b, c, y FROM t"
)


def fetch(cur: sqlml.Cursor, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
    cur.execute(sql, params)
    return cur.fetchall()


def versions(cur: sqlml.Cursor, name: str = "m") -> list[int]:
    return [
        r[0]
        for r in fetch(
            cur, "SELECT version FROM sqlml.models WHERE name = ? ORDER BY version", [name]
        )
    ]


def predictions(cur: sqlml.Cursor) -> list[tuple[Any, ...]]:
    return fetch(
        cur,
        "SELECT id, predicted_y, predicted_y_probs FROM ML.PREDICT(MODEL m, TABLE t) ORDER BY id",
    )


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "life.duckdb"


@pytest.fixture
def con(path: Path) -> Iterator[sqlml.Connection]:
    connection = sqlml.connect(str(path))
    connection.execute(DATA)
    yield connection
    if not connection.closed:
        connection.close()


def test_create_existing_name_raises(con: sqlml.Connection) -> None:
    cur = con.cursor()
    cur.execute(CREATE.format(how=""))
    with pytest.raises(ModelExistsError, match="'m'"):
        cur.execute(CREATE.format(how=""))
    assert versions(cur) == [1]


def test_if_not_exists_is_a_noop_with_notice(con: sqlml.Connection) -> None:
    cur = con.cursor()
    cur.execute(CREATE.format(how=""))
    (created,) = fetch(cur, "SELECT created_at FROM sqlml.models")
    cur.execute(
        "CREATE MODEL IF NOT EXISTS m OPTIONS(model_type='linear_reg', input_label_cols=['v']) "
        "AS SELECT a, v FROM t"
    )
    assert any("m" in str(text) and "exists" in str(text) for _, text in cur.messages)
    assert fetch(cur, "SELECT version, model_type, created_at FROM sqlml.models") == [
        (1, "logistic_reg", created[0])
    ]


def test_or_replace_adds_version_two(con: sqlml.Connection) -> None:
    cur = con.cursor()
    cur.execute(CREATE.format(how=""))
    cur.execute(
        "CREATE OR REPLACE MODEL m OPTIONS(model_type='linear_reg', input_label_cols=['v']) "
        "AS SELECT a, v FROM t"
    )
    assert versions(cur) == [1, 2]
    (row,) = fetch(cur, "SHOW MODEL ALL")
    assert row[:3] == ("m", 2, "linear_reg")
    # the live version is the regression model: v = 2a + 1 exactly
    rows = fetch(cur, "SELECT a, predicted_v FROM ML.PREDICT(MODEL m, TABLE t)")
    assert all(abs(p - (2 * a + 1)) < 1e-3 for a, p in rows)


@pytest.mark.parametrize(
    "broken",
    [
        # label column missing from the query
        "CREATE OR REPLACE MODEL m OPTIONS(model_type='logistic_reg', input_label_cols=['y']) "
        "AS SELECT a, b FROM t",
        # a query on a missing table
        "CREATE OR REPLACE MODEL m OPTIONS(model_type='logistic_reg', input_label_cols=['y']) "
        "AS SELECT * FROM no_such_table",
        # one-class label
        "CREATE OR REPLACE MODEL m OPTIONS(model_type='logistic_reg', input_label_cols=['y']) "
        "AS SELECT a, b, c, y FROM t WHERE y",
    ],
    ids=["missing-label", "missing-table", "one-class"],
)
def test_failed_replace_keeps_version_one(con: sqlml.Connection, broken: str) -> None:
    cur = con.cursor()
    cur.execute(CREATE.format(how=""))
    before = predictions(cur)
    with pytest.raises(sqlml.Error):
        cur.execute(broken)
    assert versions(cur) == [1]
    assert predictions(cur) == before
    assert [r[1] for r in before] == [i >= 20 for i in range(40)]


REDSHIFT = (
    "CREATE MODEL rs FROM (SELECT a, b, c, y FROM t) TARGET y FUNCTION fn "
    "IAM_ROLE default MODEL_TYPE XGBOOST SETTINGS (S3_BUCKET 'b')"
)


def test_redshift_function_lifecycle(con: sqlml.Connection, path: Path) -> None:
    cur = con.cursor()
    cur.execute(REDSHIFT)
    notices = " ".join(str(text) for _, text in cur.messages)
    assert "IAM_ROLE" in notices and "S3_BUCKET" in notices and "ignored" in notices
    (row,) = fetch(cur, "SELECT model_type, function_name, label FROM sqlml.models")
    assert row == ("boosted_tree_classifier", "fn", "y")

    got = fetch(cur, "SELECT fn(a, b, c) FROM t ORDER BY id")
    assert [r[0] for r in got] == [i >= 20 for i in range(40)]
    probs = fetch(cur, "SELECT fn_probabilities(a, b, c) FROM t ORDER BY id")
    for (entries,), expected in zip(probs, (i >= 20 for i in range(40)), strict=True):
        assert [e["label"] for e in entries] == [False, True]
        assert sum(e["prob"] for e in entries) == pytest.approx(1, abs=1e-5)
        assert max(entries, key=lambda e: e["prob"])["label"] is expected
    con.close()

    # a new process opens the file: the function is there without retraining
    script = textwrap.dedent(
        f"""
        import json, sqlml
        con = sqlml.connect({str(path)!r})
        cur = con.cursor()
        cur.execute("SELECT fn(a, b, c) FROM t ORDER BY id")
        labels = [r[0] for r in cur.fetchall()]
        cur.execute("SELECT count(*) FROM sqlml.models")
        print(json.dumps({{"labels": labels, "versions": cur.fetchone()[0]}}))
        con.close()
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=HANG, check=False
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result == {"labels": [i >= 20 for i in range(40)], "versions": 1}

    # DROP MODEL removes the functions
    again = sqlml.connect(str(path))
    try:
        cur = again.cursor()
        assert fetch(cur, "SELECT fn(a, b, c) FROM t WHERE id = 39") == [(True,)]
        cur.execute("DROP MODEL rs")
        with pytest.raises(sqlml.Error, match="fn"):
            cur.execute("SELECT fn(a, b, c) FROM t")
        with pytest.raises(sqlml.Error, match="fn_probabilities"):
            cur.execute("SELECT fn_probabilities(a, b, c) FROM t")
        with pytest.raises(ModelNotFoundError):
            cur.execute("SHOW MODEL rs")
    finally:
        again.close()


def test_replace_moves_or_removes_the_function(con: sqlml.Connection) -> None:
    cur = con.cursor()
    cur.execute(REDSHIFT)
    cur.execute(REDSHIFT.replace("CREATE MODEL", "CREATE OR REPLACE MODEL").replace("fn", "fn2"))
    assert fetch(cur, "SELECT fn2(a, b, c) FROM t WHERE id IN (0, 39) ORDER BY id") == [
        (False,),
        (True,),
    ]
    with pytest.raises(sqlml.Error, match="fn"):
        cur.execute("SELECT fn(a, b, c) FROM t")
    cur.execute(CREATE.format(how="OR REPLACE").replace("MODEL m", "MODEL rs"))
    with pytest.raises(sqlml.Error, match="fn2"):
        cur.execute("SELECT fn2(a, b, c) FROM t")
    assert versions(cur, "rs") == [1, 2, 3]


def test_show_model(con: sqlml.Connection) -> None:
    cur = con.cursor()
    cur.execute(CREATE.format(how=""))
    cur.execute(REDSHIFT)
    rows = dict(fetch(cur, "SHOW MODEL m"))
    assert rows["Model Name"] == "m"
    assert rows["Version"] == "1"
    assert rows["Model Type"] == "logistic_reg"
    assert rows["Target Column"] == "y"
    assert rows["Problem Type"] == "classification"
    assert rows["Function Parameters"] == "a b c"
    assert rows["Training Rows"] == "40"
    assert rows["Training Query"] == "SELECT a, b, c, y FROM t"
    assert "Metric: accuracy" in rows

    cur.execute("SHOW MODEL ALL")
    names = [d[0] for d in cur.description]
    assert names[:5] == ["model_name", "version", "model_type", "label", "function_name"]
    got = [r[:5] for r in cur.fetchall()]
    assert got == [
        ("m", 1, "logistic_reg", "y", None),
        ("rs", 1, "boosted_tree_classifier", "y", "fn"),
    ]


@pytest.mark.parametrize(
    ("clauses", "target", "model_type"),
    [
        ("MODEL_TYPE XGBOOST PROBLEM_TYPE REGRESSION", "v", "boosted_tree_regressor"),
        ("MODEL_TYPE XGBOOST PROBLEM_TYPE BINARY_CLASSIFICATION", "y", "boosted_tree_classifier"),
        ("MODEL_TYPE MLP PROBLEM_TYPE REGRESSION", "v", "dnn_regressor"),
        ("MODEL_TYPE MLP PROBLEM_TYPE MULTICLASS_CLASSIFICATION", "c", "dnn_classifier"),
        ("MODEL_TYPE LINEAR_LEARNER PROBLEM_TYPE REGRESSION", "v", "linear_reg"),
        ("MODEL_TYPE LINEAR_LEARNER PROBLEM_TYPE BINARY_CLASSIFICATION", "y", "logistic_reg"),
        ("MODEL_TYPE XGBOOST", "v", "boosted_tree_regressor"),  # DOUBLE label: regression
    ],
)
def test_redshift_model_types(
    con: sqlml.Connection, clauses: str, target: str, model_type: str
) -> None:
    cur = con.cursor()
    features = ", ".join(c for c in ("a", "b") if c != target)
    cur.execute(
        f"CREATE MODEL r FROM (SELECT {features}, {target} FROM t) TARGET {target} FUNCTION f_r "
        f"IAM_ROLE default {clauses} SETTINGS (S3_BUCKET 'b')"
    )
    assert fetch(cur, "SELECT model_type, label FROM sqlml.models") == [(model_type, target)]
    assert len(fetch(cur, "SELECT f_r(a, b) FROM t")) == 40


def test_redshift_kmeans(con: sqlml.Connection) -> None:
    cur = con.cursor()
    cur.execute(
        "CREATE TABLE pts AS SELECT (i % 3) * 10.0 + (i % 5) / 10.0 AS x, "
        "(i % 3) * -10.0 + (i % 7) / 10.0 AS z FROM range(30) t(i)"
    )
    cur.execute(
        "CREATE MODEL km FROM pts FUNCTION f_km IAM_ROLE default MODEL_TYPE KMEANS "
        "HYPERPARAMETERS DEFAULT EXCEPT (K '3') SETTINGS (S3_BUCKET 'b')"
    )
    ((model_type, options, label),) = fetch(
        cur, "SELECT model_type, options, label FROM sqlml.models"
    )
    assert (model_type, label) == ("kmeans", None)
    assert json.loads(options)["num_clusters"] == 3
    # SageMaker's closest_cluster, 0 to k - 1 (Redshift's k-means tutorial)
    ids = [r[0] for r in fetch(cur, "SELECT f_km(x, z) FROM pts")]
    assert set(ids) == {0, 1, 2}


@pytest.mark.parametrize(
    ("setup", "name"),
    [
        ("", "abs"),  # built in
        ("CREATE MACRO plus_one(x) AS x + 1", "plus_one"),  # the user's own macro
        ("CREATE MACRO fx_probabilities(x) AS x", "fx"),  # the classifier's second function
    ],
)
def test_function_name_the_engine_has_fails_before_training(
    con: sqlml.Connection, path: Path, setup: str, name: str
) -> None:
    cur = con.cursor()
    if setup:
        cur.execute(setup)
    with pytest.raises(sqlml.IntegrityError, match=f"already has a function named {name}"):
        cur.execute(REDSHIFT.replace("FUNCTION fn", f"FUNCTION {name}"))
    with pytest.raises(ModelNotFoundError):  # nothing was stored
        cur.execute("SHOW MODEL rs")
    assert fetch(cur, "SELECT abs(-2)") == [(2,)]
    con.close()
    again = sqlml.connect(str(path))  # and the database still opens
    try:
        assert again.cursor().execute("SELECT count(*) FROM t").fetchall() == [(40,)]
    finally:
        again.close()


def test_a_stored_function_name_that_cannot_register_does_not_lock_the_database(
    con: sqlml.Connection, path: Path
) -> None:
    """A catalog written elsewhere (another tool, an older sqlml) names a function DuckDB has:
    the connection opens, the model still scores through ML.PREDICT."""
    cur = con.cursor()
    cur.execute(REDSHIFT)
    cur.execute("UPDATE sqlml.models SET function_name = 'abs' WHERE name = 'rs'")
    con.close()
    again = sqlml.connect(str(path))
    try:
        cur = again.cursor()
        assert fetch(cur, "SELECT abs(-3)") == [(3,)]
        rows = fetch(cur, "SELECT predicted_y FROM ML.PREDICT(MODEL rs, TABLE t) ORDER BY id")
        assert rows[0] == (False,) and rows[-1] == (True,)
    finally:
        again.close()
