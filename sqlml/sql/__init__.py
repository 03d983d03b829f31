"""sqlml's SQL layer: split scripts into statements and parse the ML ones (see :mod:`.parser`)."""

from sqlml.sql.parser import ML_FUNCTIONS, Statement, dialect_for, split_statements

__all__ = ["ML_FUNCTIONS", "Statement", "dialect_for", "split_statements"]
