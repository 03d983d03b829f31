"""ML.<FN>(MODEL m, input, STRUCT(...)) calls inside a statement: each planned as an MLCall (its
model, input query, options and ML.ROC_CURVE's thresholds).
"""

from __future__ import annotations

import math
from typing import Any

from sqlglot import exp

from sqlml.errors import NotSupportedError, OptionError
from sqlml.plan.jobs import MLCall
from sqlml.plan.values import literal_value, model_name
from sqlml.sql.nodes import (
    MLFunction,
)


def is_bare(node: exp.Expression) -> bool:
    """True for ``SELECT * FROM ML.<FN>(...) [AS alias]`` with no other clause."""
    if not isinstance(node, exp.Select):
        return False
    if [type(e) for e in node.expressions] != [exp.Star] or any(node.expressions[0].args.values()):
        return False
    source = node.args.get("from_")
    if source is None or not isinstance(source.this, MLFunction):
        return False
    return not any(value for key, value in node.args.items() if key not in ("expressions", "from_"))


def plan_call(node: MLFunction, dialect: str = "duckdb") -> MLCall:
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
            raise nested_call(function, inner)
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


def nested_call(function: str, inner: MLFunction, cte: str | None = None) -> NotSupportedError:
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
            raise nested_call(node.function, inner, cte.alias_or_name)
    definitions = ", ".join(c.sql(dialect=dialect) for c in ctes)
    return f"WITH {definitions} SELECT * FROM ({input_sql}) AS __sqlml_input"
