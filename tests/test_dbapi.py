"""PEP 249 (DB-API 2.0) tests for ``sqlml.connect`` on a real DuckDB file.

Two parts:

* ``TestDBAPI20``: an equivalent of Stuart Bishop's classic ``dbapi20.py`` compliance suite, one test
  per check and under the same names (test_apilevel, test_Exceptions, test_commit, ...).
* Detailed tests of sqlml's connection and cursor beyond that suite: error classes, transactions,
  description and type objects, rowcount, parameter styles, fetch semantics, interleaved cursors,
  constructors round-tripping through a table, context managers and the Arrow extension.

Every expected value is written out by hand.
"""

from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal

import pyarrow as pa
import pytest

import sqlml
from sqlml import dbapi

EXCEPTION_NAMES = [
    "Warning",
    "Error",
    "InterfaceError",
    "DatabaseError",
    "DataError",
    "OperationalError",
    "IntegrityError",
    "InternalError",
    "ProgrammingError",
    "NotSupportedError",
]

TABLE_PREFIX = "dbapi20test_"
BOOZE = TABLE_PREFIX + "booze"
BARFLY = TABLE_PREFIX + "barflys"
DDL1 = f"CREATE TABLE {BOOZE} (name VARCHAR(20))"
DDL2 = f"CREATE TABLE {BARFLY} (name VARCHAR(20), drink VARCHAR(30))"
SAMPLES = ["Carlton Cold", "Carlton Draft", "Mountain Goat", "Redback", "Victoria Bitter", "XXXX"]


# --- fixtures -----------------------------------------------------------------------------------


@pytest.fixture
def db_path(tmp_path):
    return str(tmp_path / "dbapi.duckdb")


@pytest.fixture
def connect(db_path):
    """``connect(**kw)`` on the test file; every connection opened is closed at teardown."""
    opened: list[sqlml.Connection] = []

    def _connect(**kwargs):
        con = sqlml.connect(db_path, **kwargs)
        opened.append(con)
        return con

    yield _connect
    for con in opened:
        if not con.closed:
            con.close()


@pytest.fixture
def con(connect):
    return connect()


@pytest.fixture
def txcon(connect):
    """A connection with autocommit off: statements run in a transaction that commit() ends."""
    return connect(autocommit=False)


@pytest.fixture
def utc(monkeypatch):
    """Local time is UTC for the *FromTicks constructors."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def populate(cur):
    cur.execute(DDL1)
    for name in SAMPLES:
        cur.execute(f"INSERT INTO {BOOZE} VALUES ('{name}')")


def make_numbers(cur, n=5):
    cur.execute("CREATE TABLE nums (i INTEGER)")
    cur.executemany("INSERT INTO nums VALUES (?)", [(i,) for i in range(n)])


# --- the dbapi20 compliance suite -----------------------------------------------------------------


class TestDBAPI20:
    def test_connect(self, con):
        assert isinstance(con, sqlml.Connection)
        assert not con.closed

    def test_apilevel(self):
        assert sqlml.apilevel == "2.0"

    def test_threadsafety(self):
        assert sqlml.threadsafety in (0, 1, 2, 3)
        assert sqlml.threadsafety == 1

    def test_paramstyle(self):
        assert sqlml.paramstyle in ("qmark", "numeric", "named", "format", "pyformat")
        assert sqlml.paramstyle == "qmark"

    def test_Exceptions(self):  # noqa: N802 - dbapi20's name
        assert issubclass(sqlml.Warning, Exception)
        assert issubclass(sqlml.Error, Exception)
        assert not issubclass(sqlml.Warning, sqlml.Error)
        assert not issubclass(sqlml.Error, sqlml.Warning)
        assert issubclass(sqlml.InterfaceError, sqlml.Error)
        assert issubclass(sqlml.DatabaseError, sqlml.Error)
        assert not issubclass(sqlml.InterfaceError, sqlml.DatabaseError)
        for name in (
            "DataError",
            "OperationalError",
            "IntegrityError",
            "InternalError",
            "ProgrammingError",
            "NotSupportedError",
        ):
            assert issubclass(getattr(sqlml, name), sqlml.DatabaseError), name

    def test_ExceptionsAsConnectionAttributes(self, con):  # noqa: N802
        for name in EXCEPTION_NAMES:
            assert getattr(con, name) is getattr(sqlml, name), name
        assert sqlml.Connection.ProgrammingError is sqlml.ProgrammingError

    def test_commit(self, con):
        con.commit()

    def test_rollback(self, con):
        con.rollback()  # no transaction is open: PEP 249 says a no-op is fine

    def test_cursor(self, con):
        cur = con.cursor()
        assert isinstance(cur, sqlml.Cursor)

    def test_cursor_isolation(self, con):
        cur1 = con.cursor()
        cur2 = con.cursor()
        cur1.execute(DDL1)
        cur1.execute(f"INSERT INTO {BOOZE} VALUES ('Victoria Bitter')")
        cur2.execute(f"SELECT name FROM {BOOZE}")
        assert cur2.fetchall() == [("Victoria Bitter",)]

    def test_description(self, con):
        cur = con.cursor()
        cur.execute(DDL1)
        assert cur.description is None
        cur.execute(f"SELECT name FROM {BOOZE}")
        assert len(cur.description) == 1
        assert cur.description[0][0].lower() == "name"
        assert len(cur.description[0]) == 7
        assert cur.description[0][1] == sqlml.STRING
        cur.execute(DDL2)
        assert cur.description is None

    def test_rowcount(self, con):
        cur = con.cursor()
        cur.execute(DDL1)
        assert cur.rowcount == -1
        cur.execute(f"INSERT INTO {BOOZE} VALUES ('Victoria Bitter')")
        assert cur.rowcount == 1
        cur.execute(f"SELECT name FROM {BOOZE}")
        assert cur.rowcount in (-1, 1)
        cur.execute(DDL2)
        assert cur.rowcount == -1

    def test_callproc(self, con):
        cur = con.cursor()
        with pytest.raises(sqlml.NotSupportedError):
            cur.callproc("lower", ("FOO",))

    def test_close(self, con):
        cur = con.cursor()
        con.close()
        with pytest.raises(sqlml.Error):
            cur.execute(DDL1)
        with pytest.raises(sqlml.Error):
            con.commit()
        with pytest.raises(sqlml.Error):
            con.close()

    def test_non_idempotent_close(self, con):
        con.close()
        with pytest.raises(sqlml.Error):
            con.close()

    def test_execute(self, con):
        cur = con.cursor()
        cur.execute(DDL1)
        cur.execute(f"INSERT INTO {BOOZE} VALUES ('Victoria Bitter')")
        assert cur.rowcount == 1
        cur.execute(f"INSERT INTO {BOOZE} VALUES (?)", ("Cooper's",))
        assert cur.rowcount == 1
        cur.execute(f"SELECT name FROM {BOOZE} ORDER BY name")
        assert cur.fetchall() == [("Cooper's",), ("Victoria Bitter",)]

    def test_executemany(self, con):
        cur = con.cursor()
        cur.execute(DDL1)
        cur.executemany(f"INSERT INTO {BOOZE} VALUES (?)", [("Cooper's",), ("Boag's",)])
        assert cur.rowcount == 2
        cur.execute(f"SELECT name FROM {BOOZE} ORDER BY name")
        assert cur.fetchall() == [("Boag's",), ("Cooper's",)]

    def test_fetchone(self, con):
        cur = con.cursor()
        with pytest.raises(sqlml.Error):
            cur.fetchone()  # nothing executed yet
        cur.execute(DDL1)
        with pytest.raises(sqlml.Error):
            cur.fetchone()  # DDL has no result set
        cur.execute(f"SELECT name FROM {BOOZE}")
        assert cur.fetchone() is None
        assert cur.rowcount in (-1, 0)
        cur.execute(f"INSERT INTO {BOOZE} VALUES ('Victoria Bitter')")
        with pytest.raises(sqlml.Error):
            cur.fetchone()  # INSERT has no result set
        cur.execute(f"SELECT name FROM {BOOZE}")
        assert cur.fetchone() == ("Victoria Bitter",)
        assert cur.fetchone() is None

    def test_fetchmany(self, con):
        cur = con.cursor()
        with pytest.raises(sqlml.Error):
            cur.fetchmany(4)
        populate(cur)
        cur.execute(f"SELECT name FROM {BOOZE} ORDER BY name")
        assert cur.fetchmany() == [("Carlton Cold",)]  # arraysize defaults to 1
        cur.arraysize = 10
        cur.execute(f"SELECT name FROM {BOOZE} ORDER BY name")
        assert cur.fetchmany(2) == [("Carlton Cold",), ("Carlton Draft",)]
        assert cur.fetchmany(4) == [
            ("Mountain Goat",),
            ("Redback",),
            ("Victoria Bitter",),
            ("XXXX",),
        ]
        assert cur.fetchmany(4) == []
        cur.arraysize = 4
        cur.execute(f"SELECT name FROM {BOOZE} ORDER BY name")
        assert len(cur.fetchmany()) == 4
        assert len(cur.fetchmany()) == 2
        assert cur.fetchmany() == []
        cur.arraysize = 6
        cur.execute(f"SELECT name FROM {BOOZE} ORDER BY name")
        assert [r[0] for r in cur.fetchmany()] == SAMPLES
        assert cur.fetchmany() == []
        cur.execute(f"DELETE FROM {BOOZE}")
        cur.execute(f"SELECT name FROM {BOOZE}")
        assert cur.fetchmany() == []

    def test_fetchall(self, con):
        cur = con.cursor()
        with pytest.raises(sqlml.Error):
            cur.fetchall()
        populate(cur)
        with pytest.raises(sqlml.Error):
            cur.fetchall()  # the last statement was an INSERT
        cur.execute(f"SELECT name FROM {BOOZE} ORDER BY name")
        assert [r[0] for r in cur.fetchall()] == SAMPLES
        assert cur.fetchall() == []
        cur.execute(f"DELETE FROM {BOOZE}")
        cur.execute(f"SELECT name FROM {BOOZE}")
        assert cur.fetchall() == []

    def test_mixedfetch(self, con):
        cur = con.cursor()
        populate(cur)
        cur.execute(f"SELECT name FROM {BOOZE} ORDER BY name")
        assert cur.fetchone() == ("Carlton Cold",)
        assert cur.fetchmany() == [("Carlton Draft",)]
        assert cur.fetchmany(2) == [("Mountain Goat",), ("Redback",)]
        assert cur.fetchone() == ("Victoria Bitter",)
        assert cur.fetchall() == [("XXXX",)]
        assert cur.fetchone() is None

    def test_nextset(self, con):
        cur = con.cursor()
        cur.execute("SELECT 1")
        with pytest.raises(sqlml.NotSupportedError):
            cur.nextset()

    def test_arraysize(self, con):
        cur = con.cursor()
        assert cur.arraysize == 1

    def test_setinputsizes(self, con):
        cur = con.cursor()
        assert cur.setinputsizes([25]) is None
        cur.execute(DDL1)
        cur.execute(f"INSERT INTO {BOOZE} VALUES (?)", ["Victoria Bitter"])
        cur.execute(f"SELECT name FROM {BOOZE}")
        assert cur.fetchall() == [("Victoria Bitter",)]

    def test_setoutputsize_basic(self, con):
        cur = con.cursor()
        assert cur.setoutputsize(1000) is None
        assert cur.setoutputsize(2000, 0) is None
        cur.execute(DDL1)
        cur.execute(f"INSERT INTO {BOOZE} VALUES ('Victoria Bitter')")
        cur.execute(f"SELECT name FROM {BOOZE}")
        assert cur.fetchall() == [("Victoria Bitter",)]

    def test_setoutputsize(self, con):
        cur = con.cursor()
        cur.setoutputsize(10)
        cur.execute("SELECT 'a much longer value than ten'")
        assert cur.fetchall() == [("a much longer value than ten",)]  # no truncation

    def test_None(self, con):  # noqa: N802
        cur = con.cursor()
        cur.execute(DDL2)
        cur.execute(f"INSERT INTO {BARFLY} VALUES ('a', NULL)")
        cur.execute(f"SELECT drink FROM {BARFLY}")
        assert cur.fetchall() == [(None,)]

    def test_Date(self):  # noqa: N802
        assert sqlml.Date(2002, 12, 25) == dt.date(2002, 12, 25)

    def test_Time(self):  # noqa: N802
        assert sqlml.Time(13, 45, 30) == dt.time(13, 45, 30)

    def test_Timestamp(self):  # noqa: N802
        assert sqlml.Timestamp(2002, 12, 25, 13, 45, 30) == dt.datetime(2002, 12, 25, 13, 45, 30)

    def test_DateFromTicks(self, utc):  # noqa: N802
        assert sqlml.DateFromTicks(1_000_000_000) == dt.date(2001, 9, 9)

    def test_TimeFromTicks(self, utc):  # noqa: N802
        assert sqlml.TimeFromTicks(1_000_000_000) == dt.time(1, 46, 40)

    def test_TimestampFromTicks(self, utc):  # noqa: N802
        assert sqlml.TimestampFromTicks(1_000_000_000) == dt.datetime(2001, 9, 9, 1, 46, 40)

    def test_Binary(self):  # noqa: N802
        assert sqlml.Binary(b"Something") == b"Something"
        assert sqlml.Binary(b"") == b""
        assert sqlml.Binary("abc") == b"abc"

    def test_STRING(self):  # noqa: N802
        assert hasattr(sqlml, "STRING")
        assert sqlml.STRING == "VARCHAR"

    def test_BINARY(self):  # noqa: N802
        assert hasattr(sqlml, "BINARY")
        assert sqlml.BINARY == "BLOB"

    def test_NUMBER(self):  # noqa: N802
        assert hasattr(sqlml, "NUMBER")
        assert sqlml.NUMBER == "INTEGER"

    def test_DATETIME(self):  # noqa: N802
        assert hasattr(sqlml, "DATETIME")
        assert sqlml.DATETIME == "TIMESTAMP"

    def test_ROWID(self):  # noqa: N802
        assert hasattr(sqlml, "ROWID")


# --- module globals and exceptions ------------------------------------------------------------------


def test_module_globals_are_reexported_from_dbapi():
    assert dbapi.apilevel == "2.0"
    assert dbapi.threadsafety == 1
    assert dbapi.paramstyle == "qmark"
    assert sqlml.connect is dbapi.connect


@pytest.mark.parametrize("name", EXCEPTION_NAMES)
def test_exception_exists_on_module_and_connection_class(name, con):
    exc = getattr(sqlml, name)
    assert isinstance(exc, type) and issubclass(exc, Exception)
    assert getattr(sqlml.Connection, name) is exc
    assert getattr(con, name) is exc


@pytest.mark.parametrize(
    ("name", "parent"),
    [
        ("Warning", Exception),
        ("Error", Exception),
        ("InterfaceError", "Error"),
        ("DatabaseError", "Error"),
        ("DataError", "DatabaseError"),
        ("OperationalError", "DatabaseError"),
        ("IntegrityError", "DatabaseError"),
        ("InternalError", "DatabaseError"),
        ("ProgrammingError", "DatabaseError"),
        ("NotSupportedError", "DatabaseError"),
    ],
)
def test_exception_direct_parent_per_pep(name, parent):
    cls = getattr(sqlml, name)
    parent_cls = parent if isinstance(parent, type) else getattr(sqlml, parent)
    assert cls.__bases__ == (parent_cls,)


def test_warning_is_not_the_builtin_warning():
    assert sqlml.Warning is not Warning
    assert not issubclass(sqlml.Warning, Warning)


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


# --- cursor: description and type objects -----------------------------------------------------------


@pytest.fixture
def typed(con):
    cur = con.cursor()
    cur.execute(
        "CREATE TABLE typed (s VARCHAR, i INTEGER, d DOUBLE, ts TIMESTAMP, b BLOB, "
        "dd DATE, tm TIME, bi BIGINT, dec DECIMAL(10, 2), bo BOOLEAN)"
    )
    cur.execute(
        "INSERT INTO typed VALUES ('x', 1, 1.5, TIMESTAMP '2020-01-01 10:00:00', '\\x00\\xFF'::BLOB, "
        "DATE '2020-01-02', TIME '12:34:56', 5, 1.25, true)"
    )
    cur.execute("SELECT * FROM typed")
    return cur


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
