"""Jobs: what a statement asks for, as frozen dataclasses that the executor (sqlml.core) carries out.

Planned from the parsed statement by :mod:`sqlml.plan.planner`; no I/O happens in planning, so every
rule is unit-testable.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlml.plan.transform import Transform
from sqlml.sql import Statement


@dataclass(frozen=True)
class PassThrough:
    sql: str
    # Offsets of the statement's parameter placeholders, for engines that take only `?` (Spark).
    placeholders: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True)
class MLCall:
    """One ``ML.<FN>(MODEL m, ...)`` inside a statement, to be replaced by a registered Arrow source."""

    function: str
    model: str
    input_sql: str | None
    params: dict[str, Any]
    span: tuple[int, int]
    alias: str | None = None
    thresholds: tuple[float, ...] | None = None  # ML.ROC_CURVE's [..] or GENERATE_ARRAY(..)


@dataclass(frozen=True)
class MLQuery:
    """A statement whose ML calls are computed first, then spliced into its text as table names."""

    sql: str
    calls: tuple[MLCall, ...]
    placeholders: tuple[tuple[int, int], ...] = ()
    # ``SELECT * FROM ML.<FN>(...)`` and nothing else: the function's rows are the result as they are.
    bare: bool = False


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


@dataclass(frozen=True)
class ExplainJob:
    """``EXPLAIN <ML statement>``: which engine runs each step of ``job``, why, and its SQL
    (:mod:`sqlml.core.routing` writes the rows; nothing is trained or scored)."""

    job: Any  # the explained statement's job
    statement: Statement  # the explained statement, as parsed


Job = PassThrough | MLQuery | TrainJob | DropModelJob | ExportModelJob | ShowModelJob | ExplainJob
