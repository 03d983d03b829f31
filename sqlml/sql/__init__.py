"""sqlml's SQL layer: split scripts into statements and parse the ML ones (see :mod:`.parser`)."""

from sqlml.sql.parser import (
    DEFAULT_LIMITS,
    ML_FUNCTIONS,
    Limits,
    Statement,
    dialect_for,
    split_statements,
)

__all__ = [
    "DEFAULT_LIMITS",
    "ML_FUNCTIONS",
    "Limits",
    "Statement",
    "dialect_for",
    "split_statements",
]
