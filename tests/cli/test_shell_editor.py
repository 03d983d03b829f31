"""The shell's editor on a real terminal (tmux): Tab completes the database's tables, columns and
models, the ML functions and CREATE MODEL options; a statement runs when it ends with ';' (Enter
before that starts a new line); an error says which statements it skipped."""

from __future__ import annotations

from pathlib import Path

import pytest
from tmux import TMUX, Tmux

import sqlml
from sqlml.cli.completion import matches, static_words


def test_static_words_hold_the_ml_functions_and_options() -> None:
    words = static_words()
    assert [w for w, _ in matches("ML.PRED", words)] == ["ML.PREDICT"]
    assert words["ML.EVALUATE"] == "ML function"
    assert ("input_label_cols", "option") in list(matches("input_l", words))
    assert ("num_parallel_tree", "option") in list(matches("NUM_PAR", words))  # any case


def test_catalog_words_follow_the_database(tmp_path: Path) -> None:
    from sqlml.cli.completion import catalog_words

    con = sqlml.connect(str(tmp_path / "w.duckdb"))
    con.execute(
        "CREATE TABLE customers AS SELECT i * 1.0 AS monthly_spend, i % 2 AS churned "
        "FROM range(20) t(i)"
    )
    assert catalog_words(con) == {
        "customers": "table",
        "monthly_spend": "column of customers",
        "churned": "column of customers",
    }
    con.execute(
        "CREATE MODEL churn FROM customers TARGET churned FUNCTION predict_churn "
        "MODEL_TYPE XGBOOST PROBLEM_TYPE BINARY_CLASSIFICATION"
    )
    words = catalog_words(con)
    assert words["churn"] == "model" and words["predict_churn"] == "model function"
    con.close()


@pytest.mark.slow
@pytest.mark.skipif(TMUX is None, reason="tmux is not installed (apt tmux; .ci/run installs it)")
def test_the_shell_completes_runs_multiline_and_reports_skips(tmp_path: Path) -> None:
    database = tmp_path / "editor.duckdb"
    with sqlml.connect(str(database)) as connection:
        connection.execute("CREATE TABLE customers AS SELECT 42.5 AS monthly_spend, 1 AS churned")
    env_history = tmp_path / "history"
    tmux = Tmux.shell(tmp_path, database, env=f"SQLML_HISTORY={env_history}")
    try:
        # a column and a table, completed with Tab
        tmux.keys("SELECT monthly_sp", "Tab")
        tmux.wait_for(r"SELECT monthly_spend", timeout=60)
        tmux.keys(" FROM custo", "Tab")
        tmux.wait_for(r"SELECT monthly_spend FROM customers", timeout=60)
        # Enter without ';' continues the statement on a new line; ';' then Enter runs it
        tmux.keys("", "Enter")
        tmux.wait_for(r"\.\.\.>", timeout=60)
        tmux.keys("", "\\;", "Enter")
        tmux.wait_for(r"42\.5", timeout=60)
        # an ML function
        tmux.keys("SELECT * FROM ML.PRED", "Tab")
        tmux.wait_for(r"SELECT \* FROM ML\.PREDICT", timeout=60)
        tmux.keys("", "C-u")
        # an error says what it skipped
        tmux.type("SELECT nope; SELECT 1; SELECT 2;")
        tmux.wait_for(r"the 2 statements after it were skipped", timeout=60)
        # the editor's history is kept in the file (prompt_toolkit's format: lines after '+')
        assert "+SELECT monthly_spend FROM customers" in env_history.read_text()
    finally:
        tmux.close()
