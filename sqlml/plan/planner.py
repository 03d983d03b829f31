"""Statements -> jobs. Pure and engine-free: no I/O happens here, so every rule is unit-testable.

A job is a frozen dataclass saying what to do; :mod:`sqlml.core.executor` carries it out on a backend.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from sqlglot import exp

from sqlml.errors import NotSupportedError, OptionError, ProgrammingError, SQLSyntaxError
from sqlml.models.options import normalize_planned
from sqlml.plan.jobs import (
    AlterModelJob,
    DropModelJob,
    ExplainJob,
    ExportModelJob,
    Job,
    Partition,
    PassThrough,
    ShowModelJob,
    TrainJob,
)
from sqlml.plan.metadata import ALTER_CLOUD_OPTIONS, METADATA, metadata_of, split_metadata
from sqlml.plan.redshift import explain_model_job, forecast_job, plan_redshift
from sqlml.plan.slots import ml_query, positional, training_calls
from sqlml.plan.transform import parse_transform
from sqlml.plan.values import model_name, options_of
from sqlml.sql import Statement
from sqlml.sql.nodes import (
    AlterModel,
    CreateModel,
    DropModel,
    Explain,
    ExportModel,
    ShowModel,
)

# BigQuery options that only make sense in Google Cloud: accepted, ignored, and mentioned.
CLOUD_OPTIONS = frozenset(
    {
        "kms_key_name",
        "model_registry",
        "vertex_ai_model_id",
        "vertex_ai_model_version_aliases",
        "budget_hours",
    }
)


def plan(statement: Statement, dialect: str = "duckdb") -> Job:
    """The job for one statement; ``dialect`` (the engine's) writes the SQL that jobs run."""
    node = statement.node
    if statement.unsupported is not None:  # ML.FORECAST(...), ALTER MODEL m SET DEFAULT_VERSION
        raise NotSupportedError(statement.unsupported)
    if node is None:
        positional_sql, texts = positional(statement.sql, statement.placeholders)
        return PassThrough(statement.sql, texts, positional_sql)
    if isinstance(node, Explain) and statement.explained is not None:
        if node.args.get("analyze"):
            raise NotSupportedError(
                "EXPLAIN ANALYZE of an ML statement is not supported: it would train or score. "
                "Use EXPLAIN (the plan, nothing runs), or run the statement and read its "
                "training_info (ML.TRAINING_INFO) for what happened."
            )
        return ExplainJob(plan(statement.explained, dialect), statement.explained)
    if isinstance(node, CreateModel):
        return _plan_create(node, statement, dialect)
    if isinstance(node, AlterModel):
        return _plan_alter(node, dialect)
    if isinstance(node, DropModel):
        return DropModelJob(model_name(node.this), bool(node.args.get("exists")))
    if isinstance(node, ExportModel):
        options = options_of(node.args.get("options") or [])
        uri = options.pop("uri", None)
        if not isinstance(uri, str) or not uri:
            raise OptionError(
                f"EXPORT MODEL {model_name(node.this)} needs OPTIONS (uri = 'path/to/model.onnx')."
            )
        if options:
            raise OptionError(f"Unknown option(s) of EXPORT MODEL: {', '.join(options)}; only uri.")
        return ExportModelJob(model_name(node.this), uri)
    if isinstance(node, ShowModel):
        this = node.this
        return ShowModelJob(model_name(this) if this is not None else None)
    report = explain_model_job(node) or forecast_job(
        node, dialect
    )  # Redshift's EXPLAIN_MODEL, FORECAST
    if report is not None:
        return report
    if statement.ml_functions:
        if isinstance(node, exp.Create) and str(node.args.get("kind") or "").upper() == "VIEW":
            raise NotSupportedError(
                "CREATE VIEW over an ML.* call is not supported: the call's rows exist only while "
                "its statement runs, so the view would fail when read. Use CREATE TABLE … AS "
                "SELECT … FROM ML.PREDICT(…), or run the ML query itself."
            )
        return ml_query(statement, node, dialect)
    raise SQLSyntaxError("Unsupported ML statement", statement.line, statement.col)


def _query_sql(query: exp.Expression | None, dialect: str = "duckdb") -> str:
    if query is None:
        raise ProgrammingError("CREATE MODEL needs a training query: ... AS SELECT ... FROM ...")
    if isinstance(query, exp.Table):
        return f"SELECT * FROM {query.sql(dialect=dialect)}"
    return query.meta.get("sql") or query.sql(dialect=dialect)


def _bigquery_query_sql(
    node: CreateModel, options: dict[str, Any], name: str, dialect: str = "duckdb"
) -> str:
    """The training query; an import (model_type = 'onnx') has none, as in BigQuery ML."""
    query = node.args.get("query")
    model_type = options.get("model_type")
    if not (isinstance(model_type, str) and model_type.strip().lower() == "onnx"):
        return _query_sql(query, dialect)
    if query is not None:
        raise ProgrammingError(
            f"CREATE MODEL {name} with model_type = 'onnx' imports the file named by model_path "
            f"and takes no training query; remove the AS ... clause."
        )
    if node.args.get("transform"):
        raise ProgrammingError(
            f"TRANSFORM does not apply to model_type 'onnx' (CREATE MODEL {name}): the imported "
            f"graph is the whole model; compute derived columns in the input of ML.PREDICT."
        )
    return ""


def _plan_create(node: CreateModel, statement: Statement, dialect: str = "duckdb") -> TrainJob:
    name = model_name(node.this)
    form = node.args["form"].name.lower()
    replace = bool(node.args.get("replace"))
    exists = bool(node.args.get("exists"))
    if form == "redshift":
        query_sql = _query_sql(node.args.get("query"), dialect)
        job = plan_redshift(node, name, query_sql, replace, exists)
        if node.args.get("partition_by"):  # the groups' options at their defaults
            job = dataclasses.replace(job, partition=_partition(node, {}, name))
        return job

    described, rest = split_metadata(node.args.get("options") or [])
    options = options_of(rest)
    metadata = metadata_of(described, f"CREATE MODEL {name}", dialect)
    normalize_planned(options.get("model_type"), name)  # before asking for a training query
    query_sql = _bigquery_query_sql(node, options, name, dialect)
    notices = []
    for key in sorted(set(options) & CLOUD_OPTIONS):
        notices.append(f"Option '{key}' applies only to BigQuery in Google Cloud; ignored.")
        options.pop(key)
    partition = _partition(node, options, name)
    labels = options.pop("input_label_cols", None)
    if isinstance(labels, str):
        labels = [labels]
    if labels is not None and (
        not isinstance(labels, list) or len(labels) != 1 or not isinstance(labels[0], str)
    ):
        raise OptionError(
            f"The 'input_label_cols' option of CREATE MODEL {name} must name exactly one column, "
            f"as in ['churned']; got {labels!r}."
        )
    label = labels[0] if labels else None
    items = node.args.get("transform")
    calls = training_calls(node.args.get("query"), dialect, lambda q: q.sql(dialect=dialect))
    return TrainJob(
        name=name,
        query_sql=calls.sql if calls is not None else query_sql,
        calls=calls,
        options=options,
        label=label,
        replace=replace,
        if_not_exists=exists,
        notices=tuple(notices),
        transform=parse_transform(items, name, label) if items else None,
        metadata={k: v for k, v in metadata.items() if v is not None},
        partition=partition,
    )


#: The options of a partitioned model's groups (CREATE MODEL … PARTITION BY).
PARTITION_OPTIONS = ("min_group_rows", "fallback")


def _partition(node: CreateModel, options: dict[str, Any], name: str) -> Partition | None:
    """PARTITION BY's columns and its options, taken out of ``options``."""
    values = {key: options.pop(key) for key in PARTITION_OPTIONS if key in options}
    columns = node.args.get("partition_by")
    if not columns:
        if values:
            raise OptionError(
                f"Option '{next(iter(values))}' of CREATE MODEL {name} applies only to a model "
                f"trained PARTITION BY columns: CREATE MODEL {name} PARTITION BY col OPTIONS (...)."
            )
        return None
    names = [column.name for column in columns]
    repeated = sorted({n for n in names if [m.lower() for m in names].count(n.lower()) > 1})
    if repeated:
        raise ProgrammingError(
            f"PARTITION BY of CREATE MODEL {name} names {', '.join(repeated)} twice; name each "
            f"column once."
        )
    rows = values.get("min_group_rows", 1)
    if isinstance(rows, bool) or not isinstance(rows, int) or rows < 1:
        raise OptionError(
            f"The 'min_group_rows' option of CREATE MODEL {name} must be an integer ≥ 1; "
            f"got {rows!r}."
        )
    fallback = values.get("fallback", "global")
    if not isinstance(fallback, str) or fallback.lower() not in ("global", "none"):
        raise OptionError(
            f"The 'fallback' option of CREATE MODEL {name} must be 'global' (a model trained on "
            f"all rows scores the groups that have none) or 'none' (their rows get NULL "
            f"predictions); got {fallback!r}."
        )
    return Partition(tuple(names), rows, fallback.lower())


def _plan_alter(node: AlterModel, dialect: str) -> AlterModelJob:
    """BigQuery's options of ALTER MODEL: description, labels and expiration_timestamp change
    the model's record; the Vertex AI and Cloud KMS ones are accepted and ignored, as cloud
    options of CREATE MODEL are."""
    name = model_name(node.this)
    where = f"ALTER MODEL {name}"
    described, others = split_metadata(node.args.get("options") or [])
    notices = []
    for item in others:
        key = item.name.lower()
        if key not in ALTER_CLOUD_OPTIONS:
            raise OptionError(
                f"Unknown option '{key}' of {where}; accepted: {', '.join(METADATA)} (and "
                f"{', '.join(ALTER_CLOUD_OPTIONS)}, which apply only to BigQuery in Google Cloud)."
            )
        notices.append(f"Option '{key}' applies only to BigQuery in Google Cloud; ignored.")
    changes = metadata_of(described, where, dialect)
    return AlterModelJob(name, changes, bool(node.args.get("exists")), tuple(notices))
