"""Cancelling a running statement: the engine's own interrupt, plus checks between sqlml's steps.

DuckDB stops a query at its next check when its connection is interrupted; scikit-learn's ``fit``
cannot be stopped from outside, so sqlml checks between the steps of its own work (between
training stages, tuning trials, AutoML candidates) and stops at the first check after a cancel.
``Connection.interrupt()`` (and ``sqlml serve``'s cancel and ``statement_timeout``) set the flag of
the statement's :class:`CancelFlag`; :func:`checkpoint` raises at the next check.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from sqlml.errors import OperationalError


class CancelFlag:
    """One connection's "stop the running statement" flag, safe to set from any thread."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.reason = "canceling statement due to user request"

    def set(self, reason: str | None = None) -> None:
        if reason:
            self.reason = reason
        self._event.set()

    def clear(self) -> None:
        self._event.clear()

    @property
    def is_set(self) -> bool:
        return self._event.is_set()


_current: ContextVar[CancelFlag | None] = ContextVar("sqlml_cancel", default=None)


@contextmanager
def watching(flag: CancelFlag) -> Iterator[None]:
    """Run a statement under ``flag``: :func:`checkpoint` inside it sees a cancel."""
    flag.clear()
    token = _current.set(flag)
    try:
        yield
    finally:
        _current.reset(token)


def checkpoint(flag: CancelFlag | None = None) -> None:
    """Raise OperationalError if the running statement was cancelled (``flag``: the statement's,
    taken by :func:`current` for a check on another thread)."""
    flag = flag if flag is not None else _current.get()
    if flag is not None and flag.is_set:
        raise OperationalError(f"{flag.reason}; nothing of the statement was stored.")


def current() -> CancelFlag | None:
    """The running statement's flag (to check it from threads the work starts)."""
    return _current.get()
