"""The server's database: one DuckDB database, one connection per client, one transaction at a time.

DuckDB allows one writer process per database file, so the server opens the file once (the main
sqlml connection, which also holds the emulated pg_catalog); each client then gets a *lane*: a
DuckDB connection of its own to that database (``cursor()`` of the main one), wrapped in a sqlml
connection, with a worker thread of its own. Clients' statements run side by side, so a slow or
runaway statement of one client never keeps another's ``SELECT 1`` waiting; ``statement_timeout``
and cancel interrupt that lane's DuckDB connection only. Model functions are shared by every lane
(sqlml registers them per database).

Transactions: a client's ``BEGIN`` opens a transaction on its own lane and makes that client the
owner until ``COMMIT`` or ``ROLLBACK`` (or its disconnect, which rolls back). While one client owns
it, another client's statements wait — up to its lock timeout — and then fail with SQLSTATE
``55P03`` and a message saying why: the one-writer rule, which keeps a long transaction from
meeting other clients' writes halfway.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

import sqlml
from sqlml.server.errors import ServerError

log = logging.getLogger("sqlml.server")

T = TypeVar("T")


class _Busy(Exception):
    """Another client owns the open transaction (raised in the worker, handled by the caller)."""


@dataclass
class Lane:
    """One client's own DuckDB connection (a sqlml connection over it) and worker thread."""

    session: int
    executor: ThreadPoolExecutor
    connection: sqlml.Connection | None = None  # opened on the lane's thread by its first request

    @property
    def cursor(self) -> sqlml.Cursor:
        assert self.connection is not None
        if not hasattr(self, "_cursor"):
            self._cursor = self.connection.cursor()
        return self._cursor

    def interrupt(self, reason: str | None = None) -> None:
        if self.connection is not None:
            self.connection.interrupt(reason)


@dataclass
class Request:
    """One statement's work queued for a client's lane, so it can be cancelled before or while it
    runs."""

    owner: int
    lane: Lane
    id: int = field(default_factory=itertools.count(1).__next__)
    cancelled: str = ""  # why it was cancelled: "" while it may run
    started: bool = False


class Engine:
    """The main connection, the clients' lanes, and the transaction-owner bookkeeping."""

    def __init__(self, connection: sqlml.Connection) -> None:
        self.connection = connection
        # server start-up and shutdown work on the main connection
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlml-server-db")
        # an in-memory database has no file to share model functions by: give it a name
        connection._backend.share_functions_as(f"<memory {uuid.uuid4().hex}>")  # noqa: SLF001
        self._lanes: dict[int, Lane] = {}
        self.owner: int | None = None  # the session id whose transaction is open
        self.owner_since = 0.0
        self.owner_label = ""
        self._running: dict[int, Request] = {}  # each session's running request
        self._current: dict[int, Request] = {}  # each session's queued or running request
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._released: asyncio.Event | None = None

    # --- running work ---------------------------------------------------------------------------

    def lane(self, session: int) -> Lane:
        lane = self._lanes.get(session)
        if lane is None:
            executor = ThreadPoolExecutor(
                max_workers=1, thread_name_prefix=f"sqlml-client-{session}"
            )
            lane = self._lanes[session] = Lane(session, executor)
        return lane

    def _open(self, lane: Lane) -> None:
        """The lane's own connection to the server's database (runs on the lane's thread)."""
        if lane.connection is not None:
            return
        from sqlml.backends.duckdb import DuckDBBackend
        from sqlml.core.executor import Executor
        from sqlml.dbapi import Connection

        main = self.connection._backend  # noqa: SLF001
        backend = DuckDBBackend.from_connection(main.con.cursor())
        backend.owns_connection = True  # the lane's DuckDB connection is its own: close it too
        backend.share_functions_as(main.function_scope())
        lane.connection = Connection(Executor(backend), autocommit=True)
        lane.connection.limits = self.connection.limits

    async def call(
        self,
        session: int,
        label: str,
        fn: Callable[[sqlml.Cursor], T],
        lock_timeout: float | None,
        statement_timeout: float | None = None,
        gone: Callable[[], bool] = lambda: False,
        tick: Callable[[], Any] | None = None,
    ) -> T:
        """Run ``fn`` on the worker for ``session``, honouring transaction ownership and timeouts.

        ``gone`` tells whether the client has disconnected: then the statement is interrupted
        rather than left running for nobody. ``tick`` (a coroutine function) is awaited every
        0.2 s while the statement runs: the session sends its progress NOTICEs then.
        """
        loop = asyncio.get_running_loop()
        self._loop = loop
        started = time.monotonic()
        lane = self.lane(session)
        while True:
            released = self._release_event()
            request = Request(session, lane)
            self._current[session] = request
            future = loop.run_in_executor(lane.executor, self._run, request, label, fn)
            try:
                return await self._wait(request, future, started, statement_timeout, gone, tick)
            except _Busy:
                if lock_timeout is None:  # lock_timeout = 0: wait as long as it takes
                    await released.wait()
                    continue
                remaining = lock_timeout - (time.monotonic() - started)
                if remaining <= 0 or not await _wait_event(released, remaining):
                    raise self._lock_error(lock_timeout) from None
            finally:
                if self._current.get(session) is request:
                    del self._current[session]

    async def _wait(
        self,
        request: Request,
        future: asyncio.Future[T],
        started: float,
        statement_timeout: float | None,
        gone: Callable[[], bool],
        tick: Callable[[], Any] | None = None,
    ) -> T:
        while True:
            try:
                done, _ = await asyncio.wait({future}, timeout=0.2)
            except asyncio.CancelledError:  # the server is stopping: the request's outcome is moot
                future.add_done_callback(_consume)
                raise
            if done:
                return future.result()
            if tick is not None:
                # a client that stopped reading: gone() decides what becomes of the statement
                with contextlib.suppress(OSError, TimeoutError):
                    await tick()
            reason = ""
            if statement_timeout and time.monotonic() - started > statement_timeout:
                reason = "canceling statement due to statement timeout"
            elif gone():
                reason = "canceling statement: the client disconnected"
            if reason and self._cancel_request(request, reason) and not request.started:
                # Still queued: the worker will skip it; stop waiting behind other statements.
                future.add_done_callback(_consume)
                raise ServerError(reason, "57014")

    def _run(self, request: Request, label: str, fn: Callable[[sqlml.Cursor], T]) -> T:
        self._open(request.lane)
        with self._lock:
            if request.cancelled:
                raise ServerError(request.cancelled, "57014")
            if self.owner is not None and self.owner != request.owner:
                raise _Busy
            request.started = True
            self._running[request.owner] = request
        try:
            return fn(request.lane.cursor)
        except sqlml.Error as exc:
            if request.cancelled:
                raise ServerError(request.cancelled, "57014") from exc
            raise
        finally:
            with self._lock:
                self._running.pop(request.owner, None)
            self._track_owner(request.lane, label)
            if request.cancelled:
                log.info("session %d: %s", request.owner, request.cancelled)

    def _track_owner(self, lane: Lane, label: str) -> None:
        session = lane.session
        assert lane.connection is not None
        open_now = bool(lane.connection._backend.in_transaction)  # noqa: SLF001 - sqlml's own state
        if open_now and self.owner is None:
            self.owner, self.owner_since, self.owner_label = session, time.monotonic(), label
        elif not open_now and self.owner == session:
            self.owner = None
            if self._loop is not None:
                self._loop.call_soon_threadsafe(self._notify_released)

    def cancel(self, session: int, reason: str = "canceling statement due to user request") -> bool:
        """Cancel ``session``'s statement: skipped if still queued, interrupted if running."""
        request = self._current.get(session)
        return request is not None and self._cancel_request(request, reason)

    def _cancel_request(self, request: Request, reason: str) -> bool:
        with self._lock:
            if request.cancelled:
                return False
            request.cancelled = reason
            if self._running.get(request.owner) is request:
                request.lane.interrupt(reason)
        return True

    async def end_session(self, session: int) -> None:
        """A client left: roll back the transaction it still holds, so others can go on; then
        close its lane."""
        if self.owner == session:

            def rollback(cursor: sqlml.Cursor) -> None:
                with contextlib.suppress(sqlml.Error):
                    cursor.connection.rollback()

            log.info("session %d ended inside a transaction; rolling it back", session)
            with contextlib.suppress(Exception):
                await self.call(session, "", rollback, lock_timeout=0)
        lane = self._lanes.pop(session, None)
        if lane is not None:
            # the server stopping cancels the lane's queued work (close()): nothing is left to do
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.get_running_loop().run_in_executor(
                    lane.executor, self._close_lane, lane
                )
            lane.executor.shutdown(wait=False)

    @staticmethod
    def _close_lane(lane: Lane) -> None:
        if lane.connection is not None and not lane.connection.closed:
            lane.connection.close()

    def in_transaction(self, session: int) -> bool:
        return self.owner == session

    def close(self) -> None:
        for lane in list(self._lanes.values()):
            lane.interrupt()
            lane.executor.shutdown(wait=True, cancel_futures=True)
            with contextlib.suppress(Exception):
                self._close_lane(lane)
        self._lanes.clear()
        self.executor.shutdown(wait=True, cancel_futures=True)

    # --- internals -------------------------------------------------------------------------------

    def _release_event(self) -> asyncio.Event:
        if self._released is None:
            self._released = asyncio.Event()
        return self._released

    def _notify_released(self) -> None:
        event, self._released = self._released, asyncio.Event()
        if event is not None:
            event.set()

    def _lock_error(self, lock_timeout: float) -> ServerError:
        held = time.monotonic() - self.owner_since if self.owner is not None else 0.0
        who = f" ({self.owner_label})" if self.owner_label else ""
        return ServerError(
            f"could not run the statement: another client{who} has had a transaction open for "
            f"{held:.1f} s, and sqlml serve runs one transaction at a time on its single DuckDB "
            f"connection (waited {lock_timeout:g} s). Retry after that client commits or rolls "
            f"back; use autocommit (no BEGIN) to keep transactions short.",
            "55P03",
        )


def _consume(future: asyncio.Future[Any]) -> None:
    """Retrieve a skipped request's exception, so asyncio does not report it as never retrieved."""
    if not future.cancelled():
        future.exception()


async def _wait_event(event: asyncio.Event, timeout: float) -> bool:
    try:
        await asyncio.wait_for(event.wait(), timeout)
        return True
    except TimeoutError:
        return False


def run_blocking(engine: Engine, fn: Callable[[], Any]) -> Any:
    """Run ``fn`` on the worker from outside the event loop (server start-up and shutdown)."""
    return engine.executor.submit(fn).result()
