"""What PostgreSQL clients expect of a server beyond SQL: settings, SET/SHOW, and the catalog.

psql's ``\\d`` commands, pgcli and JDBC drivers query ``pg_catalog`` with PostgreSQL-only syntax
(``OPERATOR(pg_catalog.~)``, ``COLLATE pg_catalog.default``, ``::pg_catalog.regclass``) and
functions DuckDB lacks (``pg_get_userbyid``, ``pg_encoding_to_char``). DuckDB has a ``pg_catalog``
of its own; the server rewrites those queries lightly (outside string literals only): the missing
functions and tables live in an in-memory database attached to its connection (nothing is written
to the user's file, nothing shows in ``SHOW TABLES``), and ``reg*``/``oid`` casts become numbers.

Client settings (TimeZone, DateStyle, application_name, ...) are kept per client; DuckDB's own
settings (``SET threads = 2``) pass through and apply to the shared connection.

``catalog``: the emulated catalog (views and macros in an attached in-memory database); ``rewrite``:
the rewrites of PostgreSQL catalog queries into DuckDB SQL; ``settings``: the per-client settings
that SET, SHOW and RESET read and change; ``intercept``: recognising the statements the server
answers itself (SET, SHOW, transaction control, ...).
"""

from sqlml.server.pgcompat.catalog import EMULATION, PG_VERSION, PG_VERSION_NUM, setup_statements
from sqlml.server.pgcompat.intercept import Command, command
from sqlml.server.pgcompat.rewrite import rewrite
from sqlml.server.pgcompat.settings import REPORTED, Settings, timezone

__all__ = [
    "EMULATION",
    "PG_VERSION",
    "PG_VERSION_NUM",
    "REPORTED",
    "Command",
    "Settings",
    "command",
    "rewrite",
    "setup_statements",
    "timezone",
]
