"""sqlml's cursor beyond the dbapi20 suite: description and type objects, rowcount, parameter
styles, fetch semantics, interleaved cursors. Every expected value is written out by hand."""

from __future__ import annotations

import pytest
from dbapi_helpers import (
    make_numbers,
)

import sqlml

# --- cursor: description and type objects -----------------------------------------------------------


def test_description_none_after_ddl_and_insert(con):
    cur = con.cursor()
    assert cur.description is None  # nothing executed
    cur.execute("CREATE TABLE t (i INTEGER)")
    assert cur.description is None
    cur.execute("SELECT i FROM t")
    assert cur.description is not None
    cur.execute("INSERT INTO t VALUES (1)")
    assert cur.description is None
    cur.execute("SELECT i FROM t")
    cur.execute("UPDATE t SET i = 2")
    assert cur.description is None
    cur.execute("SELECT i FROM t")
    cur.execute("DELETE FROM t")
    assert cur.description is None
    cur.execute("SELECT i FROM t")
    cur.execute("DROP TABLE t")
    assert cur.description is None


@pytest.mark.parametrize(
    "statement",
    [
        "CREATE TABLE u (i INTEGER)",
        "CREATE VIEW v AS SELECT 1 AS one",
        "CREATE TABLE c AS SELECT 1 AS one",
        "ALTER TABLE t ADD COLUMN j INTEGER",
        "DROP TABLE t",
        "CREATE SEQUENCE seq",
        "SET threads = 2",
        "CHECKPOINT",
        "BEGIN TRANSACTION",
    ],
)
def test_statements_without_rows_have_no_description_nor_result(con, statement):
    cur = con.cursor()
    cur.execute("CREATE TABLE t (i INTEGER)")
    cur.execute("SELECT i FROM t")
    cur.execute(statement)
    assert cur.description is None
    assert cur.rowcount == -1
    with pytest.raises(sqlml.ProgrammingError):
        cur.fetchall()


def test_description_names_and_seven_tuples(typed):
    desc = typed.description
    assert [d[0] for d in desc] == ["s", "i", "d", "ts", "b", "dd", "tm", "bi", "dec", "bo"]
    for column in desc:
        assert isinstance(column, tuple)
        assert len(column) == 7


def test_description_type_codes(typed):
    codes = {d[0]: d[1] for d in typed.description}
    assert codes["s"] == sqlml.STRING
    assert codes["i"] == sqlml.NUMBER
    assert codes["d"] == sqlml.NUMBER
    assert codes["bi"] == sqlml.NUMBER
    assert codes["dec"] == sqlml.NUMBER
    assert codes["ts"] == sqlml.DATETIME
    assert codes["dd"] == sqlml.DATETIME
    assert codes["tm"] == sqlml.DATETIME
    assert codes["b"] == sqlml.BINARY
    # and not equal to the other groups
    assert codes["s"] != sqlml.NUMBER
    assert codes["i"] != sqlml.STRING
    assert codes["ts"] != sqlml.NUMBER
    assert codes["b"] != sqlml.STRING
    assert codes["d"] != sqlml.DATETIME


def test_description_kept_while_fetching(typed):
    typed.fetchall()
    assert typed.description is not None
    assert typed.description[0][0] == "s"


def test_description_of_empty_select(con):
    cur = con.cursor()
    cur.execute("SELECT 1 AS one WHERE false")
    assert [d[0] for d in cur.description] == ["one"]
    assert cur.description[0][1] == sqlml.NUMBER
    assert cur.fetchall() == []


def test_description_of_aliases(con):
    cur = con.cursor()
    cur.execute("SELECT 1 AS a, 'x' AS b, TIMESTAMPTZ '2020-01-01 00:00:00+00' AS c")
    desc = cur.description
    assert [d[0] for d in desc] == ["a", "b", "c"]
    assert desc[0][1] == sqlml.NUMBER
    assert desc[1][1] == sqlml.STRING
    assert desc[2][1] == sqlml.DATETIME


def test_type_objects_are_distinct_and_hashable():
    groups = [sqlml.STRING, sqlml.BINARY, sqlml.NUMBER, sqlml.DATETIME, sqlml.ROWID]
    assert len(set(groups)) == 5
    assert sqlml.STRING == sqlml.STRING
    assert sqlml.STRING != sqlml.NUMBER


@pytest.mark.parametrize(
    ("type_name", "group"),
    [
        ("VARCHAR", "STRING"),
        ("UUID", "STRING"),
        ("BLOB", "BINARY"),
        ("TINYINT", "NUMBER"),
        ("HUGEINT", "NUMBER"),
        ("FLOAT", "NUMBER"),
        ("DECIMAL(18,3)", "NUMBER"),
        ("DATE", "DATETIME"),
        ("TIME", "DATETIME"),
        ("TIMESTAMP WITH TIME ZONE", "DATETIME"),
        ("INTERVAL", "DATETIME"),
    ],
)
def test_type_object_groups(type_name, group):
    assert getattr(sqlml, group) == type_name
    for other in ("STRING", "BINARY", "NUMBER", "DATETIME"):
        if other != group:
            assert getattr(sqlml, other) != type_name


def test_list_column_is_not_a_number(con):
    cur = con.cursor()
    cur.execute("SELECT [1, 2, 3] AS xs, ['a'] AS ys")
    xs, ys = cur.description
    assert xs[1] != sqlml.NUMBER  # a list of integers is not a numeric column
    assert ys[1] != sqlml.STRING


# --- cursor: rowcount -----------------------------------------------------------------------------


def test_rowcount_lifecycle(con):
    cur = con.cursor()
    assert cur.rowcount == -1
    cur.execute("CREATE TABLE t (i INTEGER)")
    assert cur.rowcount == -1
    cur.execute("INSERT INTO t VALUES (1), (2), (3)")
    assert cur.rowcount == 3
    cur.execute("SELECT * FROM t")
    assert cur.rowcount == -1
    cur.execute("UPDATE t SET i = i + 10 WHERE i >= 2")
    assert cur.rowcount == 2
    cur.execute("UPDATE t SET i = 0 WHERE i > 100")
    assert cur.rowcount == 0
    cur.execute("DELETE FROM t WHERE i = 1")
    assert cur.rowcount == 1
    cur.execute("INSERT INTO t SELECT * FROM range(4)")
    assert cur.rowcount == 4
    cur.execute("DELETE FROM t")
    assert cur.rowcount == 6
    cur.execute("DROP TABLE t")
    assert cur.rowcount == -1


def test_executemany_rowcount_is_total(con):
    cur = con.cursor()
    cur.execute("CREATE TABLE t (i INTEGER, s VARCHAR)")
    cur.executemany("INSERT INTO t VALUES (?, ?)", [(1, "a"), (2, "b"), (3, "c"), (4, None)])
    assert cur.rowcount == 4
    assert cur.description is None
    cur.executemany("UPDATE t SET s = 'z' WHERE i <= ?", [(2,), (3,)])
    assert cur.rowcount == 5  # 2 rows, then 3 rows
    cur.execute("SELECT i, s FROM t ORDER BY i")
    assert cur.fetchall() == [(1, "z"), (2, "z"), (3, "z"), (4, None)]


def test_executemany_with_no_parameter_sets(con):
    cur = con.cursor()
    cur.execute("CREATE TABLE t (i INTEGER)")
    cur.executemany("INSERT INTO t VALUES (?)", [])
    assert cur.rowcount in (-1, 0)
    cur.execute("SELECT count(*) FROM t")
    assert cur.fetchall() == [(0,)]


def test_executemany_accepts_a_generator(con):
    cur = con.cursor()
    cur.execute("CREATE TABLE t (i INTEGER)")
    cur.executemany("INSERT INTO t VALUES (?)", ((i,) for i in range(10)))
    assert cur.rowcount == 10
    cur.execute("SELECT sum(i) FROM t")
    assert cur.fetchall() == [(45,)]


def test_executemany_returns_cursor(con):
    cur = con.cursor()
    cur.execute("CREATE TABLE t (i INTEGER)")
    assert cur.executemany("INSERT INTO t VALUES (?)", [(1,)]) is cur


# --- cursor: parameters ---------------------------------------------------------------------------


def test_qmark_parameters(con):
    cur = con.cursor()
    cur.execute("SELECT ? + 1, ?, ?", (41, "text", None))
    assert cur.fetchall() == [(42, "text", None)]


def test_qmark_parameters_as_list(con):
    cur = con.cursor()
    cur.execute("SELECT ? * 2", [21])
    assert cur.fetchone() == (42,)


def test_numeric_dollar_parameters(con):
    cur = con.cursor()
    cur.execute("SELECT $1 + 1, $2, $1", [1, "x"])
    assert cur.fetchall() == [(2, "x", 1)]


def test_named_dollar_parameters(con):
    cur = con.cursor()
    cur.execute("SELECT $a + 1, $b", {"a": 1, "b": "x"})
    assert cur.fetchall() == [(2, "x")]


def test_parameters_in_where_clause(con):
    cur = con.cursor()
    make_numbers(cur, 10)
    cur.execute("SELECT i FROM nums WHERE i BETWEEN ? AND ? ORDER BY i", (3, 5))
    assert cur.fetchall() == [(3,), (4,), (5,)]


def test_parameter_is_not_sql(con):
    cur = con.cursor()
    cur.execute("CREATE TABLE t (s VARCHAR)")
    evil = "x'); DROP TABLE t; --"
    cur.execute("INSERT INTO t VALUES (?)", [evil])
    cur.execute("SELECT s FROM t")
    assert cur.fetchall() == [(evil,)]


def test_unicode_round_trip(con):
    cur = con.cursor()
    cur.execute("SELECT ?::VARCHAR", ["héllo wörld ✓"])
    assert cur.fetchall() == [("héllo wörld ✓",)]


def test_execute_returns_cursor(con):
    cur = con.cursor()
    assert cur.execute("SELECT 1") is cur


def test_multiple_statements_keep_last_result(con):
    cur = con.cursor()
    cur.execute("CREATE TABLE t (i INTEGER); INSERT INTO t VALUES (8); SELECT i FROM t")
    assert cur.fetchall() == [(8,)]


def test_parameters_with_multiple_statements_rejected(con):
    cur = con.cursor()
    with pytest.raises(sqlml.ProgrammingError):
        cur.execute("SELECT ?; SELECT ?", [1])


# --- cursor: fetch ----------------------------------------------------------------------------------


def test_fetch_before_execute_is_programming_error(con):
    cur = con.cursor()
    for fetch in (cur.fetchone, cur.fetchmany, cur.fetchall):
        with pytest.raises(sqlml.ProgrammingError):
            fetch()


@pytest.mark.parametrize(
    "statement",
    [
        "CREATE TABLE u (i INTEGER)",
        "INSERT INTO t VALUES (1)",
        "UPDATE t SET i = 2",
        "DELETE FROM t",
    ],
)
def test_fetch_after_statement_without_result_is_programming_error(con, statement):
    cur = con.cursor()
    cur.execute("CREATE TABLE t (i INTEGER)")
    cur.execute(statement)
    for fetch in (cur.fetchone, cur.fetchmany, cur.fetchall):
        with pytest.raises(sqlml.ProgrammingError):
            fetch()


def test_fetch_after_executemany_is_error(con):
    cur = con.cursor()
    cur.execute("CREATE TABLE t (i INTEGER)")
    cur.executemany("INSERT INTO t VALUES (?)", [(1,), (2,)])
    with pytest.raises(sqlml.Error):
        cur.fetchall()


def test_fetchone_returns_tuples_then_none(con):
    cur = con.cursor()
    make_numbers(cur, 3)
    cur.execute("SELECT i, i * 10 FROM nums ORDER BY i")
    assert cur.fetchone() == (0, 0)
    row = cur.fetchone()
    assert isinstance(row, tuple)
    assert row == (1, 10)
    assert cur.fetchone() == (2, 20)
    assert cur.fetchone() is None
    assert cur.fetchone() is None


def test_fetchmany_default_arraysize_and_changes(con):
    cur = con.cursor()
    make_numbers(cur, 7)
    cur.execute("SELECT i FROM nums ORDER BY i")
    assert cur.arraysize == 1
    assert cur.fetchmany() == [(0,)]
    cur.arraysize = 3
    assert cur.fetchmany() == [(1,), (2,), (3,)]
    assert cur.fetchmany(2) == [(4,), (5,)]
    assert cur.arraysize == 3  # the size argument does not change arraysize
    assert cur.fetchmany() == [(6,)]
    assert cur.fetchmany() == []


def test_fetchmany_size_keyword_and_zero(con):
    cur = con.cursor()
    make_numbers(cur, 3)
    cur.execute("SELECT i FROM nums ORDER BY i")
    assert cur.fetchmany(size=2) == [(0,), (1,)]
    assert cur.fetchmany(0) == []
    assert cur.fetchmany(10) == [(2,)]


def test_fetchmany_negative_size_is_programming_error(con):
    cur = con.cursor()
    cur.execute("SELECT 1")
    with pytest.raises(sqlml.ProgrammingError):
        cur.fetchmany(-1)


def test_fetchall_after_partial_fetch(con):
    cur = con.cursor()
    make_numbers(cur, 4)
    cur.execute("SELECT i FROM nums ORDER BY i")
    cur.fetchone()
    assert cur.fetchall() == [(1,), (2,), (3,)]
    assert cur.fetchall() == []


def test_fetch_many_rows(con):
    cur = con.cursor()
    cur.execute("SELECT count(*), sum(i) FROM (SELECT * FROM range(100000) t(i))")
    assert cur.fetchall() == [(100000, 4999950000)]
    cur.execute("SELECT i FROM range(5000) t(i) ORDER BY i")
    assert len(cur.fetchmany(2500)) == 2500
    rest = cur.fetchall()
    assert len(rest) == 2500
    assert rest[0] == (2500,)
    assert rest[-1] == (4999,)


def test_new_execute_replaces_unread_rows(con):
    cur = con.cursor()
    make_numbers(cur, 5)
    cur.execute("SELECT i FROM nums ORDER BY i")
    cur.fetchone()
    cur.execute("SELECT 'new'")
    assert cur.fetchall() == [("new",)]


def test_iteration(con):
    cur = con.cursor()
    make_numbers(cur, 4)
    cur.execute("SELECT i FROM nums ORDER BY i")
    assert next(iter(cur)) == (0,)
    assert list(cur) == [(1,), (2,), (3,)]
    assert list(cur) == []
    assert [row for row in cur.execute("SELECT i FROM nums WHERE i < 2 ORDER BY i")] == [
        (0,),
        (1,),
    ]


def test_iteration_without_result_is_error(con):
    cur = con.cursor()
    with pytest.raises(sqlml.Error):
        list(cur)


# --- interleaved cursors ---------------------------------------------------------------------------


def test_two_cursors_interleave_selects(con):
    a = con.cursor()
    b = con.cursor()
    make_numbers(a, 5)
    a.execute("SELECT i FROM nums ORDER BY i")
    assert a.fetchone() == (0,)
    b.execute("SELECT 'b', 42")
    assert a.fetchone() == (1,)
    assert b.fetchall() == [("b", 42)]
    assert a.fetchall() == [(2,), (3,), (4,)]


def test_two_cursors_interleave_with_dml(con):
    a = con.cursor()
    b = con.cursor()
    make_numbers(a, 5)
    a.execute("SELECT i FROM nums ORDER BY i")
    assert a.fetchmany(2) == [(0,), (1,)]
    b.execute("INSERT INTO nums VALUES (99)")
    assert b.rowcount == 1
    assert a.fetchall() == [(2,), (3,), (4,)]  # a's result was taken before the insert
    a.execute("SELECT count(*) FROM nums")
    assert a.fetchall() == [(6,)]


def test_two_cursors_take_turns_repeatedly(con):
    a = con.cursor()
    b = con.cursor()
    a.execute("SELECT i FROM range(4) t(i) ORDER BY i")
    b.execute("SELECT i FROM range(10, 14) t(i) ORDER BY i")
    got = []
    for _ in range(4):
        got.append(a.fetchone()[0])
        got.append(b.fetchone()[0])
    assert got == [0, 10, 1, 11, 2, 12, 3, 13]
    assert a.fetchone() is None
    assert b.fetchone() is None


def test_interleaved_cursor_keeps_description(con):
    a = con.cursor()
    b = con.cursor()
    a.execute("SELECT 1 AS x, 'y' AS y UNION ALL SELECT 2, 'z'")
    a.fetchone()
    b.execute("SELECT 3 AS other")
    assert [d[0] for d in a.description] == ["x", "y"]
    assert [d[0] for d in b.description] == ["other"]
    assert a.fetchall() == [(2, "z")]


def test_connection_execute_shortcut(con):
    cur = con.execute("SELECT ? + 1", [1])
    assert isinstance(cur, sqlml.Cursor)
    assert cur.fetchall() == [(2,)]


def test_cursor_connection_attribute(con):
    assert con.cursor().connection is con


def test_lastrowid_is_none(con):
    cur = con.cursor()
    cur.execute("CREATE TABLE t (i INTEGER)")
    cur.execute("INSERT INTO t VALUES (1)")
    assert cur.lastrowid is None


# --- cursor: close --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "use",
    [
        lambda cur: cur.execute("SELECT 1"),
        lambda cur: cur.executemany("SELECT ?", [(1,)]),
        lambda cur: cur.fetchone(),
        lambda cur: cur.fetchmany(),
        lambda cur: cur.fetchall(),
        lambda cur: cur.callproc("x"),
        lambda cur: cur.nextset(),
        lambda cur: cur.setinputsizes([1]),
        lambda cur: cur.setoutputsize(1),
        lambda cur: cur.close(),
        lambda cur: cur.fetch_arrow_table(),
    ],
    ids=[
        "execute",
        "executemany",
        "fetchone",
        "fetchmany",
        "fetchall",
        "callproc",
        "nextset",
        "setinputsizes",
        "setoutputsize",
        "close",
        "fetch_arrow_table",
    ],
)
def test_cursor_use_after_close_is_interface_error(con, use):
    cur = con.cursor()
    cur.execute("SELECT * FROM range(3)")
    cur.close()
    with pytest.raises(sqlml.InterfaceError):
        use(cur)


def test_closing_a_cursor_leaves_others_working(con):
    a = con.cursor()
    b = con.cursor()
    a.execute("SELECT i FROM range(3) t(i) ORDER BY i")
    a.fetchone()
    b.execute("SELECT i FROM range(5, 8) t(i) ORDER BY i")
    b.fetchone()
    a.close()
    assert b.fetchall() == [(6,), (7,)]
    c = con.cursor()
    assert c.execute("SELECT 1").fetchall() == [(1,)]


def test_closing_a_live_cursor_frees_the_connection(con):
    a = con.cursor()
    a.execute("SELECT i FROM range(3) t(i)")
    a.close()
    b = con.cursor()
    b.execute("SELECT 5")
    assert b.fetchall() == [(5,)]


@pytest.mark.parametrize("in_transaction", [False, True], ids=["autocommit", "transaction"])
def test_unread_rows_do_not_block_the_next_ml_statement(con, in_transaction):
    """DuckDB 2 refuses other work on a connection while an execute() result is unread
    (ResourceInUseException: found by tests/server/test_server_fuzz.py, a SELECT read partly and
    then an EXPLAIN of ML.PREDICT on the same cursor). Re-executing the cursor drops those rows;
    inside a transaction the transaction stays usable."""
    cur = con.cursor()
    cur.execute("CREATE TABLE unread AS SELECT i AS x, i % 2 = 0 AS y FROM range(60) t(i)")
    cur.execute(
        "CREATE MODEL unread_m OPTIONS (model_type = 'logistic_reg', input_label_cols = ['y']) "
        "AS SELECT x, y FROM unread"
    )
    if in_transaction:
        cur.execute("BEGIN")
    cur.execute("SELECT * FROM range(5000000)")
    assert len(cur.fetchmany(3)) == 3
    cur.execute("EXPLAIN SELECT * FROM ML.PREDICT(MODEL unread_m, TABLE unread)")
    assert cur.fetchall()
    cur.execute("SELECT * FROM range(5000000)")
    cur.fetchmany(3)
    cur.execute("SELECT count(*) FROM ML.PREDICT(MODEL unread_m, TABLE unread)")
    assert cur.fetchall() == [(60,)]
    if in_transaction:
        cur.execute("COMMIT")
    cur.execute("SELECT count(*) FROM unread")
    assert cur.fetchall() == [(60,)]
