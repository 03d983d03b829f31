"""ML.TRANSFORM(MODEL m, {TABLE t | (query)}): the input through the model's TRANSFORM clause.

https://cloud.google.com/bigquery/docs/reference/standard-sql/bigqueryml-syntax-transform: the
TRANSFORM's output columns (the page's example then shows the input's other columns, and the label,
passed through), with the statistics of training; an error for a model without TRANSFORM. Each
function's output type is its page's (ML.ONE_HOT_ENCODER: ARRAY<STRUCT<index, value>>, index 0 for
NULL; ML.LABEL_ENCODER: INT64; ML.BUCKETIZE: 'bin_k'). Expected values from numpy on the same rows.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import sqlml
from sqlml import errors


@pytest.fixture
def cur(tmp_path: Path) -> Iterator[sqlml.Cursor]:
    connection = sqlml.connect(str(tmp_path / "ml_transform.duckdb"))
    cursor = connection.cursor()
    cursor.execute(
        """CREATE TABLE t AS
           SELECT i AS id, (2 + (i * 37) % 79)::DOUBLE AS x, ((i * 7) % 20) / 10 AS z,
                  ['Basic', 'PRO', 'team'][i % 3 + 1] AS plan, i % 4 AS extra,
                  (3 * (2 + (i * 37) % 79) - (i % 3) * 5)::DOUBLE AS y
           FROM range(45) t(i)"""
    )
    yield cursor
    connection.close()


def fetch(cur: sqlml.Cursor, sql: str) -> list[dict[str, Any]]:
    cur.execute(sql)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def test_the_pages_example_shape_with_the_training_statistics(cur: sqlml.Cursor) -> None:
    """The page's model: two ML.MAX_ABS_SCALER outputs reusing their columns' names."""
    cur.execute(
        "CREATE OR REPLACE MODEL mymodel TRANSFORM (plan, ML.MAX_ABS_SCALER(x) OVER () AS x, "
        "ML.MAX_ABS_SCALER(z) OVER () AS z, y) "
        "OPTIONS (model_type = 'linear_reg', input_label_cols = ['y']) "
        "AS (SELECT * FROM t WHERE y IS NOT NULL)"
    )
    rows = fetch(cur, "SELECT * FROM ML.TRANSFORM(MODEL mymodel, TABLE t)")
    # the outputs, then the input's other columns (id, extra, the label) in the input's order
    assert [d[0] for d in cur.description] == ["plan", "x", "z", "id", "extra", "y"]
    raw = fetch(cur, "SELECT * FROM t")
    x = np.array([r["x"] for r in raw])
    z = np.array([r["z"] for r in raw])
    np.testing.assert_allclose([r["x"] for r in rows], x / np.abs(x).max())
    np.testing.assert_allclose([r["z"] for r in rows], z / np.abs(z).max())
    assert [r["plan"] for r in rows] == [r["plan"] for r in raw]
    assert [r["y"] for r in rows] == [r["y"] for r in raw]
    # new rows get the training statistics, not their own
    out = fetch(
        cur,
        "SELECT x FROM ML.TRANSFORM(MODEL mymodel, (SELECT 160.0 AS x, 0.5 AS z, 'PRO' AS plan))",
    )
    assert out[0]["x"] == pytest.approx(160.0 / np.abs(x).max())


def test_each_functions_output(cur: sqlml.Cursor) -> None:
    cur.execute(
        "CREATE MODEL m TRANSFORM ("
        "ML.STANDARD_SCALER(x) OVER () AS xs, ML.MIN_MAX_SCALER(z) OVER () AS zm, "
        "ML.BUCKETIZE(x, [10, 40]) AS xb, ML.LABEL_ENCODER(plan, 100, 1) OVER () AS pl, "
        "ML.ONE_HOT_ENCODER(plan, 'none', 100, 1) OVER () AS po, "
        "ML.IMPUTER(z, 'median') OVER () AS zi, x * 2 AS x2, y) "
        "OPTIONS (model_type = 'linear_reg', input_label_cols = ['y']) AS SELECT * FROM t"
    )
    raw = fetch(cur, "SELECT * FROM t")
    x = np.array([r["x"] for r in raw])
    z = np.array([r["z"] for r in raw])
    new = (
        "SELECT * FROM (VALUES (5.0, 3.0, 'team', 1), (50.0, NULL, 'gold', 2), "
        "(NULL, 0.2, NULL, 3)) v(x, z, plan, id)"
    )
    rows = fetch(cur, f"SELECT * FROM ML.TRANSFORM(MODEL m, ({new}))")
    assert [d[0] for d in cur.description] == ["xs", "zm", "xb", "pl", "po", "zi", "x2", "id"]
    assert rows[0]["xs"] == pytest.approx((5.0 - x.mean()) / x.std())
    assert rows[2]["xs"] is None
    assert rows[0]["zm"] == 1.0  # capped: 3.0 is above the training maximum
    assert rows[2]["zm"] == pytest.approx((0.2 - z.min()) / (z.max() - z.min()))
    assert [r["xb"] for r in rows] == ["bin_1", "bin_3", None]
    # sorted vocabulary Basic, PRO, team -> 1, 2, 3; unknown and NULL -> 0
    assert [r["pl"] for r in rows] == [3, 0, 0]
    assert [r["po"] for r in rows] == [[{"index": 3, "value": 1.0}]] + [
        [{"index": 0, "value": 1.0}]
    ] * 2
    assert rows[1]["zi"] == pytest.approx(float(np.median(z)))
    assert rows[0]["zi"] == 3.0
    assert [r["x2"] for r in rows] == [10.0, 100.0, None]


def test_a_model_without_transform_is_an_error(cur: sqlml.Cursor) -> None:
    cur.execute(
        "CREATE MODEL plain OPTIONS (model_type = 'linear_reg', input_label_cols = ['y']) "
        "AS SELECT x, y FROM t"
    )
    with pytest.raises(
        errors.ProgrammingError,
        match=r"ML.TRANSFORM applies to models trained with a TRANSFORM clause; model plain is a "
        r"linear_reg model\.",
    ):
        cur.execute("SELECT * FROM ML.TRANSFORM(MODEL plain, TABLE t)")


def test_input_lacking_a_column_the_transform_reads(cur: sqlml.Cursor) -> None:
    cur.execute(
        "CREATE MODEL m TRANSFORM (ML.STANDARD_SCALER(x) OVER () AS xs, z * 2 AS z2, y) "
        "OPTIONS (model_type = 'linear_reg', input_label_cols = ['y']) AS SELECT * FROM t"
    )
    with pytest.raises(errors.SchemaError, match=r"ML.TRANSFORM lacks column\(s\) z"):
        cur.execute("SELECT * FROM ML.TRANSFORM(MODEL m, (SELECT x FROM t))")


def test_dummy_encoding_and_polynomial_expansion(cur: sqlml.Cursor) -> None:
    """ML.ONE_HOT_ENCODER's page: with 'most_frequent' the dropped category keeps its index, with
    value 0.0; ML.POLYNOMIAL_EXPAND's page: a STRUCT of every product, fields f1, f1_f1, f1_f2, ...
    with text values (STRUCT<STRING>)."""
    cur.execute(
        "CREATE TABLE k AS SELECT ['a', 'b', 'b', 'c', 'c', 'c', 'd', 'd'][i % 8 + 1] AS f, "
        "(i % 5)::DOUBLE AS f1, (i % 3)::DOUBLE AS f2, i::DOUBLE AS y FROM range(40) t(i)"
    )
    cur.execute(
        "CREATE MODEL d TRANSFORM (ML.ONE_HOT_ENCODER(f, 'most_frequent', 10, 0) OVER () AS o, "
        "ML.POLYNOMIAL_EXPAND(STRUCT(f1, f2)) AS p, y) "
        "OPTIONS (model_type = 'linear_reg', input_label_cols = ['y']) AS SELECT * FROM k"
    )
    rows = fetch(
        cur,
        "SELECT * FROM ML.TRANSFORM(MODEL d, (SELECT * FROM (VALUES (NULL, 2.0, 3.0), "
        "('a', 1.0, 1.0), ('c', 0.0, 2.0), ('z', 1.0, NULL)) v(f, f1, f2)))",
    )
    # the page's example: c (most frequent) dropped; a, b, c, d -> 1 … 4; NULL, unknown -> 0
    assert [r["o"] for r in rows] == [
        [{"index": 0, "value": 1.0}],
        [{"index": 1, "value": 1.0}],
        [{"index": 3, "value": 0.0}],
        [{"index": 0, "value": 1.0}],
    ]
    assert rows[0]["p"] == {
        "f1": "2.0",
        "f1_f1": "4.0",
        "f1_f2": "6.0",
        "f2": "3.0",
        "f2_f2": "9.0",
    }
    assert rows[3]["p"]["f1"] == "1.0"
    assert rows[3]["p"]["f1_f2"] is None
    # the model itself still drops c: predictions agree with the training info's vocabulary
    cur.execute("SELECT training_info FROM sqlml.models WHERE name = 'd'")
    stats = {r["output"]: r.get("statistics") for r in json.loads(cur.fetchone()[0])["transform"]}
    assert stats["o"] == {"categories": ["a", "b", "d"], "dropped": "c"}


def test_the_pages_example_on_penguins_gives_its_published_values(tmp_path: Path) -> None:
    """The page's example verbatim (dialect='bigquery'), on palmerpenguins (BigQuery's
    ml_datasets.penguins is the same 344 rows; bill_* renamed culmen_* as BigQuery names them):
    its first result row, 0.61409395973154368 and 0.79653679653679654 (36.6 / 59.6 and 184 / 231),
    and its columns."""
    palmerpenguins = pytest.importorskip("palmerpenguins")
    import pyarrow as pa

    frame = palmerpenguins.load_penguins().rename(
        columns={"bill_length_mm": "culmen_length_mm", "bill_depth_mm": "culmen_depth_mm"}
    )
    columns = ["species", "island", "culmen_length_mm", "culmen_depth_mm", "flipper_length_mm"]
    table = pa.Table.from_pandas(frame[[*columns, "body_mass_g", "sex"]], preserve_index=False)
    connection = sqlml.connect(str(tmp_path / "penguins.duckdb"), dialect="bigquery")
    raw = connection.executor.backend.con
    raw.register("source", table)
    raw.execute("CREATE TABLE penguins AS SELECT * FROM source")  # for `bigquery-public-data...`
    cur = connection.cursor()
    cur.execute(
        """CREATE OR REPLACE MODEL `mymodel`
  TRANSFORM(
    species,
    island,
    ML.MAX_ABS_SCALER(culmen_length_mm) OVER () AS culmen_length_mm,
    ML.MAX_ABS_SCALER(flipper_length_mm) OVER () AS flipper_length_mm,
    sex,
    body_mass_g)
  OPTIONS (
    model_type = 'linear_reg',
    input_label_cols = ['body_mass_g'])
AS (
  SELECT *
  FROM `penguins`
  WHERE body_mass_g IS NOT NULL
);"""
    )
    rows = fetch(
        cur,
        """SELECT
  *
FROM
  ML.TRANSFORM(
    MODEL `mymodel`,
    TABLE `penguins`);""",
    )
    assert [d[0] for d in cur.description] == [
        "species",
        "island",
        "culmen_length_mm",
        "flipper_length_mm",
        "sex",
        "culmen_depth_mm",
        "body_mass_g",
    ]
    first = next(r for r in rows if r["body_mass_g"] == 3475.0 and r["culmen_depth_mm"] == 18.4)
    assert first["culmen_length_mm"] == pytest.approx(0.61409395973154368, rel=1e-12)
    assert first["flipper_length_mm"] == pytest.approx(0.79653679653679654, rel=1e-12)
    connection.close()
