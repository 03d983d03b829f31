"""The dbt integration: the sqlml dbt-duckdb plugin and materializations, under real dbt-core.

The slow test copies examples/dbt_project, points it at a DuckDB file in tmp_path and runs the real
`dbt` command (offline: the sqlml package is a `local:` dependency), then checks with sqlml that the
model was trained into the catalog and that the tables dbt built hold sensible predictions.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from hang import HANG

import sqlml
from sqlml.dbt import package_path
from sqlml.dbt.runtime import statements

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "dbt_project"
SEED = EXAMPLE / "seeds" / "customers.csv"
HOLDOUT = 400 // 5  # customer_id 1..400, every fifth held out (models/customer_features.sql)


def test_package_ships_the_dbt_project_and_macros() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "sqlml.dbt"], capture_output=True, text=True, timeout=HANG
    )
    folder = Path(result.stdout.strip())
    assert folder == package_path()
    assert "name: sqlml" in (folder / "dbt_project.yml").read_text()
    macros = (folder / "macros" / "materializations.sql").read_text()
    assert "materialization sqlml_model, adapter='duckdb'" in macros
    assert "materialization sqlml_table, adapter='duckdb'" in macros


def test_job_statements_from_a_dbt_payload() -> None:
    config = {
        "materialized": "sqlml_model",
        "tags": [],
        "batch_size": None,  # dbt's own key, defaulted: not an option
        "model_type": "logistic_reg",
        "input_label_cols": ["churned"],
        "l2_reg": 0.1,
    }
    payload = {"kind": "model", "name": "churn", "sql": "select 1;", "config": config}
    assert statements(payload) == [
        "CREATE OR REPLACE MODEL churn\nOPTIONS (model_type = 'logistic_reg', "
        "input_label_cols = ['churned'], l2_reg = 0.1)\nAS\nselect 1"
    ]
    assert statements({**payload, "full_refresh": True})[0] == "DROP MODEL IF EXISTS churn"
    table = {"kind": "table", "name": 'we"ird', "schema": "main", "database": "db", "sql": "s"}
    assert statements(table) == ['CREATE OR REPLACE TABLE "db"."main"."we""ird" AS\ns']
    with pytest.raises(sqlml.ProgrammingError, match="cannot name a sqlml model"):
        statements({**payload, "name": "churn; DROP TABLE x"})


def train_function_model(database: Path) -> None:
    """A Redshift-form model with FUNCTION predict_churn_fn, trained on the seed rows."""
    with sqlml.connect(str(database)) as con:
        cur = con.cursor()
        cur.execute("CREATE TABLE seed_customers AS SELECT * FROM read_csv(?)", [str(SEED)])
        cur.execute(
            "CREATE MODEL churn_fn FROM (SELECT age, plan, monthly_spend, support_calls, churned "
            "FROM seed_customers) TARGET churned FUNCTION predict_churn_fn "
            "MODEL_TYPE LINEAR_LEARNER PROBLEM_TYPE BINARY_CLASSIFICATION"
        )


def test_connect_wraps_an_existing_duckdb_connection(tmp_path: Path) -> None:
    database = tmp_path / "w.duckdb"
    train_function_model(database)
    raw = duckdb.connect(str(database))
    con = sqlml.connect(duckdb_connection=raw)
    cur = con.cursor()
    cur.execute(
        "SELECT count(*) FROM ML.PREDICT(MODEL churn_fn, TABLE seed_customers) "
        "WHERE predicted_churned = churned"
    )
    agree = cur.fetchone()[0]
    assert agree > 0.8 * 400  # the churn rule is learnable
    con.close()
    # sqlml left the connection open, and its function is registered on it
    rows = raw.execute(
        "SELECT count(*) FROM seed_customers WHERE "
        "predict_churn_fn(age, plan, monthly_spend, support_calls) = churned"
    ).fetchall()
    assert rows == [(agree,)]
    raw.close()
    with pytest.raises(sqlml.InterfaceError, match="DuckDBPyConnection"):
        sqlml.connect(duckdb_connection=object())


def test_plugin_registers_model_functions_on_dbt_connections(tmp_path: Path) -> None:
    from dbt.adapters.duckdb.plugins import BasePlugin

    database = tmp_path / "w.duckdb"
    train_function_model(database)
    plugin = BasePlugin.create("sqlml.dbt.plugin")
    raw = duckdb.connect(str(database))
    plugin.configure_connection(raw)
    cursor = raw.cursor()  # dbt runs every statement on a cursor of the configured connection
    probs = cursor.execute(
        "SELECT predict_churn_fn_probabilities(age, plan, monthly_spend, support_calls) "
        "FROM seed_customers LIMIT 1"
    ).fetchone()[0]
    assert sorted(p["label"] for p in probs) == [False, True]
    assert sum(p["prob"] for p in probs) == pytest.approx(1.0, abs=1e-5)
    raw.close()


# --- real dbt ------------------------------------------------------------------------------------

FUNCTION_MODEL = """-- a plain dbt table calling the FUNCTION the sqlml plugin registered
{{ config(materialized='table') }}
SELECT customer_id, churned,
       predict_churn_fn(age, plan, monthly_spend, support_calls) AS predicted
FROM {{ ref('customers') }}
"""


def dbt(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    executable = Path(sys.executable).with_name("dbt")
    env = {
        **os.environ,
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DBT_PROFILES_DIR": str(project),
        "DO_NOT_TRACK": "1",
    }
    result = subprocess.run(
        [str(executable), *args, "--project-dir", str(project)],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    return result


@pytest.mark.slow
def test_real_dbt_builds_the_example_project(tmp_path: Path) -> None:
    project = tmp_path / "dbt_project"
    shutil.copytree(
        EXAMPLE, project, ignore=shutil.ignore_patterns("target", "dbt_packages", "logs")
    )
    (project / "packages.yml").write_text(
        f"packages:\n  - local: {json.dumps(str(package_path()))}\n"
    )
    (project / "models" / "function_scores.sql").write_text(FUNCTION_MODEL)
    database = tmp_path / "dbt.duckdb"
    profile = (project / "profiles.yml").read_text()
    profile = profile.replace("{{ env_var('SQLML_EXAMPLE_DB', 'example.duckdb') }}", str(database))
    (project / "profiles.yml").write_text(profile)
    train_function_model(database)  # before dbt: the plugin registers its FUNCTION on connect

    dbt(project, "deps")
    build = dbt(project, "build")
    assert "PASS=7" in build.stdout and "ERROR=0" in build.stdout

    with sqlml.connect(str(database)) as con:
        cur = con.cursor()
        record = con.executor.catalog.get("churn_model")
        assert record.model_type == "logistic_reg" and record.label == "churned"
        assert record.options["l2_reg"] == 0.1  # var('l2_reg') from dbt_project.yml
        assert record.training_info["training_rows"] == 400 - HOLDOUT
        cur.execute("SELECT count(*), avg((predicted_churned = churned)::INT) FROM churn_scores")
        scored, accuracy = cur.fetchone()
        assert scored == HOLDOUT and accuracy > 0.8
        # the stored table holds what the stored model predicts now
        cur.execute(
            "SELECT count(*) FROM churn_scores s JOIN ML.PREDICT(MODEL churn_model, "
            "(SELECT * FROM customer_features WHERE is_holdout)) p USING (customer_id) "
            "WHERE s.predicted_churned = p.predicted_churned"
        )
        assert cur.fetchone()[0] == HOLDOUT
        cur.execute("SELECT accuracy FROM churn_evaluation")
        assert cur.fetchone()[0] == pytest.approx(accuracy)
        cur.execute("SELECT count(*), sum((predicted = churned)::INT) FROM function_scores")
        rows, right = cur.fetchone()
        assert rows == 400 and right > 0.8 * 400
        cur.execute("SELECT count(*) FROM high_risk_customers")
        assert cur.fetchone()[0] > 0

    # dbt docs: the model is in catalog.json, its type, label, metrics and options in the comment
    # of the view the materialization leaves (dbt-duckdb's catalog reads views and comments)
    dbt(project, "docs", "generate")
    catalog = json.loads((project / "target" / "catalog.json").read_text())
    (node,) = [n for key, n in catalog["nodes"].items() if key.endswith(".churn_model")]
    comment = node["metadata"]["comment"]
    assert node["metadata"]["type"] == "VIEW"
    assert comment.startswith("sqlml model churn_model version 1: logistic_reg, label churned.")
    assert "roc_auc" in comment and '"l2_reg": 0.1' in comment
    assert {"model_type", "version", "metrics", "options"} <= set(node["columns"])

    # --full-refresh drops the model's history; the var from the command line reaches OPTIONS
    dbt(project, "run", "--select", "churn_model+", "--full-refresh", "--vars", '{"l2_reg": 0.5}')
    with sqlml.connect(str(database)) as con:
        cur = con.cursor()
        cur.execute("SELECT version, options FROM sqlml.models WHERE name = 'churn_model'")
        assert [(v, json.loads(o)["l2_reg"]) for v, o in cur.fetchall()] == [(1, 0.5)]
