"""The one place that rewrites ML calls: a statement's ``ML.<FN>(...)`` calls become named slots.

An ML statement runs as several queries: each call's input first (its rows computed by sqlml), then
the statement around the calls, which reads each call's rows under a name. Planning writes that
statement once, as :class:`~sqlml.plan.jobs.MLQuery` pieces — text, and the index of the call whose
rows stand there — so the executor fills the slots with the names it registered, and EXPLAIN shows
them as ``__sqlml_<fn>_<n>``; nobody else touches the SQL text.

Parameter placeholders are split here too: each call's input takes the values of the placeholders
inside the call, the statement around them the rest, in textual order. ``$1`` / ``$name`` would
lose their meaning when split, so they are written ``?`` and bound by :func:`bind_parameters`.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlglot import exp

from sqlml.errors import ProgrammingError
from sqlml.plan.calls import is_bare, plan_call
from sqlml.plan.jobs import MLCall, MLQuery
from sqlml.sql import Statement
from sqlml.sql.nodes import MLFunction

_SENTINEL = "__sqlml_slot_{}__"
_SENTINELS = re.compile(r"[`\"]?__sqlml_slot_(\d+)__[`\"]?")


def slot_name(call: MLCall, index: int) -> str:
    """The name a call's rows are read under, as EXPLAIN shows it: ``__sqlml_predict_1``."""
    return f"__sqlml_{call.function.lower()}_{index + 1}"


def is_named(text: str) -> bool:
    """A ``$1`` / ``$name`` / ``:name`` placeholder (not ``?``)."""
    return text.startswith(("$", ":"))


def positional(sql: str, placeholders: Sequence[tuple[int, int]]) -> tuple[str, tuple[str, ...]]:
    """``sql`` with its ``$1`` / ``$name`` placeholders written ``?`` (padded to their length, so
    offsets stay valid), and every placeholder's text as written, in order."""
    texts = tuple(sql[start:end] for start, end in placeholders)
    if not any(is_named(t) for t in texts):
        return sql, texts
    for start, end in sorted(placeholders, reverse=True):
        sql = sql[:start] + "?".ljust(end - start) + sql[end:]
    return sql, texts


def one_per_appearance(sql: str, placeholders: Sequence[tuple[int, int]]) -> str:
    """``$n`` placeholders as ``(?)``, for sqlml serve's statements with ML calls.

    sqlml hands each ML call the values of the placeholders inside it, by position of appearance,
    while PostgreSQL numbers them; with one ``(?)`` per appearance (and the values repeated to
    match) both agree. The parentheses keep ``$1::DOUBLE`` a cast of the parameter.
    """
    out, position = [], 0
    for start, end in placeholders:
        out += [sql[position:start], "(?)"]
        position = end
    out.append(sql[position:])
    return "".join(out)


def bind_parameters(texts: Sequence[str], params: Any) -> list[Any]:
    """The values for a statement's placeholders (``texts``, in textual order), from execute()'s
    parameters: a sequence for ``?`` (as given) or ``$1`` (by number), a mapping for ``$name``."""
    if params is None:
        return []
    if not any(is_named(t) for t in texts):
        if isinstance(params, Mapping):
            raise ProgrammingError("Named parameters need $name placeholders in the statement.")
        return list(params)
    values: list[Any] = []
    for text in texts:
        key = text[1:]
        if isinstance(params, Mapping):
            if key not in params:
                raise ProgrammingError(f"No value was given for parameter {text}.")
            values.append(params[key])
        elif key.isdigit() and len(key) <= 9 and 1 <= int(key) <= len(params):
            values.append(params[int(key) - 1])
        else:
            raise ProgrammingError(
                f"Parameter {text} has no value: {len(params)} value(s) were given."
            )
    return values


def ml_query(statement: Statement, node: exp.Expression, dialect: str) -> MLQuery:
    """The statement as written, each ML call's span replaced by its slot."""
    functions: list[MLFunction] = list(statement.ml_functions)
    calls = [plan_call(f, dialect) for f in functions]
    spans = [tuple(f.meta["span"]) for f in functions]
    sql, texts = positional(statement.sql, statement.placeholders)
    named = any(is_named(t) for t in texts)
    owners: list[int | None] = []
    for start, _end in statement.placeholders:
        owners.append(next((i for i, (s, e) in enumerate(spans) if s <= start < e), None))
    placed = []
    for index, (call, (start, end)) in enumerate(zip(calls, spans, strict=True)):
        text = call.input_sql
        at = statement.sql.find(text, start, end) if text else -1
        if text and at >= 0:
            text = sql[at : at + len(text)]
        elif text and named:  # regenerated text (outer CTEs carried in): by their spelling
            text = re.sub(r"\$\w+", "?", text)
        mine = tuple(i for i, owner in enumerate(owners) if owner == index)
        placed.append(
            dataclasses.replace(call, input_sql=text, slot=slot_name(call, index), parameters=mine)
        )
    pieces: list[str | int] = []
    cursor = 0
    for index, (start, end) in sorted(enumerate(spans), key=lambda item: item[1][0]):
        pieces += [sql[cursor:start], index]
        cursor = end
    pieces.append(sql[cursor:])
    outer = tuple(i for i, owner in enumerate(owners) if owner is None)
    return MLQuery(tuple(pieces), tuple(placed), texts, outer, is_bare(node), dialect)


def training_calls(
    query: exp.Expression | None, dialect: str, write: Callable[[exp.Expression], str]
) -> MLQuery | None:
    """A CREATE MODEL's training query that reads ML calls (``AS SELECT * FROM ML.TRANSFORM(...)``,
    as BigQuery's create-transform page trains on a TRANSFORM_ONLY model's output): the query
    with each call's slot, which the executor fills before training; None without calls."""
    if query is None or query.find(MLFunction) is None:
        return None
    return ml_query_from_tree(query.copy(), dialect, write)


def ml_query_from_tree(
    tree: exp.Expression, dialect: str, write: Callable[[exp.Expression], str]
) -> MLQuery:
    """A statement regenerated from its tree (transpiled to another engine's SQL by ``write``),
    each ML call's node replaced by its slot. Such statements carry no parameters."""
    functions = sorted(tree.find_all(MLFunction), key=lambda f: f.meta["span"][0])
    calls = [plan_call(f, dialect) for f in functions]
    bare = is_bare(tree)
    for index, function in enumerate(functions):
        stand_in = exp.Table(this=exp.to_identifier(_SENTINEL.format(index)))
        alias = function.args.get("alias")
        if alias is not None:
            stand_in.set("alias", alias.copy())
        function.replace(stand_in)
    parts = _SENTINELS.split(write(tree))
    pieces = tuple(p if i % 2 == 0 else int(p) for i, p in enumerate(parts))
    placed = tuple(
        dataclasses.replace(call, slot=slot_name(call, index)) for index, call in enumerate(calls)
    )
    return MLQuery(pieces, placed, (), (), bare, dialect)
