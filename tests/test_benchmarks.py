"""The benchmarks still run: each script at a tiny size (what it measures is for benchmarks/README.md,
not for tests: nothing here depends on the machine's speed)."""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys

import pytest
from hang import HANG

ROOT = pathlib.Path(__file__).resolve().parents[1]


def run(script: str, *args: str, tmp_path: pathlib.Path) -> dict:
    out = tmp_path / "result.json"
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), *args, "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=HANG,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    return json.loads(out.read_text())


@pytest.mark.slow
def test_predict_benchmark_runs(tmp_path: pathlib.Path) -> None:
    result = run(
        "predict.py",
        "--rows",
        "3000",
        "--forest-train-rows",
        "2000",
        "--reps",
        "1",
        tmp_path=tmp_path,
    )
    # ML.PREDICT's labels against a scikit-learn refit of the same rows, per model type.
    assert [
        (r["model_type"], r["label_agreement_sqlml_vs_sklearn_100k"]) for r in result["results"]
    ] == [
        ("logistic_reg", 1.0),
        ("random_forest_classifier", 1.0),
    ]


@pytest.mark.slow
def test_server_benchmark_runs(tmp_path: pathlib.Path) -> None:
    result = run(
        "server.py",
        "--rows",
        "2000",
        "--clients",
        "2",
        "--seconds",
        "1",
        "--reps",
        "1",
        tmp_path=tmp_path,
    )
    assert result


@pytest.mark.slow
@pytest.mark.spark
def test_spark_benchmark_runs(tmp_path: pathlib.Path) -> None:
    pytest.importorskip("pyspark")
    result = run(
        "spark.py", "--sizes", "4000", "--reps", "1", "--driver-memory", "1g", tmp_path=tmp_path
    )
    assert [r["rows"] for r in result["results"]] == [4000]
    assert all(r["models"] for r in result["results"])
