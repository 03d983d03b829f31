"""Fuzzing ``sqlml serve`` (issue 9, "What it must show", first bullet; the server half).

The mutated statements of tests/test_fuzz.py (seeded mutation of the project's own SQL) go to a
real ``sqlml serve`` process through psycopg, over several client connections at once, with and
without parameters; then garbled protocol messages go through raw sockets. The invariants: every
error reaches the client as an ErrorResponse with a SQLSTATE that is not XX000 (an internal error),
the client's connection survives every SQL error, a fresh client's ``SELECT 1`` is answered after
each batch, nothing hangs (psycopg's statement timeout and the socket timeouts are for hangs
only), and the server's log holds no traceback.
"""

from __future__ import annotations

import random
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from server_helpers import RawClient, ServerProcess, dsn, error_fields, serve_process
from test_fuzz import SETUP_MODELS, SETUP_TABLES, TOKEN_MUTATIONS, load_corpus, mutate

import sqlml

pytestmark = pytest.mark.slow

STATEMENTS = 3000
CLIENTS = 3
BATCH = 100
#: a statement that runs this long is a hang, not slowness: the bound is the statement count
HANG_MS = 300_000


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, Path]]:
    tmp = tmp_path_factory.mktemp("serverfuzz")
    (tmp / "sub").mkdir()
    database = tmp / "f.duckdb"
    with sqlml.connect(str(database)) as con:
        cur = con.cursor()
        for sql in SETUP_TABLES.values():
            cur.execute(sql)
        for _model_type, sql in SETUP_MODELS.values():
            cur.execute(sql)
    with serve_process("-d", str(database), cwd=tmp) as server:
        yield server, tmp


def fresh_select_1(server: ServerProcess) -> None:
    with psycopg.connect(dsn(server.port), autocommit=True) as con:
        assert con.execute("SELECT 1").fetchone() == (1,)


def _parameters(rng: random.Random) -> list[Any] | None:
    if rng.random() < 0.8:
        return None
    pool: list[Any] = [1, -1, 0, 2**62, 1.5, float("nan"), "x", "", "☃", None, True, b"\x00"]
    return [rng.choice(pool) for _ in range(rng.choice([1, 1, 2, 3]))]


def test_mutated_statements_through_psycopg(served: tuple[ServerProcess, Path]) -> None:
    server, tmp = served
    rng = random.Random(20261202)
    corpus = load_corpus(tmp)
    clients = [
        psycopg.connect(
            dsn(server.port, options=f"'-c statement_timeout={HANG_MS}'"), autocommit=True
        )
        for _ in range(CLIENTS)
    ]
    offenders: list[str] = []
    sqlstates: dict[str, int] = {}
    try:
        for n in range(STATEMENTS):
            sql = mutate(rng, rng.choice(corpus), TOKEN_MUTATIONS, tmp)
            params = _parameters(rng)
            con = clients[n % CLIENTS]
            try:
                cur = con.execute(sql.replace("%", "%%") if params else sql, params)
                if cur.description is not None:
                    cur.fetchall()
            except psycopg.Error as exc:
                state = exc.sqlstate
                if state is not None:
                    sqlstates[state] = sqlstates.get(state, 0) + 1
                if state == "XX000" or con.closed:
                    offenders.append(f"{sql!r} {params!r}: {type(exc).__name__} {state} {exc}")
                if con.closed:
                    clients[n % CLIENTS] = psycopg.connect(dsn(server.port), autocommit=True)
            except (ValueError, TypeError):  # refused by psycopg itself (a NUL byte, a type)
                pass
            if n % BATCH == BATCH - 1:
                for client in clients:
                    assert client.execute("SELECT 1").fetchone() == (1,)
                fresh_select_1(server)
    finally:
        for client in clients:
            client.close()
    print(f"SQLSTATEs of {STATEMENTS} mutated statements: {sorted(sqlstates.items())}")
    assert not offenders, "\n".join(offenders)
    assert sum(sqlstates.values()) > STATEMENTS // 4  # the mutants do reach the server's errors
    assert "Traceback" not in server.log, server.log[-5000:]
    assert "internal error" not in server.log, server.log[-5000:]


#: Frontend message types after start-up, and what a body may hold.
KINDS = b"QPBDESHFXCdcfp"


def _garbled_body(rng: random.Random, kind: bytes) -> bytes:
    choice = rng.random()
    if choice < 0.3:
        return bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 64)))
    if choice < 0.5:
        return b"SELECT 1"  # no terminating NUL
    if kind == b"P":  # Parse: name, query, parameter types (count may lie)
        count = rng.choice([0, 1, 2, 65535, 1 << 15])
        types = b"".join(struct.pack("!i", rng.choice([0, 23, 25, -1, 99999])) for _ in range(2))
        return b"s\0SELECT $1\0" + struct.pack("!h", count % 32768) + types
    if kind == b"B":  # Bind: portal, statement, formats, values (lengths may lie)
        values = struct.pack("!h", rng.choice([1, 2, 3])) + struct.pack(
            "!i", rng.choice([-1, 4, 1 << 30])
        )
        return b"\0s\0" + struct.pack("!h", rng.choice([0, 1, 5])) + values + b"\0\0"
    if kind in b"DC":
        return rng.choice([b"S", b"P", b"X", b""]) + rng.choice([b"s\0", b"", b"\0\0"])
    if kind == b"E":
        return b"\0" + struct.pack("!i", rng.choice([0, -5, 1 << 31 - 1]))
    if kind == b"Q":
        text = "".join(
            rng.choice(["SELECT ", "1", "(", ")", ";", "'", "ML.PREDICT(", "\x00"])
            for _ in range(12)
        )
        return text.encode("utf-8", "replace") + b"\0"
    return b""


def test_garbled_protocol_messages(served: tuple[ServerProcess, Path]) -> None:
    server, _tmp = served
    rng = random.Random(20261203)
    outcomes: dict[str, int] = {}
    for n in range(300):
        with RawClient(server.port, timeout=60) as raw:
            raw.connect()
            try:
                for _ in range(rng.randint(1, 4)):
                    kind = bytes([rng.choice(KINDS)])
                    body = _garbled_body(rng, kind)
                    if rng.random() < 0.1:  # a length shorter than the body, or impossible
                        length = len(body) + rng.choice([-3, 0, 2])
                        raw.send(kind + struct.pack("!i", length) + body)
                    else:
                        raw.send_message(kind, body)
                raw.send_message(b"S", b"")  # Sync: a live session answers ReadyForQuery
                messages = raw.until_ready()
                errors = [error_fields(b) for k, b in messages if k == b"E"]
                assert all(e.get("C") != "XX000" for e in errors), errors
                outcome = "errors" if errors else "ready"
            except (ConnectionError, TimeoutError, OSError):
                outcome = "closed"  # a protocol violation ends that connection only
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
        if n % 50 == 49:
            fresh_select_1(server)
    print(f"garbled sessions: {outcomes}")
    assert "Traceback" not in server.log, server.log[-5000:]
    assert "internal error" not in server.log, server.log[-5000:]
