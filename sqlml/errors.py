"""PEP 249 exception hierarchy, and the sqlml errors that live in it.

Every error sqlml raises is a :class:`Error` subclass of the kind PEP 249 names, so code written against
any DB-API driver catches it; the concrete subclasses carry the detail a user needs to fix the problem.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


class Warning(Exception):  # noqa: A001 - the name is fixed by PEP 249
    """Important warnings, such as data truncation."""


class Error(Exception):
    """Base class of every sqlml error."""


class InterfaceError(Error):
    """Misuse of the interface: a closed cursor or connection, a bad parameter style."""


class DatabaseError(Error):
    """An error reported by, or about, the database."""


class DataError(DatabaseError):
    """The data cannot be processed: an empty training set, a one-class label, a bad value."""


class OperationalError(DatabaseError):
    """The engine could not carry out the operation: a locked file, out of memory, I/O."""


class IntegrityError(DatabaseError):
    """A constraint was violated, such as a model that already exists."""


class InternalError(DatabaseError):
    """The engine or sqlml reached a state it should not have; a bug worth reporting."""


class ProgrammingError(DatabaseError):
    """The statement is wrong: a syntax error, an unknown table, column, model or option."""


class NotSupportedError(DatabaseError):
    """A feature the engine or sqlml does not provide (yet)."""


# --- sqlml's own errors -----------------------------------------------------------------------------


class SQLSyntaxError(ProgrammingError):
    """A statement that does not parse; the message carries the line and column."""

    def __init__(self, message: str, line: int | None = None, col: int | None = None) -> None:
        self.line = line
        self.col = col
        where = f" (line {line}, column {col})" if line is not None else ""
        super().__init__(f"{message}{where}")


class LimitError(ProgrammingError):
    """The statement is over one of sqlml's limits: its length or its nesting depth."""


class ModelNotFoundError(ProgrammingError):
    """The statement names a model that is not in the catalog."""


class ModelExistsError(IntegrityError):
    """CREATE MODEL on a name that is taken, without OR REPLACE or IF NOT EXISTS."""


class OptionError(ProgrammingError):
    """An unknown option, or an option value of the wrong type or out of range."""


class SchemaError(ProgrammingError):
    """Columns do not fit the model: a missing feature or label, or a type that changed."""


class TrainingError(DataError):
    """The data cannot train the model: no rows, one class, no usable feature."""


class FidelityError(InternalError):
    """The ONNX graph disagrees with the fitted estimator beyond the stated tolerance."""


class MissingDependencyError(InterfaceError):
    """An optional extra is not installed; the message names the pip command."""


@contextmanager
def public_errors(doing: str) -> Iterator[None]:
    """Whatever escapes the block leaves as a sqlml.Error: ours unchanged; a stack overflow in a
    library's recursion (sqlglot rendering a 10,000-term expression) as the LimitError it is; out of
    memory as an OperationalError; anything else as an InternalError, a bug worth reporting."""
    try:
        yield
    except Error:
        raise
    except RecursionError:
        raise LimitError(
            f"The statement is too deeply nested for sqlml ({doing} overflowed Python's stack); "
            f"simplify it, e.g. with a WITH clause or fewer nested expressions."
        ) from None
    except MemoryError:
        raise OperationalError(
            f"Out of memory {doing}; use a smaller input, or a machine with more memory."
        ) from None
    except Exception as exc:
        raise InternalError(f"Unexpected error {doing}: {exc!r}") from exc


__all__ = [
    "DataError",
    "DatabaseError",
    "Error",
    "FidelityError",
    "IntegrityError",
    "InterfaceError",
    "InternalError",
    "LimitError",
    "MissingDependencyError",
    "ModelExistsError",
    "ModelNotFoundError",
    "NotSupportedError",
    "OperationalError",
    "OptionError",
    "ProgrammingError",
    "SQLSyntaxError",
    "SchemaError",
    "TrainingError",
    "Warning",
]
