"""Parameters in ML statements: ``?``, ``$n`` and ``$name`` split between each call's input and the
statement around it, with the meaning they have in plain SQL."""

from __future__ import annotations

import pytest

import sqlml


@pytest.fixture(scope="module")
def cur(tmp_path_factory: pytest.TempPathFactory) -> sqlml.Cursor:
    con = sqlml.connect(str(tmp_path_factory.mktemp("params") / "p.duckdb"))
    cursor = con.cursor()
    cursor.execute(
        "CREATE TABLE t AS SELECT range::DOUBLE AS x, range * 2 + 1.0 AS y FROM range(10)"
    )
    cursor.execute(
        "CREATE MODEL m OPTIONS (model_type = 'linear_reg', input_label_cols = ['y']) "
        "AS SELECT x, y FROM t"
    )
    return cursor


INNER_AND_OUTER = [
    (
        "SELECT x FROM ML.PREDICT(MODEL m, (SELECT x FROM t WHERE x > ?)) WHERE x < ? ORDER BY x",
        [1, 5],
    ),
    (
        "SELECT x FROM ML.PREDICT(MODEL m, (SELECT x FROM t WHERE x > $1)) WHERE x < $2 ORDER BY x",
        [1, 5],
    ),
    (
        "SELECT x FROM ML.PREDICT(MODEL m, (SELECT x FROM t WHERE x > $2)) WHERE x < $1 ORDER BY x",
        [5, 1],
    ),
    (
        "SELECT x FROM ML.PREDICT(MODEL m, (SELECT x FROM t WHERE x > $lo)) WHERE x < $hi ORDER BY x",
        {"lo": 1, "hi": 5},
    ),
]


@pytest.mark.parametrize(("sql", "params"), INNER_AND_OUTER)
def test_placeholders_inside_and_outside_a_call(
    cur: sqlml.Cursor, sql: str, params: object
) -> None:
    cur.execute(sql, params)
    assert cur.fetchall() == [(2.0,), (3.0,), (4.0,)]


def test_a_numbered_placeholder_used_twice(cur: sqlml.Cursor) -> None:
    cur.execute(
        "SELECT x, round(predicted_y, 3) FROM ML.PREDICT(MODEL m, "
        "(SELECT x FROM t WHERE x = $1 OR x = $1 + 1)) ORDER BY x",
        [3],
    )
    assert cur.fetchall() == [(3.0, 7.0), (4.0, 9.0)]


def test_missing_values_are_named(cur: sqlml.Cursor) -> None:
    with pytest.raises(sqlml.ProgrammingError, match=r"\$2"):
        cur.execute("SELECT * FROM ML.PREDICT(MODEL m, (SELECT x FROM t WHERE x > $2))", [1])
    with pytest.raises(sqlml.ProgrammingError, match=r"\$hi"):
        cur.execute("SELECT * FROM ML.PREDICT(MODEL m, (SELECT x FROM t WHERE x > $hi))", {"lo": 1})
