"""The shell's line editor (prompt_toolkit): multi-line statements that run when they end with ``;``,
SQL highlighting, history, and Tab completion of the database's tables and columns, its models,
the ML functions and the CREATE MODEL options, and SQL keywords.

prompt_toolkit and pygments are imported only when the shell starts on a terminal.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import sqlml

#: SQL words offered after the names of the database (BigQuery's and Redshift's ML forms included).
KEYWORDS = (
    "SELECT", "FROM", "WHERE", "GROUP BY", "ORDER BY", "HAVING", "LIMIT", "JOIN", "LEFT JOIN",
    "INNER JOIN", "ON", "AS", "AND", "OR", "NOT", "NULL", "IS", "IN", "BETWEEN", "LIKE", "CASE",
    "WHEN", "THEN", "ELSE", "END", "DISTINCT", "UNION", "WITH", "INSERT INTO", "VALUES",
    "UPDATE", "SET", "DELETE", "CREATE", "TABLE", "VIEW", "DROP", "ALTER", "REPLACE",
    "CREATE MODEL", "CREATE OR REPLACE MODEL", "OPTIONS", "TRANSFORM", "MODEL", "TARGET",
    "FUNCTION", "MODEL_TYPE", "PROBLEM_TYPE", "OBJECTIVE", "SETTINGS", "SHOW MODEL", "DROP MODEL",
    "EXPORT MODEL", "STRUCT", "TRUE", "FALSE", "EXPLAIN", "DESCRIBE", "SHOW TABLES",
)  # fmt: skip

#: A word being completed: letters, digits, '_', and the '.' of ML.PREDICT or schema.table.
WORD = re.compile(r"[\w.]+$")


def catalog_words(connection: sqlml.Connection) -> dict[str, str]:
    """The database's names for completion, each with what it is: tables and views, their
    columns, and models. Read on every completion, so new tables appear at once."""
    words: dict[str, str] = {}
    cursor = connection.cursor()
    try:
        cursor.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema NOT IN ('information_schema', 'pg_catalog', 'sqlml') "
            "ORDER BY table_name, ordinal_position"
        )
        for table, column in cursor.fetchall():
            words.setdefault(table, "table")
            words.setdefault(column, f"column of {table}")
        cursor.execute("SHOW MODEL ALL")
        names = [d[0] for d in cursor.description or []]
        key = next((i for i, n in enumerate(names) if n.lower() in ("name", "model_name")), 0)
        function = names.index("function_name") if "function_name" in names else None
        for row in cursor.fetchall():
            words.setdefault(str(row[key]), "model")
            if function is not None and row[function]:
                words.setdefault(str(row[function]), "model function")
    except sqlml.Error:  # a connection without the catalog yet, or busy: fewer words
        pass
    finally:
        cursor.close()
    return words


def static_words() -> dict[str, str]:
    """ML functions, CREATE MODEL options and SQL keywords."""
    from sqlml.models.option_table import OPTIONS
    from sqlml.sql.keywords import ML_FUNCTIONS

    words = {f"ML.{name}": "ML function" for name in sorted(ML_FUNCTIONS)}
    words |= {name: "option" for name in sorted(OPTIONS)}
    words |= {keyword: "keyword" for keyword in KEYWORDS}
    return words


def matches(prefix: str, words: dict[str, str]) -> Iterator[tuple[str, str]]:
    """The words starting with ``prefix`` (case-insensitive), in the order given."""
    low = prefix.lower()
    for word, meta in words.items():
        if word.lower().startswith(low) and word.lower() != low:
            yield word, meta


def completer(connection: sqlml.Connection) -> Any:
    from prompt_toolkit.completion import Completer, Completion

    fixed = static_words()

    class SqlmlCompleter(Completer):
        def get_completions(self, document: Any, complete_event: Any) -> Iterable[Any]:
            found = WORD.search(document.text_before_cursor)
            if not found:
                return
            prefix = found.group(0)
            words = {**catalog_words(connection), **fixed}
            for word, meta in matches(prefix, words):
                yield Completion(word, start_position=-len(prefix), display_meta=meta)

    return SqlmlCompleter()


def prompt_session(
    connection: sqlml.Connection, history_path: str | None, complete: Callable[[str], bool]
) -> Any:
    """A prompt_toolkit session: Enter runs the text once ``complete`` says it is a statement
    (or a dot command, or nothing), else starts a new line."""
    from prompt_toolkit import PromptSession
    from prompt_toolkit.history import FileHistory, InMemoryHistory
    from prompt_toolkit.key_binding import KeyBindings
    from prompt_toolkit.lexers import PygmentsLexer
    from pygments.lexers.sql import SqlLexer

    bindings = KeyBindings()

    @bindings.add("enter")
    def _(event: Any) -> None:
        buffer = event.current_buffer
        text = buffer.text
        if not text.strip() or text.lstrip().startswith(".") or complete(text):
            buffer.validate_and_handle()
        else:
            buffer.insert_text("\n")

    history: Any = FileHistory(history_path) if history_path else InMemoryHistory()
    return PromptSession(
        history=history,
        lexer=PygmentsLexer(SqlLexer),
        completer=completer(connection),
        complete_while_typing=False,
        multiline=True,
        key_bindings=bindings,
        prompt_continuation=lambda width, line, wrap: "   ...> ",
        enable_history_search=False,
    )
