"""The run's one local[2] SparkSession (tests/conftest.py: starting one takes ~10 s), and the same
small tables registered in Spark and in DuckDB.

The tables are built here in Python as Arrow, so both engines read exactly the same rows; expected
values are written by hand from how the rows are made, or computed with numpy / scikit-learn.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

pytest.importorskip("pyspark", reason="the Spark engine needs pip install 'sqlml[spark]'")

import sqlml  # noqa: E402

N = 120


def tables() -> dict[str, pa.Table]:
    i = np.arange(N)
    cat = np.array(["p", "q", "r"])[i % 3]
    x2 = ((i * 7) % 11).astype(np.float64)
    x1 = (i - 59.5) / 10.0
    # Not separable: P(y) grows with x1, with noise from (i * 37) % 100, so the unpenalized
    # logistic regression has a unique optimum that scikit-learn finds too.
    noisy = ((i * 37) % 100) < (50 + 9 * x1)
    blob = i % 3
    return {
        # y = 3 * x1 + 2 exactly; x2 and cat are noise
        "reg": pa.table({"id": i, "x1": x1, "x2": x2, "cat": cat, "y": 3 * x1 + 2}),
        # separable at x1 = 0, with a NULL in x2 and in cat
        "bin": pa.table(
            {
                "id": i,
                "x1": x1,
                "x2": pa.array([None if k == 5 else v for k, v in enumerate(x2)], pa.float64()),
                "cat": pa.array([None if k == 7 else v for k, v in enumerate(cat)]),
                "y": x1 > 0,
            }
        ),
        "noisy": pa.table({"id": i, "x1": x1, "x2": x2, "cat": cat, "y": noisy}),
        # three string classes by x1 bands
        "multi": pa.table(
            {"id": i, "x1": x1, "x2": x2, "y": np.array(["lo", "mid", "hi"])[i * 3 // N]}
        ),
        # three blobs around (0, 0), (10, -10), (20, -20)
        "blobs": pa.table(
            {
                "id": i,
                "x1": blob * 10.0 + (i % 5) / 10.0,
                "x2": blob * -10.0 + (i % 7) / 10.0,
            }
        ),
    }


@pytest.fixture(scope="session")
def spark(spark_session: Any) -> Any:
    """The run's shared session (tests/conftest.py) with this folder's tables as temp views."""
    for name, table in tables().items():
        spark_session.createDataFrame(table).createOrReplaceTempView(name)
    return spark_session


@pytest.fixture(scope="session")
def data() -> dict[str, pa.Table]:
    return tables()


@pytest.fixture
def con(spark: Any) -> Iterator[sqlml.Connection]:
    connection = sqlml.connect(spark=spark)
    yield connection
    connection.close()


@pytest.fixture
def duck(tmp_path: Any, data: dict[str, pa.Table]) -> Iterator[sqlml.Connection]:
    """A DuckDB connection holding the same tables."""
    connection = sqlml.connect(str(tmp_path / "same.duckdb"))
    raw = connection.executor.backend.con
    for name, table in data.items():
        raw.register("__source", table)
        raw.execute(f'CREATE TABLE "{name}" AS SELECT * FROM __source')
        raw.unregister("__source")
    yield connection
    connection.close()
