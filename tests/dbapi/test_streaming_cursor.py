"""``connection.cursor(streaming=True)``: a query's rows produced as they are fetched (the cursor
``sqlml serve``'s DECLARE uses). The rows must be the ones a regular cursor reads whole; closing
one early, or running another statement between its fetches, must leave the connection usable
and the rows intact; an error in the rows surfaces at the fetch."""

from __future__ import annotations

import pyarrow as pa
import pytest

import sqlml

ROWS = 30_000


@pytest.fixture
def scored(connect):
    con = connect()
    con.execute(
        "CREATE TABLE pts AS SELECT i AS id, (i % 40) / 10.0 AS x, (i % 7) * 1.0 AS z, "
        "CASE WHEN i % 40 >= 20 THEN 1 ELSE 0 END AS y FROM range(2000) t(i)"
    )
    con.execute(
        "CREATE MODEL m OPTIONS (model_type = 'logistic_reg', input_label_cols = ['y']) "
        "AS SELECT x, z, y FROM pts"
    )
    con.execute(
        f"CREATE TABLE big AS SELECT i AS id, (i % 40) / 10.0 AS x, (i % 7) * 1.0 AS z "
        f"FROM range({ROWS}) t(i)"
    )
    return con


QUERIES = [
    # the call alone (served straight from the scorer), and inside a statement (the engine
    # reads the scored rows as a source), with parameters in and around the call
    ("SELECT * FROM ML.PREDICT(MODEL m, TABLE big)", None),
    (
        "SELECT id, predicted_y FROM ML.PREDICT(MODEL m, (SELECT * FROM big WHERE id >= ?)) "
        "WHERE id % 3 <> ? ORDER BY id",
        [100, 1],
    ),
    ("SELECT id, x * 2 AS x2 FROM big WHERE id < ?", [25_000]),
]


@pytest.mark.parametrize("transaction", [False, True], ids=["autocommit", "transaction"])
@pytest.mark.parametrize(("query", "params"), QUERIES, ids=["bare", "inside", "plain"])
def test_streamed_rows_are_the_regular_cursors(scored, query, params, transaction):
    expected = scored.cursor().execute(query, params).fetch_arrow_table()
    assert expected.num_rows > 1_000
    if transaction:
        scored.execute("BEGIN")
    cursor = scored.cursor(streaming=True)
    cursor.execute(query, params)
    assert [d[0] for d in cursor.description] == expected.column_names
    parts = []
    while (batch := cursor.fetch_arrow_batch(4_000)).num_rows:
        assert batch.num_rows <= 4_000
        parts.append(batch)
    assert pa.concat_tables(parts).equals(expected)
    assert cursor.fetchall() == []
    if transaction:
        scored.execute("COMMIT")


def test_fetch_methods_read_the_same_stream(scored):
    expected = scored.execute("SELECT id FROM big ORDER BY id").fetchall()
    cursor = scored.cursor(streaming=True)
    cursor.execute("SELECT id FROM big ORDER BY id")
    first = cursor.fetchone()
    some = cursor.fetchmany(10_000)  # across the stream's batches
    batch = cursor.fetch_arrow_batch(5).column("id").to_pylist()
    rest = cursor.fetchall()
    assert [first, *some, *[(v,) for v in batch], *rest] == expected


@pytest.mark.parametrize("transaction", [False, True], ids=["autocommit", "transaction"])
@pytest.mark.parametrize(
    "query",
    [
        "SELECT * FROM ML.PREDICT(MODEL m, TABLE big)",
        "SELECT id FROM big",
        "SELECT id, predicted_y FROM ML.PREDICT(MODEL m, TABLE big) WHERE id > 5",
    ],
    ids=["bare", "plain", "inside"],
)
def test_closing_early_frees_the_connection(scored, query, transaction):
    if transaction:
        scored.execute("BEGIN")
    cursor = scored.cursor(streaming=True)
    cursor.execute(query)
    assert len(cursor.fetchmany(3)) == 3
    cursor.close()
    other = scored.cursor()
    other.execute("INSERT INTO pts VALUES (9999, 1.0, 1.0, 1)")
    assert other.execute("SELECT count(*) FROM big").fetchone() == (ROWS,)
    # a second streaming statement on a cursor replaces the first's rows
    again = scored.cursor(streaming=True)
    again.execute(query)
    again.fetchmany(2)
    again.execute("SELECT 42")
    assert again.fetchall() == [(42,)]
    if transaction:
        scored.execute("COMMIT")
    assert scored.execute("SELECT count(*) FROM pts WHERE id = 9999").fetchone() == (1,)


def test_another_statement_between_fetches_keeps_the_rows(scored):
    expected = scored.execute(
        "SELECT id, predicted_y FROM ML.PREDICT(MODEL m, TABLE big) ORDER BY id"
    ).fetchall()
    cursor = scored.cursor(streaming=True)
    cursor.execute("SELECT id, predicted_y FROM ML.PREDICT(MODEL m, TABLE big) ORDER BY id")
    head = cursor.fetchmany(100)
    assert scored.execute("SELECT count(*) FROM pts").fetchone() == (2000,)
    assert head + cursor.fetchall() == expected


def test_statements_without_rows_run_as_usual(scored):
    cursor = scored.cursor(streaming=True)
    cursor.execute("CREATE TABLE extra (a INTEGER)")
    assert cursor.description is None
    cursor.execute("INSERT INTO extra SELECT * FROM range(7)")
    assert cursor.rowcount == 7
    cursor.execute("CREATE TABLE scored AS SELECT * FROM ML.PREDICT(MODEL m, TABLE big)")
    assert scored.execute("SELECT count(*) FROM scored").fetchone() == (ROWS,)


def test_an_error_in_the_rows_surfaces_at_the_fetch(scored):
    cursor = scored.cursor(streaming=True)
    # DuckDB's error() raises when the row is computed: after execute() has returned
    cursor.execute(
        "SELECT CASE WHEN i = 150000 THEN error('row 150000 is bad') ELSE i END AS v "
        "FROM range(300000) t(i)"
    )
    with pytest.raises(sqlml.ProgrammingError, match="row 150000 is bad"):
        cursor.fetchall()
    assert cursor.fetchall() == []  # nothing more, as for a regular cursor's failed rows
    assert scored.execute("SELECT count(*) FROM big").fetchone() == (ROWS,)
