"""CREATE MODEL on Spark reports its stages too: on the executors (engine = 'spark'), and when
the rows are collected and trained with scikit-learn."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

import sqlml


def test_training_on_the_executors_reports_its_stages(spark: Any) -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(400, 2))
    y = (x[:, 0] + x[:, 1] > 0).astype(np.int64)
    spark.createDataFrame(pa.table({"a": x[:, 0], "b": x[:, 1], "y": y})).createOrReplaceTempView(
        "progress_rows"
    )
    seen: list[Any] = []
    connection = sqlml.connect(spark=spark, progress_callback=seen.append)
    try:
        cur = connection.cursor()
        for engine in ("spark", "duckdb"):
            seen.clear()
            cur.execute(
                f"CREATE OR REPLACE MODEL progress_m OPTIONS (model_type = 'logistic_reg', "
                f"input_label_cols = ['y'], engine = '{engine}') AS SELECT * FROM progress_rows"
            )
            stages = list(dict.fromkeys(r.stage for r in seen if not r.finished))
            where = " on the executors" if engine == "spark" else ""
            assert stages[0] == "reading the data"
            assert f"fitting logistic_reg{where}" in stages, stages
            assert stages[-1] == "storing"
            assert seen[-1].finished and seen[-1].ok
            assert str(seen[-1]).startswith("CREATE MODEL progress_m: done in ")
    finally:
        connection.close()
