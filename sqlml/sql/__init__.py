"""sqlml's SQL layer: split scripts into statements, parse the ML ones, and write them back.

- :mod:`.split`: :func:`split_statements`, :class:`Limits` and the fallback scanner;
- :mod:`.statement`: :class:`Statement`, one statement of a script;
- :mod:`.nodes`: the ML statements' syntax trees; :mod:`.values`: constant expressions as values;
- :mod:`.dialects`: :func:`dialect_for`, sqlglot's dialects with sqlml's grammar
  (:mod:`.grammar`) and sqlml's nodes written back as SQL (:mod:`.render`);
- :mod:`.keywords`: :data:`ML_FUNCTIONS` and the other words of the grammar.
"""

from sqlml.sql.dialects import dialect_for
from sqlml.sql.keywords import ML_FUNCTIONS
from sqlml.sql.split import DEFAULT_LIMITS, Limits, split_statements
from sqlml.sql.statement import Statement

__all__ = [
    "DEFAULT_LIMITS",
    "ML_FUNCTIONS",
    "Limits",
    "Statement",
    "dialect_for",
    "split_statements",
]
