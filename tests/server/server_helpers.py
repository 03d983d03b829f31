"""Helpers for the ``sqlml serve`` tests: start/stop servers, run psql, speak raw protocol.

Everything talks to 127.0.0.1 only, on ports the OS picks (``--port 0``), and every wait is bounded.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hang import HANG

from sqlml.server import Server, ServerConfig

PSQL = shutil.which("psql")
needs_psql = pytest.mark.skipif(
    PSQL is None, reason="psql is not installed (apt postgresql-client)"
)

# A clean environment for client programs: no PG* variables from the developer's shell.
CLIENT_ENV = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
CLIENT_ENV |= {"PGCONNECT_TIMEOUT": "10", "PSQLRC": os.devnull, "LC_ALL": "C.UTF-8"}


class ServerProcess:
    """``python -m sqlml.cli serve`` as a child process, with its log collected on a thread."""

    def __init__(self, *args: str, timeout: float = 60.0, cwd: Path | None = None) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "sqlml.cli", "serve", "--port", "0", *args],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "SQLML_DEBUG": ""},
            cwd=cwd,
        )
        self.lines: list[str] = []
        self._port = threading.Event()
        self.port = 0
        self._reader = threading.Thread(target=self._read_log, daemon=True)
        self._reader.start()
        if not self._port.wait(timeout):
            self.stop()
            raise RuntimeError("sqlml serve did not start:\n" + "".join(self.lines))
        if not self.port:
            self.stop()
            raise RuntimeError("sqlml serve exited:\n" + "".join(self.lines))

    def _read_log(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line)
            match = re.search(r"listening on 127\.0\.0\.1:(\d+)", line)
            if match:
                self.port = int(match.group(1))
                self._port.set()
        self._port.set()  # the process ended

    @property
    def log(self) -> str:
        return "".join(self.lines)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self._reader.join(10)
        if self.process.stderr is not None:
            self.process.stderr.close()
        return self.process.returncode


@contextlib.contextmanager
def serve_process(*args: str, cwd: Path | None = None) -> Iterator[ServerProcess]:
    server = ServerProcess(*args, cwd=cwd)
    try:
        yield server
    finally:
        server.stop()


@contextlib.contextmanager
def serve_thread(**config: Any) -> Iterator[Server]:
    """The same server on a thread of this process (fast to start; config beyond the flags)."""
    server = Server(ServerConfig(port=0, **config)).start_in_thread()
    try:
        yield server
    finally:
        server.stop_thread()


def psql(
    port: int,
    *commands: str,
    user: str = "tester",
    password: str | None = None,
    options: tuple[str, ...] = (),
) -> subprocess.CompletedProcess[str]:
    """Run the real psql with ``-c`` commands; unaligned output, '|' between fields."""
    assert PSQL is not None
    args = [PSQL, "-X", "-h", "127.0.0.1", "-p", str(port), "-U", user, "-d", "sqlml"]
    args += ["-v", "ON_ERROR_STOP=1", "-A", "-F", "|", "-P", "pager=off", *options]
    for command in commands:
        args += ["-c", command]
    env = dict(CLIENT_ENV)
    if password is not None:
        env["PGPASSWORD"] = password
    return subprocess.run(
        args, capture_output=True, text=True, timeout=HANG, env=env, stdin=subprocess.DEVNULL
    )


def dsn(port: int, **extra: Any) -> str:
    params = {"host": "127.0.0.1", "port": port, "user": "tester", "dbname": "sqlml"}
    params |= {"connect_timeout": 10, "sslmode": "disable"} | extra
    return " ".join(f"{k}={v}" for k, v in params.items())


# --- a raw protocol client ------------------------------------------------------------------------


class RawClient:
    """Speaks the wire protocol byte by byte, to send what no driver would."""

    def __init__(self, port: int, timeout: float = 10.0) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> RawClient:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def send_message(self, kind: bytes, body: bytes) -> None:
        self.send(kind + struct.pack("!i", len(body) + 4) + body)

    def startup_packet(self, user: str = "raw", **params: str) -> None:
        pairs = {"user": user, "database": "sqlml", **params}
        body = struct.pack("!i", 196608)
        body += b"".join(k.encode() + b"\0" + v.encode() + b"\0" for k, v in pairs.items()) + b"\0"
        self.send(struct.pack("!i", len(body) + 4) + body)

    def read_exact(self, count: int) -> bytes:
        data = b""
        while len(data) < count:
            chunk = self.sock.recv(count - len(data))
            if not chunk:
                raise ConnectionError("server closed the connection")
            data += chunk
        return data

    def message(self) -> tuple[bytes, bytes]:
        header = self.read_exact(5)
        (length,) = struct.unpack("!i", header[1:])
        return header[:1], self.read_exact(length - 4)

    def until_ready(self) -> list[tuple[bytes, bytes]]:
        """Messages up to and including ReadyForQuery, or up to a FATAL error."""
        messages = []
        while True:
            kind, body = self.message()
            messages.append((kind, body))
            if kind == b"Z" or (kind == b"E" and error_fields(body).get("S") == "FATAL"):
                return messages

    def connect(self, user: str = "raw", **params: str) -> list[tuple[bytes, bytes]]:
        self.startup_packet(user, **params)
        return self.until_ready()

    def query(self, sql: str) -> list[tuple[bytes, bytes]]:
        self.send_message(b"Q", sql.encode() + b"\0")
        return self.until_ready()

    def closed_by_server(self, timeout: float = 10.0) -> bool:
        """True once the server has closed the connection (reading whatever it sent first)."""
        self.sock.settimeout(timeout)
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                if not self.sock.recv(65536):
                    return True
        except (ConnectionResetError, BrokenPipeError):
            return True
        except TimeoutError:
            return False
        return False


def error_fields(body: bytes) -> dict[str, str]:
    fields = {}
    for part in body.split(b"\0"):
        if part:
            fields[chr(part[0])] = part[1:].decode("utf-8", "replace")
    return fields


def errors_in(messages: list[tuple[bytes, bytes]]) -> list[dict[str, str]]:
    return [error_fields(body) for kind, body in messages if kind == b"E"]


def md5_password(password: str, user: str, salt: bytes) -> str:
    """What libpq sends for md5 authentication (PostgreSQL's documented formula)."""
    inner = hashlib.md5((password + user).encode()).hexdigest()
    return "md5" + hashlib.md5(inner.encode() + salt).hexdigest()


def tls_files(folder: Path) -> tuple[str, str]:
    """A self-signed certificate and key for CN=localhost, made with the openssl command."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is not installed")
    cert, key = folder / "server.crt", folder / "server.key"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key)]
        + ["-out", str(cert), "-days", "1", "-subj", "/CN=localhost"],
        check=True,
        capture_output=True,
        timeout=HANG,
    )
    return str(cert), str(key)
