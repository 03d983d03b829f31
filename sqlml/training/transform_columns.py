"""The TRANSFORM outputs computed in SQL, at training and at scoring time: the SELECT that adds them
to a model's input, and the views that show a batch with them under the features' names.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlml.errors import NotSupportedError, SchemaError

if TYPE_CHECKING:
    import pyarrow as pa

from sqlml.plan.transform import HIDDEN_PREFIX, Transform, quote_identifier

#: The training rows keep a raw column that a SQL output of its own name replaces under this
#: prefix: ML.FEATURE_INFO describes the pre-transform columns (sqlml.training.transform_layout).
RAW_PREFIX = "__sqlml_raw_"


def select_sql(transform_sql: list[dict[str, Any]], source_sql: str, backend: Any = None) -> str:
    """The input query with the model's SQL outputs added under hidden names, in ``backend``'s
    SQL: the outputs are stored in DuckDB's dialect, and transpiled by sqlglot for an engine that
    does not run it (its ``capabilities.transform`` False)."""
    quote = backend.quote if backend is not None else quote_identifier
    native = backend is None or backend.capabilities.transform
    extra = ", ".join(
        f"({item['sql'] if native else _transpiled(item['sql'], backend.dialect)}) AS "
        f"{quote(f'{HIDDEN_PREFIX}{i}')}"
        for i, item in enumerate(transform_sql)
    )
    return f"SELECT *, {extra} FROM (\n{source_sql}\n) AS __sqlml_transform_input"


def _transpiled(sql: str, dialect: str) -> str:
    import sqlglot

    from sqlml.plan.transform import SQL_DIALECT

    try:
        return sqlglot.transpile(sql, read=SQL_DIALECT, write=dialect)[0]
    except sqlglot.errors.SqlglotError as exc:
        raise NotSupportedError(
            f"The TRANSFORM output {sql} cannot be written in {dialect}'s SQL ({exc}); compute "
            f"it in the training query."
        ) from None


def metadata_sql(transform_sql: list[dict[str, Any]]) -> str:
    """How to precompute an exported graph's SQL inputs: the text of ONNX metadata key
    ``sqlml.transform_sql``."""
    outputs = ", ".join(
        f"{item['sql']} AS {quote_identifier(item['name'])}" for item in transform_sql
    )
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
        outputs = {item["name"].lower() for item in spec["transform_sql"]}
        # a column replaced by an output of its own name keeps its raw values beside it
        raw = "".join(
            f", {backend.quote(c)} AS {backend.quote(RAW_PREFIX + c)}"
            for c in spec["transform_inputs"]
            if c.lower() in outputs
        )
        source = f"SELECT *{raw} FROM {backend.quote(name)}"
        computed = backend.arrow(select_sql(spec["transform_sql"], source, backend))
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
