"""Jobs: what a statement asks for, as frozen dataclasses that the executor (sqlml.core) carries out.

Planned from the parsed statement by :mod:`sqlml.plan.planner`; no I/O happens in planning, so every
rule is unit-testable.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlglot import exp

from sqlml.plan.transform import Transform
from sqlml.sql import Statement


@dataclass(frozen=True)
class PassThrough:
    """A statement sqlml does not handle itself: the engine runs it as written."""

    sql: str
    #: Its parameter placeholders as written, in order; and the statement with ``$1`` / ``$name``
    #: written ``?``, for engines that bind only ``?`` (Spark; see sqlml.plan.slots).
    parameters: tuple[str, ...] = ()
    positional_sql: str = ""


@dataclass(frozen=True)
class MLCall:
    """One ``ML.<FN>(MODEL m, ...)`` inside a statement, to be replaced by a registered Arrow source."""

    function: str
    model: str
    input_sql: str | None
    params: dict[str, Any]
    alias: str | None = None
    thresholds: tuple[float, ...] | None = None  # ML.ROC_CURVE's [..] or GENERATE_ARRAY(..)
    #: The name the statement reads the call's rows under (sqlml.plan.slots), e.g.
    #: __sqlml_predict_1, and the placeholders of its input (indexes into MLQuery.parameters).
    slot: str = ""
    parameters: tuple[int, ...] = ()


@dataclass(frozen=True)
class MLQuery:
    """A statement whose ML calls are computed first; the statement then reads their rows.

    ``pieces`` is the statement around the calls: text, and where a call stood, its index in
    ``calls`` (a named slot that :meth:`render` fills; see sqlml.plan.slots).
    """

    pieces: tuple[str | int, ...]
    calls: tuple[MLCall, ...]
    #: Every placeholder of the statement as written, in order; ``outer``: the indexes of those
    #: of the statement around the calls (each call lists its own).
    parameters: tuple[str, ...] = ()
    outer: tuple[int, ...] = ()
    #: ``SELECT * FROM ML.<FN>(...)`` and nothing else: the function's rows are the result as is.
    bare: bool = False
    dialect: str = "duckdb"

    def render(self, names: Callable[[int], str]) -> str:
        """The statement with each slot filled by ``names(index)`` (a quoted relation name)."""
        return "".join(p if isinstance(p, str) else names(p) for p in self.pieces)

    @property
    def sql(self) -> str:
        """The statement as it runs, each call's rows under its slot name (as EXPLAIN shows it)."""
        return self.render(
            lambda i: exp.to_identifier(self.calls[i].slot, quoted=True).sql(dialect=self.dialect)
        )


@dataclass(frozen=True)
class TrainJob:
    name: str
    query_sql: str
    options: dict[str, Any]
    label: str | None
    replace: bool = False
    if_not_exists: bool = False
    function_name: str | None = None
    problem_type: str | None = None  # Redshift's PROBLEM_TYPE, or None to infer from the label
    notices: tuple[str, ...] = ()
    form: str = "bigquery"
    transform: Transform | None = None  # BigQuery's TRANSFORM (...) clause, checked
    #: description, labels, expiration_timestamp (sqlml.plan.metadata), stored with the options
    metadata: dict[str, Any] = field(default_factory=dict)
    #: The training query's ML calls, computed before it is read (``query_sql`` is then
    #: ``calls.sql``, each call under its slot name); None when it has none.
    calls: MLQuery | None = None
    #: PARTITION BY columns (one model per group of their values), with the groups' options.
    partition: Partition | None = None


@dataclass(frozen=True)
class Partition:
    """``CREATE MODEL m PARTITION BY a, b``: the columns as written, groups with fewer rows than
    ``min_group_rows`` skipped, and what scores the rows of skipped and unseen groups
    (``fallback``: 'global', a model trained on all rows, or 'none', NULL predictions)."""

    columns: tuple[str, ...]
    min_group_rows: int = 1
    fallback: str = "global"


@dataclass(frozen=True)
class EngineValue:
    """A value only the engine can compute (``TIMESTAMP_ADD(CURRENT_TIMESTAMP(), ...)``): its
    SQL in the engine's dialect, run as ``SELECT <sql>`` when the job runs."""

    sql: str


@dataclass(frozen=True)
class AlterModelJob:
    """``ALTER MODEL [IF EXISTS] name SET OPTIONS (...)``: ``changes`` maps each descriptive
    option to its new value (None removes it; an :class:`EngineValue` is computed first)."""

    name: str
    changes: dict[str, Any]
    if_exists: bool = False
    notices: tuple[str, ...] = ()


@dataclass(frozen=True)
class DropModelJob:
    name: str
    if_exists: bool = False


@dataclass(frozen=True)
class ExportModelJob:
    name: str
    uri: str


@dataclass(frozen=True)
class ShowModelJob:
    name: str | None = None
    #: "explain_model": Redshift's EXPLAIN_MODEL report (one row, under ``column``), not SHOW's;
    #: "forecast": Redshift's FORECAST(model), a forecast model's rows (into the table ``into``,
    #: as ``CREATE TABLE into AS SELECT FORECAST(model)``; "" to return them)
    report: str = ""
    column: str = ""
    into: str = ""


@dataclass(frozen=True)
class ExplainJob:
    """``EXPLAIN <ML statement>``: which engine runs each step of ``job``, why, and its SQL
    (:mod:`sqlml.core.routing` writes the rows; nothing is trained or scored)."""

    job: Any  # the explained statement's job
    statement: Statement  # the explained statement, as parsed


Job = (
    PassThrough
    | MLQuery
    | TrainJob
    | AlterModelJob
    | DropModelJob
    | ExportModelJob
    | ShowModelJob
    | ExplainJob
)
