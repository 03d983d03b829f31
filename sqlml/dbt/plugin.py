"""The dbt-duckdb plugin: ``plugins: [{module: sqlml.dbt.plugin}]`` in a DuckDB profile.

DuckDB's Python functions live in the process that registered them, so a model's FUNCTION must be
registered on every connection dbt opens; dbt-duckdb calls :meth:`Plugin.configure_connection` for
each. Functions registered on a connection are visible to all of its cursors.
"""

from __future__ import annotations

from typing import Any

from dbt.adapters.duckdb.plugins import BasePlugin


class Plugin(BasePlugin):
    """Registers sqlml's model functions on each DuckDB connection dbt-duckdb opens."""

    def configure_connection(self, conn: Any) -> None:
        from sqlml.dbt.runtime import executor_for

        executor_for(conn, in_transaction=False)  # an Executor registers the functions as it starts
