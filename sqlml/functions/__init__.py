"""The ML table functions (``ML.PREDICT``, ``ML.EVALUATE``, ...): one module each, one registry.

A function declares what it accepts (its STRUCT options, whether it takes input rows, which models it
applies to); :func:`call` checks those declarations, so every function gets the same clear errors, and
then calls the handler with a :class:`CallContext`. The handler returns an Arrow table or record-batch
stream, which the executor puts into the statement in place of the call.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from sqlml.errors import NotSupportedError, OptionError, ProgrammingError, SchemaError
from sqlml.training.transform_columns import (
    check_inputs,
    input_fields,
    model_schema,
    model_view,
    select_sql,
)

if TYPE_CHECKING:
    from sqlml.backends.base import Backend
    from sqlml.catalog import Catalog, ModelRecord
    from sqlml.plan.jobs import MLCall

Handler = Callable[["CallContext"], pa.Table | pa.RecordBatchReader]
# Returns None when the function applies to the model, else why not (completing "ML.X applies to ..."),
# or (why not, what to use instead).
Applies = Callable[["ModelRecord"], str | tuple[str, str] | None]

# Modules that register built-in functions, imported on first use so `import sqlml` stays light.
BUILTIN_MODULES = (
    "sqlml.functions.predict",
    "sqlml.functions.evaluate",
    "sqlml.functions.confusion_matrix",
    "sqlml.functions.roc_curve",
    "sqlml.functions.model_info",
    "sqlml.functions.explain",
    "sqlml.functions.trial_info",
    "sqlml.functions.detect_anomalies",
    "sqlml.functions.centroids",
    "sqlml.functions.principal_components",
    "sqlml.functions.transform",
    "sqlml.functions.groups",
    "sqlml.functions.forecasting",
)

#: ML functions the grammar reads (``ML.X(MODEL m, ...)``, in keywords.ML_FUNCTIONS) that sqlml does
#: not implement yet: a call parses, then fails with NotSupportedError naming what is available
#: (tests/functions check that the grammar's list is exactly the registry's functions and these).
#: None now: BigQuery ML's other functions are recognised from their tokens alone
#: (sqlml.sql.keywords.NOT_YET, REMOTE, TRANSFORM_ONLY), their arguments unparsed, and planning
#: them raises "ML.X is not supported yet; ...".
PLANNED: tuple[str, ...] = ()


@dataclass(frozen=True)
class FunctionSpec:
    name: str
    handler: Handler
    options: dict[str, Callable[[Any], Any]] = field(default_factory=dict)
    input: str = "optional"  # "required" | "optional" | "none"
    applies: Applies | None = None
    #: How it reads a model trained PARTITION BY columns: "" (it does not), "own" (its handler
    #: reads the groups), "each" (its handler runs once per group, the rows tagged with the
    #: group's partition values: sqlml.functions.groups.each_group).
    groups: str = ""


@dataclass
class CallContext:
    """Everything a handler needs: the engine, the model, the call's options, and its input rows."""

    backend: Backend
    catalog: Catalog
    scorers: Callable[[ModelRecord], Any]  # a model version -> its (cached) ONNX Runtime scorer
    record: ModelRecord
    call: MLCall
    params: Sequence[Any]
    options: dict[str, Any]
    notices: list[str] = field(default_factory=list)  # shown to the user with the result

    @property
    def has_input(self) -> bool:
        return self.call.input_sql is not None

    def input_table(self, *, need_label: bool = False) -> pa.Table:
        """The input rows, read whole (for metrics and curves), checked against the model."""
        table = self.model_view(self.backend.arrow(self._source(), self.params))
        check_columns(self.record, table.schema, f"ML.{self.call.function}")
        if need_label:
            self.require_label(table.schema)
        return table

    def input_stream(
        self, *, keep_input: bool = False, order_by: Sequence[str] = ()
    ) -> pa.RecordBatchReader:
        """The input rows as a stream of record batches, checked against the model.

        With ``keep_input``, batches hold the input's own columns plus the model's TRANSFORM
        outputs computed in SQL (if any) under hidden names: read features through
        :meth:`model_view`, and the input's columns through :meth:`input_fields`. With
        ``order_by``, the rows come ordered by those columns (NULL first), when the input has
        them all.
        """
        source = self._source()
        if order_by:
            probe = self.backend.arrow(f"SELECT * FROM (\n{source}\n) LIMIT 0", self.params)
            if all(name in probe.schema.names for name in order_by):
                quote = self.backend.quote
                keys = ", ".join(f"{quote(name)} NULLS FIRST" for name in order_by)
                source = (
                    f"SELECT * FROM (\n{source}\n) AS {quote('__sqlml_sorted')} ORDER BY {keys}"
                )
        reader = self.backend.stream(source, self.params)
        transform_sql = self.record.spec.get("transform_sql")
        schema = model_schema(reader.schema, transform_sql)
        check_columns(self.record, schema, f"ML.{self.call.function}")
        if keep_input or not transform_sql:
            return reader
        return pa.RecordBatchReader.from_batches(schema, map(self.model_view, reader))

    def _source(self) -> str:
        """The input query; for a model with a TRANSFORM clause, its SQL outputs added."""
        sql = self.call.input_sql
        assert sql is not None
        spec = self.record.spec
        if not spec.get("transform_inputs"):
            return sql
        probe = self.backend.arrow(f"SELECT * FROM (\n{sql}\n) LIMIT 0", self.params)
        where = f"ML.{self.call.function}"
        check_inputs(spec, self.record.name, probe.schema.names, where)
        if not spec.get("transform_sql"):
            return sql
        return select_sql(spec["transform_sql"], sql, self.backend)

    def model_view(self, data: Any) -> Any:
        """A batch or table with the model's feature columns under their names (see transform)."""
        return model_view(data, self.record.spec.get("transform_sql"))

    @staticmethod
    def input_fields(schema: pa.Schema) -> list[pa.Field]:
        """The input's own columns of a ``keep_input`` stream's schema."""
        return input_fields(schema)

    def require_label(self, schema: pa.Schema) -> None:
        label = self.record.label
        if label is not None and label not in schema.names:
            raise SchemaError(
                f"The input of ML.{self.call.function} lacks the label column '{label}' of model "
                f"{self.record.name}; it compares predictions with it."
            )

    def scorer(self) -> Any:
        return self.scorers(self.record)


REGISTRY: dict[str, FunctionSpec] = {}
_loaded = False


def register(
    name: str,
    *,
    options: dict[str, Callable[[Any], Any]] | None = None,
    input: str = "optional",
    applies: Applies | None = None,
    groups: str = "",
) -> Callable[[Handler], Handler]:
    """Declare ``ML.<name>``; ``options`` maps each STRUCT option to a validator returning its
    value; ``groups``: how it applies to partitioned models (PARTITION BY): see
    :class:`FunctionSpec`."""

    def decorate(handler: Handler) -> Handler:
        REGISTRY[name.upper()] = FunctionSpec(
            name.upper(), handler, options or {}, input, applies, groups
        )
        return handler

    return decorate


def lookup(name: str) -> FunctionSpec:
    global _loaded
    if not _loaded:
        for module in BUILTIN_MODULES:
            importlib.import_module(module)
        _loaded = True
    spec = REGISTRY.get(name.upper())
    if spec is None:
        raise NotSupportedError(
            f"ML.{name.upper()} is not supported yet; available: "
            + ", ".join(f"ML.{n}" for n in sorted(REGISTRY))
            + "."
        )
    return spec


def call(
    backend: Backend,
    catalog: Catalog,
    scorers: Callable[[ModelRecord], Any],
    call: MLCall,
    params: Sequence[Any],
    notices: list[str] | None = None,
) -> pa.Table | pa.RecordBatchReader:
    """Check a call against its function's declaration, then run it; what the handler notes
    for the user is appended to ``notices``."""
    spec = lookup(call.function)
    where = f"ML.{spec.name}"
    record = catalog.get(call.model, statement=where)
    only = _functions_of(record.model_type)
    if only is not None and spec.name not in only:
        listed = ", ".join(f"ML.{name}" for name in only)
        if record.spec.get("task") == "forecasting":
            raise ProgrammingError(
                f"{where} does not apply to model {record.name}, a time-series model "
                f"({record.model_type}): it forecasts its series; {listed} apply to it, as in "
                f"SELECT * FROM ML.FORECAST(MODEL {record.name}, STRUCT(30 AS horizon))."
            )
        raise ProgrammingError(
            f"{where} does not apply to model {record.name}, a {record.model_type} model: it has "
            f"no estimator, only its TRANSFORM; "
            + " and ".join(f"ML.{name}" for name in only)
            + f" apply to it. To predict, train a model on its output: CREATE MODEL ... AS "
            f"SELECT * FROM ML.TRANSFORM(MODEL {record.name}, TABLE t)."
        )
    partitioned = bool(record.partition_by)
    if partitioned != bool(spec.groups) and (partitioned or spec.name == "GROUP_INFO"):
        columns = ", ".join(c["name"] for c in record.partition_by)
        raise NotSupportedError(
            f"{where} of model {record.name}, trained PARTITION BY {columns}, is not supported "
            f"yet; "
            + ", ".join(f"ML.{n}" for n in sorted(n for n, s in REGISTRY.items() if s.groups))
            + " apply to it."
            if partitioned
            else f"{where} applies to a model trained PARTITION BY columns; model "
            f"{record.name} is one model."
        )
    if spec.applies is not None:
        reason = spec.applies(record)
        if reason:
            why, instead = reason if isinstance(reason, tuple) else (reason, "")
            raise ProgrammingError(
                f"{where} applies to {why}; model {record.name} is a {describe(record)}."
                + (f" {instead}" if instead else "")
            )
    if spec.input == "required" and call.input_sql is None:
        raise ProgrammingError(
            f"{where}(MODEL {call.model}, ...) needs input rows: TABLE t or (SELECT ...)."
        )
    if spec.input == "none" and call.input_sql is not None:
        raise ProgrammingError(f"{where} takes no input rows: write {where}(MODEL {call.model}).")
    options: dict[str, Any] = {}
    for key, value in call.params.items():
        validator = spec.options.get(key)
        if validator is None:
            accepted = ", ".join(sorted(spec.options)) or "none"
            raise OptionError(f"Unknown option '{key}' in {where}; accepted: {accepted}.")
        try:
            options[key] = validator(value)
        except (TypeError, ValueError) as exc:
            raise OptionError(
                f"The '{key}' option of {where} must be {exc}; got {value!r}."
            ) from None
    context = CallContext(backend, catalog, scorers, record, call, params, options)
    context.notices = notices if notices is not None else []
    if partitioned and spec.groups == "each":
        assert GROUP_RUNNER, "sqlml.functions.groups registers it"
        return GROUP_RUNNER[0](spec.handler, context)
    return spec.handler(context)


#: Runs a function's handler once per group of a partitioned model (set by
#: sqlml.functions.groups, which imports this module, when it is loaded).
GROUP_RUNNER: list[Callable[[Handler, CallContext], pa.Table]] = []


def _functions_of(model_type: str) -> tuple[str, ...] | None:
    """The ML functions a model type's registry entry limits its models to (None: no limit)."""
    from sqlml.models.registry import MODEL_TYPES

    entry = MODEL_TYPES.get(model_type)
    return entry.functions if entry is not None else None


def describe(record: ModelRecord) -> str:
    classes = record.spec.get("classes")
    suffix = f" with {len(classes)} classes" if classes else ""
    return f"{record.model_type} model{suffix}"


# --- validators for STRUCT options ---------------------------------------------------------------


def probability(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise ValueError("a number in [0, 1]")
    return float(value)


def positive_int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError("an integer ≥ 1")
    return value


def boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError("TRUE or FALSE")
    return value


def binary_classifier(record: ModelRecord) -> str | None:
    return None if len(record.spec.get("classes") or []) == 2 else "binary classifiers"


def classifier(record: ModelRecord) -> str | None:
    return None if record.spec["task"] == "classification" else "classifiers"


def check_columns(record: ModelRecord, schema: pa.Schema, where: str) -> None:
    """Every feature present, and of the kind it was trained with; else name the column."""
    from sqlml.types import sql_type

    present = {name.lower(): name for name in schema.names}
    for name in [f["name"] for f in record.features] + [record.label]:
        if name is not None and schema.names.count(name) > 1:
            raise SchemaError(
                f"The input of {where} has two columns named '{name}', a column model "
                f"{record.name} reads; select it once, or rename the other (… AS {name}_2)."
            )
    for feature in record.features:
        name = feature["name"]
        if name not in schema.names:
            hint = (
                f" (the input has '{present[name.lower()]}': names must match exactly)"
                if name.lower() in present
                else ""
            )
            raise SchemaError(
                f"The input of {where} lacks column '{name}', a feature of model {record.name}{hint}; "
                f"its features are: {', '.join(f['name'] for f in record.features)}."
            )
        dtype = schema.field(name).type
        now = sql_type(dtype)
        before = feature.get("type", "")
        numeric_now = (
            pa.types.is_integer(dtype) or pa.types.is_floating(dtype) or pa.types.is_decimal(dtype)
        )
        if feature["kind"] == "numeric":
            compatible = numeric_now
        elif feature["kind"] == "array":  # ARRAY<number>: any numbers, one feature per element
            from sqlml_udfs.arrays import is_numeric_list

            compatible = is_numeric_list(dtype)
        else:
            compatible = now == before or (before == "VARCHAR" and pa.types.is_dictionary(dtype))
        if not compatible:
            raise SchemaError(
                f"Column '{name}' was {before} when model {record.name} was trained but is {now} in "
                f"the input of {where}; CAST({name} AS {before}) in the input query, or retrain."
            )


def check_clash(kept: list[pa.Field], added: list[pa.Field]) -> None:
    """A prediction column of ML.PREDICT that the input already has is an error naming it."""
    clash = [f.name for f in added if f.name in {k.name for k in kept}]
    if clash:
        raise SchemaError(
            f"The input of ML.PREDICT already has column(s) {', '.join(clash)}, which the "
            f"prediction adds; rename or drop them in the input query."
        )
