"""What ML.FEATURE_INFO, ML.WEIGHTS and ML.FEATURE_IMPORTANCE describe of a model with a TRANSFORM
clause, as BigQuery ML does: the statistics of the pre-transform columns the TRANSFORM reads, and the
weights and importances of the TRANSFORM's outputs.

A TRANSFORM model's pipeline has one ColumnTransformer branch per output (``t0``, ``t1``, …, see
:mod:`sqlml.training.transform`): the output's ML.* function if it has one, then the automatic
preprocessing every model input gets. The layout here says which columns of the preprocessed matrix
each output became, in the form :func:`sqlml.training.insights.column_layout` gives for a model
without TRANSFORM.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from sqlml_udfs.scoring import NULL_CATEGORY

from sqlml.errors import Error
from sqlml.plan.transform import Transform
from sqlml.training.data import feature_kind
from sqlml.training.transform_columns import RAW_PREFIX

#: ML.* functions whose output is one number, preprocessed as a numeric input is.
_NUMBER_OUTPUTS = frozenset(
    {
        "STANDARD_SCALER",
        "MIN_MAX_SCALER",
        "MAX_ABS_SCALER",
        "ROBUST_SCALER",
        "LABEL_ENCODER",
        "IMPUTER",
    }
)


class UntracedOutput(Exception):
    """A TRANSFORM output whose model inputs have no per-output description (its message says
    which, for the function that then reports it unavailable)."""


def plain(transform: Transform) -> bool:
    """Every output is a column passed through or a SQL expression: the graph's inputs are the
    outputs themselves, so attributions computed from the graph inputs are those of the outputs."""
    return all(item.kind != "ml" for item in transform.features)


def pre_transform_inputs(
    table: pa.Table, transform: Transform, model: str
) -> tuple[pa.Table, list[dict[str, str]]]:
    """The training query's columns that the TRANSFORM reads (the label's and the passed
    columns' excepted), as a table and feature list for ML.FEATURE_INFO's statistics.

    A column that a SQL output of its own name replaced is read from its raw copy
    (:func:`sqlml.training.transform_columns.training_rows`). A type that cannot be a model input
    (a STRUCT read by a SQL expression) is described as categorical: its distinct values and NULLs.
    """
    names = transform.raw_inputs
    arrays, features = [], []
    for name in names:
        hidden = RAW_PREFIX + name
        column = table.column(hidden if hidden in table.column_names else name)
        try:
            kind = feature_kind(name, column.type, model)
        except Error:
            kind = "categorical"
            column = _comparable(column)
        arrays.append(column)
        features.append({"name": name, "kind": kind})
    return pa.table(arrays, names=names), features


def _comparable(column: pa.ChunkedArray) -> pa.ChunkedArray:
    try:
        pc.count_distinct(column)
        return column
    except (pa.ArrowNotImplementedError, pa.ArrowTypeError):
        return pa.chunked_array(
            [pa.array([None if v is None else repr(v) for v in column.to_pylist()], pa.string())]
        )


def output_layout(
    preprocess: Any, transform: Transform, features: list[dict[str, str]], *, weights: bool
) -> list[dict[str, Any]]:
    """Per TRANSFORM output (the model's features, label excepted), which columns of the
    preprocessed matrix it became, and how: numeric outputs one column with its imputation and
    scaling, categorical ones a column per category (ML.ONE_HOT_ENCODER's dropped category has
    none; ML.BUCKETIZE's buckets are its categories, NULL among them).

    ``weights``: an output of several numeric columns (ML.POLYNOMIAL_EXPAND) has no one weight,
    and raises :class:`UntracedOutput`; importances take its columns together.
    """
    several = [f["name"] for f in features if f["kind"] not in ("numeric", "categorical")]
    if several:  # a TIMESTAMP or an ARRAY is several model inputs (sqlml_udfs)
        raise UntracedOutput(
            f"per-input weights of TIMESTAMP or ARRAY feature(s) {', '.join(several)} (several "
            f"model inputs each) are not supported yet"
        )
    layout = []
    for index, item in enumerate(transform.features):
        branch = preprocess.named_transformers_[f"t{index}"]
        span = preprocess.output_indices_[f"t{index}"]
        columns = list(range(span.start, span.stop))
        name = item.input_name if item.kind == "sql" else item.output
        steps = getattr(branch, "named_steps", {})
        encoder = branch if not steps else steps.get("encode", steps.get("fn"))
        if "impute" in steps and len(columns) == 1:  # one number, automatically preprocessed
            scale = steps.get("scale")
            layout.append(
                {
                    "name": name,
                    "kind": "numeric",
                    "columns": columns,
                    "impute": _number(steps["impute"].statistics_[-1]),
                    "mean": float(scale.mean_[0]) if scale is not None else 0.0,
                    "scale": float(scale.scale_[0]) if scale is not None else 1.0,
                }
            )
        elif item.function not in _NUMBER_OUTPUTS and hasattr(encoder, "categories_"):
            categories = [str(c) for c in encoder.categories_[0]]
            dropped = getattr(encoder, "drop_idx_", None)
            if dropped is not None and dropped[0] is not None:
                categories.pop(int(dropped[0]))
            layout.append(_categorical(name, columns, categories))
        elif hasattr(encoder, "splits_"):  # ML.BUCKETIZE / ML.QUANTILE_BUCKETIZE
            names = [str(c) for c in encoder.get_feature_names_out()]
            layout.append(_categorical(name, columns, [*names[:-1], NULL_CATEGORY]))
        elif weights:
            raise UntracedOutput(
                f"TRANSFORM output {item.output} (ML.{item.function}) is {len(columns)} model "
                f"inputs, whose weights sqlml does not report yet; write its terms as SQL outputs "
                f"(e.g. a * b AS a_b) for a weight each"
            )
        else:
            layout.append({"name": name, "kind": "expanded", "columns": columns})
    return layout


def _categorical(name: str, columns: list[int], categories: list[str]) -> dict[str, Any]:
    if len(categories) != len(columns):
        raise UntracedOutput(f"TRANSFORM output {name}'s categories do not match its model inputs")
    return {"name": name, "kind": "categorical", "columns": columns, "categories": categories}


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number == number and abs(number) != float("inf") else None
