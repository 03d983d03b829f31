"""DuckDB, embedded: the default engine."""

from sqlml.backends.duckdb.backend import DuckDBBackend

__all__ = ["DuckDBBackend"]
