"""The examples run as written: the quickstart through the real `sqlml` command, as README says."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from pathlib import Path

import pytest
from hang import HANG

ROOT = Path(__file__).resolve().parent.parent


def run_cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sqlml.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=HANG,
    )


@pytest.mark.slow
def test_quickstart_runs_from_the_readme_command(tmp_path: Path) -> None:
    database = tmp_path / "warehouse.duckdb"
    result = run_cli("-d", str(database), "-f", str(ROOT / "examples" / "quickstart.sql"))
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    out = result.stdout
    # the evaluation header, the predictions and both models are shown
    assert "roc_auc" in out
    assert "predicted_churned" in out
    assert "churn_trees" in out and "predict_churn" in out
    assert "CREATE MODEL" in out


@pytest.mark.slow
def test_quickstart_models_are_good_and_persist(tmp_path: Path) -> None:
    database = tmp_path / "warehouse.duckdb"
    assert (
        run_cli(
            "-d", str(database), "-q", "-f", str(ROOT / "examples" / "quickstart.sql")
        ).returncode
        == 0
    )
    # a second process scores with the stored models, without retraining
    result = run_cli(
        "-d",
        str(database),
        "--format",
        "csv",
        "-c",
        "SELECT roc_auc FROM ML.EVALUATE(MODEL churn, TABLE holdout)",
        "-c",
        "SELECT count(*) AS n FROM customers WHERE predict_churn(age, plan, monthly_spend, "
        "support_calls) = churned",
    )
    assert result.returncode == 0, result.stderr
    rows = list(csv.reader(io.StringIO(result.stdout)))
    auc = float(rows[1][0])
    agree = int(rows[3][0])
    # the generated churn rule is learnable: both models are far better than chance on 5,000 rows
    assert auc > 0.9
    assert agree > 0.85 * 5000


@pytest.mark.slow
def test_fraud_example_prints_metrics_that_match_scikit_learn(tmp_path: Path) -> None:
    import duckdb
    import numpy as np
    from sklearn import metrics

    database = tmp_path / "fraud.duckdb"
    folder = ROOT / "examples" / "fraud"
    result = run_cli(
        "-d",
        str(database),
        "--format",
        "csv",
        "-q",
        "-c",
        "SET VARIABLE fraud_rows = 30000",
        "-f",
        str(folder / "generate.sql"),
        "-f",
        str(folder / "fraud.sql"),
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    # the last result set is the summary row: a CSV header and one row
    header, row = result.stdout.strip().splitlines()[-2:]
    summary = {k: float(v) for k, v in next(csv.DictReader([header, row])).items()}
    assert set(summary) == {"auc", "auprc", "chosen_threshold", "precision", "recall", "f1"}

    with duckdb.connect(str(database), read_only=True) as con:
        rows = con.execute(
            "SELECT is_fraud, fraud_probability, predicted_is_fraud FROM scored"
        ).fetchall()
        (threshold,) = con.execute(
            "SELECT json_extract(training_info, '$.threshold_optimization.threshold')::DOUBLE "
            "FROM sqlml.models WHERE name = 'fraud_model'"
        ).fetchone()
    truth, probability, predicted = (np.array(column) for column in zip(*rows, strict=True))
    assert abs(summary["chosen_threshold"] - threshold) <= 5e-5
    # the stored predictions use the chosen threshold
    assert np.array_equal(predicted, probability >= threshold)
    expected = {
        "auc": metrics.roc_auc_score(truth, probability),
        "auprc": metrics.average_precision_score(truth, probability),
        "precision": metrics.precision_score(truth, predicted),
        "recall": metrics.recall_score(truth, predicted),
        "f1": metrics.f1_score(truth, predicted),
    }
    for name, value in expected.items():
        assert abs(summary[name] - value) <= 5e-5, (name, summary[name], value)
    # a model worth having on this data: far better than chance at ranking frauds
    assert summary["auc"] > 0.95
    assert 0.0 < threshold < 1.0
