"""What a label column says about the problem: Redshift's MODEL_TYPE family plus PROBLEM_TYPE (or the
label's own type, as Redshift AUTO reads it) -> a sqlml model_type."""

from __future__ import annotations

import pyarrow as pa

from sqlml.errors import SchemaError
from sqlml.plan.jobs import TrainJob


def resolve_family(family: str, job: TrainJob, table: pa.Table) -> str:
    """Redshift's MODEL_TYPE family plus PROBLEM_TYPE (or the label's type) -> a model_type."""
    from sqlml.models.registry import for_family

    if family == "kmeans":
        return for_family(family, "clustering")
    problem = job.problem_type
    if problem is None:
        if job.label is None or job.label not in table.column_names:
            raise SchemaError(
                f"TARGET column '{job.label}' of CREATE MODEL {job.name} is not in the FROM source; "
                f"its columns are: {', '.join(table.column_names)}."
            )
        problem = infer_problem(table.column(job.label))
    return for_family(family, problem)


def infer_problem(column: pa.ChunkedArray) -> str:
    """As Redshift AUTO does: text and booleans are classes; integers with few values are too."""
    dtype = column.type
    if pa.types.is_floating(dtype) or pa.types.is_decimal(dtype):
        return "regression"
    if pa.types.is_integer(dtype):
        import pyarrow.compute as pc

        return "classification" if len(pc.unique(column.drop_null())) <= 20 else "regression"
    return "classification"


#: BigQuery's label when OPTIONS (input_label_cols) is absent ("Default value: label").
DEFAULT_LABEL = "label"


def default_label(columns: list[str], model_type: str, label: str | None) -> str | None:
    """The label a CREATE MODEL trains against: the one it names, else (for a supervised model
    type) the column named ``label`` in any case, as BigQuery names are; None when it has neither."""
    from sqlml.models.registry import MODEL_TYPES

    if label is not None or not MODEL_TYPES[model_type].supervised:
        return label
    return next((c for c in columns if c.lower() == DEFAULT_LABEL), None)


def missing_label(model: str, columns: list[str]) -> SchemaError:
    """The error of a supervised CREATE MODEL with no label: both ways to give one."""
    return SchemaError(
        f"CREATE MODEL {model} needs a label: name it with OPTIONS (input_label_cols = "
        f"['<column>']) (Redshift: TARGET <column>), or call the label column `{DEFAULT_LABEL}`, "
        f"BigQuery's default label; the training query's columns are: {', '.join(columns)}."
    )
