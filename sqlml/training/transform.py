"""The TRANSFORM clause of CREATE MODEL (BigQuery ML): preprocessing that is part of the model.

``CREATE MODEL m TRANSFORM (ML.STANDARD_SCALER(a) OVER () AS a_s, b * 2 AS b2, plan, y) ...``: the
model's features are the TRANSFORM outputs (the label passes through), and ML.PREDICT / ML.EVALUATE
take the raw columns the TRANSFORM reads. Each output lives where it can be expressed:

- ``ML.*`` preprocessing functions are scikit-learn transformers in the pipeline's ColumnTransformer,
  over the raw columns, so their fitted statistics are in the ONNX graph and an exported model takes
  raw columns for them.
- Plain SQL expressions (``b * 2 AS b2``, ``lower(plan) AS plan``) and ``ML.FEATURE_CROSS`` (a string
  concatenation, which ONNX at the opset sqlml targets cannot do) are computed in SQL: the model
  stores them (spec ``transform_sql``) and ML.PREDICT / ML.EVALUATE add them to their input before
  scoring. The ONNX graph takes those outputs as inputs of their own, so an exported model needs
  them precomputed: its metadata key ``sqlml.transform_sql`` says how.

Parsing (:func:`parse_transform`) is pure and imports only sqlglot, so the planner checks a TRANSFORM
before any data is read; scikit-learn and skl2onnx are imported when a pipeline is built.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlglot import exp

from sqlml.errors import NotSupportedError, ProgrammingError, SchemaError, TrainingError
from sqlml.sql.values import literal

if TYPE_CHECKING:
    import pyarrow as pa

# Columns that ML.PREDICT / ML.EVALUATE compute for a model's SQL outputs are named this, then
# renamed to the outputs' names once read (an output may replace an input column of its own name).
HIDDEN_PREFIX = "__sqlml_transform_"

BUCKET_FORMATS = ("bucket_names", "bucket_ranges", "bucket_ranges_json")
IMPUTER_STRATEGIES = ("mean", "median", "most_frequent")

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
    ``sql`` in DuckDB's dialect) or "ml" (an ``ML.<function>`` in the ONNX graph, with its validated
    literal arguments in ``args``). ``columns`` are the raw input columns it reads.
    """

    output: str
    kind: str
    columns: tuple[str, ...]
    function: str | None = None
    args: tuple[Any, ...] = ()
    sql: str | None = None


@dataclass(frozen=True)
class Transform:
    """A parsed TRANSFORM list, with the label (which passes through) set apart."""

    items: tuple[TransformItem, ...]
    label: str | None = None

    @property
    def features(self) -> tuple[TransformItem, ...]:
        return tuple(i for i in self.items if i.output != self.label)

    @property
    def graph_inputs(self) -> list[str]:
        """The ONNX graph's inputs, in order: raw columns for pass-through and ML.* outputs, the
        outputs' own names for SQL outputs (computed before scoring)."""
        names: list[str] = []
        for item in self.features:
            for name in (item.output,) if item.kind == "sql" else item.columns:
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
                {"name": i.output, "sql": i.sql, "columns": list(i.columns)}
                for i in self.features
                if i.kind == "sql"
            ],
            "transform_inputs": self.raw_inputs,
        }


# --- parsing ----------------------------------------------------------------------------------------


def parse_transform(
    expressions: Sequence[exp.Expression], model: str, label: str | None
) -> Transform:
    """Check a TRANSFORM select list and describe each output; errors name the output and the fix."""
    items: list[TransformItem] = []
    for position, expression in enumerate(expressions, start=1):
        items.extend(_parse_item(expression, position, model))
    seen: dict[str, str] = {}
    for item in items:
        key = item.output.lower()
        if key in seen:
            raise ProgrammingError(
                f"The TRANSFORM of CREATE MODEL {model} has two outputs named '{item.output}'; "
                f"give each output its own name."
            )
        seen[key] = item.output
    transform = Transform(tuple(items), label)
    _check_label(transform, model)
    _check_sql_names(transform, model)
    return transform


def _parse_item(expression: exp.Expression, position: int, model: str) -> list[TransformItem]:
    where = (
        f"TRANSFORM output #{position} ({expression.sql(dialect='duckdb')}) of CREATE MODEL {model}"
    )
    if isinstance(expression, exp.Star) or (
        isinstance(expression, exp.Column) and isinstance(expression.this, exp.Star)
    ):
        raise NotSupportedError(
            f"{where}: * is not supported in TRANSFORM; list the columns the model uses."
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
    return [TransformItem(name, "sql", columns, sql=body.sql(dialect="duckdb"))]


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
    values = [_literal(a, function, usage, where) for a in args[1:]]
    checked = _CHECKS[function](values, function, where)
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
    values = [_literal(a, function, usage, where) for a in rest]
    columns = tuple(dict.fromkeys(c for _, c in fields))
    if function == "POLYNOMIAL_EXPAND":
        degree = _int_arg(values[0] if values else 2, "degree", 1, 4, function, where)
        return [TransformItem(name, "ml", columns, function, (degree,))]
    degree = _int_arg(values[0] if values else 2, "degree", 2, 4, function, where)
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
        pieces = [f"CAST({_quote(c)} AS VARCHAR)" for _, c in combo]
        sql = " || '_' || ".join(pieces)
        items.append(TransformItem(output, "sql", tuple(c for _, c in combo), function, sql=sql))
    return items


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(node: exp.Expression, function: str, usage: str, where: str) -> Any:
    """A constant argument as Python: number, string, bool, NULL, or a list of those."""

    def not_constant(other: exp.Expression) -> Any:
        raise ProgrammingError(
            f"{where}: the arguments of ML.{function} after the column must be constants "
            f"({usage}); got {other.sql(dialect='duckdb')}."
        )

    return literal(node, not_constant)


def _int_arg(value: Any, what: str, low: int, high: int, function: str, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ProgrammingError(
            f"{where}: the {what} of ML.{function} must be an integer in [{low}, {high}]; got "
            f"{value!r}."
        )
    return value


def _bool_arg(value: Any, what: str, function: str, where: str) -> bool:
    if not isinstance(value, bool):
        raise ProgrammingError(
            f"{where}: the {what} of ML.{function} must be TRUE or FALSE; got {value!r}."
        )
    return value


def _choice_arg(value: Any, what: str, choices: Sequence[str], function: str, where: str) -> str:
    if not isinstance(value, str) or value.lower() not in choices:
        raise ProgrammingError(
            f"{where}: the {what} of ML.{function} must be one of "
            f"{', '.join(repr(c) for c in choices)}; got {value!r}."
        )
    return value.lower()


def _no_args(values: list[Any], function: str, where: str) -> list[Any]:
    return []


def _robust_args(values: list[Any], function: str, where: str) -> list[Any]:
    quantiles = values[0] if values else [25, 75]
    ok = (
        isinstance(quantiles, list)
        and len(quantiles) == 2
        and all(isinstance(q, int) and not isinstance(q, bool) for q in quantiles)
        and 0 < quantiles[0] < quantiles[1] < 100
    )
    if not ok:
        raise ProgrammingError(
            f"{where}: the quantile_range of ML.ROBUST_SCALER must be two integers "
            f"[low, high] with 0 < low < high < 100; got {quantiles!r}."
        )
    with_median = _bool_arg(values[1], "with_median", function, where) if len(values) > 1 else True
    with_range = (
        _bool_arg(values[2], "with_quantile_range", function, where) if len(values) > 2 else True
    )
    return [quantiles[0], quantiles[1], with_median, with_range]


def _imputer_args(values: list[Any], function: str, where: str) -> list[Any]:
    return [_choice_arg(values[0], "strategy", IMPUTER_STRATEGIES, function, where)]


def _vocabulary_args(values: list[Any], with_drop: bool, function: str, where: str) -> list[Any]:
    values = list(values)
    drop = "none"
    if with_drop:
        drop = (
            _choice_arg(values.pop(0), "drop", ("none", "most_frequent"), function, where)
            if values
            else "none"
        )
    top_k = _int_arg(values[0], "top_k", 1, 999_999, function, where) if values else 32_000
    threshold = (
        _int_arg(values[1], "frequency_threshold", 0, 2**62, function, where)
        if len(values) > 1
        else 5
    )
    return [drop, top_k, threshold]


def _bucketize_args(values: list[Any], function: str, where: str) -> list[Any]:
    splits = values[0]
    numbers = isinstance(splits, list) and all(
        isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in splits
    )
    if not numbers or not splits or any(b <= a for a, b in zip(splits, splits[1:], strict=False)):
        raise ProgrammingError(
            f"{where}: the split points of ML.BUCKETIZE must be a non-empty array of finite "
            f"numbers in increasing order, as in [0, 10, 100]; got {splits!r}."
        )
    exclude = (
        _bool_arg(values[1], "exclude_boundaries", function, where) if len(values) > 1 else False
    )
    if len(values) > 2:
        _choice_arg(values[2], "output_format", BUCKET_FORMATS, function, where)
    points = [float(v) for v in splits]
    if exclude:
        points = points[1:-1]
    return [points]


def _quantile_args(values: list[Any], function: str, where: str) -> list[Any]:
    buckets = _int_arg(values[0], "num_buckets", 1, 10_000, function, where)
    if len(values) > 1:
        _choice_arg(values[1], "output_format", BUCKET_FORMATS, function, where)
    return [buckets]


_CHECKS = {
    "STANDARD_SCALER": _no_args,
    "MIN_MAX_SCALER": _no_args,
    "MAX_ABS_SCALER": _no_args,
    "ROBUST_SCALER": _robust_args,
    "IMPUTER": _imputer_args,
    "ONE_HOT_ENCODER": lambda v, f, w: _vocabulary_args(v, True, f, w),
    "LABEL_ENCODER": lambda v, f, w: _vocabulary_args(v, False, f, w),
    "BUCKETIZE": _bucketize_args,
    "QUANTILE_BUCKETIZE": _quantile_args,
}


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


def _check_sql_names(transform: Transform, model: str) -> None:
    """A SQL output replaces an input column of its name, which ML.* outputs must still read."""
    graph_raw = {c.lower() for i in transform.items if i.kind != "sql" for c in i.columns}
    for item in transform.items:
        if item.kind == "sql" and item.output.lower() in graph_raw:
            raise ProgrammingError(
                f"TRANSFORM output '{item.output}' of CREATE MODEL {model} is computed in SQL but "
                f"has the name of an input column that another output reads; give it another name."
            )


# --- SQL outputs: computing them next to the input ------------------------------------------------------


def select_sql(transform_sql: list[dict[str, Any]], source_sql: str) -> str:
    """The input query with the model's SQL outputs added under hidden names."""
    extra = ", ".join(
        f'({item["sql"]}) AS "{HIDDEN_PREFIX}{i}"' for i, item in enumerate(transform_sql)
    )
    return f"SELECT *, {extra} FROM (\n{source_sql}\n) AS __sqlml_transform_input"


def metadata_sql(transform_sql: list[dict[str, Any]]) -> str:
    """How to precompute an exported graph's SQL inputs: the text of ONNX metadata key
    ``sqlml.transform_sql``."""
    outputs = ", ".join(f"{item['sql']} AS {_quote(item['name'])}" for item in transform_sql)
    return f"SELECT *, {outputs} FROM input"


def model_view(data: Any, transform_sql: list[dict[str, Any]] | None) -> Any:
    """A table or record batch with the hidden SQL outputs renamed to their names, replacing input
    columns of the same name: what the model's features are read from."""
    if not transform_sql:
        return data
    hidden = {f"{HIDDEN_PREFIX}{i}": item["name"] for i, item in enumerate(transform_sql)}
    replaced = {name.lower() for name in hidden.values()}
    names, arrays = [], []
    for name, column in zip(data.schema.names, data.columns, strict=True):
        if name not in hidden and name.lower() not in replaced:
            names.append(name)
            arrays.append(column)
    for name, output in hidden.items():
        names.append(output)
        arrays.append(data.column(name))
    return type(data).from_arrays(arrays, names=names)


def model_schema(schema: pa.Schema, transform_sql: list[dict[str, Any]] | None) -> pa.Schema:
    import pyarrow as pa

    if not transform_sql:
        return schema
    empty = pa.Table.from_batches([], schema=schema)
    return model_view(empty, transform_sql).schema


def input_fields(schema: pa.Schema) -> list[pa.Field]:
    """The input's own columns (without the hidden SQL outputs)."""
    return [f for f in schema if not f.name.startswith(HIDDEN_PREFIX)]


def missing_inputs(spec: dict[str, Any], names: Sequence[str]) -> list[str]:
    """The TRANSFORM's input columns absent from ``names``."""
    present = set(names)
    return [c for c in spec.get("transform_inputs") or [] if c not in present]


def training_rows(backend: Any, table: pa.Table, transform: Transform, model: str) -> pa.Table:
    """The training query's rows with the SQL outputs computed by the engine, exactly as
    ML.PREDICT computes them on its input (the same SQL, on the same engine)."""
    spec = transform.spec()
    needed = spec["transform_inputs"] + ([transform.label] if transform.label else [])
    missing = [c for c in needed if c not in table.column_names]
    if missing:
        raise SchemaError(
            f"The TRANSFORM of CREATE MODEL {model} reads column(s) {', '.join(missing)}, which "
            f"the training query does not return; its columns are: "
            f"{', '.join(table.column_names)}."
        )
    if not spec["transform_sql"]:
        return table
    name = backend.temp_name("transform")
    backend.register_arrow(name, table)
    try:
        computed = backend.arrow(select_sql(spec["transform_sql"], f'SELECT * FROM "{name}"'))
    finally:
        backend.unregister_arrow(name)
    return model_view(computed, spec["transform_sql"])


def check_inputs(spec: dict[str, Any], model: str, names: Sequence[str], where: str) -> None:
    missing = missing_inputs(spec, names)
    if missing:
        raise SchemaError(
            f"The input of {where} lacks column(s) {', '.join(missing)}, which the TRANSFORM of "
            f"model {model} reads; it reads: {', '.join(spec['transform_inputs'])}."
        )


# --- the pipeline -------------------------------------------------------------------------------------


def column_transformer(
    transform: Transform,
    features: list[dict[str, str]],
    scale_numeric: bool,
    frame: Any,
    model: str,
) -> Any:
    """The ColumnTransformer for a TRANSFORM model: one branch per output, over the graph inputs.

    Each output then gets the preprocessing every model input gets (numbers: mean imputation, and
    standardization where the model type scales; strings: one-hot encoding with unseen values
    ignored), as BigQuery applies its automatic preprocessing to the TRANSFORM's outputs.
    """
    from sklearn.compose import ColumnTransformer

    kinds = {f["name"]: f["kind"] for f in features}
    types = {f["name"]: f.get("type", "") for f in features}
    parts = []
    for index, item in enumerate(transform.features):
        columns = [item.output] if item.kind == "sql" else list(item.columns)
        _check_kinds(item, columns, kinds, types, model)
        step = _branch(item, columns, kinds, scale_numeric, frame, model)
        parts.append((f"t{index}", step, columns))
    return ColumnTransformer(parts, sparse_threshold=0.0)


def _check_kinds(
    item: TransformItem,
    columns: list[str],
    kinds: dict[str, str],
    types: dict[str, str],
    model: str,
) -> None:
    function = item.function
    for column in columns:
        kind = kinds[column]
        where = f"ML.{function}(...) AS {item.output} in the TRANSFORM of CREATE MODEL {model}"
        if function in NUMERIC_FUNCTIONS and kind != "numeric":
            raise SchemaError(
                f"{where} needs a numeric column; '{column}' is {types[column]}. CAST it to a "
                f"number in the training query."
            )
        if function in CATEGORICAL_FUNCTIONS and kind != "categorical":
            raise SchemaError(
                f"{where} needs a STRING column; '{column}' is {types[column]}. Write "
                f"CAST({column} AS VARCHAR) in the training query."
            )
        if function == "IMPUTER" and kind == "categorical" and item.args[0] != "most_frequent":
            raise SchemaError(
                f"{where}: '{column}' is {types[column]}, which only the 'most_frequent' "
                f"strategy can impute; got '{item.args[0]}'."
            )


def _tail(scale: bool) -> list[tuple[str, Any]]:
    from sklearn.impute import SimpleImputer
    from sklearn.preprocessing import StandardScaler

    steps: list[tuple[str, Any]] = [("impute", SimpleImputer(keep_empty_features=True))]
    if scale:
        steps.append(("scale", StandardScaler()))
    return steps


def _one_hot(categories: list[str] | None = None) -> Any:
    from sklearn.preprocessing import OneHotEncoder

    listed: Any = "auto" if categories is None else [np.array(categories, dtype=object)]
    return OneHotEncoder(categories=listed, handle_unknown="ignore", sparse_output=False)


def _branch(
    item: TransformItem,
    columns: list[str],
    kinds: dict[str, str],
    scale: bool,
    frame: Any,
    model: str,
) -> Any:
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import (
        MaxAbsScaler,
        MinMaxScaler,
        OrdinalEncoder,
        PolynomialFeatures,
        RobustScaler,
        StandardScaler,
    )
    from sqlml_udfs.scoring import NULL_CATEGORY

    function = item.function
    if item.kind != "ml":  # a pass-through column or a SQL output: the default preprocessing
        if kinds[columns[0]] == "numeric":
            return Pipeline(_tail(scale))
        return _one_hot()
    if function == "IMPUTER" and kinds[columns[0]] == "categorical":
        imputer = SimpleImputer(strategy="most_frequent", missing_values=NULL_CATEGORY)
        return Pipeline([("fn", imputer), ("encode", _one_hot())])
    if function in ("ONE_HOT_ENCODER", "LABEL_ENCODER"):
        drop, top_k, threshold = item.args
        values = np.asarray(frame[columns[0]], dtype=object)
        vocabulary = _vocabulary(values, top_k, threshold, NULL_CATEGORY, item, model)
        if function == "LABEL_ENCODER":
            encoder = OrdinalEncoder(
                categories=[np.array(vocabulary, dtype=object)],
                handle_unknown="use_encoded_value",
                unknown_value=-1,
            )
            return Pipeline([("fn", encoder), *_tail(scale)])
        if drop == "most_frequent":  # dummy encoding: the dropped category encodes as all zeros
            vocabulary = [v for v in vocabulary if v != _most_frequent(values, vocabulary)]
        return Pipeline([("fn", _one_hot(vocabulary))])
    if function in ("BUCKETIZE", "QUANTILE_BUCKETIZE"):
        bucketizer = bucketizer_class()
        if function == "BUCKETIZE":
            return Pipeline([("fn", bucketizer(splits=tuple(item.args[0])))])
        return Pipeline([("fn", bucketizer(num_buckets=item.args[0]))])
    if function == "POLYNOMIAL_EXPAND":
        steps: list[tuple[str, Any]] = [
            ("impute", SimpleImputer(keep_empty_features=True)),
            ("fn", PolynomialFeatures(degree=item.args[0], include_bias=False)),
        ]
        if scale:
            steps.append(("scale", StandardScaler()))
        return Pipeline(steps)
    first: Any
    if function == "STANDARD_SCALER":
        first = StandardScaler()
    elif function == "MIN_MAX_SCALER":
        first = MinMaxScaler(clip=True)  # BigQuery caps values outside the training range
    elif function == "MAX_ABS_SCALER":
        first = MaxAbsScaler()
    elif function == "ROBUST_SCALER":
        low, high, with_median, with_range = item.args
        first = RobustScaler(
            with_centering=with_median, with_scaling=with_range, quantile_range=(low, high)
        )
    else:  # IMPUTER on numbers
        first = SimpleImputer(strategy=item.args[0], keep_empty_features=True)
    return Pipeline([("fn", first), *_tail(scale)])


def _vocabulary(
    values: np.ndarray,
    top_k: int,
    threshold: int,
    null: str,
    item: TransformItem,
    model: str,
) -> list[str]:
    """BigQuery's encoding vocabulary: the top_k most frequent categories occurring at least
    frequency_threshold times, NULL excluded, sorted alphabetically."""
    present = values[values != null].astype(str)
    categories, counts = np.unique(present, return_counts=True)
    keep = counts >= threshold
    categories, counts = categories[keep], counts[keep]
    if len(categories) > top_k:
        order = np.lexsort((categories, -counts))[:top_k]
        categories = categories[order]
    if len(categories) == 0:
        raise TrainingError(
            f"ML.{item.function}({item.columns[0]}) AS {item.output} in the TRANSFORM of CREATE "
            f"MODEL {model}: no value of '{item.columns[0]}' occurs at least {threshold} times "
            f"(its frequency_threshold, 5 unless given) in the training rows, so every row would "
            f"encode alike. Lower it, as in ML.{item.function}({item.columns[0]}"
            f"{', ' + repr('none') if item.function == 'ONE_HOT_ENCODER' else ''}, 32000, 1)."
        )
    return sorted(str(c) for c in categories)


def _most_frequent(values: np.ndarray, vocabulary: list[str]) -> str:
    counts = {v: 0 for v in vocabulary}
    for value in values.astype(str):
        if value in counts:
            counts[value] += 1
    return min(vocabulary, key=lambda v: (-counts[v], v))


# --- ML.BUCKETIZE / ML.QUANTILE_BUCKETIZE in ONNX ---------------------------------------------------


@functools.cache
def bucketizer_class() -> type:
    """A transformer for BigQuery's buckets, with its skl2onnx converter registered.

    Output: one column per bucket (bin_1 = below the first split point, …, values equal to a split
    point go to the bucket above it), one-hot, then a column for NULL (NaN), which BigQuery's
    automatic preprocessing makes a category of its own. Comparisons are made in float32, as the
    ONNX graph makes them, so scikit-learn and ONNX Runtime always agree on a row's bucket.
    scikit-learn's KBinsDiscretizer cannot take given edges nor NaN, hence this class.
    """
    from skl2onnx import update_registered_converter
    from sklearn.base import BaseEstimator, TransformerMixin

    class Bucketizer(TransformerMixin, BaseEstimator):
        def __init__(self, splits: tuple[float, ...] | None = None, num_buckets: int | None = None):
            self.splits = splits
            self.num_buckets = num_buckets

        def fit(self, X: Any, y: Any = None) -> Any:
            x = np.asarray(X, dtype=np.float64)[:, 0]
            if self.splits is not None:
                edges = np.asarray(self.splits, dtype=np.float64)
            else:
                present = x[~np.isnan(x)]
                n = int(self.num_buckets or 1)
                levels = np.arange(1, n) / n
                edges = np.unique(np.quantile(present, levels)) if len(present) else np.zeros(0)
            self.splits_ = np.unique(edges.astype(np.float32))
            self.n_features_in_ = 1
            return self

        def transform(self, X: Any) -> np.ndarray:
            x = np.asarray(X, dtype=np.float64)[:, 0].astype(np.float32)
            buckets = len(self.splits_) + 1
            index = (x[:, None] >= self.splits_[None, :]).sum(axis=1)
            missing = np.isnan(x)
            out = np.zeros((len(x), buckets + 1))
            rows = np.flatnonzero(~missing)
            out[rows, index[rows]] = 1.0
            out[missing, buckets] = 1.0
            return out

        def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
            buckets = len(self.splits_) + 1
            return np.array([f"bin_{i}" for i in range(1, buckets + 1)] + ["NULL"], dtype=object)

    update_registered_converter(
        Bucketizer, "SqlmlBucketizer", _bucketizer_shape, _convert_bucketizer
    )
    return Bucketizer


def _bucketizer_shape(operator: Any) -> None:
    from skl2onnx.common.data_types import FloatTensorType

    rows = operator.inputs[0].get_first_dimension()
    width = len(operator.raw_operator.splits_) + 2
    operator.outputs[0].type = FloatTensorType([rows, width])


def _convert_bucketizer(scope: Any, operator: Any, container: Any) -> None:
    """x [N, 1] -> [one-hot of count(x >= split) masked by not-NaN, isnan(x)] as float [N, k+2]."""
    from onnx import TensorProto

    splits = operator.raw_operator.splits_
    x = operator.inputs[0].full_name

    def var(name: str) -> str:
        return scope.get_unique_variable_name(name)

    def node(op: str, inputs: list[str], **attrs: Any) -> str:
        out = var(op.lower())
        container.add_node(op, inputs, [out], name=scope.get_unique_operator_name(op), **attrs)
        return out

    def const(name: str, dtype: int, dims: list[int], values: list[Any]) -> str:
        tensor = var(name)
        container.add_initializer(tensor, dtype, dims, values)
        return tensor

    one = const("one", TensorProto.FLOAT, [1], [1.0])
    missing = node("Cast", [node("IsNaN", [x])], to=TensorProto.FLOAT)
    present = node("Sub", [one, missing])
    buckets = len(splits) + 1
    if len(splits):
        edges = const("bucket_splits", TensorProto.FLOAT, [1, len(splits)], splits.tolist())
        above = node("Cast", [node("GreaterOrEqual", [x, edges])], to=TensorProto.FLOAT)
        axes = const("axes", TensorProto.INT64, [1], [1])
        index = node("ReduceSum", [above, axes], keepdims=1)
        ids = const(
            "bucket_ids", TensorProto.FLOAT, [1, buckets], [float(i) for i in range(buckets)]
        )
        onehot = node("Cast", [node("Equal", [index, ids])], to=TensorProto.FLOAT)
        bins = node("Mul", [onehot, present])
    else:
        bins = present
    container.add_node(
        "Concat",
        [bins, missing],
        [operator.outputs[0].full_name],
        name=scope.get_unique_operator_name("Concat"),
        axis=1,
    )


# --- what the model learned, for training info ------------------------------------------------------


def summary(preprocess: Any, transform: Transform) -> list[dict[str, Any]]:
    """Per TRANSFORM output: where it is computed, what it reads, and its fitted statistics."""
    rows = []
    for index, item in enumerate(transform.features):
        row: dict[str, Any] = {"output": item.output, "input": list(item.columns)}
        if item.kind == "column":
            row["computed_in"] = "pass-through"
        elif item.kind == "sql":
            row["computed_in"] = "sql"
            row["sql"] = item.sql
            if item.function:
                row["function"] = f"ML.{item.function}"
        else:
            row["computed_in"] = "onnx"
            row["function"] = f"ML.{item.function}"
            branch = preprocess.named_transformers_[f"t{index}"]
            row["statistics"] = _statistics(branch.named_steps["fn"])
        rows.append(row)
    return rows


def _number(value: Any) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def _statistics(step: Any) -> dict[str, Any]:
    name = type(step).__name__
    if name == "StandardScaler":
        return {"mean": _number(step.mean_[0]), "stddev": _number(step.scale_[0])}
    if name == "MinMaxScaler":
        return {"min": _number(step.data_min_[0]), "max": _number(step.data_max_[0])}
    if name == "MaxAbsScaler":
        return {"max_abs": _number(step.max_abs_[0])}
    if name == "RobustScaler":
        stats: dict[str, Any] = {}
        if step.center_ is not None:
            stats["median"] = _number(step.center_[0])
        if step.scale_ is not None:
            stats["quantile_range"] = _number(step.scale_[0])
        return stats
    if name == "SimpleImputer":
        value = step.statistics_[0]
        return {
            "strategy": step.strategy,
            "fill_value": str(value) if isinstance(value, str) else _number(value),
        }
    if name in ("OneHotEncoder", "OrdinalEncoder"):
        return {"categories": [str(c) for c in step.categories_[0]]}
    if name == "Bucketizer":
        return {"split_points": [float(s) for s in step.splits_]}
    if name == "PolynomialFeatures":
        return {"degree": int(step.degree), "output_columns": int(step.n_output_features_)}
    return {}
