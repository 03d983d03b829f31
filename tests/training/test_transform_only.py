"""model_type = 'transform_only': a model that is only its TRANSFORM clause.

https://cloud.google.com/bigquery/docs/reference/standard-sql/bigqueryml-syntax-create-transform:
the model fits the TRANSFORM's statistics on the training query; ML.TRANSFORM applies them to new
rows, and a model trained on ML.TRANSFORM's output predicts. Expected values are numpy's on the
table's rows; the exported graph runs in ONNX Runtime.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import pytest

import sqlml
from sqlml import errors


def fetch(cur: sqlml.Cursor, sql: str) -> list[dict[str, Any]]:
    cur.execute(sql)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


@pytest.fixture
def cur(tmp_path: Path) -> Iterator[sqlml.Cursor]:
    connection = sqlml.connect(str(tmp_path / "transform_only.duckdb"))
    cursor = connection.cursor()
    cursor.execute(
        """CREATE TABLE t AS
           SELECT i AS id, (2 + (i * 37) % 79)::DOUBLE AS x, ((i * 7) % 20) / 10 AS z,
                  ['Basic', 'PRO', 'team'][i % 3 + 1] AS plan,
                  (3 * (2 + (i * 37) % 79) - 4 * ((i * 7) % 20) / 10)::DOUBLE AS y
           FROM range(45) t(i)"""
    )
    cursor.execute(
        """CREATE MODEL prep
           TRANSFORM (ML.STANDARD_SCALER(x) OVER () AS xs, z, lower(plan) AS plan)
           OPTIONS (model_type = 'transform_only')
           AS SELECT x, z, plan FROM t WHERE id < 30"""
    )
    yield cursor
    connection.close()


def test_ml_transform_applies_the_statistics_of_the_training_query(cur: sqlml.Cursor) -> None:
    """xs is standardized by the mean and population standard deviation of the 30 training rows
    (sklearn's StandardScaler, as for a TRANSFORM of any model), applied to all 45."""
    train = np.array([r["x"] for r in fetch(cur, "SELECT x FROM t WHERE id < 30")])
    rows = fetch(cur, "SELECT * FROM ML.TRANSFORM(MODEL prep, TABLE t)")
    assert [k for k in rows[0] if k in ("xs", "z", "plan")] == ["xs", "z", "plan"]
    raw = {r["id"]: r for r in fetch(cur, "SELECT * FROM t")}
    for row in rows:
        x = raw[row["id"]]["x"]
        assert row["xs"] == pytest.approx((x - train.mean()) / train.std())
        assert row["plan"] == raw[row["id"]]["plan"].lower()


def test_feature_info_describes_the_columns_it_read(cur: sqlml.Cursor) -> None:
    info = {r["input"]: r for r in fetch(cur, "SELECT * FROM ML.FEATURE_INFO(MODEL prep)")}
    assert list(info) == ["x", "z", "plan"]
    train = np.array([r["x"] for r in fetch(cur, "SELECT x FROM t WHERE id < 30")])
    assert info["x"]["mean"] == pytest.approx(train.mean())
    assert info["x"]["stddev"] == pytest.approx(train.std(ddof=1))
    assert info["plan"]["category_count"] == 3  # 'Basic', 'PRO', 'team', before lower()


def test_a_model_trains_on_its_output_and_predicts(cur: sqlml.Cursor) -> None:
    """y = 3x − 4z exactly, so a linear model on xs (a linear function of x) and z fits it."""
    cur.execute(
        """CREATE MODEL reg OPTIONS (model_type = 'linear_reg', input_label_cols = ['y'])
           AS SELECT xs, z, y FROM ML.TRANSFORM(MODEL prep, TABLE t) WHERE y IS NOT NULL"""
    )
    cur.execute("CREATE TABLE prepared AS SELECT * FROM ML.TRANSFORM(MODEL prep, TABLE t)")
    rows = fetch(cur, "SELECT * FROM ML.PREDICT(MODEL reg, TABLE prepared)")
    assert len(rows) == 45
    for row in rows:
        assert row["predicted_y"] == pytest.approx(row["y"], abs=1e-3)


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM ML.PREDICT(MODEL prep, TABLE t)",
        "SELECT * FROM ML.EVALUATE(MODEL prep)",
        "SELECT * FROM ML.WEIGHTS(MODEL prep)",
    ],
)
def test_other_functions_say_it_is_only_a_transform(cur: sqlml.Cursor, sql: str) -> None:
    with pytest.raises(errors.ProgrammingError, match=r"transform_only model: it has no estim"):
        cur.execute(sql)


def test_its_exported_graph_computes_the_preprocessed_columns(
    cur: sqlml.Cursor, tmp_path: Path
) -> None:
    """The stored graph is the TRANSFORM's preprocessing: raw x in, the standardized x out first."""
    path = tmp_path / "prep.onnx"
    cur.execute(f"EXPORT MODEL prep OPTIONS (uri = '{path}')")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["x", "z", "plan"]
    x = np.array([[2.0], [80.0]], dtype=np.float32)
    out = session.run(
        None,
        {
            "x": x,
            "z": np.zeros((2, 1), np.float32),
            "plan": np.array([["basic"], ["team"]], dtype=object),
        },
    )[0]
    train = np.array([r["x"] for r in fetch(cur, "SELECT x FROM t WHERE id < 30")])
    assert out[:, 0] == pytest.approx((x[:, 0] - train.mean()) / train.std(), rel=1e-5)


@pytest.mark.parametrize(
    ("sql", "error", "match"),
    [
        (
            "CREATE MODEL bad OPTIONS (model_type = 'transform_only') AS SELECT x FROM t",
            errors.ProgrammingError,
            r"is its TRANSFORM clause, which is missing",
        ),
        (
            "CREATE MODEL bad TRANSFORM (x, y) OPTIONS (model_type = 'transform_only', "
            "input_label_cols = ['y']) AS SELECT x, y FROM t",
            errors.OptionError,
            r"'input_label_cols' option does not apply to model_type 'transform_only'",
        ),
    ],
)
def test_misuse_is_a_clear_error(cur: sqlml.Cursor, sql: str, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        cur.execute(sql)
