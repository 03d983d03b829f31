"""sqlml errors as PostgreSQL SQLSTATE codes, so drivers raise their usual exception classes.

The message is sqlml's own (it names the problem and the fix); only the code is chosen here, first
from the kind of sqlml error, then from the DuckDB error class that starts the engine's message.
"""

from __future__ import annotations

import re

from sqlml import errors

# Checked in order: the first pattern found in the message wins.
_MESSAGE_CODES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(p, re.I), code)
    for p, code in [
        (r"read-only mode|read only", "25006"),
        (r"^Parser Error", "42601"),
        (r"^Catalog Error: (Table|View) with name .* does not exist", "42P01"),
        (r"^Catalog Error: (Table|View) with name .* already exists", "42P07"),
        (
            r"^Catalog Error: (Scalar |Table |Aggregate )?Function with name .* does not exist",
            "42883",
        ),
        (r"^Catalog Error: Schema with name .* does not exist", "3F000"),
        (r"^Catalog Error: Type with name .* does not exist", "42704"),
        (r"^Catalog Error: .* already exists", "42710"),
        (r"^Catalog Error", "42704"),
        (r"^Binder Error: (Referenced )?column .* not found", "42703"),
        (r"^Binder Error: No function matches", "42883"),
        (r"^Binder Error", "42000"),
        (r"^Constraint Error: (Duplicate key|.*unique)", "23505"),
        (r"^Constraint Error: NOT NULL", "23502"),
        (r"^Constraint Error: .*foreign key", "23503"),
        (r"^Constraint Error: CHECK", "23514"),
        (r"^Constraint Error", "23000"),
        (r"^Conversion Error", "22P02"),
        (r"^Out of Range Error", "22003"),
        (r"Division by zero", "22012"),
        (r"^Invalid Input Error", "22000"),
        (r"^TransactionContext Error: .*(Conflict|conflict)", "40001"),
        (r"^TransactionContext Error: Current transaction is aborted", "25P02"),
        (r"^TransactionContext Error: cannot start a transaction within a transaction", "25001"),
        (r"^TransactionContext Error", "25000"),
        (r"^INTERRUPT Error|Interrupted", "57014"),
        (r"^Out of Memory Error", "53200"),
        (r"^IO Error", "58030"),
        (r"^Permission Error", "42501"),
        (r"^Not implemented Error", "0A000"),
        (r"^Dependency Error", "2BP01"),
    ]
]

# Most specific first: a class is matched with isinstance.
_CLASS_CODES: list[tuple[type[BaseException], str]] = [
    (errors.SQLSyntaxError, "42601"),
    (errors.ModelNotFoundError, "42704"),
    (errors.ModelExistsError, "42710"),
    (errors.OptionError, "22023"),
    (errors.SchemaError, "42703"),
    (errors.TrainingError, "22000"),
    (errors.FidelityError, "XX000"),
    (errors.MissingDependencyError, "0A000"),
]

_FALLBACK_CODES: list[tuple[type[BaseException], str]] = [
    (errors.NotSupportedError, "0A000"),
    (errors.IntegrityError, "23000"),
    (errors.DataError, "22000"),
    (errors.ProgrammingError, "42000"),
    (errors.OperationalError, "58000"),
    (errors.InternalError, "XX000"),
    (errors.InterfaceError, "XX000"),
    (errors.DatabaseError, "XX000"),
    (errors.Error, "XX000"),
]


class ServerError(errors.OperationalError):
    """An error raised by the server itself, carrying its SQLSTATE."""

    def __init__(self, message: str, sqlstate: str) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


def sqlstate(exc: BaseException) -> str:
    """The SQLSTATE for an error raised while running a statement."""
    if isinstance(exc, ServerError):
        return exc.sqlstate
    for cls, code in _CLASS_CODES:
        if isinstance(exc, cls):
            return code
    text = str(exc)
    for pattern, code in _MESSAGE_CODES:
        if pattern.search(text):
            return code
    for cls, code in _FALLBACK_CODES:
        if isinstance(exc, cls):
            return code
    return "XX000"


def message(exc: BaseException) -> str:
    """The text a client sees: sqlml's message and its notes (such as the statement's line)."""
    notes = "".join(f"\n{note}" for note in getattr(exc, "__notes__", []))
    return f"{exc}{notes}"
