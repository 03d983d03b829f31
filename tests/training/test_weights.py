"""INSTANCE_WEIGHT_COL's weights (sqlml.training.weights): read from a numeric column, multiplied by
the class weights, and refused when they cannot weigh a loss (NULL, negative, all zero).

https://cloud.google.com/bigquery/docs/reference/standard-sql/bigqueryml-syntax-create-boosted-tree
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

import sqlml
from sqlml.training.weights import instance_weights


def test_weights_times_class_weights() -> None:
    table = pa.table({"w": pa.array([1, 2, 0], pa.int32())})
    np.testing.assert_array_equal(instance_weights(table, "w", None, "m"), [1.0, 2.0, 0.0])
    classes = np.array([0.5, 0.5, 3.0])
    np.testing.assert_array_equal(instance_weights(table, "w", classes, "m"), [0.5, 1.0, 0.0])


@pytest.mark.parametrize(
    ("values", "error", "words"),
    [
        (pa.array([1.0, None]), sqlml.DataError, "NULL on 1 training row(s)"),
        (pa.array([1.0, -2.0]), sqlml.DataError, "≥ 0"),
        (pa.array([0.0, 0.0]), sqlml.DataError, "not all zero"),
        (pa.array(["a", "b"]), sqlml.ProgrammingError, "must be a numeric column"),
    ],
)
def test_weights_that_cannot_weigh_a_loss(
    values: pa.Array, error: type[Exception], words: str
) -> None:
    with pytest.raises(error) as caught:
        instance_weights(pa.table({"w": values}), "w", None, "m")
    assert words in str(caught.value)


def test_a_missing_column_is_named() -> None:
    with pytest.raises(sqlml.ProgrammingError, match="'nope'.*columns are: w"):
        instance_weights(pa.table({"w": [1.0]}), "nope", None, "m")
