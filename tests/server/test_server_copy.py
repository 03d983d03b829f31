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


def test_copy_errors_are_clear(server: ServerProcess) -> None:
    with psycopg.connect(dsn(server.port), autocommit=True) as pg:
        cur = pg.cursor()
        header = pytest.raises(pgerrors.FeatureNotSupported, match="HEADER is available only")
        with header, cur.copy("COPY odd TO STDOUT (FORMAT text, HEADER)") as copy:
            list(copy.rows())
        stdin = pytest.raises(pgerrors.FeatureNotSupported, match="COPY FROM STDIN is not")
        with stdin, cur.copy("COPY odd FROM STDIN") as copy:
            copy.write_row((8, "x"))
        # the session goes on
        assert pg.execute("SELECT count(*) FROM odd").fetchone() == (7,)
