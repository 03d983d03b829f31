"""Fixtures shared by every test folder.

One local[2] SparkSession serves the whole run (starting one takes ~10 s): tests/backends/spark and
tests/conformance both use it. pyspark is imported only when a test asks for the session, so a
DuckDB-only run (``-m "not spark"``) never imports it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

#: The settings of the shared local session: small shuffles for small test tables, no UI.
SPARK_TEST_CONFIG = {
    "spark.ui.enabled": "false",
    "spark.sql.shuffle.partitions": "2",
    "spark.default.parallelism": "2",
    "spark.driver.memory": "1g",
}


@pytest.fixture(scope="session")
def spark_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The run's one local[2] SparkSession, its warehouse (and so ``sqlml.models``) in a
    temporary folder."""
    pytest.importorskip("pyspark", reason="the Spark engine needs pip install 'sqlml[spark]'")
    from sqlml.backends.spark.backend import build_session

    warehouse = tmp_path_factory.mktemp("spark-warehouse")
    session = build_session(
        "local[2]", {"spark.sql.warehouse.dir": str(warehouse), **SPARK_TEST_CONFIG}
    )
    yield session
    session.stop()
