"""sqlml against a real Spark standalone cluster on 127.0.0.1 (master + one 2-core worker started
from the pyspark package, see cluster.py): training on the driver and on the executors, ML.PREDICT
and a Redshift FUNCTION scored on the executors, DROP MODEL.

The test run holds a local[2] SparkContext already and a process can have only one, so the
statements run in a driver subprocess (``python cluster.py <url> <warehouse>``) that prints its
results as JSON. Its executors start a Python that cannot import the installed sqlml (``-S``: no
.pth files, so no editable install), so scoring works only if sqlml ships ``sqlml_udfs`` to them.
Expected values: written by hand from how the rows are made, or ONNX Runtime run here on the
catalog's bytes over the same rows.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from cluster import (  # tests/backends/spark, on sys.path under pytest
    bare_python,
    driver_tables,
    onnx_outputs,
    prob_true,
    standalone_cluster,
)
from hang import HANG

pytestmark = [pytest.mark.spark, pytest.mark.slow]

#: The driver subprocess: ~30 s for its first session on an idle 2-core machine, plus the jobs.
DRIVER_TIMEOUT = 900  # only to stop a hang


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("cluster")
    executor_python = bare_python(folder)
    probe = subprocess.run(
        [executor_python, "-c", "import onnxruntime, pyarrow, sqlml_udfs"],
        capture_output=True,
        text=True,
        timeout=HANG,
    )
    assert "No module named 'sqlml_udfs'" in probe.stderr  # the executors cannot import it
    started = time.monotonic()
    with standalone_cluster(folder / "daemons", executor_python) as cluster:
        up = time.monotonic() - started
        driver = subprocess.run(
            [sys.executable, str(Path(__file__).with_name("cluster.py"))]
            + [cluster.url, str(folder / "warehouse")],
            capture_output=True,
            text=True,
            timeout=DRIVER_TIMEOUT,
            env={**os.environ, "SPARK_LOCAL_IP": "127.0.0.1", "PYSPARK_PYTHON": executor_python},
        )
        logs = cluster.log_tail()
    lines = [line for line in driver.stdout.splitlines() if line.startswith("SQLML-RESULT ")]
    assert driver.returncode == 0 and lines, f"{driver.stderr[-6000:]}\n{logs}"
    out = json.loads(lines[-1].removeprefix("SQLML-RESULT "))
    assert out["master"] == cluster.url
    out["timings"] = {"cluster_up": round(up, 2), **out["timings"]}
    print(f"cluster timings (s): {out['timings']}")  # shown with pytest -s
    return out


def test_the_cluster_runs_the_jobs_and_ships_the_udfs(result: dict[str, Any]) -> None:
    assert result["executors"] == 1  # one worker, so one executor; the driver runs no tasks
    # imported on the executors from the zip sqlml added to the SparkContext
    assert "sqlml_udfs.zip" in result["udfs_on_executors"]


def test_distributed_linear_reg_predicts_on_the_executors(result: dict[str, Any]) -> None:
    model = result["lr_spark"]
    assert model["training_path"] == "spark_mllib"
    table = driver_tables()["reg"]
    assert [r[0] for r in result["lr_predict"]] == list(range(table.num_rows))
    predicted = np.array([r[1] for r in result["lr_predict"]])
    # y = 3 * x1 + 2 exactly, so the fit is exact up to float32 and the solver's tolerance
    x1 = np.array(table.column("x1").to_pylist())
    np.testing.assert_allclose(predicted, 3 * x1 + 2, atol=1e-3)
    outputs = onnx_outputs(model["onnx"], table, ["x1", "x2"], [])
    np.testing.assert_allclose(predicted, next(iter(outputs.values())).ravel(), atol=1e-6)


def test_collected_model_predicts_and_its_function_runs_on_the_executors(
    result: dict[str, Any],
) -> None:
    model = result["fn_model"]
    assert model["training_path"] == "scikit-learn"  # 60 rows: collected to the driver
    table = driver_tables()["bin"]
    predicted, called = result["fn_predict"], result["fn_call"]
    ids = list(range(table.num_rows))
    assert [r[0] for r in predicted] == ids and [r[0] for r in called] == ids
    # separable at x1 = 0
    assert [r[1] for r in predicted] == table.column("y").to_pylist()
    assert [r[1] for r in called] == table.column("y").to_pylist()

    outputs = onnx_outputs(model["onnx"], table, ["x1", "x2"], ["cat"])
    here = outputs["probabilities"][:, 1]
    np.testing.assert_allclose([prob_true(r[2]) for r in predicted], here, atol=1e-6)
    np.testing.assert_allclose([prob_true(r[2]) for r in called], here, atol=1e-6)


def test_drop_model_removes_the_model_and_its_function(result: dict[str, Any]) -> None:
    assert result["after_drop"] == ["lr_spark"]
    assert result["call_after_drop"].startswith("ProgrammingError")
    assert "predict_y" in result["call_after_drop"]
