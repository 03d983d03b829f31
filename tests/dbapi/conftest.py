"""Connections on a real DuckDB file for the PEP 249 tests."""

from __future__ import annotations

import time

import pytest

import sqlml


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
