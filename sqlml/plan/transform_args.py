"""The arguments of TRANSFORM's ML.* preprocessing functions after the column: constants, checked
and normalized (defaults filled in), with errors that name the output, the argument and the fix.

Pure: only sqlglot, as :mod:`sqlml.plan.transform` is.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from sqlglot import exp

from sqlml.errors import ProgrammingError
from sqlml.sql.literals import literal

BUCKET_FORMATS = ("bucket_names", "bucket_ranges", "bucket_ranges_json")


IMPUTER_STRATEGIES = ("mean", "median", "most_frequent")


def literal_arg(node: exp.Expression, function: str, usage: str, where: str) -> Any:
    """A constant argument as Python: number, string, bool, NULL, or a list of those."""

    def not_constant(other: exp.Expression) -> Any:
        raise ProgrammingError(
            f"{where}: the arguments of ML.{function} after the column must be constants "
            f"({usage}); got {other.sql(dialect='duckdb')}."
        )

    return literal(node, not_constant)


def int_arg(value: Any, what: str, low: int, high: int, function: str, where: str) -> int:
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
    top_k = int_arg(values[0], "top_k", 1, 999_999, function, where) if values else 32_000
    threshold = (
        int_arg(values[1], "frequency_threshold", 0, 2**62, function, where)
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
    buckets = int_arg(values[0], "num_buckets", 1, 10_000, function, where)
    if len(values) > 1:
        _choice_arg(values[1], "output_format", BUCKET_FORMATS, function, where)
    return [buckets]


CHECKS = {
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
