"""A SQLAlchemy dialect over sqlml's DB-API: ``create_engine("sqlml:///warehouse.duckdb")``.

With it, anything that speaks SQLAlchemy reaches sqlml's ML statements: ``pandas.read_sql`` of an
``ML.PREDICT``, ``DataFrame.to_sql``, jupysql's ``%sql`` / ``%%sql`` in notebooks, BI tools. The
dialect is registered by the ``sqlalchemy.dialects`` entry point, so only the URL is needed:

    sqlml:///relative/path.duckdb     sqlml:////absolute/path.duckdb     sqlml:// (in memory)
    sqlml:///path.duckdb?read_only=true

SQL is compiled by SQLAlchemy's generic compiler (DuckDB reads it); reflection (tables, views,
columns, primary keys) queries DuckDB's ``information_schema``. Connections start in PEP 249
transaction mode, as SQLAlchemy expects; ``isolation_level="AUTOCOMMIT"`` (which jupysql sets) runs
each statement on its own, which also lets ML.PREDICT stream its input instead of reading it whole.
"""

from __future__ import annotations

import contextlib
import functools
import re
import sys
from typing import Any

from sqlalchemy import types as sqltypes
from sqlalchemy.engine import default, reflection
from sqlalchemy.exc import ArgumentError, NoSuchTableError
from sqlalchemy.sql import compiler

_SIMPLE_TYPES: dict[str, Any] = {
    "BOOLEAN": sqltypes.BOOLEAN,
    "TINYINT": sqltypes.SMALLINT,
    "SMALLINT": sqltypes.SMALLINT,
    "INTEGER": sqltypes.INTEGER,
    "BIGINT": sqltypes.BIGINT,
    "HUGEINT": sqltypes.NUMERIC,
    "UTINYINT": sqltypes.SMALLINT,
    "USMALLINT": sqltypes.INTEGER,
    "UINTEGER": sqltypes.BIGINT,
    "UBIGINT": sqltypes.NUMERIC,
    "UHUGEINT": sqltypes.NUMERIC,
    "FLOAT": sqltypes.REAL,
    "REAL": sqltypes.REAL,
    "DOUBLE": sqltypes.DOUBLE,
    "VARCHAR": sqltypes.VARCHAR,
    "BLOB": sqltypes.BLOB,
    "DATE": sqltypes.DATE,
    "TIME": sqltypes.TIME,
    "TIMESTAMP": sqltypes.TIMESTAMP,
    "TIMESTAMP_S": sqltypes.TIMESTAMP,
    "TIMESTAMP_MS": sqltypes.TIMESTAMP,
    "TIMESTAMP_NS": sqltypes.TIMESTAMP,
    "INTERVAL": sqltypes.Interval,
    "UUID": sqltypes.UUID,
    "JSON": sqltypes.JSON,
}
_QUERY_OPTIONS = {"read_only"}


def column_type(name: str) -> sqltypes.TypeEngine[Any]:
    """A DuckDB type name from information_schema as a SQLAlchemy type (nested types: NullType)."""
    text = name.upper().strip()
    if text.endswith("]") or text.startswith(("STRUCT", "MAP", "UNION")):
        return sqltypes.NullType()
    if text == "TIMESTAMP WITH TIME ZONE":
        return sqltypes.TIMESTAMP(timezone=True)
    if text == "TIME WITH TIME ZONE":
        return sqltypes.TIME(timezone=True)
    decimal = re.fullmatch(r"DECIMAL\((\d+),\s*(\d+)\)", text)
    if decimal:
        return sqltypes.NUMERIC(int(decimal.group(1)), int(decimal.group(2)))
    kind = _SIMPLE_TYPES.get(text) or _SIMPLE_TYPES.get(text.split("(")[0])
    return kind() if kind is not None else sqltypes.NullType()


@functools.cache
def duckdb_keywords() -> frozenset[str]:
    """DuckDB's keywords that cannot name a column unquoted (``at``, ``by``, ``table``, ...)."""
    import duckdb

    with duckdb.connect() as con:
        rows = con.execute(
            "SELECT keyword_name FROM duckdb_keywords() WHERE keyword_category <> 'unreserved'"
        ).fetchall()
    return frozenset(r[0].lower() for r in rows)


class SqlmlIdentifierPreparer(compiler.IdentifierPreparer):
    """Quotes DuckDB's reserved words as well as SQL's (pandas' column ``at`` must be ``"at"``)."""

    def __init__(self, dialect: Any, **kw: Any) -> None:
        super().__init__(dialect, **kw)
        self.reserved_words = compiler.RESERVED_WORDS | duckdb_keywords()


class SqlmlTypeCompiler(compiler.GenericTypeCompiler):
    """DuckDB's names where the generic ones mean something else (FLOAT is 4 bytes in DuckDB)."""

    def visit_FLOAT(self, type_: Any, **kw: Any) -> str:  # noqa: N802 - SQLAlchemy's naming
        precision = getattr(type_, "precision", None)
        return "REAL" if precision is not None and precision <= 24 else "DOUBLE"

    def visit_DATETIME(self, type_: Any, **kw: Any) -> str:  # noqa: N802
        return self.visit_TIMESTAMP(type_, **kw)

    def visit_TIMESTAMP(self, type_: Any, **kw: Any) -> str:  # noqa: N802
        return "TIMESTAMP WITH TIME ZONE" if getattr(type_, "timezone", False) else "TIMESTAMP"


_DDL_TAG = re.compile(
    r"\s*(CREATE|DROP|ALTER)\s+(?:OR\s+REPLACE\s+)?(?:(?:TEMP|TEMPORARY|UNIQUE)\s+)?(\w+)", re.I
)


def show_statuses_in_jupysql() -> None:
    """In a notebook with jupysql loaded, a statement of a sqlml connection that returns no rows
    (CREATE TABLE, CREATE MODEL, DROP MODEL) shows its status — ``CREATE MODEL``, as psql prints
    it — instead of jupysql's empty table (``++ || ++``). Other results show as jupysql shows them.
    """
    ipython, results = sys.modules.get("IPython"), sys.modules.get("sql.run.resultset")
    shell = ipython.get_ipython() if ipython is not None else None
    if shell is None or results is None:
        return
    formatters = shell.display_formatter.formatters
    if results.ResultSet in formatters["text/plain"].type_printers:
        return  # once per shell

    def status(result: Any) -> str | None:
        if getattr(result._conn, "dialect", None) != "sqlml" or result.keys:
            return None
        cursor = getattr(getattr(result.sqlaproxy, "context", None), "cursor", None)
        text = getattr(cursor, "statusmessage", "") or ""
        match = _DDL_TAG.match(result._statement or "")
        if match and text.upper() == match.group(1).upper():  # plain SQL's tag: name the object
            text = f"{match.group(1)} {match.group(2)}".upper()
        return text or "OK"

    def plain(result: Any, printer: Any, cycle: bool) -> None:
        printer.text(status(result) or str(result))

    def markup(result: Any) -> str | None:
        return None if status(result) is not None else result._repr_html_()

    formatters["text/plain"].for_type(results.ResultSet, plain)
    formatters["text/html"].for_type(results.ResultSet, markup)


class SqlmlDialect(default.DefaultDialect):
    """``sqlml://``: SQLAlchemy on sqlml's PEP 249 module (DuckDB underneath)."""

    name = "sqlml"
    driver = "sqlml"
    type_compiler_cls = SqlmlTypeCompiler
    preparer = SqlmlIdentifierPreparer
    default_paramstyle = "qmark"
    supports_statement_cache = True
    supports_native_boolean = True
    supports_native_decimal = True
    supports_native_uuid = True
    supports_multivalues_insert = True
    supports_default_values = True
    supports_empty_insert = False
    supports_sane_rowcount = True
    supports_sane_multi_rowcount = False
    supports_comments = False
    supports_server_side_cursors = False
    postfetch_lastrowid = False
    div_is_floordiv = False  # DuckDB's / divides as floats
    max_identifier_length = 1024

    @classmethod
    def import_dbapi(cls) -> Any:
        import sqlml

        return sqlml

    def connect(self, *cargs: Any, **cparams: Any) -> Any:
        show_statuses_in_jupysql()
        return super().connect(*cargs, **cparams)

    def create_connect_args(self, url: Any) -> tuple[list[Any], dict[str, Any]]:
        unknown = set(url.query) - _QUERY_OPTIONS
        if unknown:
            raise ArgumentError(
                f"Unknown option(s) in the sqlml URL: {', '.join(sorted(unknown))}; the URL takes "
                f"sqlml:///path.duckdb with optional ?read_only=true."
            )
        kwargs: dict[str, Any] = {"autocommit": False}
        if "read_only" in url.query:
            text = str(url.query["read_only"]).lower()
            if text not in ("true", "false", "1", "0"):
                raise ArgumentError(
                    f"read_only in the sqlml URL must be true or false; got {text!r}."
                )
            kwargs["read_only"] = text in ("true", "1")
        return [url.database or ":memory:"], kwargs

    # --- transactions ---------------------------------------------------------------------------

    def get_isolation_level_values(self, dbapi_connection: Any) -> list[str]:
        return ["AUTOCOMMIT", "SNAPSHOT"]  # DuckDB's transactions are snapshot-isolated

    def set_isolation_level(self, dbapi_connection: Any, level: str) -> None:
        dbapi_connection.autocommit = level == "AUTOCOMMIT"

    def get_isolation_level(self, dbapi_connection: Any) -> str:
        return "AUTOCOMMIT" if dbapi_connection.autocommit else "SNAPSHOT"

    def get_default_isolation_level(self, dbapi_conn: Any) -> str:
        return "SNAPSHOT"

    def do_rollback(self, dbapi_connection: Any) -> None:
        """Roll back, tolerating a connection that is already closed (pool resets call this)."""
        import sqlml

        with contextlib.suppress(sqlml.InterfaceError):
            dbapi_connection.rollback()

    # --- reflection -----------------------------------------------------------------------------

    def _get_default_schema_name(self, connection: Any) -> str:
        return str(connection.exec_driver_sql("SELECT current_schema()").scalar())

    def _rows(self, connection: Any, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        return list(connection.exec_driver_sql(sql, params).fetchall())

    @reflection.cache
    def get_schema_names(self, connection: Any, **kw: Any) -> list[str]:
        rows = self._rows(
            connection,
            "SELECT schema_name FROM information_schema.schemata "
            "WHERE catalog_name = current_database() ORDER BY schema_name",
        )
        return [r[0] for r in rows]

    def _relations(self, connection: Any, schema: str | None, table_type: str) -> list[str]:
        rows = self._rows(
            connection,
            "SELECT table_name FROM information_schema.tables WHERE table_catalog = "
            "current_database() AND table_schema = coalesce(?, current_schema()) "
            "AND table_type = ? ORDER BY table_name",
            (schema, table_type),
        )
        return [r[0] for r in rows]

    @reflection.cache
    def get_table_names(self, connection: Any, schema: str | None = None, **kw: Any) -> list[str]:
        return self._relations(connection, schema, "BASE TABLE")

    @reflection.cache
    def get_view_names(self, connection: Any, schema: str | None = None, **kw: Any) -> list[str]:
        return self._relations(connection, schema, "VIEW")

    @reflection.cache
    def get_temp_table_names(
        self, connection: Any, schema: str | None = None, **kw: Any
    ) -> list[str]:
        rows = self._rows(
            connection,
            "SELECT table_name FROM duckdb_tables() WHERE temporary ORDER BY table_name",
        )
        return [r[0] for r in rows]

    def has_table(
        self, connection: Any, table_name: str, schema: str | None = None, **kw: Any
    ) -> bool:
        """Tables, views and temporary tables, as SQLAlchemy 2 defines has_table."""
        rows = self._rows(
            connection,
            "SELECT count(*) FROM information_schema.tables WHERE table_name = ? AND "
            "((table_catalog = current_database() AND table_schema = coalesce(?, current_schema()))"
            " OR (table_catalog = 'temp' AND ? IS NULL))",
            (table_name, schema, schema),
        )
        return bool(rows[0][0])

    @reflection.cache
    def get_columns(
        self, connection: Any, table_name: str, schema: str | None = None, **kw: Any
    ) -> list[dict[str, Any]]:
        rows = self._rows(
            connection,
            "SELECT column_name, data_type, is_nullable, column_default "
            "FROM information_schema.columns WHERE table_name = ? AND "
            "((table_catalog = current_database() AND table_schema = coalesce(?, current_schema()))"
            " OR (table_catalog = 'temp' AND ? IS NULL)) ORDER BY ordinal_position",
            (table_name, schema, schema),
        )
        if not rows:
            raise NoSuchTableError(table_name)
        return [
            {
                "name": name,
                "type": column_type(data_type),
                "nullable": is_nullable == "YES",
                "default": default,
                "autoincrement": False,
            }
            for name, data_type, is_nullable, default in rows
        ]

    @reflection.cache
    def get_pk_constraint(
        self, connection: Any, table_name: str, schema: str | None = None, **kw: Any
    ) -> dict[str, Any]:
        rows = self._rows(
            connection,
            "SELECT constraint_column_names FROM duckdb_constraints() WHERE table_name = ? "
            "AND schema_name = coalesce(?, current_schema()) AND constraint_type = 'PRIMARY KEY'",
            (table_name, schema),
        )
        return {"constrained_columns": list(rows[0][0]) if rows else [], "name": None}

    def get_foreign_keys(
        self, connection: Any, table_name: str, schema: str | None = None, **kw: Any
    ) -> list[dict[str, Any]]:
        return []

    def get_indexes(
        self, connection: Any, table_name: str, schema: str | None = None, **kw: Any
    ) -> list[dict[str, Any]]:
        return []

    def get_unique_constraints(
        self, connection: Any, table_name: str, schema: str | None = None, **kw: Any
    ) -> list[dict[str, Any]]:
        return []

    def get_check_constraints(
        self, connection: Any, table_name: str, schema: str | None = None, **kw: Any
    ) -> list[dict[str, Any]]:
        return []


dialect = SqlmlDialect
