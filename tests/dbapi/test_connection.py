"""sqlml's connection beyond the dbapi20 suite: engine errors as the right PEP 249 class,
transactions, autocommit, closing. Every expected value is written out by hand."""

from __future__ import annotations

import pytest
from dbapi_helpers import (
    make_numbers,
)

import sqlml

# --- engine errors arrive as the right class -------------------------------------------------------


@pytest.fixture
def errcur(con):
    cur = con.cursor()
    cur.execute("CREATE TABLE k (id INTEGER PRIMARY KEY, v VARCHAR NOT NULL)")
    cur.execute("INSERT INTO k VALUES (1, 'one')")
    return cur


def test_unknown_table_is_programming_error(errcur):
    with pytest.raises(sqlml.ProgrammingError, match="nosuch"):
        errcur.execute("SELECT * FROM nosuch")


def test_unknown_column_is_programming_error(errcur):
    with pytest.raises(sqlml.ProgrammingError, match="nosuchcol"):
        errcur.execute("SELECT nosuchcol FROM k")


def test_syntax_error_is_programming_error(errcur):
    with pytest.raises(sqlml.ProgrammingError):
        errcur.execute("SELEC 1")


def test_primary_key_violation_is_integrity_error(errcur):
    with pytest.raises(sqlml.IntegrityError):
        errcur.execute("INSERT INTO k VALUES (1, 'again')")


def test_not_null_violation_is_integrity_error(errcur):
    with pytest.raises(sqlml.IntegrityError):
        errcur.execute("INSERT INTO k VALUES (2, NULL)")


def test_failed_cast_is_data_error(errcur):
    with pytest.raises(sqlml.DataError):
        errcur.execute("SELECT CAST('abc' AS INTEGER)")


def test_bad_date_literal_is_data_error(errcur):
    with pytest.raises(sqlml.DataError):
        errcur.execute("SELECT CAST('not a date' AS DATE)")


def test_integer_overflow_is_data_error(errcur):
    with pytest.raises(sqlml.DataError):
        errcur.execute("SELECT CAST(2147483647 AS INTEGER) + 1")


def test_integer_division_by_zero_as_duckdb_classifies_it(errcur):
    # DuckDB raises InvalidInputException, which its own module files under ProgrammingError.
    with pytest.raises(sqlml.ProgrammingError, match="Division by zero"):
        errcur.execute("SELECT 1 // 0")


def test_float_division_by_zero_is_not_an_error(errcur):
    errcur.execute("SELECT 1 / 0")
    assert errcur.fetchall() == [(float("inf"),)]


def test_wrong_number_of_parameters_is_programming_error(errcur):
    with pytest.raises(sqlml.ProgrammingError):
        errcur.execute("SELECT ?, ?", [1])
    with pytest.raises(sqlml.ProgrammingError):
        errcur.execute("SELECT ?", [1, 2])


def test_execute_rejects_non_text_and_empty_statements(errcur):
    with pytest.raises(sqlml.ProgrammingError):
        errcur.execute(123)
    with pytest.raises(sqlml.ProgrammingError):
        errcur.execute("")
    with pytest.raises(sqlml.ProgrammingError):
        errcur.execute("-- only a comment")


def test_engine_errors_are_not_raw_duckdb_errors(errcur):
    import duckdb

    with pytest.raises(sqlml.DatabaseError) as info:
        errcur.execute("SELECT * FROM nosuch")
    assert not isinstance(info.value, duckdb.Error)


def test_unknown_engine_is_not_supported():
    with pytest.raises(sqlml.NotSupportedError):
        sqlml.connect(engine="postgres")


def test_read_only_missing_file_is_operational_error(tmp_path):
    with pytest.raises(sqlml.OperationalError):
        sqlml.connect(str(tmp_path / "missing.duckdb"), read_only=True)


def test_write_on_read_only_connection_fails(db_path, connect):
    setup = connect()
    setup.cursor().execute("CREATE TABLE r (i INTEGER)")
    setup.close()
    ro = connect(read_only=True)
    cur = ro.cursor()
    with pytest.raises(sqlml.ProgrammingError, match="read-only"):
        cur.execute("INSERT INTO r VALUES (1)")
    cur.execute("SELECT count(*) FROM r")
    assert cur.fetchall() == [(0,)]


def test_error_resets_description_and_rowcount(errcur):
    errcur.execute("SELECT id FROM k")
    with pytest.raises(sqlml.ProgrammingError):
        errcur.execute("SELECT * FROM nosuch")
    assert errcur.description is None
    assert errcur.rowcount == -1
    with pytest.raises(sqlml.Error):
        errcur.fetchall()


# --- connection: close ----------------------------------------------------------------------------


def test_close_sets_closed(con):
    assert con.closed is False
    con.close()
    assert con.closed is True


@pytest.mark.parametrize(
    "use",
    [
        lambda c: c.cursor(),
        lambda c: c.commit(),
        lambda c: c.rollback(),
        lambda c: c.close(),
        lambda c: c.execute("SELECT 1"),
    ],
    ids=["cursor", "commit", "rollback", "close", "execute"],
)
def test_connection_use_after_close_is_interface_error(con, use):
    con.close()
    with pytest.raises(sqlml.InterfaceError):
        use(con)


@pytest.mark.parametrize(
    "use",
    [
        lambda cur: cur.execute("SELECT 1"),
        lambda cur: cur.executemany("SELECT ?", [(1,)]),
        lambda cur: cur.fetchone(),
        lambda cur: cur.fetchmany(),
        lambda cur: cur.fetchall(),
        lambda cur: cur.nextset(),
        lambda cur: cur.setinputsizes([1]),
    ],
    ids=["execute", "executemany", "fetchone", "fetchmany", "fetchall", "nextset", "setinputsizes"],
)
def test_cursor_use_after_connection_close_is_interface_error(con, use):
    cur = con.cursor()
    cur.execute("SELECT * FROM range(3)")
    con.close()
    with pytest.raises(sqlml.InterfaceError):
        use(cur)


def test_close_rolls_back_an_open_transaction(connect, txcon):
    cur = txcon.cursor()
    cur.execute("CREATE TABLE t (i INTEGER)")
    txcon.commit()
    cur.execute("INSERT INTO t VALUES (1)")
    txcon.close()
    other = connect()
    assert other.cursor().execute("SELECT count(*) FROM t").fetchall() == [(0,)]


# --- connection: commit / rollback -----------------------------------------------------------------


def test_autocommit_property(con, txcon):
    assert con.autocommit is True
    assert txcon.autocommit is False


def test_rollback_discards_insert(txcon):
    cur = txcon.cursor()
    cur.execute("CREATE TABLE t (i INTEGER)")
    txcon.commit()
    cur.execute("INSERT INTO t VALUES (1)")
    cur.execute("SELECT i FROM t")
    assert cur.fetchall() == [(1,)]  # visible inside its own transaction
    txcon.rollback()
    cur.execute("SELECT i FROM t")
    assert cur.fetchall() == []


def test_rollback_discards_ddl(txcon):
    cur = txcon.cursor()
    cur.execute("CREATE TABLE gone (i INTEGER)")
    txcon.rollback()
    with pytest.raises(sqlml.ProgrammingError):
        cur.execute("SELECT * FROM gone")


def test_commit_keeps_insert_and_new_connection_sees_it(connect, txcon):
    cur = txcon.cursor()
    cur.execute("CREATE TABLE t (i INTEGER, s VARCHAR)")
    cur.execute("INSERT INTO t VALUES (1, 'one'), (2, 'two')")
    txcon.commit()
    txcon.rollback()  # nothing left to undo
    cur.execute("SELECT i, s FROM t ORDER BY i")
    assert cur.fetchall() == [(1, "one"), (2, "two")]
    txcon.close()
    fresh = connect()
    assert fresh.cursor().execute("SELECT i, s FROM t ORDER BY i").fetchall() == [
        (1, "one"),
        (2, "two"),
    ]


def test_uncommitted_rows_invisible_to_other_connection(connect, txcon):
    cur = txcon.cursor()
    cur.execute("CREATE TABLE t (i INTEGER)")
    txcon.commit()
    cur.execute("INSERT INTO t VALUES (5)")
    other = connect()
    assert other.cursor().execute("SELECT i FROM t").fetchall() == []
    txcon.commit()
    assert other.cursor().execute("SELECT i FROM t").fetchall() == [(5,)]


def test_autocommit_saves_each_statement(connect, con):
    cur = con.cursor()
    cur.execute("CREATE TABLE t (i INTEGER)")
    cur.execute("INSERT INTO t VALUES (7)")
    con.rollback()  # nothing to roll back under autocommit
    other = connect()
    assert other.cursor().execute("SELECT i FROM t").fetchall() == [(7,)]


def test_rollback_and_commit_without_transaction_are_noops(con, txcon):
    con.rollback()
    con.commit()
    txcon.rollback()
    txcon.commit()
    txcon.rollback()


def test_rollback_recovers_from_failed_statement(txcon):
    cur = txcon.cursor()
    cur.execute("CREATE TABLE t (i INTEGER PRIMARY KEY)")
    txcon.commit()
    cur.execute("INSERT INTO t VALUES (1)")
    with pytest.raises(sqlml.IntegrityError):
        cur.execute("INSERT INTO t VALUES (1)")
    with pytest.raises(sqlml.Error):
        cur.execute("SELECT 1")  # the transaction is aborted
    txcon.rollback()
    cur.execute("SELECT count(*) FROM t")
    assert cur.fetchall() == [(0,)]
    cur.execute("INSERT INTO t VALUES (1)")
    txcon.commit()
    cur.execute("SELECT i FROM t")
    assert cur.fetchall() == [(1,)]


def test_explicit_begin_then_connection_rollback(con):
    cur = con.cursor()
    cur.execute("CREATE TABLE t (i INTEGER)")
    cur.execute("BEGIN TRANSACTION")
    cur.execute("INSERT INTO t VALUES (1)")
    con.rollback()
    cur.execute("SELECT count(*) FROM t")
    assert cur.fetchall() == [(0,)]


def test_switching_autocommit_on_commits_open_transaction(connect, txcon):
    cur = txcon.cursor()
    cur.execute("CREATE TABLE t (i INTEGER)")
    cur.execute("INSERT INTO t VALUES (3)")
    txcon.autocommit = True
    assert txcon.autocommit is True
    other = connect()
    assert other.cursor().execute("SELECT i FROM t").fetchall() == [(3,)]


def test_commit_keeps_pending_rows_of_a_cursor(txcon):
    cur = txcon.cursor()
    make_numbers(cur)
    txcon.commit()
    cur.execute("SELECT i FROM nums ORDER BY i")
    assert cur.fetchone() == (0,)
    txcon.commit()
    assert cur.fetchall() == [(1,), (2,), (3,), (4,)]


def test_rollback_keeps_pending_rows_of_a_cursor(txcon):
    cur = txcon.cursor()
    make_numbers(cur)
    txcon.commit()
    cur.execute("SELECT i FROM nums ORDER BY i")
    assert cur.fetchone() == (0,)
    txcon.rollback()
    assert cur.fetchall() == [(1,), (2,), (3,), (4,)]
