"""The examples run as written: the quickstart through the real `sqlml` command, as README says."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sqlml.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


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
