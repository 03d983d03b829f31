"""``sqlml serve``: a PostgreSQL wire-protocol server over one sqlml connection.

psql, psycopg, JDBC and any other PostgreSQL client can then run sqlml's ML statements and ordinary
DuckDB SQL. See :class:`Server` and :class:`ServerConfig`; the command is ``sqlml serve``.
"""

from sqlml.server.server import Server, ServerConfig

__all__ = ["Server", "ServerConfig"]
