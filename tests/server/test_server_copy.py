"""COPY ... TO STDOUT through ``sqlml serve`` with the real clients: psql's ``\\copy`` to a file
(CSV and text, the file's bytes checked against PostgreSQL's documented formats) and psycopg's
``cursor.copy()`` in text and binary, including an ML.PREDICT query."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import errors as pgerrors
from server_helpers import ServerProcess, dsn, needs_psql, psql, serve_process

import sqlml

SETUP = [
    "CREATE TABLE pts AS SELECT i AS id, i / 10.0 AS x, CASE WHEN i >= 20 THEN 1 ELSE 0 END AS y "
    "FROM range(40) t(i)",
    "CREATE MODEL m OPTIONS (model_type = 'logistic_reg', input_label_cols = ['y']) "
    "AS SELECT x, y FROM pts",
    # values COPY must escape or quote: tab, newline, CR, backslash, comma, quote, NULL, empty
    "CREATE TABLE odd (n INTEGER, s VARCHAR)",
    "INSERT INTO odd VALUES (1, 'a\tb'), (2, 'line1\nline2'), (3, 'back\\slash'), "
    "(4, 'comma, \"quoted\"'), (5, NULL), (6, ''), (7, 'cr\rhere')",
]


EXPECTED: list[tuple[int, int]] = []


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = str(tmp_path_factory.mktemp("copy") / "copy.duckdb")
    with sqlml.connect(path) as connection:
        for statement in SETUP:
            connection.execute(statement)
        # the same query through the DB-API (not the wire), as the reference rows; read before
        # the server holds the file
        EXPECTED[:] = connection.execute(
            "SELECT id, predicted_y FROM ML.PREDICT(MODEL m, TABLE pts) ORDER BY id"
        ).fetchall()
    return path


@pytest.fixture(scope="module")
def server(database: str) -> Iterator[ServerProcess]:
    with serve_process("-d", database) as process:
        yield process


def predictions(database: str) -> list[tuple[int, int]]:
    assert len(EXPECTED) == 40
    return list(EXPECTED)


@needs_psql
def test_psql_copy_to_a_csv_file_with_ml_predict(
    server: ServerProcess, database: str, tmp_path: Path
) -> None:
    target = tmp_path / "preds.csv"
    done = psql(
        server.port,
        f"\\copy (SELECT id, predicted_y FROM ML.PREDICT(MODEL m, TABLE pts) ORDER BY id) "
        f"TO '{target}' WITH CSV HEADER",
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "COPY 40"
    with target.open(newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["id", "predicted_y"]
    expected = predictions(database)
    assert rows[1:] == [[str(i), str(p)] for i, p in expected]


@needs_psql
def test_psql_copy_text_and_csv_escape_as_postgresql_documents(
    server: ServerProcess, tmp_path: Path
) -> None:
    text_file, csv_file = tmp_path / "odd.txt", tmp_path / "odd.csv"
    done = psql(
        server.port,
        f"\\copy (SELECT n, s FROM odd ORDER BY n) TO '{text_file}'",
        f"\\copy (SELECT n, s FROM odd ORDER BY n) TO '{csv_file}' WITH (FORMAT csv)",
    )
    assert done.returncode == 0, done.stderr
    # text format (PostgreSQL docs, COPY "Text Format"): tab-separated, \N for NULL, backslash
    # escapes for backslash, newline, carriage return and tab
    assert text_file.read_bytes() == (
        b'1\ta\\tb\n2\tline1\\nline2\n3\tback\\\\slash\n4\tcomma, "quoted"\n5\t\\N\n6\t\n'
        b"7\tcr\\rhere\n"
    )
    # CSV format: NULL unquoted and empty; values with the delimiter, the quote or a line break
    # quoted, quotes doubled; an empty string quoted (so it is not NULL)
    assert csv_file.read_bytes() == (
        b'1,a\tb\n2,"line1\nline2"\n3,back\\slash\n4,"comma, ""quoted"""\n5,\n6,""\n7,"cr\rhere"\n'
    )


def test_psycopg_copy_text_and_binary(server: ServerProcess, database: str) -> None:
    expected = predictions(database)
    with psycopg.connect(dsn(server.port), autocommit=True) as pg:
        cur = pg.cursor()
        query = "SELECT id, predicted_y FROM ML.PREDICT(MODEL m, TABLE pts) ORDER BY id"
        with cur.copy(f"COPY ({query}) TO STDOUT") as copy:
            text_rows = list(copy.rows())
        assert text_rows == [(str(i), str(p)) for i, p in expected]
        with cur.copy(f"COPY ({query}) TO STDOUT (FORMAT BINARY)") as copy:
            copy.set_types(["int8", "int8"])
            binary_rows = list(copy.rows())
        assert binary_rows == expected
        assert cur.rowcount == 40
        with cur.copy("COPY odd (n, s) TO STDOUT WITH (FORMAT binary)") as copy:
            copy.set_types(["int4", "text"])
            odd = sorted(copy.rows())
        assert odd == [
            (1, "a\tb"), (2, "line1\nline2"), (3, "back\\slash"), (4, 'comma, "quoted"'),
            (5, None), (6, ""), (7, "cr\rhere"),
        ]  # fmt: skip


def test_copy_to_streams_many_batches(server: ServerProcess) -> None:
    # 50,000 rows: COPY TO reads them from a streaming cursor 16,384 at a time; the CSV header
    # comes once, binary's header once and its trailer at the end, and the count is the total
    rows = 50_000
    query = f"SELECT i, i * 2 AS d, 'r' || i AS s FROM range({rows}) t(i) ORDER BY i"
    with psycopg.connect(dsn(server.port), autocommit=True) as pg:
        cur = pg.cursor()
        with cur.copy(f"COPY ({query}) TO STDOUT WITH (FORMAT csv, HEADER)") as copy:
            csv_text = b"".join(bytes(block) for block in copy).decode()
        assert csv_text == "i,d,s\n" + "".join(f"{i},{2 * i},r{i}\n" for i in range(rows))
        assert cur.rowcount == rows
        with cur.copy(f"COPY ({query}) TO STDOUT (FORMAT BINARY)") as copy:
            copy.set_types(["int8", "int8", "text"])
            assert list(copy.rows()) == [(i, 2 * i, f"r{i}") for i in range(rows)]
        with cur.copy("COPY (SELECT 1 AS one WHERE false) TO STDOUT (FORMAT csv, HEADER)") as copy:
            assert b"".join(bytes(block) for block in copy) == b"one\n"  # the header alone
        with cur.copy("COPY (SELECT 1 AS one WHERE false) TO STDOUT (FORMAT binary)") as copy:
            copy.set_types(["int4"])
            assert list(copy.rows()) == []


def test_copy_errors_are_clear(server: ServerProcess) -> None:
    with psycopg.connect(dsn(server.port), autocommit=True) as pg:
        cur = pg.cursor()
        header = pytest.raises(pgerrors.FeatureNotSupported, match="HEADER is available only")
        with header, cur.copy("COPY odd TO STDOUT (FORMAT text, HEADER)") as copy:
            list(copy.rows())
        missing = pytest.raises(pgerrors.UndefinedTable, match="no_such")
        with missing, cur.copy("COPY no_such FROM STDIN") as copy:
            copy.write_row((8, "x"))
        # the session goes on
        assert pg.execute("SELECT count(*) FROM odd").fetchone() == (7,)


# --- COPY FROM STDIN ---------------------------------------------------------------------------


@needs_psql
def test_psql_copy_from_csv_and_text_files(server: ServerProcess, tmp_path: Path) -> None:
    csv_file, text_file = tmp_path / "in.csv", tmp_path / "in.txt"
    # CSV (PostgreSQL's "CSV Format"): a header, a quoted value holding the delimiter, a doubled
    # quote and a line break, an unquoted empty value (NULL) and a quoted one (the empty string)
    csv_file.write_bytes(b'n,s\n1,plain\n2,"a, ""b""\nc"\n3,\n4,""\n')
    # text: backslash escapes and \N for NULL
    text_file.write_bytes(b"5\ttab\\there\n6\tback\\\\slash\n7\t\\N\n8\tnew\\nline\n")
    done = psql(
        server.port,
        "CREATE TABLE landed (n INTEGER, s VARCHAR)",
        f"\\copy landed FROM '{csv_file}' WITH CSV HEADER",
        f"\\copy landed (n, s) FROM '{text_file}'",
    )
    assert done.returncode == 0, done.stderr
    assert "COPY 4\nCOPY 4" in done.stdout
    with psycopg.connect(dsn(server.port), autocommit=True) as pg:
        rows = pg.execute("SELECT n, s FROM landed ORDER BY n").fetchall()
    assert rows == [
        (1, "plain"), (2, 'a, "b"\nc'), (3, None), (4, ""),
        (5, "tab\there"), (6, "back\\slash"), (7, None), (8, "new\nline"),
    ]  # fmt: skip


def test_psycopg_copy_from_text_and_binary_and_atomicity(server: ServerProcess) -> None:
    with psycopg.connect(dsn(server.port), autocommit=True) as pg:
        cur = pg.cursor()
        cur.execute("CREATE TABLE loaded (id BIGINT, x DOUBLE, label VARCHAR, ok BOOLEAN)")
        with cur.copy("COPY loaded FROM STDIN") as copy:
            for i in range(120_000):  # more than one staging batch
                copy.write_row((i, i / 4, f"r{i % 7}", i % 2 == 0))
        assert cur.rowcount == 120_000
        with cur.copy("COPY loaded (id, x, label, ok) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(["int8", "float8", "text", "bool"])
            copy.write_row((-1, 0.5, None, True))
            copy.write_row((-2, None, "tab\tand\nline", False))
        count, total, trues = pg.execute(
            "SELECT count(*), sum(x), count(*) FILTER (ok) FROM loaded"
        ).fetchone()
        assert count == 120_002
        assert total == pytest.approx(sum(i / 4 for i in range(120_000)) + 0.5)
        assert trues == 60_000 + 1
        assert pg.execute("SELECT label FROM loaded WHERE id = -2").fetchone() == (
            "tab\tand\nline",
        )
        # a bad value in the last row: nothing of the COPY is kept (all or nothing)
        bad = pytest.raises(pgerrors.Error, match="Could not convert|conversion|invalid")
        with bad, cur.copy("COPY loaded (id, x) FROM STDIN") as copy:
            for i in range(1000):
                copy.write_row((10_000_000 + i, 1.0))
            copy.write(b"oops\t1\n")
        # the client gives up (CopyFail): nothing is kept either
        with pytest.raises(ZeroDivisionError), cur.copy("COPY loaded (id) FROM STDIN") as copy:
            copy.write_row((20_000_000,))
            raise ZeroDivisionError
        assert pg.execute("SELECT count(*) FROM loaded").fetchone() == (120_002,)


def test_the_server_log_holds_no_traceback(server: ServerProcess) -> None:
    """After the COPY errors above (bad options, a missing table, a bad value, a CopyFail)."""
    assert "Traceback" not in server.log and "internal error" not in server.log
