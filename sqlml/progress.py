"""How far a running statement has got: its stage and, where the work is countable, a count with a
rate and an estimate of the time left.

The work reports through the module functions — :func:`stage` when a stage begins (reading the
data, fitting, converting, checking fidelity, evaluating, storing), :func:`advance` as it counts
(trees, boosting rounds, epochs, iterations, trials, rows) — and they reach the listeners of the
statement's :class:`Reporter` (:func:`reporting`): the cursor's ``progress``, a connection's
callback, the shell's bar, ``sqlml serve``'s NOTICEs, a notebook's line. Stage changes always
reach them; counts at most every :data:`INTERVAL` seconds (and the last of a stage), so counting
costs nothing measurable (``benchmarks/progress.py``). Each count is also a cancel check: a
statement stops at its next counted step after ``Connection.interrupt()``.

With no reporter (outside a statement) every call is a no-op. Work nested inside a counted stage
(a tuning trial's own boosting rounds) is quiet: :func:`quiet` keeps the outer count on screen.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from dataclasses import dataclass, replace

from sqlml import cancel
from sqlml.cancel import checkpoint
from sqlml.errors import Error, ProgrammingError

#: The shortest time between two count reports to the listeners, in seconds.
INTERVAL = 0.2


@dataclass(frozen=True)
class Progress:
    """One report: the statement, its stage, and the stage's count (``done`` of ``total``
    ``unit``; ``total`` None when not known ahead, ``done`` None when the stage is not counted)."""

    statement: str
    stage: str
    done: int | None = None
    total: int | None = None
    unit: str = ""
    elapsed: float = 0.0  # seconds since the statement began
    stage_elapsed: float = 0.0  # seconds since the stage began
    finished: bool = False  # the statement has ended (the last report)
    ok: bool = True  # with finished: it succeeded

    @property
    def rate(self) -> float | None:
        """Units per second over the stage so far."""
        if not self.done or self.stage_elapsed <= 0:
            return None
        return self.done / self.stage_elapsed

    @property
    def remaining(self) -> float | None:
        """Seconds left in the stage at its rate so far (None when not known)."""
        rate = self.rate
        if rate is None or self.total is None or self.finished:
            return None
        return max(0.0, (self.total - (self.done or 0)) / rate)

    def count_text(self) -> str:
        """``40 of 100 trees, 12.5/s, ~5 s left`` (empty when the stage is not counted)."""
        if self.done is None:
            return ""
        text = f"{self.done:,}" + (f" of {self.total:,}" if self.total is not None else "")
        text += f" {self.unit}" if self.unit else ""
        rate = self.rate
        if rate is not None:
            text += f", {rate:,.1f}/s" if rate < 100 else f", {rate:,.0f}/s"
        left = self.remaining
        if left is not None and self.done < (self.total or 0):
            text += f", ~{seconds_text(left)} left"
        return text

    def __str__(self) -> str:
        if self.finished:
            word = "done" if self.ok else "stopped"
            text = f"{self.statement}: {word} in {seconds_text(self.elapsed)}"
            if self.done is not None and self.unit:  # the last stage's count (rows scored)
                text += f", {self.done:,} {self.unit}"
            return text
        count = self.count_text()
        head = f"{self.statement}: {self.stage}"
        return f"{head}, {count}" if count else head


def seconds_text(seconds: float) -> str:
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 120:
        return f"{seconds:.0f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s"


Listener = Callable[[Progress], None]


class Sparse:
    """Which reports a listener that writes a line each (a log, NOTICEs) passes on: every stage
    (with ``count_starts``, again when its count begins), a count at most every ``every``
    seconds, and the last."""

    def __init__(self, every: float = 5.0, count_starts: bool = False) -> None:
        self.every, self.count_starts = every, count_starts
        self._stage: tuple[str, str] = ("", "")
        self._last = -1e9

    def __call__(self, report: Progress) -> bool:
        stage = (report.stage, report.unit if self.count_starts else "")
        same = stage == self._stage and not report.finished
        if same and report.elapsed - self._last < self.every:
            return False
        self._stage, self._last = stage, report.elapsed
        return True


class Reporter:
    """One statement's progress, handed to its listeners (each called in the statement's
    thread; a listener that raises stops the statement)."""

    def __init__(self, statement: str, listeners: list[Listener], interval: float = INTERVAL):
        self.statement = statement
        self.listeners = listeners
        self.interval = interval
        self.started = self._stage_started = time.monotonic()
        self.current = Progress(statement, "starting")
        self._sent_at = 0.0
        self.depth = 0  # > 0 inside quiet(): nested work does not report
        self.reported = False  # whether any report reached the listeners
        self._hold_until = 0.0  # nothing reaches them before (stage(after=...))
        self._unsent = False  # a count held back by the interval, sent before the next stage

    def stage(
        self, name: str, total: int | None = None, unit: str = "", after: float = 0.0
    ) -> None:
        self._flush()  # the last count of the stage before, if it was held back
        now = time.monotonic()
        if after and not self.reported:  # work that is usually quick shows only when it is not
            self._hold_until = now + after
        self._stage_started = now
        self.current = Progress(
            self.statement,
            name,
            0 if total is not None or unit else None,
            total,
            unit,
            now - self.started,
        )
        self._send(now)

    def expect(self, total: int | None, unit: str) -> None:
        """The stage will count ``total`` ``unit`` (None: not known ahead), from 0."""
        self._stage_started = time.monotonic()
        self.current = replace(self.current, done=0, total=total, unit=unit, stage_elapsed=0.0)
        self._send(self._stage_started)

    def advance(self, done: int | None = None, step: int = 1, total: int | None = None) -> None:
        current = self.current
        count = done if done is not None else (current.done or 0) + step
        now = time.monotonic()
        self.current = replace(
            current,
            done=count,
            total=current.total if total is None else total,
            elapsed=now - self.started,
            stage_elapsed=now - self._stage_started,
        )
        last = self.current.total is not None and count >= self.current.total
        if last or now - self._sent_at >= self.interval:
            self._send(now)
        else:
            self._unsent = True

    def finish(self, ok: bool) -> None:
        if not self.reported:
            return  # a statement that reported nothing (or only while held back) ends quietly
        self._flush()
        now = time.monotonic()
        self.current = replace(self.current, elapsed=now - self.started, finished=True, ok=ok)
        self._send(now)

    def _flush(self) -> None:
        if self._unsent:
            self._send(time.monotonic())

    def _send(self, now: float) -> None:
        if now < self._hold_until:
            self._unsent = True
            return
        self.reported = True
        self._sent_at, self._unsent = now, False
        for listener in self.listeners:
            try:
                listener(self.current)
            except Error:
                raise
            except Exception as exc:
                raise ProgrammingError(
                    f"The progress callback raised {type(exc).__name__}: {exc}; the statement "
                    f"was stopped (nothing of it was stored). Fix the callback, or set the "
                    f"connection's progress_callback to None."
                ) from exc


_current: ContextVar[Reporter | None] = ContextVar("sqlml_progress", default=None)


@contextmanager
def reporting(statement: str, listeners: list[Listener]) -> Iterator[Reporter]:
    """Run a statement whose work reports to ``listeners``; the last report has finished=True."""
    reporter = Reporter(statement, listeners)
    token = _current.set(reporter)
    ok = False
    try:
        yield reporter
        ok = True
    finally:
        _current.reset(token)
        if ok:
            reporter.finish(True)
        else:
            with suppress(Exception):  # the statement's own error is the one to raise
                reporter.finish(False)


def current() -> Reporter | None:
    """The running statement's reporter (for work that reports from another thread)."""
    return _current.get()


def stage(name: str, total: int | None = None, unit: str = "", after: float = 0.0) -> None:
    """A stage of the running statement begins (``total`` ``unit`` to count, when known). With
    ``after``, a statement's first stage reaches the listeners only once it has run that many
    seconds (an ML.PREDICT that takes a moment shows nothing)."""
    checkpoint()
    reporter = _current.get()
    if reporter is not None and reporter.depth == 0:
        reporter.stage(name, total, unit, after)


def expect(total: int | None, unit: str) -> None:
    """The running stage counts ``total`` ``unit`` (trees, rounds, epochs); from 0."""
    reporter = _current.get()
    if reporter is not None and reporter.depth == 0:
        reporter.expect(total, unit)


def advance(done: int | None = None, step: int = 1, total: int | None = None) -> None:
    """The stage's count moved: to ``done``, or by ``step``; also a cancel check."""
    checkpoint()
    reporter = _current.get()
    if reporter is not None and reporter.depth == 0:
        reporter.advance(done, step, total)


def counter() -> Callable[[], None]:
    """For work counted on threads it starts (a forest's trees on joblib's threads, where the
    statement's context is not set): a callable that adds one to the running stage's count and,
    after a cancel, raises there."""
    reporter = _current.get()
    flag = cancel.current()
    lock = threading.Lock()
    watched = reporter is not None and reporter.depth == 0

    def tick() -> None:
        cancel.checkpoint(flag)
        if watched:
            assert reporter is not None
            with lock:
                reporter.advance(step=1)

    return tick


@contextmanager
def quiet() -> Iterator[None]:
    """Nested work (a trial's own fit) reports nothing; cancel checks still apply."""
    reporter = _current.get()
    if reporter is None:
        yield
        return
    reporter.depth += 1
    try:
        yield
    finally:
        reporter.depth -= 1
