"""BigQuery's default label on the paths around training (TRANSFORM, hyperparameter tuning): with
no input_label_cols, the column (or TRANSFORM output) named ``label`` is the label.

https://cloud.google.com/bigquery/docs/reference/standard-sql/bigqueryml-syntax-create-glm#input_label_cols
("Defaults to `label`")
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

import sqlml
from sqlml.errors import SchemaError

N = 80
X = np.linspace(-4.0, 4.0, N)
Z = (np.arange(N) * 7 % 11).astype(np.float64)


@pytest.fixture
def con(tmp_path: Path) -> sqlml.Connection:
    connection = sqlml.connect(str(tmp_path / "labels.duckdb"))
    raw = connection.executor.backend.con
    raw.register("src", pa.table({"x": X, "z": Z, "label": 2 * X - Z + 1}))
    raw.execute("CREATE TABLE t AS SELECT * FROM src")
    raw.unregister("src")
    return connection


def test_transform_passes_the_default_label_through(con: sqlml.Connection) -> None:
    """The label is the TRANSFORM output named label; the features are the other outputs."""
    cur = con.cursor()
    cur.execute(
        "CREATE MODEL m TRANSFORM (ML.STANDARD_SCALER(x) OVER () AS xs, z, label) "
        "OPTIONS (model_type = 'linear_reg') AS SELECT * FROM t"
    )
    cur.execute("SHOW MODEL m")
    assert dict(cur.fetchall())["Target Column"] == "label"
    cur.execute("SELECT x, predicted_label FROM ML.PREDICT(MODEL m, TABLE t) ORDER BY x")
    predicted = np.array([r[1] for r in cur.fetchall()])
    np.testing.assert_allclose(predicted, 2 * X - Z + 1, atol=1e-4)  # an exact linear fit


def test_transform_without_a_label_output_names_both_fixes(con: sqlml.Connection) -> None:
    with pytest.raises(SchemaError, match=r"input_label_cols.*`label`"):
        con.cursor().execute(
            "CREATE MODEL m TRANSFORM (x, z) OPTIONS (model_type = 'linear_reg') AS SELECT * FROM t"
        )


def test_tuning_uses_the_default_label(con: sqlml.Connection) -> None:
    cur = con.cursor()
    cur.execute(
        "CREATE MODEL m OPTIONS (model_type = 'linear_reg', num_trials = 2, "
        "l2_reg = HPARAM_CANDIDATES([0.0, 1.0])) AS SELECT * FROM t"
    )
    cur.execute("SELECT * FROM ML.EVALUATE(MODEL m)")
    names = [d[0] for d in cur.description]
    assert "r2_score" in names
