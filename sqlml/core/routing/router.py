"""The routed statement (which executor runs its job, and why) and the Router of a connection
with both engines (Spark started on its first statement)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from sqlml.errors import NotSupportedError
from sqlml.plan import Job, planner
from sqlml.plan.jobs import (
    DropModelJob,
    ExplainJob,
    MLQuery,
    PassThrough,
    TrainJob,
)
from sqlml.sql import Statement

if TYPE_CHECKING:
    from sqlml.core.executor import Executor, Result

from sqlml.core.routing.explain import (
    ExplainTarget,
    explain_only_engine,
    explain_steps,
    explain_table,
    spark_reader,
)
from sqlml.core.routing.rewrite import spark_job, transpile_job
from sqlml.core.routing.rules import Route, route_statement
from sqlml.core.routing.settings import DEFAULT_SPARK_THRESHOLD, setting_value, threshold_setting


@dataclass
class RoutedStatement:
    """One statement, placed: the executor that runs it, its job there, and why."""

    executor: Any
    job: Any
    engine: str
    reason: str
    views: dict[str, Any] = field(default_factory=dict)  # Spark views: name -> (source, paths)
    table: pa.Table | None = None  # EXPLAIN's rows, answered without running anything
    status: str | None = None  # a setting sqlml took itself (SET sqlml.…)
    after: Callable[[], None] | None = None

    def run(self, params: Any, stream: int = 0) -> Result:
        """``stream``: a streaming cursor's batch size (sqlml.core.streaming); 0: as usual."""
        from sqlml.core.executor import Result

        if self.status is not None:
            return Result(has_result=False, status=self.status)
        if self.table is not None:
            return self.executor.result_table(self.table)
        backend = self.executor.backend
        for name, (source, paths) in self.views.items():
            backend.register_arrow(name, backend.read_files(source.format, paths))
        try:
            # files read for Spark are registered for this statement only: no stream outlives it
            outcome = self.executor.run(self.job, params, 0 if self.views else stream)
        finally:
            for name in self.views:
                backend.unregister_arrow(name)
        if self.after is not None:
            self.after()
        return outcome


class SingleEngine:
    """A connection with one engine: every statement runs there, transpiled when the connection's
    dialect (``connect(dialect=...)``) is not the engine's."""

    threshold: int | None = None  # sqlml.spark_threshold: connections with both engines only

    def __init__(self, executor: Executor) -> None:
        self.executor = executor
        self.engine = executor.backend.name

    def dispatch(self, statement: Statement, params: Any, dialect: str) -> RoutedStatement:
        backend = self.executor.backend
        if threshold_setting(statement.sql) is not None:
            raise NotSupportedError(
                "sqlml.spark_threshold applies to connections with both engines (engine='auto'): "
                "sqlml.connect('file.duckdb', spark_master=...)."
            )
        job = planner.plan(statement, backend.dialect)
        if dialect != backend.dialect:
            job = transpile_job(statement, job, dialect, backend.dialect)
        reason = "the connection's only engine"
        if isinstance(job, ExplainJob):
            table = explain_only_engine(self.executor, job)
            return RoutedStatement(self.executor, job, self.engine, reason, table=table)
        return RoutedStatement(self.executor, job, self.engine, reason)

    def interrupt(self) -> None:
        return None  # the connection interrupts its one backend itself

    def close(self) -> None:
        return None


class Router:
    """The auto connection's choice of engine per statement; Spark starts on first use."""

    engine = "auto"

    def __init__(
        self,
        duck: Executor,
        start_spark: Callable[[], Any],
        threshold: int,
        local_training_rows: int,
        location: str,
    ) -> None:
        self.duck = duck
        self.executor = duck  # the primary engine: the database, and the one model catalog
        self._start_spark = start_spark
        self._spark: Executor | None = None
        self.threshold = threshold
        self.local_training_rows = local_training_rows
        self.location = location

    @property
    def spark_started(self) -> bool:
        return self._spark is not None

    @property
    def spark(self) -> Executor:
        """The Spark session, started now if this is its first statement; models through the
        DuckDB catalog, so both engines see the same models."""
        if self._spark is None:
            from sqlml.core.executor import Executor

            backend = self._start_spark()
            try:
                self._spark = Executor(backend, catalog=self.duck.catalog)
            except BaseException:
                backend.close()
                raise
        return self._spark

    def dispatch(
        self, statement: Statement, params: Any, dialect: str = "duckdb"
    ) -> RoutedStatement:
        setting = threshold_setting(statement.sql)
        if setting is not None:
            verb, value = setting
            self.threshold = DEFAULT_SPARK_THRESHOLD if verb == "RESET" else setting_value(value)
            return RoutedStatement(self.duck, None, "duckdb", "sqlml setting", status=verb)
        job = planner.plan(statement, "duckdb")
        if isinstance(job, ExplainJob):
            table = self.explain(job)
            return RoutedStatement(self.duck, job, "duckdb", "EXPLAIN: the plan only", table=table)
        if statement.node is None and _first_word(statement.sql) == "EXPLAIN":
            return self._plain_explain(statement)
        route = self.route(statement, job, params)
        if route.engine == "duckdb":
            return RoutedStatement(
                self.duck, job, "duckdb", route.reason, after=self._sync(job, "duckdb")
            )
        spark_job_, views = spark_job(statement, job, route)
        return RoutedStatement(
            self.spark, spark_job_, "spark", route.reason, views, after=self._sync(job, "spark")
        )

    def route(self, statement: Statement, job: Job, params: Any) -> Route:
        found = route_statement(statement, job, self.threshold)
        if found.engine == "spark" and params and statement.ml_functions:
            return Route(
                "duckdb",
                found.reason + "; but the statement has parameters, which sqlml binds on Spark "
                "only in statements without ML calls",
            )
        if found.engine == "spark" and isinstance(job, MLQuery):
            for call in job.calls:
                record = self.duck.catalog.find(call.model)
                if record is not None and record.spec.get("transform_sql"):
                    return Route(
                        "duckdb",
                        f"{found.reason}; but model {record.name}'s TRANSFORM computes columns "
                        "in SQL, which is not yet supported on Spark",
                    )
        return found

    def _sync(self, job: Job, engine: str) -> Callable[[], None] | None:
        """After CREATE / DROP MODEL on one engine, the other's Redshift functions follow."""
        if not isinstance(job, (TrainJob, DropModelJob)):
            return None

        def refresh() -> None:
            other = self.duck if engine == "spark" else self._spark
            if other is not None:
                other.register_model_functions()

        return refresh

    def _plain_explain(self, statement: Statement) -> RoutedStatement:
        """EXPLAIN of a statement without ML calls: the chosen engine's own EXPLAIN."""
        match = re.match(r"\s*EXPLAIN\s+(ANALYZE\s+)?", statement.sql, re.I)
        assert match is not None
        body = Statement(statement.sql[match.end() :], statement.line, statement.col)
        job = PassThrough(body.sql)
        route = route_statement(body, job, self.threshold)
        if route.engine == "duckdb":
            return RoutedStatement(self.duck, PassThrough(statement.sql), "duckdb", route.reason)
        if match.group(1):
            raise NotSupportedError(
                f"EXPLAIN ANALYZE of this statement would run on Spark ({route.reason}), which "
                f"has no EXPLAIN ANALYZE; use EXPLAIN, or raise sqlml.spark_threshold."
            )
        inner, views = spark_job(body, job, route)
        assert isinstance(inner, PassThrough)
        return RoutedStatement(
            self.spark, PassThrough("EXPLAIN " + inner.sql), "spark", route.reason, views
        )

    def explain(self, job: ExplainJob) -> pa.Table:
        """EXPLAIN <ML statement>: the placement of each step; nothing runs, Spark stays off."""
        route = self.route(job.statement, job.job, None)
        inner, views = job.job, {}
        if route.engine == "spark":
            inner, views = spark_job(job.statement, job.job, route)
        rows = [
            (
                "file source",
                "spark",
                f"read as temporary view {name}, dropped after the statement",
                spark_reader(source, paths),
            )
            for name, (source, paths) in views.items()
        ]
        place = ExplainTarget(
            route.engine,
            route.reason,
            self.local_training_rows if route.engine == "spark" else None,
            "duckdb",
            f"sqlml.models in the DuckDB database {self.location}, which both engines read",
        )
        rows += explain_steps(inner, place, self.duck)
        return explain_table(rows)

    def interrupt(self) -> None:
        if self._spark is not None:
            self._spark.backend.interrupt()

    def close(self) -> None:
        if self._spark is not None:
            self._spark.backend.close()
            self._spark = None


def _first_word(sql: str) -> str:
    match = re.match(r"\s*([A-Za-z]+)", sql)
    return match.group(1).upper() if match else ""
