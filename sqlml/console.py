"""What the command-line tools (``sqlml``, ``sqlml run``, ``sqlml serve``) print for an error: one
``Error: ...`` line for a user's mistake, a bug report line for sqlml's own, and a traceback only
with ``SQLML_DEBUG=1``."""

from __future__ import annotations

import os
import traceback
from typing import TextIO

from sqlml.errors import Error, InternalError

ISSUES_URL = "https://github.com/sqlml/sqlml/issues"


class UserError(Exception):
    """A problem with the command line or its files rather than with SQL (exit code 1)."""


def debug() -> bool:
    return os.environ.get("SQLML_DEBUG", "") not in ("", "0")


def report(exc: BaseException, err: TextIO) -> int:
    """Print ``exc`` for a user and return the exit code it calls for."""
    if debug():
        traceback.print_exception(exc, file=err)
    if isinstance(exc, Error | UserError):
        notes = "".join(f"\n  {note}" for note in getattr(exc, "__notes__", []))
        err.write(f"Error: {exc}{notes}\n")
        return 2 if isinstance(exc, InternalError) else 1
    first_line = (str(exc).splitlines() or [""])[0]
    err.write(
        f"Internal error: {type(exc).__name__}: {first_line} (a bug in sqlml; please report it at "
        f"{ISSUES_URL}, with the output of SQLML_DEBUG=1)\n"
    )
    return 2
