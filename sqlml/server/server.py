"""The listening server: sockets, TLS, connection limits, start-up and shutdown.

``Server(config).serve_forever()`` is what ``sqlml serve`` runs; ``start_in_thread()`` runs the same
server on a background event loop, for tests, benchmarks and notebooks.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import ssl
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

import sqlml
from sqlml.server import pgcompat
from sqlml.server.auth import ScramSecret
from sqlml.server.engine import Engine, run_blocking

if TYPE_CHECKING:
    from sqlml.server.client import ClientSession

log = logging.getLogger("sqlml.server")

MiB = 1024 * 1024


@dataclass
class ServerConfig:
    """Everything ``sqlml serve`` can be told; the limits keep one client from starving others."""

    database: str = ":memory:"
    host: str = "127.0.0.1"
    port: int = 5433
    password: str | None = None
    auth_method: str = "scram"  # "scram" or "md5"; used only with a password
    tls_cert: str | None = None
    tls_key: str | None = None
    read_only: bool = False
    max_connections: int = 64
    max_message_bytes: int = 64 * MiB  # a longer message ends its connection
    max_query_bytes: int = 4 * MiB  # a longer query text is refused (the parser is pure Python)
    startup_timeout: float = 10.0  # TLS, startup packet and authentication
    read_timeout: float = 30.0  # for the rest of a message once its header arrived
    write_timeout: float = 300.0  # for a client to take its results
    lock_timeout: float = 10.0  # wait for another client's transaction to end
    statement_timeout: float | None = None  # default for clients that do not SET one
    idle_in_transaction_timeout: float | None = 300.0


class Server:
    """A PostgreSQL wire-protocol server over one sqlml connection."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        if config.auth_method not in ("scram", "md5"):
            raise sqlml.ProgrammingError(
                f"auth_method must be 'scram' or 'md5'; got {config.auth_method!r}."
            )
        self.password = config.password
        self.scram = ScramSecret.from_password(config.password) if config.password else None
        self.ssl_context = _ssl_context(config)
        self.connection: sqlml.Connection = None  # type: ignore[assignment]
        self.engine: Engine = None  # type: ignore[assignment]
        self.timezone = "UTC"
        self.duckdb_settings: set[str] = set()
        self.sessions: dict[int, ClientSession] = {}
        self.port = config.port
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stopped: asyncio.Event | None = None

    # --- start and stop ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Open the database, prepare the catalog emulation, and listen."""
        self._loop = asyncio.get_running_loop()
        self._stopped = asyncio.Event()
        self.connection = sqlml.connect(self.config.database, read_only=self.config.read_only)
        self.engine = Engine(self.connection)
        try:
            await self._loop.run_in_executor(self.engine.executor, self._prepare_connection)
            self._server = await asyncio.start_server(
                self._accept, self.config.host, self.config.port, reuse_address=True
            )
        except BaseException:  # the port is taken, or the address is not ours: release the file
            await self._loop.run_in_executor(self.engine.executor, self._close_connection)
            self.engine.close()
            raise
        self.port = self._server.sockets[0].getsockname()[1]
        if self.password is None and self.config.host not in ("127.0.0.1", "localhost", "::1"):
            log.warning(
                "listening on %s without a password: anyone who can reach this port can read and "
                "change the database; use --password-file or --password-env",
                self.config.host,
            )
        log.info(
            "listening on %s:%d (database %s%s)",
            self.config.host,
            self.port,
            self.config.database,
            ", read-only" if self.config.read_only else "",
        )

    def _prepare_connection(self) -> None:
        cursor = self.connection.cursor()
        for statement in pgcompat.setup_statements():
            cursor.execute(statement)
        cursor.execute("SELECT current_setting('TimeZone')")
        row = cursor.fetchone()
        self.timezone = str(row[0]) if row and row[0] else "UTC"
        cursor.execute("SELECT name FROM duckdb_settings()")
        self.duckdb_settings = {str(r[0]).lower() for r in cursor.fetchall()}
        cursor.close()

    async def stop(self) -> None:
        """Stop listening, end every session (rolling back transactions), close the database."""
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 5)
        for session_id in list(self.sessions):  # running statements stop at once
            self.engine.cancel(session_id, "terminating connection: the server is shutting down")
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=10)
        if self.engine is not None:
            with contextlib.suppress(Exception):
                await self._loop.run_in_executor(  # type: ignore[union-attr]
                    self.engine.executor, self._close_connection
                )
            self.engine.close()
        if self._stopped is not None:
            self._stopped.set()
        log.info("stopped")

    def _close_connection(self) -> None:
        if not self.connection.closed:
            self.connection.close()

    async def run(self) -> None:
        """Serve until SIGINT/SIGTERM (or ``stop()``)."""
        await self.start()
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop.set)
        assert self._stopped is not None
        waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._stopped.wait())]
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        for waiter in waiters:
            waiter.cancel()
        if not self._stopped.is_set():
            await self.stop()

    def serve_forever(self) -> None:
        asyncio.run(self.run())

    def start_in_thread(self, timeout: float = 60.0) -> Server:
        """Start on a background thread; returns once the server listens (``self.port`` is set)."""
        ready = threading.Event()
        failure: list[BaseException] = []

        def main() -> None:
            async def body() -> None:
                try:
                    await self.start()
                except BaseException as exc:
                    failure.append(exc)
                    ready.set()
                    return
                ready.set()
                assert self._stopped is not None
                await self._stopped.wait()

            asyncio.run(body())

        self._thread = threading.Thread(target=main, name="sqlml-server", daemon=True)
        self._thread.start()
        if not ready.wait(timeout):
            raise TimeoutError(f"sqlml server did not start within {timeout} s")
        if failure:
            raise failure[0]
        return self

    def stop_thread(self, timeout: float = 30.0) -> None:
        """Stop a server started with ``start_in_thread`` and wait for its thread."""
        if self._loop is None or self._thread is None:
            return
        future = asyncio.run_coroutine_threadsafe(self.stop(), self._loop)
        with contextlib.suppress(Exception):
            future.result(timeout)
        self._thread.join(timeout)

    # --- connections ----------------------------------------------------------------------------

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        from sqlml.server import protocol
        from sqlml.server.client import ClientSession

        task = asyncio.current_task()
        assert task is not None
        if len(self._tasks) >= self.config.max_connections:
            log.warning("refusing a connection: %d clients already", len(self._tasks))
            with contextlib.suppress(Exception):
                writer.write(
                    protocol.error_response("53300", "sorry, too many clients already", "FATAL")
                )
                await asyncio.wait_for(writer.drain(), 2)
            writer.close()
            return
        self._tasks.add(task)
        try:
            session = ClientSession(self, reader, writer)
            self.sessions[session.id] = session
            await session.serve()
        except asyncio.CancelledError:
            # the server is stopping: the session has said so to its client and closed; end
            # quietly (asyncio would log the task's cancellation with a traceback)
            return
        finally:
            self._tasks.discard(task)

    def forget(self, session: ClientSession) -> None:
        self.sessions.pop(session.id, None)

    def cancel(self, pid: int, secret: int) -> None:
        """A CancelRequest: interrupt that session's statement if the secret matches."""
        session = self.sessions.get(pid)
        if session is not None and session.secret == secret:
            log.info("session %d: cancel requested", pid)
            self.engine.cancel(pid)


def _ssl_context(config: ServerConfig) -> ssl.SSLContext | None:
    if not config.tls_cert and not config.tls_key:
        return None
    if not (config.tls_cert and config.tls_key):
        raise sqlml.ProgrammingError(
            "TLS needs both a certificate and a key (--tls-cert, --tls-key)."
        )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(config.tls_cert, config.tls_key)
    except (OSError, ssl.SSLError) as exc:
        raise sqlml.OperationalError(
            f"Cannot load the TLS certificate {config.tls_cert!r} and key {config.tls_key!r}: {exc}"
        ) from exc
    return context


__all__ = ["Server", "ServerConfig", "run_blocking"]
