"""Constructors round-tripping through a table, the optional PEP 249 methods, context managers,
the Arrow extension and the statement classification helper. Expected values written by hand."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pyarrow as pa
import pytest

import sqlml
from sqlml import dbapi

# --- constructors round-tripping through a table -------------------------------------------------------


@pytest.fixture
def roundtrip(con):
    cur = con.cursor()
    cur.execute(
        "CREATE TABLE rt (id INTEGER, d DATE, t TIME, ts TIMESTAMP, b BLOB, s VARCHAR, x DOUBLE)"
    )
    return cur


def test_date_round_trip(roundtrip):
    roundtrip.execute("INSERT INTO rt (id, d) VALUES (1, ?)", [sqlml.Date(2002, 12, 25)])
    roundtrip.execute("SELECT d FROM rt")
    value = roundtrip.fetchone()[0]
    assert value == dt.date(2002, 12, 25)
    assert type(value) is dt.date
    assert roundtrip.description[0][1] == sqlml.DATETIME


def test_time_round_trip(roundtrip):
    roundtrip.execute("INSERT INTO rt (id, t) VALUES (1, ?)", [sqlml.Time(13, 45, 30)])
    roundtrip.execute("SELECT t FROM rt")
    assert roundtrip.fetchone() == (dt.time(13, 45, 30),)
    assert roundtrip.description[0][1] == sqlml.DATETIME


def test_timestamp_round_trip(roundtrip):
    value = sqlml.Timestamp(2002, 12, 25, 13, 45, 30, 123456)
    roundtrip.execute("INSERT INTO rt (id, ts) VALUES (1, ?)", [value])
    roundtrip.execute("SELECT ts FROM rt")
    assert roundtrip.fetchone() == (dt.datetime(2002, 12, 25, 13, 45, 30, 123456),)
    assert roundtrip.description[0][1] == sqlml.DATETIME


def test_from_ticks_round_trip(roundtrip, utc):
    roundtrip.execute(
        "INSERT INTO rt (id, d, t, ts) VALUES (1, ?, ?, ?)",
        [
            sqlml.DateFromTicks(1_000_000_000),
            sqlml.TimeFromTicks(1_000_000_000),
            sqlml.TimestampFromTicks(1_000_000_000),
        ],
    )
    roundtrip.execute("SELECT d, t, ts FROM rt")
    assert roundtrip.fetchall() == [
        (dt.date(2001, 9, 9), dt.time(1, 46, 40), dt.datetime(2001, 9, 9, 1, 46, 40))
    ]


def test_from_ticks_at_epoch(utc):
    assert sqlml.DateFromTicks(0) == dt.date(1970, 1, 1)
    assert sqlml.TimeFromTicks(3661) == dt.time(1, 1, 1)
    assert sqlml.TimestampFromTicks(86400 + 3661) == dt.datetime(1970, 1, 2, 1, 1, 1)


def test_binary_round_trip(roundtrip):
    payload = sqlml.Binary(b"\x00\x01\xfe\xff binary \x00")
    roundtrip.execute("INSERT INTO rt (id, b) VALUES (1, ?)", [payload])
    roundtrip.execute("SELECT b FROM rt")
    assert roundtrip.fetchone() == (b"\x00\x01\xfe\xff binary \x00",)
    assert roundtrip.description[0][1] == sqlml.BINARY


def test_binary_accepts_bytearray_memoryview_and_text():
    assert sqlml.Binary(bytearray(b"\x01\x02")) == b"\x01\x02"
    assert sqlml.Binary(memoryview(b"ab")) == b"ab"
    assert sqlml.Binary("é") == b"\xc3\xa9"
    assert isinstance(sqlml.Binary(bytearray(b"x")), bytes)


def test_empty_binary_round_trip(roundtrip):
    roundtrip.execute("INSERT INTO rt (id, b) VALUES (1, ?)", [sqlml.Binary(b"")])
    roundtrip.execute("SELECT b FROM rt")
    assert roundtrip.fetchall() == [(b"",)]


def test_none_null_round_trip(roundtrip):
    roundtrip.execute(
        "INSERT INTO rt VALUES (?, ?, ?, ?, ?, ?, ?)", [1, None, None, None, None, None, None]
    )
    roundtrip.execute("SELECT d, t, ts, b, s, x FROM rt")
    assert roundtrip.fetchall() == [(None, None, None, None, None, None)]
    roundtrip.execute("SELECT count(*) FROM rt WHERE s IS NULL AND x IS NULL")
    assert roundtrip.fetchall() == [(1,)]
    roundtrip.execute("SELECT NULL, CAST(NULL AS INTEGER)")
    assert roundtrip.fetchall() == [(None, None)]


def test_other_values_round_trip(con):
    cur = con.cursor()
    cur.execute(
        "SELECT 1::INTEGER, 2::BIGINT, 1.5::DOUBLE, 1.25::DECIMAL(10, 2), true, 'x'::VARCHAR"
    )
    assert cur.fetchall() == [(1, 2, 1.5, Decimal("1.25"), True, "x")]


def test_all_columns_round_trip(con, typed):
    assert typed.fetchall() == [
        (
            "x",
            1,
            1.5,
            dt.datetime(2020, 1, 1, 10, 0, 0),
            b"\x00\xff",
            dt.date(2020, 1, 2),
            dt.time(12, 34, 56),
            5,
            Decimal("1.25"),
            True,
        )
    ]


# --- nextset / callproc / setinputsizes / setoutputsize ---------------------------------------------


def test_nextset_not_supported_before_and_after_execute(con):
    cur = con.cursor()
    with pytest.raises(sqlml.NotSupportedError):
        cur.nextset()
    cur.execute("SELECT 1; SELECT 2")
    with pytest.raises(sqlml.NotSupportedError):
        cur.nextset()


def test_callproc_not_supported(con):
    cur = con.cursor()
    with pytest.raises(sqlml.NotSupportedError):
        cur.callproc("anything")
    with pytest.raises(sqlml.NotSupportedError):
        cur.callproc("anything", (1, 2))


def test_setinputsizes_and_setoutputsize_are_noops(con):
    cur = con.cursor()
    cur.execute("SELECT i FROM range(3) t(i) ORDER BY i")
    cur.fetchone()
    assert cur.setinputsizes([None, 10]) is None
    assert cur.setoutputsize(5) is None
    assert cur.setoutputsize(5, 0) is None
    assert cur.fetchall() == [(1,), (2,)]  # the result is untouched


# --- context managers ----------------------------------------------------------------------------


def test_connection_context_manager_commits_and_closes(connect):
    with connect(autocommit=False) as c:
        c.cursor().execute("CREATE TABLE t (i INTEGER)")
        c.cursor().execute("INSERT INTO t VALUES (10)")
    assert c.closed is True
    other = connect()
    assert other.cursor().execute("SELECT i FROM t").fetchall() == [(10,)]


def test_connection_context_manager_rolls_back_on_error(connect):
    setup = connect()
    setup.cursor().execute("CREATE TABLE t (i INTEGER)")
    setup.close()
    with pytest.raises(RuntimeError), connect(autocommit=False) as c:
        c.cursor().execute("INSERT INTO t VALUES (11)")
        raise RuntimeError("boom")
    assert c.closed is True
    other = connect()
    assert other.cursor().execute("SELECT count(*) FROM t").fetchall() == [(0,)]


def test_connection_context_manager_returns_connection(connect):
    c = connect()
    with c as entered:
        assert entered is c


def test_connection_context_manager_after_explicit_close(connect):
    with connect() as c:
        c.close()
    assert c.closed is True


def test_cursor_context_manager_closes(con):
    with con.cursor() as cur:
        assert isinstance(cur, sqlml.Cursor)
        cur.execute("SELECT 1")
        assert cur.fetchall() == [(1,)]
    with pytest.raises(sqlml.InterfaceError):
        cur.execute("SELECT 1")
    assert con.cursor().execute("SELECT 2").fetchall() == [(2,)]


def test_cursor_context_manager_after_explicit_close(con):
    with con.cursor() as cur:
        cur.close()
    with pytest.raises(sqlml.InterfaceError):
        cur.fetchall()


# --- fetch_arrow_table extension -------------------------------------------------------------------


def test_fetch_arrow_table(con):
    cur = con.cursor()
    cur.execute("CREATE TABLE t (i INTEGER, s VARCHAR)")
    cur.execute("INSERT INTO t VALUES (1, 'a'), (2, 'b'), (3, NULL)")
    cur.execute("SELECT i, s FROM t ORDER BY i")
    table = cur.fetch_arrow_table()
    assert isinstance(table, pa.Table)
    assert table.column_names == ["i", "s"]
    assert table.schema.field("i").type == pa.int32()
    assert table.schema.field("s").type == pa.string()
    assert table.to_pydict() == {"i": [1, 2, 3], "s": ["a", "b", None]}


def test_fetch_arrow_table_returns_remaining_rows(con):
    cur = con.cursor()
    cur.execute("SELECT i FROM range(5) t(i) ORDER BY i")
    assert cur.fetchone() == (0,)
    table = cur.fetch_arrow_table()
    assert table.to_pydict() == {"i": [1, 2, 3, 4]}
    assert cur.fetchall() == []


def test_fetch_arrow_table_after_interleaving_keeps_rows_and_types(con):
    a = con.cursor()
    b = con.cursor()
    a.execute("SELECT CAST(i AS INTEGER) AS i FROM range(4) t(i) ORDER BY i")
    a.fetchone()
    b.execute("SELECT 1")
    table = a.fetch_arrow_table()
    assert table.to_pydict() == {"i": [1, 2, 3]}
    assert table.schema.field("i").type == pa.int32()  # same type as without interleaving


def test_fetch_arrow_table_when_exhausted_keeps_columns(con):
    cur = con.cursor()
    cur.execute("SELECT CAST(i AS INTEGER) AS i FROM range(2) t(i)")
    cur.fetchall()
    table = cur.fetch_arrow_table()
    assert table.num_rows == 0
    assert table.column_names == ["i"]


def test_fetch_arrow_table_without_result_is_programming_error(con):
    cur = con.cursor()
    with pytest.raises(sqlml.ProgrammingError):
        cur.fetch_arrow_table()
    cur.execute("CREATE TABLE t (i INTEGER)")
    with pytest.raises(sqlml.ProgrammingError):
        cur.fetch_arrow_table()


# --- statement classification helper ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("sql", "keyword"),
    [
        ("select 1", "SELECT"),
        ("  \n insert into t values (1)", "INSERT"),
        ("-- comment\nUPDATE t SET i = 1", "UPDATE"),
        ("/* block */ delete from t", "DELETE"),
        ("(SELECT 1)", "SELECT"),
        ("", ""),
    ],
)
def test_first_keyword(sql, keyword):
    assert dbapi.first_keyword(sql) == keyword
