"""Hostile and broken traffic on loopback leaves ``sqlml serve`` serving everyone else.

Each test sends something no well-behaved client would — garbage, impossible lengths, truncated or
malformed messages, a disconnect in the middle of a query, a huge query, too many connections — and
then checks that a normal client still gets correct answers. Every loop is bounded in count and
time; the server listens on 127.0.0.1 only.
"""

from __future__ import annotations

import random
import struct
import time
from collections.abc import Iterator

import psycopg
import pytest
from server_helpers import RawClient, dsn, error_fields, errors_in, serve_thread

from sqlml.server import Server

LIMITS = {
    "max_message_bytes": 1024 * 1024,
    "max_query_bytes": 256 * 1024,
    "read_timeout": 1.0,
    "startup_timeout": 2.0,
    "max_connections": 8,
}


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with serve_thread(**LIMITS) as running:
        with psycopg.connect(dsn(running.port), autocommit=True) as con:
            con.execute("CREATE TABLE numbers AS SELECT range AS n FROM range(100)")
        yield running


def still_serving(server: Server) -> None:
    """A normal client connects and gets a right answer."""
    # The statement timeout turns "stuck behind an abandoned query" into a failure, not a hang.
    with psycopg.connect(
        dsn(server.port, options="'-c statement_timeout=20s'"), autocommit=True
    ) as con:
        assert con.execute("SELECT sum(n) FROM numbers WHERE n < %s", (10,)).fetchone() == (45,)


def fatal_code(raw: RawClient) -> str | None:
    """The SQLSTATE of the FATAL error the server sent before closing, if any."""
    try:
        while True:
            kind, body = raw.message()
            if kind == b"E":
                fields = error_fields(body)
                if fields.get("S") == "FATAL":
                    return fields.get("C")
    except (ConnectionError, OSError):
        return None


# --- before start-up --------------------------------------------------------------------------


def test_garbage_instead_of_a_startup_packet(server: Server) -> None:
    with RawClient(server.port) as raw:
        raw.send(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        assert raw.closed_by_server()
    still_serving(server)


@pytest.mark.parametrize("length", [2**31 - 1, -1, 0, 7, 10_001])
def test_impossible_startup_lengths(server: Server, length: int) -> None:
    with RawClient(server.port) as raw:
        raw.send(struct.pack("!i", length) + struct.pack("!i", 196608))
        assert raw.closed_by_server()
    still_serving(server)


def test_unsupported_protocol_version(server: Server) -> None:
    with RawClient(server.port) as raw:
        body = struct.pack("!i", 2 << 16) + b"user\0x\0\0"
        raw.send(struct.pack("!i", len(body) + 4) + body)
        assert fatal_code(raw) == "0A000"
    still_serving(server)


def test_silent_client_is_dropped_after_the_startup_timeout(server: Server) -> None:
    with RawClient(server.port) as raw:
        started = time.monotonic()
        assert raw.closed_by_server(timeout=15)
        assert time.monotonic() - started < 10
    still_serving(server)


def test_cancel_request_with_a_wrong_secret_is_ignored(server: Server) -> None:
    with psycopg.connect(dsn(server.port), autocommit=True) as con:
        with RawClient(server.port) as raw:
            raw.send(struct.pack("!iiii", 16, 80877102, con.info.backend_pid, 12345))
            assert raw.closed_by_server()
        assert con.execute("SELECT 7").fetchone() == (7,)


# --- after start-up ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("length", "code"),
    [
        (2**31 - 1, "54000"),
        (-(2**31), "08P01"),
        (2, "08P01"),
        (LIMITS["max_message_bytes"] + 5, "54000"),
    ],
)
def test_message_length_out_of_bounds(server: Server, length: int, code: str) -> None:
    with RawClient(server.port) as raw:
        raw.connect()
        raw.send(b"Q" + struct.pack("!i", length))
        assert fatal_code(raw) == code
    still_serving(server)


def test_truncated_message_then_disconnect(server: Server) -> None:
    with RawClient(server.port) as raw:
        raw.connect()
        raw.send(b"Q" + struct.pack("!i", 100) + b"SELECT 1")
    still_serving(server)


def test_truncated_message_then_stall_is_dropped(server: Server) -> None:
    with RawClient(server.port) as raw:
        raw.connect()
        raw.send(b"Q" + struct.pack("!i", 100) + b"SELECT 1")
        started = time.monotonic()
        assert fatal_code(raw) == "08006"  # read_timeout (1 s) passed
        assert time.monotonic() - started < 10
    still_serving(server)


@pytest.mark.parametrize(
    ("kind", "body"),
    [
        (b"B", b"\0\0" + struct.pack("!h", -3)),  # negative format count
        (b"B", b"\0\0\0\0" + struct.pack("!h", 1) + struct.pack("!i", 50) + b"short"),
        (b"P", b"no terminator"),
        (b"D", b"Xname\0"),  # describe target neither S nor P
        (b"Q", b"SELECT 1"),  # query text without its NUL
        (b"Q", b"\xff\xfe\0"),  # not UTF-8
        (b"!", b""),  # unknown message type
    ],
)
def test_malformed_messages_end_only_that_connection(
    server: Server, kind: bytes, body: bytes
) -> None:
    with RawClient(server.port) as raw:
        raw.connect()
        raw.send_message(kind, body)
        assert fatal_code(raw) == "08P01"
    still_serving(server)


def test_sql_errors_keep_the_session(server: Server) -> None:
    with RawClient(server.port) as raw:
        raw.connect()
        for bad in ("SELEC 1", "SELECT * FROM missing", "SELECT 1/'x'", "CREATE MODEL ("):
            (error,) = errors_in(raw.query(bad))
            assert error["S"] == "ERROR" and error["C"]
        messages = raw.query("SELECT 40 + 2")
        rows = [body for kind, body in messages if kind == b"D"]
        assert rows == [struct.pack("!hi", 1, 2) + b"42"]


def test_extended_protocol_error_skips_to_sync(server: Server) -> None:
    with RawClient(server.port) as raw:
        raw.connect()
        raw.send_message(b"P", b"\0SELECT * FROM missing\0\0\0")
        raw.send_message(b"B", b"\0\0\0\0\0\0\0\0")
        raw.send_message(b"E", b"\0\0\0\0\0")
        raw.send_message(b"S", b"")
        kinds = [kind for kind, _ in raw.until_ready()]
        assert kinds == [b"1", b"2", b"E", b"Z"]  # Parse and Bind fine, Execute fails, Ready
        raw.send_message(b"B", b"\0nope\0\0\0\0\0\0\0")  # a statement that does not exist
        raw.send_message(b"E", b"\0\0\0\0\0")
        raw.send_message(b"S", b"")
        messages = raw.until_ready()
        assert [kind for kind, _ in messages] == [b"E", b"Z"]
        assert errors_in(messages)[0]["C"] == "26000"
    still_serving(server)


def test_disconnect_mid_query_interrupts_it(server: Server) -> None:
    with RawClient(server.port) as raw:
        raw.connect()
        raw.send_message(b"Q", b"SELECT count(*) FROM range(1000000000000) a, range(10) b\0")
        time.sleep(0.5)
    started = time.monotonic()
    still_serving(server)  # would wait for the abandoned query without the interrupt
    assert time.monotonic() - started < 15


def test_huge_query_is_refused_and_the_session_goes_on(server: Server) -> None:
    with RawClient(server.port) as raw:
        raw.connect()
        text = "SELECT 1 " + "-" * (LIMITS["max_query_bytes"] + 10)
        (error,) = errors_in(raw.query(text))
        assert error["C"] == "54000" and "limit" in error["M"]
        (row,) = [body for kind, body in raw.query("SELECT 5") if kind == b"D"]
        assert row.endswith(b"5")
    still_serving(server)


def test_huge_message_closes_only_that_connection(server: Server) -> None:
    with RawClient(server.port) as raw:
        raw.connect()
        size = LIMITS["max_message_bytes"] * 2
        raw.send(b"Q" + struct.pack("!i", size + 4))
        assert fatal_code(raw) == "54000"
    still_serving(server)


def test_too_many_connections_are_refused(server: Server) -> None:
    clients = []
    try:
        for _ in range(LIMITS["max_connections"]):
            raw = RawClient(server.port)
            clients.append(raw)
            raw.connect()
        extra = RawClient(server.port)
        clients.append(extra)
        assert fatal_code(extra) == "53300"
    finally:
        for raw in clients:
            raw.close()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # the slots free up as the server sees the closes
        try:
            still_serving(server)
            break
        except psycopg.OperationalError:
            time.sleep(0.1)
    still_serving(server)


@pytest.mark.slow
def test_random_bytes_after_startup(server: Server) -> None:
    """Seeded fuzzing, bounded: 40 connections that each send random bytes after start-up."""
    rng = random.Random(20261125)
    for _ in range(40):
        with RawClient(server.port, timeout=5) as raw:
            raw.connect()
            raw.send(bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 200))))
            raw.closed_by_server(timeout=3)
    still_serving(server)


def test_idle_transaction_cannot_hold_the_server() -> None:
    """A client that opens a transaction and goes quiet is disconnected and rolled back."""
    with (
        serve_thread(idle_in_transaction_timeout=0.5) as server,
        psycopg.connect(dsn(server.port), autocommit=True) as other,
    ):
        other.execute("CREATE TABLE held (n INTEGER)")
        with RawClient(server.port) as raw:
            raw.connect()
            raw.query("BEGIN")
            raw.query("INSERT INTO held VALUES (1)")
            started = time.monotonic()
            assert fatal_code(raw) == "25P03"
            assert time.monotonic() - started < 10
        other.execute("INSERT INTO held VALUES (2)")
        assert other.execute("SELECT n FROM held").fetchall() == [(2,)]
