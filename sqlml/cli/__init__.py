"""The ``sqlml`` command: run SQL (ML statements included) against a DuckDB file, or a shell.

    sqlml -d shop.db -c "SELECT * FROM ML.PREDICT(MODEL churn, TABLE customers)"
    sqlml -d shop.db -f train.sql --format csv > out.csv
    sqlml -d shop.db                  # interactive shell when stdin is a terminal
    sqlml run my_project -d shop.db   # build a folder of dbt-style model files (sqlml.project)

Exit codes: 0 success, 1 an SQL or user error (the first one stops a script), 2 an internal error
or bad usage. Errors print as one ``Error: ...`` message, never a traceback unless ``SQLML_DEBUG=1``.
Modules: ``command`` (the arguments and :func:`main`), ``runner`` (running scripts, training
progress), ``render`` (the table, csv and json output formats) and ``shell`` (the interactive shell).
``sqlml run`` is :mod:`sqlml.project`; ``sqlml serve`` is :mod:`sqlml.server`.
"""

from sqlml.cli.command import build_parser, main, run_sources
from sqlml.cli.render import CHUNK, FORMATS, MAX_CELL, write_csv, write_json, write_table
from sqlml.cli.runner import Runner, read_source
from sqlml.cli.shell import BANNER, CONTINUATION, PROMPT, SHELL_HELP, Shell, is_complete

__all__ = [
    "BANNER",
    "CHUNK",
    "CONTINUATION",
    "FORMATS",
    "MAX_CELL",
    "PROMPT",
    "SHELL_HELP",
    "Runner",
    "Shell",
    "build_parser",
    "is_complete",
    "main",
    "read_source",
    "run_sources",
    "write_csv",
    "write_json",
    "write_table",
]
