"""What the sqlml materializations run inside dbt: CREATE MODEL / CREATE TABLE through sqlml.

dbt's Jinja can only send SQL to DuckDB, and DuckDB does not know ``CREATE MODEL`` or ``ML.PREDICT``.
dbt-duckdb, though, runs Python in-process for Python models, handing it *the same cursor* (and so
the same open transaction) as the rest of the materialization. The materializations submit a
three-line Python job that calls :func:`run` with the node's compiled SQL and config as JSON; sqlml
then runs on dbt's own cursor, inside dbt's transaction, which the materialization commits. Reading
the training data on another cursor would not see tables dbt has not committed yet.

The job module must define ``model(dbt, con)``, ``dbtObj`` and ``materialize`` (dbt-duckdb's
contract for Python models); the last two are no-ops here.
"""

from __future__ import annotations

import json
from typing import Any

from sqlml.errors import ProgrammingError

KINDS = ("model", "table")


class dbtObj:  # noqa: N801 - the name is dbt-duckdb's contract for Python jobs
    """Stands in for a Python model's ``dbt`` argument, which sqlml's jobs do not use."""

    def __init__(self, load_df_function: Any) -> None:
        self.load_df_function = load_df_function


def materialize(df: Any, con: Any) -> None:
    """dbt-duckdb stores a Python model's result with this; sqlml's jobs have stored theirs."""


def raw_connection(con: Any) -> Any:
    """The ``duckdb.DuckDBPyConnection`` under dbt-duckdb's cursor wrappers."""
    import duckdb

    seen = 0
    while not isinstance(con, duckdb.DuckDBPyConnection) and hasattr(con, "_cursor") and seen < 5:
        con, seen = con._cursor, seen + 1
    return con


def executor_for(con: Any, in_transaction: bool) -> Any:
    """A sqlml Executor on dbt's connection; starting it registers the models' functions."""
    from sqlml.backends.duckdb.backend import DuckDBBackend
    from sqlml.core.executor import Executor

    return Executor(
        DuckDBBackend.from_connection(raw_connection(con), in_transaction=in_transaction)
    )


def statements(payload: dict[str, Any]) -> list[str]:
    """The SQL that builds one node, from the materialization's payload."""
    from sqlml.project.sqltext import check_model_name, create_model_sql, model_options, qualified

    kind = payload.get("kind")
    if kind not in KINDS:
        raise ProgrammingError(f"Unknown sqlml materialization kind {kind!r}; expected {KINDS}.")
    sql = str(payload["sql"]).strip().rstrip(";")
    if kind == "table":
        relation = qualified(payload.get("database"), payload.get("schema"), payload["name"])
        return [f"CREATE OR REPLACE TABLE {relation} AS\n{sql}"]
    name = check_model_name(payload["name"])
    options = model_options(payload.get("config") or {}, name)
    prefix = [f"DROP MODEL IF EXISTS {name}"] if payload.get("full_refresh") else []
    return [*prefix, create_model_sql(name, options, sql)]


def run(con: Any, payload_json: str) -> None:
    """Build one dbt node with sqlml on dbt's cursor ``con`` (inside dbt's open transaction)."""
    from sqlml.plan.planner import plan
    from sqlml.sql import split_statements

    payload = json.loads(payload_json)
    if not isinstance(payload, dict):
        raise ProgrammingError(
            "The sqlml materialization could not pass the model's config to Python (it is not "
            "JSON-serializable); keep config values to strings, numbers, booleans, lists and maps."
        )
    executor = executor_for(con, in_transaction=True)
    for text in statements(payload):
        for statement in split_statements(text):
            outcome = executor.run(plan(statement))
            if outcome.has_result and outcome.table is None and executor.backend.description():
                executor.backend.fetchall()  # drain, so dbt's next statement starts clean
    if payload.get("kind") == "model":
        document(executor, payload)


def document(executor: Any, payload: dict[str, Any]) -> None:
    """The trained model in dbt's catalog (``dbt docs generate``): a view named after the node
    over the model's rows of ``sqlml.models`` (one per version), commented with the live
    version's type, label, options and metrics — dbt-duckdb's catalog reads views and their
    comments, so the docs site shows them. Values are written as escaped literals: DuckDB takes
    no parameters in a view's definition or a COMMENT."""
    from sqlml.project.sqltext import check_model_name, qualified, sql_literal

    name = check_model_name(payload["name"])
    record = executor.catalog.get(name)
    relation = qualified(payload.get("database"), payload.get("schema"), payload["name"])
    raw = executor.backend.con
    raw.execute(
        f"CREATE OR REPLACE VIEW {relation} AS SELECT name, version, created_at, model_type, "
        f"label, options, metrics, training_info, function_name FROM sqlml.models "
        f"WHERE name = {sql_literal(record.name)}"
    )
    raw.execute(f"COMMENT ON VIEW {relation} IS {sql_literal(describe(record))}")


def describe(record: Any) -> str:
    """One paragraph on a model version, for the docs site."""
    metrics = ", ".join(
        f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}"
        for k, v in record.metrics.items()
        if v is not None
    )
    label = f", label {record.label}" if record.label else ""
    function = f", FUNCTION {record.function_name}" if record.function_name else ""
    return (
        f"sqlml model {record.name} version {record.version}: {record.model_type}{label}"
        f"{function}. Evaluation: {metrics or 'none'}. Options: {json.dumps(record.options)}."
    )
