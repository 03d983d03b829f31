"""PEP 249 compliance: an equivalent of Stuart Bishop's classic ``dbapi20.py`` suite, one test per
check and under the same names (test_apilevel, test_Exceptions, test_commit, ...), and the module's
globals and exception classes. Every expected value is written out by hand."""

from __future__ import annotations

import datetime as dt

import pytest
from dbapi_helpers import (
    BARFLY,
    BOOZE,
    DDL1,
    DDL2,
    EXCEPTION_NAMES,
    SAMPLES,
    populate,
)

import sqlml
from sqlml import dbapi

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
