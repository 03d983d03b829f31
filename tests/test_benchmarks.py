"""The benchmarks still run: each script at a tiny size (what it measures is for benchmarks/README.md,
not for tests: nothing here depends on the machine's speed)."""

from __future__ import annotations

import json
import math
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
    boosting = result["results"][0]["boosting"]  # XGBoost on the executors beside MLlib's GBT
    assert boosting["xgboost_executors"]["rounds"] == 20
    for run_ in ("xgboost_executors", "xgboost_executors_defaults", "mllib_gbt"):
        assert boosting[run_]["roc_auc"] > 0.7, run_  # a mostly linear label: easy to rank


@pytest.mark.slow
def test_quality_benchmark_runs(tmp_path: pathlib.Path) -> None:
    result = run(
        "quality.py",
        "--datasets",
        "iris,diabetes,nulls_categories",
        "--types",
        "logistic_reg,linear_reg,boosted_tree_classifier",
        "--rows-scale",
        "0.02",
        tmp_path=tmp_path,
    )
    rows = {(r["dataset"], r["model_type"]): r for r in result["results"]}
    assert list(rows) == [
        ("iris", "logistic_reg"),
        ("iris", "boosted_tree_classifier"),
        ("diabetes", "linear_reg"),
        ("nulls_categories", "logistic_reg"),
        ("nulls_categories", "boosted_tree_classifier"),
    ]
    # 150 iris rows, 442 diabetes rows, 20,000 x 0.02 synthetic rows; a quarter held out (rounded up).
    sizes = {"iris": 150, "diabetes": 442, "nulls_categories": 400}
    for (dataset, model_type), r in rows.items():
        assert (r["rows"], r["test_rows"]) == (sizes[dataset], math.ceil(sizes[dataset] / 4))
        assert r["same_rows"], r["sqlml"]  # sqlml trained and evaluated on the references' rows
        assert "error" not in r["sqlml"]
        metrics = r["sqlml"]["metrics"]
        if dataset == "diabetes":
            assert set(metrics) == {"r2_score", "mean_absolute_error"}
            assert -math.inf < metrics["r2_score"] <= 1
            assert 0 <= metrics["mean_absolute_error"] < math.inf
        else:
            assert set(metrics) == {"roc_auc", "log_loss", "accuracy"}
            assert 0 <= metrics["roc_auc"] <= 1 and 0 <= metrics["accuracy"] <= 1
            assert 0 <= metrics["log_loss"] < math.inf
        trees = model_type == "boosted_tree_classifier"
        assert sorted(r["references"]) == ["scikit-learn", "xgboost"][: 2 if trees else 1]
        for ref in r["references"].values():
            assert set(ref["metrics"]) == set(metrics) and ref["fit_seconds"] >= 0
        assert [g["metric"] for g in r["goals"]] == list(metrics)
        assert all(g["goal"] in ("PASS", "FAIL", "-") for g in r["goals"])
    # roc_auc and log_loss have goals on each of 4 classifiers, r2_score on the regressor.
    assert result["summary"]["quality_goals"] == 4 * 2 + 1


@pytest.mark.slow
def test_progress_benchmark_runs(tmp_path: pathlib.Path) -> None:
    result = run("progress.py", "--rows", "2000", "--reps", "1", tmp_path=tmp_path)
    assert [r["model_type"] for r in result["results"]] == [
        "random_forest_classifier",
        "boosted_tree_classifier",
        "logistic_reg",
        "dnn_classifier",
    ]
    # "on" received reports (stages at least: reading, preparing, fitting, ..., the summary)
    assert all(r["reports"] >= 6 for r in result["results"])


@pytest.mark.slow
def test_cursor_memory_benchmark_runs(tmp_path: pathlib.Path) -> None:
    result = run("cursor_memory.py", "--rows", "3000", tmp_path=tmp_path)
    for way in ("named_cursor", "copy_to_stdout", "plain_query"):
        assert result[way]["rows"] == 3000
        assert result[way]["server_rss_before_mib"] > 0
    assert result["peak_growth_ratio_named_to_plain"] >= 0


@pytest.mark.slow
def test_partitioned_benchmark_runs(tmp_path: pathlib.Path) -> None:
    result = run(
        "partitioned.py",
        "--groups",
        "30",
        "--rows-per-group",
        "60",
        "--predict-rows",
        "3000",
        "--model-type",
        "linear_reg",
        tmp_path=tmp_path,
    )
    # every group trained, and both scorings read every row
    assert (result["groups"], result["groups_trained"]) == (30, 30)
    assert result["scoring_partitioned"]["rows"] == result["scoring_single"]["rows"] == 3000
    assert all(math.isfinite(v) and v > 0 for v in result["training"].values())


@pytest.mark.slow
def test_forecast_benchmark_runs(tmp_path: pathlib.Path) -> None:
    result = run(
        "forecast.py", "--series", "4", "--days", "120", "--horizon", "7", tmp_path=tmp_path
    )
    assert (result["series"], result["series_fitted"]) == (4, 4)
    assert result["ml_forecast_rows"] == 4 * 7
    assert result["create_model_s"] > 0 and result["library_s"] > 0
    for name in ("sqlml", "library", "seasonal_naive"):
        assert 0 <= result["accuracy"][name]["smape"] < 2
