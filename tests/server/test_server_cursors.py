"""DECLARE / FETCH / MOVE / CLOSE through ``sqlml serve`` with the real clients: psycopg's named
(server-side) cursors streaming ML.PREDICT, in text and binary, and the SQL statements themselves
as PostgreSQL documents them (https://www.postgresql.org/docs/current/sql-declare.html,
sql-fetch.html, sql-close.html): command tags, forward-only cursors, WITHOUT HOLD ending with the
transaction, WITH HOLD outliving it. The server's memory while streaming 1,000,000 rows is measured
by benchmarks/cursor_memory.py, not asserted here."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from psycopg import errors as pgerrors
from server_helpers import ServerProcess, dsn, needs_psql, psql, serve_process

import sqlml

ROWS = 50_000
SETUP = [
    f"CREATE TABLE pts AS SELECT i AS id, (i % 40) / 10.0 AS x, "
    f"CASE WHEN i % 40 >= 20 THEN 1 ELSE 0 END AS y FROM range({ROWS}) t(i)",
    "CREATE MODEL m OPTIONS (model_type = 'logistic_reg', input_label_cols = ['y']) "
    "AS SELECT x, y FROM pts",
]
EXPECTED: list[tuple[int, int]] = []


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    path = str(tmp_path_factory.mktemp("cursors") / "cursors.duckdb")
    with sqlml.connect(path) as connection:
        for statement in SETUP:
            connection.execute(statement)
        # the reference rows, through the DB-API in process (not the wire), before the server
        # holds the file
        EXPECTED[:] = connection.execute(
            "SELECT id, predicted_y FROM ML.PREDICT(MODEL m, TABLE pts) ORDER BY id"
        ).fetchall()
    with serve_process("-d", path) as process:
        yield process
    assert "Traceback" not in process.log


def test_a_named_cursor_streams_ml_predict_in_batches(server: ServerProcess) -> None:
    with psycopg.connect(dsn(server.port)) as connection:
        with connection.cursor("preds") as cursor:
            cursor.itersize = 7_000
            cursor.execute(
                "SELECT id, predicted_y FROM ML.PREDICT(MODEL m, TABLE pts) WHERE id >= %s",
                [10],
            )
            assert [c.name for c in cursor.description] == ["id", "predicted_y"]
            rows = list(cursor)
        assert sorted(rows) == EXPECTED[10:]
        # psycopg fetched them with FETCH FORWARD 7000: 8 round trips, not one result
        assert connection.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS


def test_a_binary_named_cursor(server: ServerProcess) -> None:
    with psycopg.connect(dsn(server.port)) as connection:
        with connection.cursor("binary_preds", binary=True) as cursor:
            cursor.execute("SELECT * FROM ML.PREDICT(MODEL m, TABLE pts)")
            first = cursor.fetchmany(5)
            rest = cursor.fetchall()
        rows = first + rest
        assert len(rows) == ROWS
        assert sorted((r[0], r[-2]) for r in rows) == EXPECTED
        probs = rows[0][-1]  # predicted_y_probs: a list of {label, prob} composites
        assert abs(sum(p["prob"] for p in probs) - 1.0) < 1e-9


def test_declare_fetch_move_close_as_sql(server: ServerProcess) -> None:
    with psycopg.connect(dsn(server.port)) as connection, connection.cursor() as cursor:
        cursor.execute("DECLARE ids CURSOR FOR SELECT id FROM pts WHERE id < 100 ORDER BY id")
        assert cursor.statusmessage == "DECLARE CURSOR"
        cursor.execute("FETCH 3 FROM ids")
        assert cursor.fetchall() == [(0,), (1,), (2,)]
        assert cursor.statusmessage == "FETCH 3"
        cursor.execute("MOVE FORWARD 10 IN ids")
        assert cursor.statusmessage == "MOVE 10"
        cursor.execute("FETCH NEXT FROM ids")
        assert cursor.fetchall() == [(13,)]
        cursor.execute("FETCH ids")  # NEXT by default
        assert cursor.fetchall() == [(14,)]
        cursor.execute("FETCH ALL FROM ids")
        assert [r[0] for r in cursor.fetchall()] == list(range(15, 100))
        cursor.execute("FETCH 5 FROM ids")  # at the end: no rows, not an error
        assert cursor.fetchall() == [] and cursor.statusmessage == "FETCH 0"
        cursor.execute("CLOSE ids")
        assert cursor.statusmessage == "CLOSE CURSOR"
        with pytest.raises(pgerrors.InvalidCursorName, match='cursor "ids" does not exist'):
            cursor.execute("FETCH 1 FROM ids")


def test_cursors_scan_forward_only_and_names_are_unique(server: ServerProcess) -> None:
    with psycopg.connect(dsn(server.port)) as connection, connection.cursor() as cursor:
        cursor.execute('DECLARE "Mixed Case" CURSOR FOR SELECT id FROM pts')
        with pytest.raises(pgerrors.DuplicateCursor, match="already exists"):
            cursor.execute('DECLARE "Mixed Case" CURSOR FOR SELECT 1')
        connection.rollback()
        cursor.execute("DECLARE c CURSOR FOR SELECT id FROM pts")
        with pytest.raises(pgerrors.ObjectNotInPrerequisiteState, match="only scan forward"):
            cursor.execute("FETCH PRIOR FROM c")
        connection.rollback()
        with pytest.raises(pgerrors.FeatureNotSupported, match="without SCROLL"):
            cursor.execute("DECLARE s SCROLL CURSOR FOR SELECT 1")


def test_without_hold_ends_with_the_transaction_with_hold_outlives_it(
    server: ServerProcess,
) -> None:
    with psycopg.connect(dsn(server.port), autocommit=True) as connection:
        with pytest.raises(pgerrors.NoActiveSqlTransaction, match="transaction blocks"):
            connection.execute("DECLARE c CURSOR FOR SELECT 1")
        connection.execute("DECLARE kept CURSOR WITH HOLD FOR SELECT id FROM pts ORDER BY id")
        assert connection.execute("FETCH 2 FROM kept").fetchall() == [(0,), (1,)]
        connection.execute("BEGIN")
        connection.execute("DECLARE gone CURSOR FOR SELECT 1")
        connection.execute("COMMIT")
        with pytest.raises(pgerrors.InvalidCursorName):
            connection.execute("FETCH 1 FROM gone")
        # the held cursor goes on where it was, through other statements and a commit
        assert connection.execute("SELECT count(*) FROM pts").fetchone() == (ROWS,)
        assert connection.execute("FETCH 2 FROM kept").fetchall() == [(2,), (3,)]
        connection.execute("CLOSE ALL")
        with pytest.raises(pgerrors.InvalidCursorName):
            connection.execute("FETCH 1 FROM kept")


def test_other_statements_between_fetches(server: ServerProcess) -> None:
    with psycopg.connect(dsn(server.port)) as connection:
        with connection.cursor("between") as named, connection.cursor() as plain:
            named.execute("SELECT id, predicted_y FROM ML.PREDICT(MODEL m, TABLE pts) ORDER BY id")
            head = named.fetchmany(100)
            plain.execute("SELECT count(*) FROM pts")
            assert plain.fetchone() == (ROWS,)
            rows = head + named.fetchall()
        assert rows == EXPECTED


def test_a_named_cursor_with_an_error_in_its_query(server: ServerProcess) -> None:
    with psycopg.connect(dsn(server.port)) as connection:
        with pytest.raises(psycopg.Error, match="nope"), connection.cursor("bad") as cursor:
            cursor.execute("SELECT * FROM ML.PREDICT(MODEL nope, TABLE pts)")
        connection.rollback()
        assert connection.execute("SELECT 1").fetchone() == (1,)


@needs_psql
def test_psql_declare_and_fetch(server: ServerProcess) -> None:
    done = psql(
        server.port,
        "BEGIN; DECLARE p CURSOR FOR SELECT id, predicted_y FROM ML.PREDICT(MODEL m, TABLE pts) "
        "ORDER BY id; FETCH 3 FROM p; CLOSE p; COMMIT;",
        options=("-t",),
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.split()
    assert [line for line in lines if "|" in line] == [f"{i}|{y}" for i, y in EXPECTED[:3]]
    assert "DECLARE CURSOR" in done.stdout and "CLOSE CURSOR" in done.stdout  # the tags
