"""Statements -> jobs. Pure and engine-free: no I/O happens here, so every rule is unit-testable.

A job is a frozen dataclass saying what to do; :mod:`sqlml.session` carries it out on a backend.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from sqlglot import exp

from sqlml.errors import NotSupportedError, OptionError, ProgrammingError, SQLSyntaxError
from sqlml.models.space import HParamCandidates, HParamRange
from sqlml.sql import Statement
from sqlml.sql.nodes import (
    CreateModel,
    DropModel,
    Explain,
    ExportModel,
    MLFunction,
    Option,
    ShowModel,
)
from sqlml.sql.values import literal
from sqlml.training.transform import Transform, parse_transform

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


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
    (:mod:`sqlml.routing` writes the rows; nothing is trained or scored)."""

    job: Any  # the explained statement's job
    statement: Statement  # the explained statement, as parsed


Job = PassThrough | MLQuery | TrainJob | DropModelJob | ExportModelJob | ShowModelJob | ExplainJob

# BigQuery options that only make sense in Google Cloud: accepted, ignored, and mentioned.
CLOUD_OPTIONS = frozenset(
    {
        "kms_key_name",
        "model_registry",
        "vertex_ai_model_id",
        "vertex_ai_model_version_aliases",
        "calculate_p_values",
        "warm_start",
        "budget_hours",
    }
)

# Redshift HYPERPARAMETERS -> sqlml options.
REDSHIFT_HYPERPARAMETERS = {
    "num_round": "max_iterations",
    "max_depth": "max_tree_depth",
    "eta": "learn_rate",
    "subsample": "subsample",
    "k": "num_clusters",
    "epochs": "max_iterations",
    "l1": "l1_reg",
    "wd": "l2_reg",
    "learning_rate": "learn_rate",
    "mini_batch_size": "batch_size",
}
REDSHIFT_MODEL_TYPES = {
    "XGBOOST": "boosted_tree",
    "MLP": "dnn",
    "LINEAR_LEARNER": "linear",
    "KMEANS": "kmeans",
}
# Redshift OBJECTIVE (lower-cased) -> the tuning objective of AUTO ON (other 'reg:…' -> MSE).
REDSHIFT_OBJECTIVES = {
    "auc": "roc_auc",
    "accuracy": "accuracy",
    "f1": "f1_score",
    "f1macro": "f1_score",
    "mse": "mean_squared_error",
    "reg:squarederror": "mean_squared_error",
    "reg:absoluteerror": "mean_absolute_error",
    "binary:logistic": "log_loss",
    "multi:softprob": "log_loss",
    "multi:softmax": "accuracy",
    "binary:hinge": "accuracy",
}
REDSHIFT_PROBLEM_TYPES = {
    "REGRESSION": "regression",
    "BINARY_CLASSIFICATION": "classification",
    "MULTICLASS_CLASSIFICATION": "classification",
}


def plan(statement: Statement, dialect: str = "duckdb") -> Job:
    """The job for one statement; ``dialect`` (the engine's) writes the SQL that jobs run."""
    node = statement.node
    if node is None:
        return PassThrough(statement.sql, statement.placeholders)
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
    if isinstance(node, DropModel):
        return DropModelJob(model_name(node.this), bool(node.args.get("exists")))
    if isinstance(node, ExportModel):
        options = _options(node.args.get("options") or [])
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
    if statement.ml_functions:
        if isinstance(node, exp.Create) and str(node.args.get("kind") or "").upper() == "VIEW":
            raise NotSupportedError(
                "CREATE VIEW over an ML.* call is not supported: the call's rows exist only while "
                "its statement runs, so the view would fail when read. Use CREATE TABLE … AS "
                "SELECT … FROM ML.PREDICT(…), or run the ML query itself."
            )
        calls = tuple(_plan_call(f, dialect) for f in statement.ml_functions)
        return MLQuery(statement.sql, calls, statement.placeholders, _is_bare(node))
    raise SQLSyntaxError("Unsupported ML statement", statement.line, statement.col)


def _is_bare(node: exp.Expression) -> bool:
    """True for ``SELECT * FROM ML.<FN>(...) [AS alias]`` with no other clause."""
    if not isinstance(node, exp.Select):
        return False
    if [type(e) for e in node.expressions] != [exp.Star] or any(node.expressions[0].args.values()):
        return False
    source = node.args.get("from_")
    if source is None or not isinstance(source.this, MLFunction):
        return False
    return not any(value for key, value in node.args.items() if key not in ("expressions", "from_"))


def model_name(table: exp.Expression) -> str:
    """A model's catalog name: lower-cased, ``schema.name`` when qualified; validated."""
    if isinstance(table, exp.Table):
        parts = [p.name for p in table.parts]
    elif isinstance(table, (exp.Identifier, exp.Column, exp.Var)):
        parts = [table.name]
    else:
        parts = [table.sql()]
    for part in parts:
        if not _NAME.match(part):
            raise ProgrammingError(
                f"Invalid model name {'.'.join(parts)!r}: use letters, digits and underscores, "
                f"optionally qualified by one schema (schema.model)."
            )
    if len(parts) > 2:
        raise ProgrammingError(
            f"Invalid model name {'.'.join(parts)!r}: at most one qualifier (schema.model)."
        )
    return ".".join(parts).lower()


def literal_value(node: exp.Expression | None) -> Any:
    """An option or STRUCT field value as Python: str, int, float, bool, None, or list of those."""
    return literal(node, _option_value)


def _option_value(node: exp.Expression) -> Any:
    """The option values beyond constants: bare words, STRUCT pairs, and search spaces."""
    if isinstance(node, exp.Struct):  # STRUCT('yes', 2.0) inside class_weights
        # Spark's dialect names unnamed fields (col1 := 'yes'): the values are what count.
        return [
            literal_value(
                e.this
                if isinstance(e, exp.Alias)
                else e.expression
                if isinstance(e, exp.PropertyEQ)
                else e
            )
            for e in node.expressions
        ]
    if isinstance(node, (exp.Var, exp.Identifier, exp.Column)) and not isinstance(node, exp.Star):
        return node.name
    if isinstance(node, (exp.Anonymous, exp.Func)):
        return _search_space(node)
    raise OptionError(f"Option values must be literals; got {node.sql()}.")


def _search_space(node: exp.Expression) -> HParamRange | HParamCandidates:
    """``HPARAM_RANGE(low, high)`` or ``HPARAM_CANDIDATES([...])``; options.validate checks them."""
    name = node.name.upper() if isinstance(node, exp.Anonymous) else node.sql_name()
    if name not in ("HPARAM_RANGE", "HPARAM_CANDIDATES"):
        raise NotSupportedError(
            f"{name}(...) is not supported in OPTIONS; give a single value, "
            f"HPARAM_RANGE(low, high) or HPARAM_CANDIDATES([...])."
        )
    args = [literal_value(e) for e in node.expressions]
    numbers = all(isinstance(a, (int, float)) and not isinstance(a, bool) for a in args)
    if name == "HPARAM_RANGE" and len(args) == 2 and numbers:
        return HParamRange(args[0], args[1])
    if name == "HPARAM_CANDIDATES" and len(args) == 1 and isinstance(args[0], list):
        return HParamCandidates(tuple(args[0]))
    usage = {
        "HPARAM_RANGE": "two numbers, HPARAM_RANGE(low, high)",
        "HPARAM_CANDIDATES": "one array, HPARAM_CANDIDATES([value, ...])",
    }[name]
    raise OptionError(f"{name} takes {usage}; got {node.sql()}.")


def _options(items: list[exp.Expression]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for item in items:
        key = item.this.name.lower() if isinstance(item, Option) else item.name.lower()
        if key in values:
            raise OptionError(f"Option '{key}' is given twice.")
        values[key] = literal_value(item.args.get("expression"))
    return values


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
    if node.args.get("partition_by"):
        raise NotSupportedError("PARTITION BY in CREATE MODEL is not supported yet.")
    if form == "redshift":
        query_sql = _query_sql(node.args.get("query"), dialect)
        return _plan_redshift(node, name, query_sql, replace, exists)

    options = _options(node.args.get("options") or [])
    query_sql = _bigquery_query_sql(node, options, name, dialect)
    notices = []
    for key in sorted(set(options) & CLOUD_OPTIONS):
        notices.append(f"Option '{key}' applies only to BigQuery in Google Cloud; ignored.")
        options.pop(key)
    labels = options.pop("input_label_cols", None)
    if isinstance(labels, str):
        labels = [labels]
    if labels is not None and (not isinstance(labels, list) or len(labels) != 1):
        raise OptionError(
            f"The 'input_label_cols' option of CREATE MODEL {name} must name exactly one column, "
            f"as in ['churned']; got {labels!r}."
        )
    label = labels[0] if labels else None
    items = node.args.get("transform")
    return TrainJob(
        name=name,
        query_sql=query_sql,
        options=options,
        label=label,
        replace=replace,
        if_not_exists=exists,
        notices=tuple(notices),
        transform=parse_transform(items, name, label) if items else None,
    )


def _plan_redshift(
    node: CreateModel, name: str, query_sql: str, replace: bool, exists: bool
) -> TrainJob:
    clauses: dict[str, Any] = {}
    for item in node.args.get("options") or []:
        clauses[item.this.name.upper()] = item.args.get("expression")
    notices: list[str] = []
    for cloud in ("IAM_ROLE", "PREPROCESSORS"):
        if cloud in clauses:
            notices.append(f"{cloud} applies only to Amazon Redshift; ignored.")
    options: dict[str, Any] = {}
    auto = clauses.get("AUTO")
    automl = "MODEL_TYPE" not in clauses and (auto is None or auto.name.upper() == "ON")
    settings = clauses.get("SETTINGS")
    if settings is not None:
        for item in settings.expressions:
            if automl and item.this.name.upper() == "MAX_RUNTIME":
                options["budget_seconds"] = literal_value(item.args.get("expression"))
                continue
            notices.append(
                f"SETTINGS {item.this.name.upper()} applies only to Amazon Redshift; ignored."
            )
    hyper = clauses.get("HYPERPARAMETERS")
    if hyper is not None and isinstance(hyper, exp.Tuple):
        for item in hyper.expressions:
            key = item.this.name.lower()
            if key not in REDSHIFT_HYPERPARAMETERS:
                raise OptionError(
                    f"Unknown hyperparameter {key.upper()} in CREATE MODEL {name}; supported: "
                    + ", ".join(k.upper() for k in REDSHIFT_HYPERPARAMETERS)
                    + "."
                )
            value = literal_value(item.args.get("expression"))
            if isinstance(value, str):
                value = _number(value)
            options[REDSHIFT_HYPERPARAMETERS[key]] = value

    model_type_word = clauses.get("MODEL_TYPE")
    problem_word = clauses.get("PROBLEM_TYPE")
    problem = None
    if problem_word is not None:
        key = problem_word.name.upper()
        if key not in REDSHIFT_PROBLEM_TYPES:
            raise OptionError(
                f"Unknown PROBLEM_TYPE {key} in CREATE MODEL {name}; supported: "
                + ", ".join(REDSHIFT_PROBLEM_TYPES)
                + "."
            )
        problem = REDSHIFT_PROBLEM_TYPES[key]
    if model_type_word is not None:
        key = model_type_word.name.upper()
        if key not in REDSHIFT_MODEL_TYPES:
            raise OptionError(
                f"Unknown MODEL_TYPE {key} in CREATE MODEL {name}; supported: "
                + ", ".join(REDSHIFT_MODEL_TYPES)
                + "."
            )
        family = REDSHIFT_MODEL_TYPES[key]
    else:
        family = "automl" if automl else "boosted_tree"  # AUTO ON: several types tried
    objective = clauses.get("OBJECTIVE")
    if objective is not None and automl:
        options["hparam_tuning_objectives"] = [_redshift_objective(objective, name)]
    if objective is not None and problem is None:
        text = str(literal_value(objective)).lower()
        if text in ("mse", "reg:squarederror", "reg:linear") or text.startswith("reg:"):
            problem = "regression"
        elif text in ("accuracy", "f1", "f1macro", "auc", "binary:logistic", "multi:softmax"):
            problem = "classification"
    options["model_type"] = family  # resolved with the label's type in the session
    target = node.args.get("target")
    function = node.args.get("function")
    function_name = function.name if function is not None else None
    if function_name and not _NAME.match(function_name):
        raise ProgrammingError(f"Invalid FUNCTION name {function_name!r}.")
    return TrainJob(
        name=name,
        query_sql=query_sql,
        options=options,
        label=target.name if target is not None else None,
        replace=replace,
        if_not_exists=exists,
        function_name=function_name.lower() if function_name else None,
        problem_type=problem,
        notices=tuple(notices),
        form="redshift",
    )


def _redshift_objective(node: exp.Expression, name: str) -> str:
    """Redshift's OBJECTIVE as the metric that AUTO ON's model search optimizes."""
    text = str(literal_value(node)).lower()
    if text in REDSHIFT_OBJECTIVES:
        return REDSHIFT_OBJECTIVES[text]
    if text.startswith("reg:"):
        return "mean_squared_error"
    raise OptionError(
        f"Unknown OBJECTIVE {text!r} in CREATE MODEL {name}; with AUTO ON use one of "
        + ", ".join(repr(k) for k in REDSHIFT_OBJECTIVES)
        + "."
    )


def _number(text: str) -> Any:
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text


def _plan_call(node: MLFunction, dialect: str = "duckdb") -> MLCall:
    function = node.function
    model = model_name(node.args["model"])
    source = node.args.get("input")
    input_sql = None
    if source is not None:
        if isinstance(source, exp.Table):
            input_sql = f"SELECT * FROM {source.sql(dialect=dialect)}"
        else:
            input_sql = source.meta.get("sql") or source.sql(dialect=dialect)
    if source is not None:
        inner = source.find(MLFunction)
        if inner is not None:
            raise _nested_call(function, inner)
    if input_sql is not None and source is not None:
        input_sql = _with_outer_ctes(node, source, input_sql, dialect)
    params: dict[str, Any] = {}
    struct = node.args.get("params")
    if struct is not None:
        for item in struct.expressions:
            if isinstance(item, exp.Alias):
                params[item.alias.lower()] = literal_value(item.this)
            elif isinstance(item, exp.PropertyEQ):
                params[item.this.name.lower()] = literal_value(item.expression)
            else:
                raise OptionError(
                    f"ML.{function} options must be written STRUCT(value AS name); got {item.sql()}."
                )
    thresholds = node.args.get("thresholds")
    return MLCall(
        function,
        model,
        input_sql,
        params,
        tuple(node.meta["span"]),
        thresholds=_thresholds(thresholds, function) if thresholds is not None else None,
    )


#: Most thresholds an ML.ROC_CURVE call may ask for (each is one output row).
MAX_THRESHOLDS = 10_000


def _thresholds(node: exp.Expression, function: str) -> tuple[float, ...]:
    """ML.ROC_CURVE's thresholds: an array of numbers, or GENERATE_ARRAY(start, end, step) with
    BigQuery's meaning (start, start + step, ... up to and including end)."""
    where = f"ML.{function}"
    if isinstance(node, exp.Array):
        values = [_threshold_literal(e, where) for e in node.expressions]
        if not values:
            raise OptionError(
                f"The thresholds of {where} are empty; give at least one, e.g. [0.5]."
            )
    else:
        arguments = [_threshold_literal(e, where) for e in node.expressions]
        if len(arguments) != 3 or not all(_is_number(v) for v in arguments):
            raise OptionError(
                f"GENERATE_ARRAY in {where} takes three numbers (start, end, step), e.g. "
                f"GENERATE_ARRAY(0.0, 1.0, 0.01); got {node.sql()}."
            )
        values = _generate_array(*arguments, where=where)
    if len(values) > MAX_THRESHOLDS:
        raise OptionError(
            f"{where} takes at most {MAX_THRESHOLDS:,} thresholds; got {len(values):,}. Use a "
            f"larger GENERATE_ARRAY step."
        )
    bad = [v for v in values if not _is_number(v) or not 0 <= v <= 1]
    if bad:
        raise OptionError(
            f"The thresholds of {where} must be probabilities, numbers in [0, 1]; got {bad[0]!r}."
        )
    return tuple(float(v) for v in values)


def _threshold_literal(node: exp.Expression, where: str) -> Any:
    if not isinstance(node, (exp.Literal, exp.Neg, exp.Paren, exp.Null)):
        raise OptionError(f"The thresholds of {where} must be number literals; got {node.sql()}.")
    return literal_value(node)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _generate_array(start: float, end: float, step: float, *, where: str) -> list[float]:
    """BigQuery's GENERATE_ARRAY: inclusive of ``end``, empty when ``step`` points away from it.

    Values are ``start + i * step`` rounded to 12 decimals, so 0.1 steps land on 0.3, not on
    0.30000000000000004; the count is known before any value is made, so a tiny step fails fast.
    """
    if not all(math.isfinite(v) for v in (start, end, step)):
        raise OptionError(
            f"GENERATE_ARRAY({start}, {end}, {step}) in {where} needs finite numbers; thresholds "
            f"are probabilities, e.g. GENERATE_ARRAY(0.0, 1.0, 0.01)."
        )
    if step == 0:
        raise OptionError(f"GENERATE_ARRAY in {where} needs a step other than 0.")
    span = (end - start) / step
    if not math.isfinite(span):
        raise OptionError(
            f"{where} takes at most {MAX_THRESHOLDS:,} thresholds; GENERATE_ARRAY({start}, {end}, "
            f"{step}) makes more. Use a larger step."
        )
    if span < 0:
        raise OptionError(
            f"GENERATE_ARRAY({start}, {end}, {step}) in {where} is empty: the step goes away "
            f"from the end; give start ≤ end with a positive step."
        )
    count = int(span + 1e-9) + 1
    if count > MAX_THRESHOLDS:
        raise OptionError(
            f"{where} takes at most {MAX_THRESHOLDS:,} thresholds; GENERATE_ARRAY({start}, {end}, "
            f"{step}) makes {count:,}. Use a larger step."
        )
    return [round(start + i * step, 12) for i in range(count)]


def _nested_call(function: str, inner: MLFunction, cte: str | None = None) -> NotSupportedError:
    """An ML call whose input would run another: its input is a query of its own, in which sqlml
    does not look for ML calls."""
    where = f"WITH {cte} (which its input reads)" if cte else "its input"
    return NotSupportedError(
        f"ML.{function} cannot read ML.{inner.function} in {where}: an ML call's input cannot "
        f"hold another ML call yet. Store that result first: CREATE TEMP TABLE scored AS SELECT "
        f"* FROM ML.{inner.function}(...), then ML.{function}(MODEL ..., TABLE scored)."
    )


def _with_outer_ctes(
    node: MLFunction, source: exp.Expression, input_sql: str, dialect: str = "duckdb"
) -> str:
    """Let the input read CTEs of the statement around the call, as it could in BigQuery.

    The input runs as a query of its own, so CTEs it names are carried over from the enclosing
    WITH clauses (in order, with the earlier ones they read).
    """
    tables = [source] if isinstance(source, exp.Table) else list(source.find_all(exp.Table))
    referenced = {t.name.lower() for t in tables if not t.args.get("db")}
    ancestors = set()
    parent = node.parent
    ctes: list[exp.CTE] = []
    while parent is not None:
        ancestors.add(id(parent))
        with_ = parent.args.get("with_") if isinstance(parent, exp.Query) else None
        if with_ is not None:
            ctes = [c for c in with_.expressions if id(c) not in ancestors] + ctes
        parent = parent.parent
    ctes = [c for c in ctes if not any(id(a) in ancestors for a in c.walk())]
    if not ctes or not referenced & {c.alias_or_name.lower() for c in ctes}:
        return input_sql
    # Only those the input reads, directly or through a later CTE: another CTE may hold an ML call
    # (WITH p AS (SELECT * FROM ML.PREDICT(...)) ...), which the input's own query cannot run.
    needed, kept = set(referenced), []
    for cte in reversed(ctes):
        if cte.alias_or_name.lower() in needed:
            kept.append(cte)
            needed |= {t.name.lower() for t in cte.find_all(exp.Table) if not t.args.get("db")}
    ctes = kept[::-1]
    for cte in ctes:
        inner = cte.find(MLFunction)
        if inner is not None:
            raise _nested_call(node.function, inner, cte.alias_or_name)
    definitions = ", ".join(c.sql(dialect=dialect) for c in ctes)
    return f"WITH {definitions} SELECT * FROM ({input_sql}) AS __sqlml_input"
