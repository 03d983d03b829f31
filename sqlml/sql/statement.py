"""One statement of a script as :func:`sqlml.sql.split_statements` returns it.

Data rather than grammar: the splitter (:mod:`sqlml.sql.split`) builds it, the DB-API layer and the
planner read it, and nothing in it depends on how the statement was parsed.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlglot import exp

from sqlml.sql.nodes import MLFunction


@dataclass(frozen=True)
class Statement:
    """One statement of a script, with where it starts, so errors can point into the script.

    ``node`` is None for statements sqlml does not handle: they go to the engine verbatim, unparsed.
    ``placeholders`` are ``(start, end)`` offsets within ``sql`` of each ``?``, ``$1``, ``$name``
    or ``:name`` token, so the DB-API layer can bind parameters without re-lexing.
    """

    sql: str
    line: int
    col: int
    node: exp.Expr | None = None
    ml_functions: tuple[MLFunction, ...] = ()
    placeholders: tuple[tuple[int, int], ...] = ()
    #: For ``EXPLAIN [ANALYZE] <ML statement>`` (``node`` an :class:`Explain`): the explained
    #: statement on its own, with offsets relative to its own text.
    explained: Statement | None = None
    #: For an ML statement sqlml recognises but cannot run (``ML.FORECAST(...)``, ``ALTER MODEL m
    #: SET DEFAULT_VERSION ...``): the NotSupportedError message its planning raises. ``node`` is
    #: None: the statement is not parsed, nor sent to the engine.
    unsupported: str | None = None
