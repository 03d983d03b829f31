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
