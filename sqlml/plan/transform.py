"""The TRANSFORM clause of CREATE MODEL (BigQuery ML), parsed and checked: which outputs are ML.*
preprocessing functions (scikit-learn transformers in the model's pipeline, see
:mod:`sqlml.training.transform`) and which are plain SQL computed before scoring.

Pure: only sqlglot, so the planner checks a TRANSFORM before any data is read.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlglot import exp

from sqlml.errors import NotSupportedError, ProgrammingError
from sqlml.plan.transform_args import CHECKS, int_arg, literal_arg

#: The dialect a TRANSFORM's SQL outputs are stored in (``TransformItem.sql``).
SQL_DIALECT = "duckdb"


# Columns that ML.PREDICT / ML.EVALUATE compute for a model's SQL outputs are named this, then
# renamed to the outputs' names once read (an output may replace an input column of its own name).
HIDDEN_PREFIX = "__sqlml_transform_"


# name -> (usage, fewest and most arguments)
FUNCTIONS: dict[str, tuple[str, int, int]] = {
    "STANDARD_SCALER": ("ML.STANDARD_SCALER(column)", 1, 1),
    "MIN_MAX_SCALER": ("ML.MIN_MAX_SCALER(column)", 1, 1),
    "MAX_ABS_SCALER": ("ML.MAX_ABS_SCALER(column)", 1, 1),
    "ROBUST_SCALER": (
        "ML.ROBUST_SCALER(column [, [low, high]] [, with_median] [, with_quantile_range])",
        1,
        4,
    ),
    "IMPUTER": ("ML.IMPUTER(column, 'mean' | 'median' | 'most_frequent')", 2, 2),
    "ONE_HOT_ENCODER": (
        "ML.ONE_HOT_ENCODER(column [, 'none' | 'most_frequent'] [, top_k] [, frequency_threshold])",
        1,
        4,
    ),
    "LABEL_ENCODER": ("ML.LABEL_ENCODER(column [, top_k] [, frequency_threshold])", 1, 3),
    "BUCKETIZE": (
        "ML.BUCKETIZE(column, [split points] [, exclude_boundaries] [, output_format])",
        2,
        4,
    ),
    "QUANTILE_BUCKETIZE": ("ML.QUANTILE_BUCKETIZE(column, num_buckets [, output_format])", 2, 3),
    "POLYNOMIAL_EXPAND": ("ML.POLYNOMIAL_EXPAND(STRUCT(a, b, ...) [, degree])", 1, 2),
    "FEATURE_CROSS": ("ML.FEATURE_CROSS(STRUCT(a, b, ...) [, degree])", 1, 2),
}


NUMERIC_FUNCTIONS = frozenset(
    {
        "STANDARD_SCALER",
        "MIN_MAX_SCALER",
        "MAX_ABS_SCALER",
        "ROBUST_SCALER",
        "BUCKETIZE",
        "QUANTILE_BUCKETIZE",
        "POLYNOMIAL_EXPAND",
    }
)


CATEGORICAL_FUNCTIONS = frozenset({"ONE_HOT_ENCODER", "LABEL_ENCODER"})


@dataclass(frozen=True)
class TransformItem:
    """One output of the TRANSFORM list.

    ``kind`` is "column" (an input column passed through), "sql" (an expression computed in SQL,
    ``sql`` in DuckDB's dialect), "ml" (an ``ML.<function>`` in the ONNX graph, with its validated
    literal arguments in ``args``) or "star" (``*``, expanded over the training query's columns
    by :meth:`Transform.expand`: ``columns`` are its EXCEPT list, ``args`` its REPLACE items).
    ``columns`` are the raw input columns it reads. ``graph`` is the name of the ONNX graph input
    that takes a SQL output: its own name, unless that is the name of a raw column the graph also
    reads (``CAST(x AS STRING) AS x`` next to ``ML.QUANTILE_BUCKETIZE(x, 10) OVER () AS b``).
    """

    output: str
    kind: str
    columns: tuple[str, ...]
    function: str | None = None
    args: tuple[Any, ...] = ()
    sql: str | None = None
    graph: str | None = None

    @property
    def input_name(self) -> str:
        """The graph input (and model feature) of a SQL output."""
        return self.graph or self.output


@dataclass(frozen=True)
class Transform:
    """A parsed TRANSFORM list, with the label (which passes through) set apart."""

    items: tuple[TransformItem, ...]
    label: str | None = None
    model: str = ""
    #: Columns that pass through and are not features (data_split_col, kmeans_init_col,
    #: instance_weight_col): see :meth:`passing`.
    passed: tuple[str, ...] = ()

    @property
    def has_star(self) -> bool:
        return any(i.kind == "star" for i in self.items)

    @property
    def features(self) -> tuple[TransformItem, ...]:
        assert not self.has_star, "expand the TRANSFORM's * first"
        return tuple(
            i for i in self.items if i.output != self.label and i.output not in self.passed
        )

    def passing(self, columns: Sequence[str | None]) -> Transform:
        """The columns BigQuery's options name (data_split_col, kmeans_init_col,
        instance_weight_col) taken out of the features: listed in TRANSFORM, they "must appear in
        select_list without transformation", as the label does."""
        names = tuple(c for c in columns if c and c != self.label)
        for item in self.items:
            if item.output in names and item.kind != "column":
                raise ProgrammingError(
                    f"Column '{item.output}' of CREATE MODEL {self.model}, which its OPTIONS "
                    f"name, must pass through TRANSFORM unchanged (write {item.output} in the "
                    f"list), as BigQuery requires; compute it in the training query instead."
                )
        return dataclasses.replace(self, passed=names) if names else self

    def expand(self, columns: Sequence[str]) -> Transform:
        """``*`` (with its EXCEPT and REPLACE lists) over the training query's ``columns``, then
        the checks that need every output known; a TRANSFORM without ``*`` is returned as is."""
        if not self.has_star:
            return self
        items: list[TransformItem] = []
        for item in self.items:
            if item.kind != "star":
                items.append(item)
                continue
            unknown = [c for c in item.columns if c not in columns]
            unknown += [r.output for r in item.args if r.output not in columns]
            if unknown:
                raise ProgrammingError(
                    f"The * EXCEPT / REPLACE of the TRANSFORM of CREATE MODEL {self.model} names "
                    f"column(s) {', '.join(unknown)}, which the training query does not return; "
                    f"its columns are: {', '.join(columns)}."
                )
            replaced = {r.output: r for r in item.args}
            for column in columns:
                if column not in item.columns:
                    items.append(replaced.get(column) or TransformItem(column, "column", (column,)))
        return _finish(items, self.model, self.label)

    @property
    def graph_inputs(self) -> list[str]:
        """The ONNX graph's inputs, in order: raw columns for pass-through and ML.* outputs, the
        outputs' own names for SQL outputs (computed before scoring)."""
        names: list[str] = []
        for item in self.features:
            for name in (item.input_name,) if item.kind == "sql" else item.columns:
                if name not in names:
                    names.append(name)
        return names

    @property
    def raw_inputs(self) -> list[str]:
        """The input columns that scoring reads (the label's excepted)."""
        names: list[str] = []
        for item in self.features:
            for name in item.columns:
                if name not in names:
                    names.append(name)
        return names

    def spec(self) -> dict[str, Any]:
        """What scoring needs, stored in the model's spec: the SQL outputs and the raw inputs."""
        return {
            "transform_sql": [
                {
                    "name": i.input_name,
                    **({"output": i.output} if i.graph else {}),
                    "sql": i.sql,
                    "columns": list(i.columns),
                }
                for i in self.features
                if i.kind == "sql"
            ],
            "transform_inputs": self.raw_inputs,
        }


def parse_transform(
    expressions: Sequence[exp.Expression], model: str, label: str | None
) -> Transform:
    """Check a TRANSFORM select list and describe each output; errors name the output and the fix.

    With ``*`` the outputs are known once the training query's columns are: the checks that need
    them all wait for :meth:`Transform.expand`.
    """
    items: list[TransformItem] = []
    for position, expression in enumerate(expressions, start=1):
        items.extend(_parse_item(expression, position, model))
    if any(i.kind == "star" for i in items):
        _check_unique([i for i in items if i.kind != "star"], model)
        return Transform(tuple(items), label, model)
    return _finish(items, model, label)


def with_label(transform: Transform, label: str, model: str) -> Transform:
    """``transform`` with ``label`` (BigQuery's default, found once the outputs are known) as its
    label, checked as a label named in OPTIONS is."""
    labelled = dataclasses.replace(transform, label=label)
    if not labelled.has_star:
        _check_label(labelled, model)
    return labelled


def _finish(items: Sequence[TransformItem], model: str, label: str | None) -> Transform:
    _check_unique(items, model)
    transform = Transform(tuple(_graph_names(items)), label, model)
    _check_label(transform, model)
    return transform


def _check_unique(items: Sequence[TransformItem], model: str) -> None:
    seen: set[str] = set()
    for item in items:
        key = item.output.lower()
        if key in seen:
            raise ProgrammingError(
                f"The TRANSFORM of CREATE MODEL {model} has two outputs named '{item.output}'; "
                f"give each output its own name."
            )
        seen.add(key)


#: The graph input of a SQL output named like a raw column the graph reads: ``<output>`` + this.
SQL_INPUT_SUFFIX = " (TRANSFORM)"


def _graph_names(items: Sequence[TransformItem]) -> list[TransformItem]:
    """A SQL output reusing the name of a raw column that an ML.* or pass-through output reads
    (the tutorial's ``CAST(culmen_length_mm AS STRING) AS culmen_length_mm``) takes a graph input
    of its own, so the graph reads both the raw column and the output."""
    raw = {c.lower() for i in items if i.kind != "sql" for c in i.columns}
    taken = raw | {i.output.lower() for i in items}
    named = []
    for item in items:
        if item.kind == "sql" and item.output.lower() in raw:
            graph, n = item.output + SQL_INPUT_SUFFIX, 1
            while graph.lower() in taken:
                n += 1
                graph = f"{item.output} (TRANSFORM {n})"
            taken.add(graph.lower())
            item = dataclasses.replace(item, graph=graph)
        named.append(item)
    return named


def _parse_item(
    expression: exp.Expression, position: int, model: str, where: str = ""
) -> list[TransformItem]:
    where = where or (
        f"TRANSFORM output #{position} ({expression.sql(dialect='duckdb')}) of CREATE MODEL {model}"
    )
    if isinstance(expression, exp.Star):
        return [_parse_star(expression, where, model)]
    if isinstance(expression, exp.Column) and isinstance(expression.this, exp.Star):
        raise NotSupportedError(
            f"{where}: expression.* is not supported in TRANSFORM yet; write * (with EXCEPT or "
            f"REPLACE) or list the columns the model uses."
        )
    if isinstance(expression, exp.Alias):
        body, name = expression.this, expression.alias
    elif isinstance(expression, exp.Column):
        body, name = expression, expression.name
    else:
        body, name = expression, ""
    if not name:
        raise ProgrammingError(
            f"{where} needs a name: write {expression.sql(dialect='duckdb')} AS <name>."
        )
    call = _ml_call(body, where)
    if call is not None:
        function, args = call
        return _parse_ml(function, args, name, where)
    _check_plain_sql(body, where)
    if isinstance(body, exp.Column) and not body.table and body.name == name:
        return [TransformItem(name, "column", (name,))]
    columns = tuple(dict.fromkeys(c.name for c in body.find_all(exp.Column)))
    return [TransformItem(name, "sql", columns, sql=body.sql(dialect=SQL_DIALECT))]


def _parse_star(star: exp.Star, where: str, model: str) -> TransformItem:
    """``*``, ``* EXCEPT (a, b)``, ``* REPLACE (expr AS a)`` (DuckDB spells EXCEPT as EXCLUDE)."""
    if star.args.get("rename"):
        raise NotSupportedError(
            f"{where}: * RENAME is not supported in TRANSFORM yet; write expr AS name."
        )
    excepted = []
    for node in star.args.get("except_") or star.args.get("except") or []:
        if not isinstance(node, exp.Column) or isinstance(node.this, exp.Star):
            raise ProgrammingError(
                f"{where}: * EXCEPT takes column names; got {node.sql(dialect='duckdb')}."
            )
        excepted.append(node.name)
    replaced: list[TransformItem] = []
    for node in star.args.get("replace") or []:
        if not isinstance(node, exp.Alias):
            raise ProgrammingError(
                f"{where}: * REPLACE takes expr AS column; got {node.sql(dialect='duckdb')}."
            )
        replaced.extend(_parse_item(node, 0, model, where))
    return TransformItem("*", "star", tuple(excepted), args=tuple(replaced))


def _ml_name(node: exp.Expression) -> str | None:
    """``ML.NAME(...)`` (a Dot on the identifier ML) -> NAME; anything else -> None."""
    if not isinstance(node, exp.Dot):
        return None
    owner = node.this
    if not isinstance(owner, (exp.Identifier, exp.Column, exp.Var)) or owner.name.upper() != "ML":
        return None
    call = node.expression
    if isinstance(call, exp.Anonymous):
        return str(call.name).upper()
    if isinstance(call, exp.Func):
        return call.sql_name().upper()
    return None


def _ml_call(body: exp.Expression, where: str) -> tuple[str, list[exp.Expression]] | None:
    node = body
    if isinstance(body, exp.Window):
        if body.args.get("partition_by") or body.args.get("order") or body.args.get("spec"):
            raise NotSupportedError(
                f"{where}: ML preprocessing functions take an empty OVER (); their statistics "
                f"come from all training rows."
            )
        node = body.this
    name = _ml_name(node)
    if name is None:
        return None
    if name not in FUNCTIONS:
        raise NotSupportedError(
            f"{where}: ML.{name} is not a preprocessing function sqlml supports; supported: "
            + ", ".join(f"ML.{n}" for n in FUNCTIONS)
            + "."
        )
    call = node.expression
    args = list(call.expressions) if isinstance(call, exp.Anonymous) else _func_args(call)
    return name, args


def _func_args(call: exp.Expression) -> list[exp.Expression]:
    args: list[exp.Expression] = []
    for value in call.args.values():
        if isinstance(value, list):
            args.extend(v for v in value if isinstance(v, exp.Expression))
        elif isinstance(value, exp.Expression):
            args.append(value)
    return args


def _check_plain_sql(body: exp.Expression, where: str) -> None:
    if any(isinstance(n, exp.Dot) and _ml_name(n) is not None for n in body.walk()):
        raise NotSupportedError(
            f"{where}: an ML.* preprocessing function must be a whole TRANSFORM output "
            f"(ML.FN(...) OVER () AS name), not part of an expression."
        )
    for node in body.walk():
        if isinstance(node, (exp.Window, exp.AggFunc)):
            raise NotSupportedError(
                f"{where}: aggregate and window functions would be computed over the prediction "
                f"input, not the training data; use an ML.* preprocessing function (e.g. "
                f"ML.STANDARD_SCALER(col) OVER ()) or compute it in the training query."
            )
        if isinstance(node, (exp.Subquery, exp.Query)):
            raise NotSupportedError(f"{where}: subqueries are not supported in TRANSFORM.")


def _parse_ml(
    function: str, args: list[exp.Expression], name: str, where: str
) -> list[TransformItem]:
    usage, fewest, most = FUNCTIONS[function]
    if not fewest <= len(args) <= most:
        count = f"{fewest}" if fewest == most else f"{fewest} to {most}"
        raise ProgrammingError(
            f"{where}: ML.{function} takes {count} argument(s), {usage}; got {len(args)}."
        )
    if function in ("POLYNOMIAL_EXPAND", "FEATURE_CROSS"):
        fields = _struct_columns(args[0], function, usage, where)
        return _parse_struct_function(function, fields, args[1:], name, where)
    column = _column(args[0], function, usage, where)
    values = [literal_arg(a, function, usage, where) for a in args[1:]]
    checked = CHECKS[function](values, function, where)
    return [TransformItem(name, "ml", (column,), function, tuple(checked))]


def _column(node: exp.Expression, function: str, usage: str, where: str) -> str:
    if isinstance(node, exp.Column) and not isinstance(node.this, exp.Star):
        return node.name
    raise ProgrammingError(
        f"{where}: the first argument of ML.{function} must be an input column ({usage}); got "
        f"{node.sql(dialect='duckdb')}. Compute it in the training query first."
    )


def _struct_columns(
    node: exp.Expression, function: str, usage: str, where: str
) -> list[tuple[str, str]]:
    """``STRUCT(a, b AS f2)`` -> [(field name, column)]; fields must be distinct columns."""
    if not isinstance(node, exp.Struct) or not node.expressions:
        raise ProgrammingError(
            f"{where}: ML.{function} takes a STRUCT of input columns, {usage}; got "
            f"{node.sql(dialect='duckdb')}."
        )
    fields: list[tuple[str, str]] = []
    for field in node.expressions:
        if isinstance(field, exp.PropertyEQ):
            field_name, value = field.this.name, field.expression
        elif isinstance(field, exp.Alias):
            field_name, value = field.alias, field.this
        else:
            field_name, value = "", field
        column = _column(value, function, usage, where)
        fields.append((field_name or column, column))
    names = [f for f, _ in fields]
    if len(set(names)) != len(names) or len(fields) > 10:
        raise ProgrammingError(
            f"{where}: the STRUCT of ML.{function} takes 1 to 10 distinct fields; got "
            f"{', '.join(names)}."
        )
    return fields


def _parse_struct_function(
    function: str,
    fields: list[tuple[str, str]],
    rest: list[exp.Expression],
    name: str,
    where: str,
) -> list[TransformItem]:
    usage = FUNCTIONS[function][0]
    values = [literal_arg(a, function, usage, where) for a in rest]
    columns = tuple(dict.fromkeys(c for _, c in fields))
    if function == "POLYNOMIAL_EXPAND":
        degree = int_arg(values[0] if values else 2, "degree", 1, 4, function, where)
        return [TransformItem(name, "ml", columns, function, (degree,))]
    degree = int_arg(values[0] if values else 2, "degree", 2, 4, function, where)
    if len(fields) < 2 or degree > len(fields):
        raise ProgrammingError(
            f"{where}: ML.FEATURE_CROSS crosses at least 2 fields, and its degree ({degree}) "
            f"cannot exceed their number ({len(fields)})."
        )
    combos = [
        combo for size in range(2, degree + 1) for combo in itertools.combinations(fields, size)
    ]
    items = []
    for combo in combos:
        output = name if len(combos) == 1 else "_".join([name, *(f for f, _ in combo)])
        pieces = [f"CAST({quote_identifier(c)} AS VARCHAR)" for _, c in combo]
        sql = " || '_' || ".join(pieces)
        items.append(TransformItem(output, "sql", tuple(c for _, c in combo), function, sql=sql))
    return items


def quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _check_label(transform: Transform, model: str) -> None:
    label = transform.label
    if label is None:
        return
    item = next((i for i in transform.items if i.output == label), None)
    if item is None:
        raise ProgrammingError(
            f"The label '{label}' of CREATE MODEL {model} must be in its TRANSFORM list, as in "
            f"BigQuery ML: add {label} to TRANSFORM (...)."
        )
    if item.kind != "column":
        raise ProgrammingError(
            f"The label '{label}' of CREATE MODEL {model} must pass through TRANSFORM unchanged "
            f"(write {label} in the list); compute it in the training query instead."
        )
    for other in transform.features:
        if label in other.columns:
            raise ProgrammingError(
                f"TRANSFORM output '{other.output}' of CREATE MODEL {model} reads the label "
                f"column '{label}'; features cannot be computed from the label."
            )
