"""``sqlml serve`` driven by real clients: the psql binary, psycopg (extended protocol), JDBC.

The module's main server is the command itself (``python -m sqlml.cli serve``) on a DuckDB file;
tests that need other settings (passwords, TLS, limits) start the same server on a thread. Every
server listens on 127.0.0.1 on a port the OS picks, and a fixture always stops it.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import hashlib
import hmac
import json
import os
import shutil
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from hang import HANG
from psycopg import errors as pgerrors
from server_helpers import (
    CLIENT_ENV,
    RawClient,
    ServerProcess,
    dsn,
    errors_in,
    md5_password,
    needs_psql,
    psql,
    serve_process,
    serve_thread,
    tls_files,
)

import sqlml

SETUP = [
    "CREATE TABLE line AS SELECT i::DOUBLE AS x, (2 * i + 1)::DOUBLE AS y FROM range(20) r(i)",
    "CREATE TABLE levels AS SELECT i::DOUBLE AS x, CASE WHEN i >= 10 THEN 'high' ELSE 'low' END "
    "AS level FROM range(20) r(i)",
    "CREATE TABLE people (id INTEGER PRIMARY KEY, name VARCHAR NOT NULL, score DOUBLE, "
    "active BOOLEAN, joined TIMESTAMP)",
    "INSERT INTO people VALUES (1, 'Ada', 9.5, true, TIMESTAMP '2024-01-02 03:04:05'), "
    "(2, 'Bob', NULL, false, TIMESTAMP '2023-12-31 23:59:59.25')",
    "CREATE MODEL line_model OPTIONS (model_type = 'linear_reg', input_label_cols = ['y']) "
    "AS SELECT x, y FROM line",
    "CREATE MODEL level_model OPTIONS (model_type = 'logistic_reg', input_label_cols = ['level']) "
    "AS SELECT x, level FROM levels",
]


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = str(tmp_path_factory.mktemp("serve") / "served.duckdb")
    with sqlml.connect(path) as connection:
        for statement in SETUP:
            connection.execute(statement)
    return path


@pytest.fixture(scope="module")
def server(database: str) -> Iterator[ServerProcess]:
    with serve_process("-d", database) as process:
        yield process


@pytest.fixture
def pg(server: ServerProcess) -> Iterator[psycopg.Connection]:
    with psycopg.connect(dsn(server.port), autocommit=True) as connection:
        yield connection


def rows(output: str) -> list[list[str]]:
    """psql's unaligned output without its header and ``(N rows)`` footer."""
    lines = [line for line in output.splitlines() if line and not line.startswith("(")]
    return [line.split("|") for line in lines[1:]]


# --- psql -------------------------------------------------------------------------------------


@needs_psql
def test_psql_plain_sql(server: ServerProcess) -> None:
    done = psql(
        server.port,
        "CREATE TABLE psql_t (n INTEGER, s VARCHAR); "
        "INSERT INTO psql_t VALUES (1, 'one'), (2, NULL)",
        "SELECT n, s, n * 1.5 AS f, n > 1 AS b FROM psql_t ORDER BY n",
        "DROP TABLE psql_t",
    )
    assert done.returncode == 0, done.stderr
    assert "CREATE TABLE\nINSERT 0 2\n" in done.stdout
    assert "n|s|f|b\n1|one|1.5|f\n2||3.0|t\n(2 rows)\n" in done.stdout
    assert done.stdout.endswith("DROP TABLE\n")


@needs_psql
def test_psql_runs_ml_statements(server: ServerProcess) -> None:
    done = psql(
        server.port,
        "CREATE OR REPLACE MODEL psql_line OPTIONS (model_type = 'linear_reg', "
        "input_label_cols = ['y']) AS SELECT x, y FROM line",
        "SELECT x, predicted_y FROM ML.PREDICT(MODEL psql_line, (SELECT x FROM line "
        "WHERE x IN (0, 7, 19))) ORDER BY x",
        "SELECT mean_absolute_error, r2_score FROM ML.EVALUATE(MODEL psql_line)",
        "SELECT x, predicted_level, predicted_level_probs FROM ML.PREDICT(MODEL level_model, "
        "(SELECT x FROM levels WHERE x IN (0, 19))) ORDER BY x",
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("CREATE MODEL\n")
    blocks = done.stdout.split("\n(")
    predicted = rows(blocks[0].split("CREATE MODEL\n", 1)[1])
    assert [float(x) for x, _ in predicted] == [0, 7, 19]
    for x, y in predicted:  # y = 2x + 1 exactly: the fit is exact up to float32 scoring
        assert float(y) == pytest.approx(2 * float(x) + 1, abs=1e-3)
    ((mae, r2),) = rows(blocks[1].split("\n", 1)[1])
    assert float(mae) < 1e-3 and float(r2) > 0.9999
    (low, high) = rows(blocks[2].split("\n", 1)[1])
    for x, label, probs in (low, high):
        probs = json.loads(probs)
        assert label == ("low" if float(x) == 0 else "high")
        assert sorted(p["label"] for p in probs) == ["high", "low"]
        assert sum(p["prob"] for p in probs) == pytest.approx(1, abs=1e-6)
        assert max(probs, key=lambda p: p["prob"])["label"] == label


@needs_psql
def test_psql_describe_commands_answer(server: ServerProcess) -> None:
    listing = psql(server.port, r"\dt")
    assert listing.returncode == 0, listing.stderr
    names = {row[1] for row in rows(listing.stdout.split("\n", 1)[1])}
    assert {"line", "levels", "people"} <= names

    table = psql(server.port, r"\d people")
    assert table.returncode == 0, table.stderr
    columns = {row[0]: row[1:] for row in rows(table.stdout.split("\n", 1)[1])}
    assert columns["id"][0] == "int4" and columns["id"][2] == "not null"
    assert columns["name"][0] == "varchar" and columns["name"][2] == "not null"
    assert columns["score"][0] == "float8" and columns["score"][2] == ""
    assert columns["joined"][0] == "timestamp"

    for command in (r"\d", r"\l", r"\dn", r"\du", r"\dv", r"\di", r"\df", r"\d+ people", r"\dt+"):
        done = psql(server.port, command)
        assert done.returncode == 0, (command, done.stderr)
        assert "ERROR" not in done.stderr, (command, done.stderr)


@needs_psql
def test_psql_shows_sqlstate_and_sqlml_message(server: ServerProcess) -> None:
    done = psql(
        server.port,
        "SELECT * FROM ML.PREDICT(MODEL no_such_model, TABLE line)",
        options=("-v", "VERBOSITY=verbose"),
    )
    assert done.returncode == 1
    assert "ERROR:  42704:" in done.stderr
    assert "There is no model 'no_such_model'" in done.stderr
    missing = psql(server.port, "SELECT * FROM no_such_table", options=("-v", "VERBOSITY=verbose"))
    assert missing.returncode == 1 and "ERROR:  42P01:" in missing.stderr


# --- psycopg: extended protocol, types, errors ---------------------------------------------------


def test_psycopg_parameters_use_extended_protocol(pg: psycopg.Connection) -> None:
    cur = pg.cursor()
    cur.execute("SELECT name FROM people WHERE id = %s AND score > %s", (1, 9.0))
    assert cur.fetchall() == [("Ada",)]
    cur.execute(
        "SELECT count(*) FROM people WHERE name = %(name)s OR upper(name) = upper(%(name)s)",
        {"name": "bob"},
    )
    assert cur.fetchone() == (1,)
    # parameters inside an ML call and outside it, in one statement
    cur.execute(
        "SELECT x, round(predicted_y) FROM ML.PREDICT(MODEL line_model, "
        "(SELECT x FROM line WHERE x BETWEEN %s AND %s)) WHERE x <> %s ORDER BY x",
        (2, 4, 3),
    )
    assert cur.fetchall() == [(2.0, 5.0), (4.0, 9.0)]
    cur.executemany("INSERT INTO people (id, name) VALUES (%s, %s)", [(10, "x"), (11, "y")])
    cur.execute("SELECT count(*) FROM people WHERE id >= %s", (10,))
    assert cur.fetchone() == (2,)
    cur.execute("DELETE FROM people WHERE id >= %s", (10,))
    assert cur.rowcount == 2
    for value in range(7):  # past psycopg's prepare threshold: named prepared statements
        cur.execute("SELECT %s::INTEGER * 2", (value,))
        assert cur.fetchone() == (value * 2,)


@pytest.mark.parametrize("binary", [False, True], ids=["text", "binary"])
def test_result_types_round_trip(pg: psycopg.Connection, binary: bool) -> None:
    cur = pg.cursor(binary=binary)
    cur.execute(
        "SELECT 7::SMALLINT AS i2, 70000 AS i4, 9000000000 AS i8, 1.25::DOUBLE AS f8, "
        "0.5::REAL AS f4, 12.345::DECIMAL(10, 3) AS num, 'héllo' AS txt, true AS flag, "
        "TIMESTAMP '2024-02-29 12:34:56.789' AS ts, DATE '2024-02-29' AS d, "
        "'\\x00\\xFF'::BLOB AS bin, NULL::INTEGER AS missing, [1, 2, 3] AS ints, "
        "{'a': 1, 'b': 'two'} AS rec"
    )
    row = cur.fetchone()
    assert row == (
        7,
        70000,
        9_000_000_000,
        1.25,
        0.5,
        decimal.Decimal("12.345"),
        "héllo",
        True,
        dt.datetime(2024, 2, 29, 12, 34, 56, 789000),
        dt.date(2024, 2, 29),
        b"\x00\xff",
        None,
        [1, 2, 3],
        {"a": 1, "b": "two"},
    )
    oids = [d.type_code for d in cur.description]
    # int2 int4 int8 float8 float4 numeric text bool timestamp date bytea int4 json json
    assert oids == [21, 23, 20, 701, 700, 1700, 25, 16, 1114, 1082, 17, 23, 114, 114]


def test_probabilities_arrive_as_json(pg: psycopg.Connection) -> None:
    cur = pg.execute(
        "SELECT x, predicted_level, predicted_level_probs FROM ML.PREDICT(MODEL level_model, "
        "(SELECT x FROM levels WHERE x IN (1, 18))) ORDER BY x"
    )
    assert cur.description[2].type_code == 114  # json
    result = cur.fetchall()
    assert [(x, label) for x, label, _ in result] == [(1.0, "low"), (18.0, "high")]
    for _x, label, probs in result:
        assert isinstance(probs, list) and {p["label"] for p in probs} == {"low", "high"}
        assert sum(p["prob"] for p in probs) == pytest.approx(1, abs=1e-6)
        assert max(probs, key=lambda p: p["prob"])["label"] == label


def test_parameter_types_arrive_typed(pg: psycopg.Connection) -> None:
    when = dt.datetime(2020, 5, 6, 7, 8, 9, 100)
    cur = pg.execute(
        "SELECT %s + 1, %s * 2, %s, NOT %s, %s + INTERVAL 1 DAY, %s::DATE, %s::DECIMAL(6, 2), "
        "octet_length(%s), %s::VARCHAR[], 3 = ANY(%s)",
        (
            41,
            1.5,
            "naïve",
            False,
            when,
            dt.date(2021, 1, 2),
            decimal.Decimal("3.50"),
            b"\x01\x02\x03",
            ["a", "b c", 'q"uote'],
            [1, 2, 3],
        ),
    )
    assert cur.fetchone() == (
        42,
        3.0,
        "naïve",
        True,
        when + dt.timedelta(days=1),
        dt.date(2021, 1, 2),
        decimal.Decimal("3.50"),
        3,
        ["a", "b c", 'q"uote'],
        True,
    )


@pytest.mark.parametrize(
    ("sql", "sqlstate", "exception", "words"),
    [
        ("SELECT * FROM no_such_table", "42P01", pgerrors.UndefinedTable, "no_such_table"),
        ("SELECT no_such_column FROM people", "42703", pgerrors.UndefinedColumn, "no_such_column"),
        ("SELEC 1", "42601", pgerrors.SyntaxError, "syntax error"),
        (
            "SELECT * FROM ML.PREDICT(MODEL ghost, TABLE line)",
            "42704",
            pgerrors.UndefinedObject,
            "ghost",
        ),
        ("INSERT INTO people (id, name) VALUES (1, 'dup')", "23505", pgerrors.UniqueViolation, "1"),
        ("SELECT 'abc'::INTEGER", "22P02", pgerrors.InvalidTextRepresentation, "abc"),
        (
            "CREATE MODEL line_model OPTIONS (model_type = 'linear_reg', input_label_cols = ['y']) "
            "AS SELECT x, y FROM line",
            "42710",
            pgerrors.DuplicateObject,
            "already exists",
        ),
        (
            "CREATE MODEL bad OPTIONS (model_type = 'linear_reg', input_label_cols = ['y'], "
            "max_iterations = -1) AS SELECT x, y FROM line",
            "22023",
            pgerrors.InvalidParameterValue,
            "max_iterations",
        ),
        ("SAVEPOINT s1", "0A000", pgerrors.FeatureNotSupported, "savepoint"),
    ],
)
def test_errors_carry_sqlstate(
    pg: psycopg.Connection, sql: str, sqlstate: str, exception: type, words: str
) -> None:
    with pytest.raises(exception) as caught:
        pg.execute(sql)
    assert caught.value.sqlstate == sqlstate
    assert words.lower() in str(caught.value).lower()
    assert pg.execute("SELECT 1").fetchone() == (1,)  # the session goes on


def test_set_show_and_version(pg: psycopg.Connection) -> None:
    assert pg.execute("SHOW TIME ZONE").fetchone() is not None
    pg.execute("SET TIME ZONE 'Asia/Kolkata'")
    assert pg.execute("SHOW timezone").fetchone() == ("Asia/Kolkata",)
    stamp = pg.execute("SELECT TIMESTAMPTZ '2024-01-01 00:00:00+00'").fetchone()[0]
    assert stamp.utcoffset() == dt.timedelta(hours=5, minutes=30)
    assert stamp.astimezone(dt.UTC) == dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    pg.execute("SET application_name = 'tests'")
    assert pg.execute("SHOW application_name").fetchone() == ("tests",)
    assert pg.info.parameter_status("application_name") == "tests"
    version = pg.execute("SELECT version()").fetchone()[0]
    assert version.startswith("PostgreSQL 15") and "sqlml" in version
    assert pg.info.server_version >= 150000
    with pytest.raises(pgerrors.InvalidParameterValue):
        pg.execute("SET DateStyle = 'German'")
    with pytest.raises(pgerrors.UndefinedObject):
        pg.execute("SET no_such_setting = 1")


def test_catalog_queries_clients_send(pg: psycopg.Connection) -> None:
    """Fragments of psql's and drivers' catalog queries, in their PostgreSQL-only syntax."""
    owner = pg.execute(
        "SELECT pg_catalog.pg_get_userbyid(c.relowner) FROM pg_catalog.pg_class c "
        "WHERE c.relname OPERATOR(pg_catalog.~) '^(people)$' COLLATE pg_catalog.default"
    ).fetchall()
    assert len(owner) == 1
    oid = pg.execute("SELECT 'people'::regclass::oid").fetchone()[0]
    assert pg.execute(
        "SELECT relname FROM pg_catalog.pg_class WHERE oid = %s", (oid,)
    ).fetchone() == ("people",)
    assert pg.execute("SELECT pg_catalog.pg_encoding_to_char(6)").fetchone() == ("UTF8",)
    assert pg.execute("SELECT 'literal version() stays'").fetchone() == ("literal version() stays",)


def test_empty_query_and_multiple_statements(server: ServerProcess) -> None:
    with RawClient(server.port) as raw:
        raw.connect()
        assert [kind for kind, _ in raw.query("")] == [b"I", b"Z"]
        messages = raw.query("SELECT 1 AS a; SELECT 'b' AS b, 2 AS c")
        kinds = [kind for kind, _ in messages]
        assert kinds == [b"T", b"D", b"C", b"T", b"D", b"C", b"Z"]
        # the second statement fails: the first one's rows arrive, then the error, then Ready
        messages = raw.query("SELECT 1; SELECT * FROM nowhere; SELECT 3")
        assert [kind for kind, _ in messages] == [b"T", b"D", b"C", b"E", b"Z"]


def test_execute_with_row_limit_suspends_portal(server: ServerProcess) -> None:
    with RawClient(server.port) as raw:
        raw.connect()
        raw.send_message(b"P", b"\0SELECT * FROM range(5)\0\0\0")
        raw.send_message(b"B", b"\0\0\0\0\0\0\0\0")
        raw.send_message(b"E", b"\0" + struct.pack("!i", 2))
        raw.send_message(b"E", b"\0" + struct.pack("!i", 2))
        raw.send_message(b"E", b"\0" + struct.pack("!i", 2))
        raw.send_message(b"S", b"")
        kinds = [kind for kind, _ in raw.until_ready()]
        assert kinds == [b"1", b"2", b"D", b"D", b"s", b"D", b"D", b"s", b"D", b"C", b"Z"]


# --- several clients -----------------------------------------------------------------------------


def test_two_clients_at_once(server: ServerProcess) -> None:
    with psycopg.connect(dsn(server.port), autocommit=True) as setup:
        setup.execute("CREATE OR REPLACE TABLE shared (client INTEGER, n INTEGER)")
    failures: list[BaseException] = []

    def client(number: int) -> None:
        try:
            with psycopg.connect(dsn(server.port), autocommit=True) as con:
                for n in range(25):
                    con.execute("INSERT INTO shared VALUES (%s, %s)", (number, n))
                    (count,) = con.execute(
                        "SELECT count(*) FROM shared WHERE client = %s", (number,)
                    ).fetchone()
                    assert count == n + 1
                    predicted = con.execute(
                        "SELECT predicted_y FROM ML.PREDICT(MODEL line_model, (SELECT %s::DOUBLE "
                        "AS x))",
                        (n,),
                    ).fetchone()[0]
                    assert predicted == pytest.approx(2 * n + 1, abs=1e-3)
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=client, args=(i,)) for i in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not failures, failures
    with psycopg.connect(dsn(server.port), autocommit=True) as check:
        totals = check.execute("SELECT client, count(*) FROM shared GROUP BY ALL ORDER BY 1")
        assert totals.fetchall() == [(1, 25), (2, 25)]


def test_write_waits_for_another_clients_transaction(server: ServerProcess) -> None:
    with (
        psycopg.connect(dsn(server.port)) as first,
        psycopg.connect(dsn(server.port), autocommit=True) as second,
    ):
        first.execute("CREATE OR REPLACE TABLE ledger (n INTEGER)")
        first.commit()
        first.execute("INSERT INTO ledger VALUES (1)")  # psycopg sent BEGIN: a transaction is open
        second.execute("SET lock_timeout = '300ms'")
        started = time.monotonic()
        with pytest.raises(pgerrors.LockNotAvailable) as caught:
            second.execute("INSERT INTO ledger VALUES (2)")
        assert caught.value.sqlstate == "55P03"
        assert time.monotonic() - started >= 0.3
        assert "another client" in str(caught.value) and "transaction" in str(caught.value)
        first.commit()
        second.execute("INSERT INTO ledger VALUES (2)")
        assert second.execute("SELECT n FROM ledger ORDER BY n").fetchall() == [(1,), (2,)]


def test_waiting_write_proceeds_when_transaction_ends(server: ServerProcess) -> None:
    with (
        psycopg.connect(dsn(server.port)) as first,
        psycopg.connect(dsn(server.port), autocommit=True) as second,
    ):
        first.execute("CREATE OR REPLACE TABLE queue (n INTEGER)")
        first.commit()
        first.execute("INSERT INTO queue VALUES (1)")
        timer = threading.Timer(0.5, first.commit)
        timer.start()
        try:
            second.execute("INSERT INTO queue VALUES (2)")  # waits (default 10 s) for the commit
        finally:
            timer.join(10)
        assert second.execute("SELECT count(*) FROM queue").fetchone() == (2,)


def test_disconnect_inside_transaction_rolls_back(server: ServerProcess) -> None:
    with psycopg.connect(dsn(server.port), autocommit=True) as other:
        other.execute("CREATE OR REPLACE TABLE scratch (n INTEGER)")
        leaving = psycopg.connect(dsn(server.port))
        leaving.execute("INSERT INTO scratch VALUES (1)")
        leaving.pgconn.finish()  # vanish without COMMIT or ROLLBACK
        leaving.close()
        other.execute("INSERT INTO scratch VALUES (2)")  # not blocked: the transaction was undone
        assert other.execute("SELECT n FROM scratch").fetchall() == [(2,)]


def test_failed_transaction_needs_rollback(server: ServerProcess) -> None:
    with psycopg.connect(dsn(server.port)) as con:
        with pytest.raises(pgerrors.UndefinedTable):
            con.execute("SELECT * FROM nowhere")
        assert con.info.transaction_status == psycopg.pq.TransactionStatus.INERROR
        with pytest.raises(psycopg.Error):
            con.execute("SELECT 1")
        con.rollback()
        assert con.execute("SELECT 1").fetchone() == (1,)


def test_second_process_cannot_open_the_served_file(server: ServerProcess, database: str) -> None:
    """DuckDB's file lock keeps other writers out, with an error that says so."""
    with pytest.raises(sqlml.OperationalError) as caught:
        sqlml.connect(database)
    assert "lock" in str(caught.value).lower()


def test_read_only_server_refuses_writes(tmp_path: Path) -> None:
    path = str(tmp_path / "ro.duckdb")
    with sqlml.connect(path) as connection:
        connection.execute("CREATE TABLE t AS SELECT 1 AS n")
    with (
        serve_thread(database=path, read_only=True) as server,
        psycopg.connect(dsn(server.port), autocommit=True) as con,
    ):
        assert con.execute("SELECT n FROM t").fetchone() == (1,)
        with pytest.raises(psycopg.Error) as caught:
            con.execute("INSERT INTO t VALUES (2)")
        assert caught.value.sqlstate == "25006"


def test_cancel_and_statement_timeout(server: ServerProcess) -> None:
    # A server in its own process: libpq's cancel call blocks this process's GIL while it waits.
    with psycopg.connect(dsn(server.port), autocommit=True) as con:
        con.execute("SET statement_timeout = '300ms'")
        started = time.monotonic()
        with pytest.raises(pgerrors.QueryCanceled) as caught:
            con.execute("SELECT count(*) FROM range(10000000000) a")
        assert "statement timeout" in str(caught.value)
        assert time.monotonic() - started < 30
        con.execute("SET statement_timeout = 0")
        timer = threading.Timer(0.5, con.cancel)
        timer.start()
        try:
            with pytest.raises(pgerrors.QueryCanceled):
                con.execute("SELECT count(*) FROM range(10000000000) a")
        finally:
            timer.join(10)
        assert con.execute("SELECT 2").fetchone() == (2,)


# --- authentication and TLS ----------------------------------------------------------------------


def _scram_client_final(password: str, first: str, server_first: str) -> str:
    """RFC 5802's client computation, written here independently of the server's code."""
    attrs = dict(part.split("=", 1) for part in server_first.split(","))
    salted = hashlib.pbkdf2_hmac(
        "sha256", password.encode(), base64.b64decode(attrs["s"]), int(attrs["i"])
    )
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    stored = hashlib.sha256(client_key).digest()
    without_proof = f"c=biws,r={attrs['r']}"
    auth_message = f"{first[3:]},{server_first},{without_proof}".encode()
    signature = hmac.new(stored, auth_message, hashlib.sha256).digest()
    proof = bytes(a ^ b for a, b in zip(client_key, signature, strict=True))
    return f"{without_proof},p={base64.b64encode(proof).decode()}"


def _raw_login(port: int, method: str, password: str) -> list[dict[str, str]]:
    """Log in byte by byte and return the error fields the server sent (none on success)."""
    with RawClient(port) as raw:
        raw.startup_packet("alice")
        kind, body = raw.message()
        assert kind == b"R"
        (code,) = struct.unpack("!i", body[:4])
        if method == "md5":
            assert code == 5
            answer = md5_password(password, "alice", body[4:8]).encode() + b"\0"
            raw.send_message(b"p", answer)
        else:
            assert code == 10 and b"SCRAM-SHA-256" in body
            first = "n,,n=,r=" + base64.b64encode(os.urandom(18)).decode()
            raw.send_message(
                b"p", b"SCRAM-SHA-256\0" + struct.pack("!i", len(first)) + first.encode()
            )
            kind, body = raw.message()
            assert kind == b"R" and struct.unpack("!i", body[:4])[0] == 11
            final = _scram_client_final(password, first, body[4:].decode())
            raw.send_message(b"p", final.encode())
        return errors_in(raw.until_ready())


@pytest.mark.parametrize("method", ["scram", "md5"])
def test_password_authentication(method: str) -> None:
    with serve_thread(password="correct horse", auth_method=method) as server:
        with psycopg.connect(dsn(server.port, password="'correct horse'")) as con:
            assert con.execute("SELECT 41 + 1").fetchone() == (42,)
        with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
            psycopg.connect(dsn(server.port, password="wrong"))
        assert _raw_login(server.port, method, "correct horse") == []
        (error,) = _raw_login(server.port, method, "wrong")
        assert error["C"] == "28P01" and error["S"] == "FATAL"
        with psycopg.connect(dsn(server.port, password="'correct horse'")) as con:
            assert con.execute("SELECT 1").fetchone() == (1,)  # still serving after a failure


@needs_psql
def test_psql_with_password_file(tmp_path: Path) -> None:
    secret = tmp_path / "password.txt"
    secret.write_text("s3cret-pass\n")
    with serve_process("--password-file", str(secret)) as server:
        good = psql(server.port, "SELECT 'in'", password="s3cret-pass")
        assert good.returncode == 0, good.stderr
        assert "in\n" in good.stdout
        bad = psql(server.port, "SELECT 'in'", password="nope")
        assert bad.returncode != 0
        assert "password authentication failed" in bad.stderr


def test_tls(tmp_path: Path) -> None:
    cert, key = tls_files(tmp_path)
    with serve_thread(tls_cert=cert, tls_key=key, password="pw") as server:
        with psycopg.connect(dsn(server.port, sslmode="require", password="pw")) as con:
            assert con.pgconn.ssl_in_use
            assert con.execute("SELECT 'secure'").fetchone() == ("secure",)
        with pytest.raises(psycopg.OperationalError, match="TLS"):
            psycopg.connect(dsn(server.port, sslmode="disable", password="pw"))


# --- the command line ----------------------------------------------------------------------------


@pytest.mark.slow
def test_sigterm_stops_the_server_during_a_query(tmp_path: Path) -> None:
    path = str(tmp_path / "stop.duckdb")
    errors: list[BaseException] = []
    with serve_process("-d", path) as server:
        con = psycopg.connect(dsn(server.port), autocommit=True)

        def long_query() -> None:
            try:
                con.execute("SELECT count(*) FROM range(1000000000000) a")
            except psycopg.Error as exc:
                errors.append(exc)

        worker = threading.Thread(target=long_query)
        worker.start()
        time.sleep(1.0)
        started = time.monotonic()
        assert server.stop() == 0
        assert time.monotonic() - started < 15
        worker.join(15)
        con.close()
    assert errors and "shutting down" in str(errors[0])
    with sqlml.connect(path) as connection:  # the file was closed cleanly and opens again
        assert connection.execute("SELECT 1").fetchone() == (1,)


def test_serve_command_errors_are_clear(tmp_path: Path) -> None:
    def serve(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "sqlml.cli", "serve", *args],
            capture_output=True,
            text=True,
            timeout=HANG,
            env=CLIENT_ENV,
        )

    missing = serve("--password-file", str(tmp_path / "absent"))
    assert missing.returncode == 1 and "password file" in missing.stderr
    half_tls = serve("--tls-cert", str(tmp_path / "c.pem"))
    assert half_tls.returncode == 1 and "--tls-key" in half_tls.stderr
    unset = serve("--password-env", "SQLML_TEST_UNSET_VARIABLE")
    assert unset.returncode == 1 and "SQLML_TEST_UNSET_VARIABLE" in unset.stderr


# --- JDBC (only where a JDBC driver and a JDK are installed) -------------------------------------

JDBC_JAR = Path("/usr/share/java/postgresql.jar")

JDBC_PROBE = r"""
import java.sql.*;
public class Probe {
    public static void main(String[] args) throws Exception {
        String url = "jdbc:postgresql://127.0.0.1:" + args[0] + "/sqlml";
        try (Connection c = DriverManager.getConnection(url, "jdbc", "")) {
            DatabaseMetaData md = c.getMetaData();
            System.out.println("product=" + md.getDatabaseProductName());
            try (ResultSet rs = md.getTables(null, null, "people", new String[] {"TABLE"})) {
                while (rs.next()) System.out.println("table=" + rs.getString("TABLE_NAME"));
            }
            try (ResultSet rs = md.getColumns(null, null, "people", "%")) {
                while (rs.next()) System.out.println("column=" + rs.getString("COLUMN_NAME"));
            }
            for (int i = 0; i < 7; i++) {
                try (PreparedStatement p = c.prepareStatement(
                        "SELECT predicted_y FROM ML.PREDICT(MODEL line_model, "
                        + "(SELECT ?::DOUBLE AS x))")) {
                    p.setInt(1, i);
                    try (ResultSet rs = p.executeQuery()) {
                        rs.next();
                        System.out.println("predicted=" + Math.round(rs.getDouble(1)));
                    }
                }
            }
        }
    }
}
"""


@pytest.mark.slow
@pytest.mark.skipif(
    not JDBC_JAR.exists() or shutil.which("javac") is None,
    reason="needs a JDK and the PostgreSQL JDBC driver (apt libpostgresql-jdbc-java)",
)
def test_jdbc_connects_and_reads_metadata(server: ServerProcess, tmp_path: Path) -> None:
    (tmp_path / "Probe.java").write_text(JDBC_PROBE)
    javac = shutil.which("javac")
    assert javac is not None
    subprocess.run([javac, "Probe.java"], cwd=tmp_path, check=True, timeout=HANG)
    done = subprocess.run(
        ["java", "-cp", f".:{JDBC_JAR}", "Probe", str(server.port)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=HANG,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "product=PostgreSQL" in lines and "table=people" in lines
    assert {"column=id", "column=name", "column=score"} <= set(lines)
    assert [line for line in lines if line.startswith("predicted=")] == [
        f"predicted={2 * i + 1}" for i in range(7)
    ]


# --- the pieces, without sockets ------------------------------------------------------------------


def test_scram_matches_rfc_7677_example() -> None:
    from sqlml.server.auth import AuthFailed, ScramExchange, ScramSecret

    salt = base64.b64decode("W22ZaJ0SNY7soEsUEjb6gQ==")
    exchange = ScramExchange(
        ScramSecret.from_password("pencil", 4096, salt), "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
    )
    first = exchange.server_first_message("n,,n=user,r=rOprNGfwEbeRWgbNEkqO")
    assert first == (
        "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
    )
    final = exchange.server_final_message(
        "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
        "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
    )
    assert final == "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
    wrong = ScramExchange(ScramSecret.from_password("crayon", 4096, salt), "x")
    wrong.server_first_message("n,,n=user,r=abc")
    with pytest.raises(AuthFailed):
        wrong.server_final_message("c=biws,r=abcx,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")
    with pytest.raises(AuthFailed, match="channel binding"):
        ScramExchange(ScramSecret.from_password("p")).server_first_message("p=tls-unique,,r=a")


@pytest.mark.parametrize(
    ("value", "expected"),
    [  # (ndigits, weight, sign, dscale, base-10000 digits...) worked out by hand
        ("12345.678", (3, 1, 0, 3, 1, 2345, 6780)),
        ("-0.0001", (1, -1, 0x4000, 4, 1)),
        ("100000", (1, 1, 0, 0, 10)),
        ("0", (0, 0, 0, 0)),
    ],
)
def test_numeric_binary_format(value: str, expected: tuple[int, ...]) -> None:
    from sqlml.server.types import numeric_binary
    from sqlml.server.types.params import _numeric_from_binary

    encoded = numeric_binary(decimal.Decimal(value))
    count = expected[0]
    assert struct.unpack(f"!hhHh{count}H", encoded) == expected
    assert _numeric_from_binary(encoded) == decimal.Decimal(value)


def test_text_format_of_values() -> None:
    import pyarrow as pa

    from sqlml.server.types import FLOAT8, INTERVAL, TIMESTAMP, TIMESTAMPTZ, text_column

    utc = dt.UTC
    floats = pa.array([1.0, 0.1, 1e20, float("inf"), float("-inf"), float("nan"), None])
    assert text_column(floats, FLOAT8, utc).to_pylist() == [
        "1",
        "0.1",
        "1e+20",
        "Infinity",
        "-Infinity",
        "NaN",
        None,
    ]
    stamps = pa.array([dt.datetime(2024, 1, 2, 3, 4, 5), dt.datetime(2024, 1, 2, 3, 4, 5, 120000)])
    assert text_column(stamps, TIMESTAMP, utc).to_pylist() == [
        "2024-01-02 03:04:05",
        "2024-01-02 03:04:05.12",
    ]
    aware = pa.array([dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=utc)], pa.timestamp("us", "UTC"))
    kolkata = __import__("zoneinfo").ZoneInfo("Asia/Kolkata")
    assert text_column(aware, TIMESTAMPTZ, kolkata).to_pylist() == ["2024-01-02 08:34:05+05:30"]
    assert text_column(aware, TIMESTAMPTZ, utc).to_pylist() == ["2024-01-02 03:04:05+00"]
    intervals = pa.array(
        [pa.MonthDayNano([14, 3, 3_723_500_000_000])], pa.month_day_nano_interval()
    )
    assert text_column(intervals, INTERVAL, utc).to_pylist() == ["1 year 2 mons 3 days 01:02:03.5"]


def test_catalog_rewrites_run_on_duckdb_and_leave_literals_alone() -> None:
    from sqlml.server.pgcompat import rewrite, setup_statements

    untouched = "SELECT a FROM t WHERE b = 'pg_catalog.x OPERATOR(~) version()'"
    assert rewrite(untouched) == untouched
    with sqlml.connect() as connection:
        cursor = connection.cursor()
        for statement in setup_statements():
            cursor.execute(statement)
        cursor.execute("CREATE TABLE orders (id INTEGER)")
        psql_style = (
            "SELECT c.relname, pg_catalog.pg_get_userbyid(c.relowner), "
            "c.oid = 'orders'::pg_catalog.regclass, 'x(version())' "
            "FROM pg_catalog.pg_class c LEFT JOIN pg_catalog.pg_namespace n "
            "ON n.oid = c.relnamespace WHERE c.relname OPERATOR(pg_catalog.~) '^(orders)$' "
            "COLLATE pg_catalog.default AND c.relkind = ANY('{r,p}') "
            "AND pg_catalog.pg_table_is_visible(c.oid)"
        )
        cursor.execute(rewrite(psql_style))
        assert cursor.fetchall() == [("orders", "sqlml", True, "x(version())")]
        cursor.execute("SHOW TABLES")  # the emulated catalog is not among the user's tables
        assert cursor.fetchall() == [("orders",)]


def test_binary_and_array_parameters_decode() -> None:
    from sqlml.server.types import decode_param, parse_array_text

    assert decode_param(struct.pack("!q", -5), 20, binary=True) == -5
    assert decode_param(struct.pack("!d", 2.5), 701, binary=True) == 2.5
    assert decode_param(b"\x01", 16, binary=True) is True
    micros = 24 * 3600 * 1_000_000 + 1
    assert decode_param(struct.pack("!q", micros), 1114, binary=True) == dt.datetime(
        2000, 1, 2, 0, 0, 0, 1
    )
    assert decode_param(b"2024-05-06 07:08:09+02", 1184, binary=False) == dt.datetime(
        2024, 5, 6, 5, 8, 9, tzinfo=dt.UTC
    )
    assert decode_param(b"\\x00ff", 17, binary=False) == b"\x00\xff"
    assert decode_param(b"{1,NULL,3}", 1007, binary=False) == [1, None, 3]
    assert parse_array_text('{"a b","c\\"d",e}', str) == ["a b", 'c"d', "e"]
    assert decode_param(None, 23, binary=False) is None
    with pytest.raises(NotImplementedError):
        decode_param(b"\0", 1186, binary=True)


@pytest.mark.slow
def test_a_runaway_statement_does_not_stall_other_clients(server: ServerProcess) -> None:
    """Each client has its own connection to the database: while one client's statement runs
    (here until its statement_timeout), another's SELECT 1 is answered, and the runaway is
    cancelled by the timeout, leaving its connection usable."""
    outcome: dict[str, object] = {}

    def runaway() -> None:
        with psycopg.connect(dsn(server.port), autocommit=True) as con:
            con.execute("SET statement_timeout = '30s'")
            try:
                con.execute("SELECT count(*) FROM range(10000000000000) a")
            except psycopg.Error as exc:
                outcome["error"] = exc
            outcome["after"] = con.execute("SELECT 2").fetchone()

    thread = threading.Thread(target=runaway)
    thread.start()
    try:
        with psycopg.connect(dsn(server.port), autocommit=True) as other:
            time.sleep(1)  # let the runaway start
            answers = []
            for _ in range(3):
                answers.append(other.execute("SELECT 1").fetchone())
                assert thread.is_alive(), "the runaway ended before the other client was answered"
            assert answers == [(1,)] * 3
            other.execute("CREATE TABLE meanwhile AS SELECT 42 AS n")
            assert other.execute("SELECT n FROM meanwhile").fetchone() == (42,)
    finally:
        thread.join(HANG)
    error = outcome.get("error")
    assert isinstance(error, pgerrors.QueryCanceled), error
    assert "statement timeout" in str(error)
    assert outcome["after"] == (2,)
