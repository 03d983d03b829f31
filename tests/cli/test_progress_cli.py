"""Progress in the ``sqlml`` command: a live bar in the shell on a real terminal (tmux), plain
stage lines with ``--progress`` when stderr is not a terminal, nothing by default or with
``--quiet``."""

from __future__ import annotations

import io
import os
import re
import subprocess
import time
from pathlib import Path

import pytest
from hang import HANG
from tmux import SQLML, TMUX, Tmux

import sqlml
from sqlml import cli

TABLE = (
    "CREATE TABLE big AS SELECT (i % 1009) / 1009.0 AS a, ((i * 31) % 997) / 997.0 AS b, "
    "((i * 17) % 991) / 991.0 AS c, CASE WHEN (i * 7) % 13 < 6 THEN 1 ELSE 0 END AS y "
    "FROM range({rows}) t(i)"
)
SMALL_MODEL = (
    "CREATE MODEL m OPTIONS (model_type = 'logistic_reg', input_label_cols = ['y']) "
    "AS SELECT * FROM big"
)


def test_forced_progress_prints_a_line_per_stage_when_not_a_terminal(tmp_path: Path) -> None:
    connection = sqlml.connect(str(tmp_path / "p.duckdb"))
    out, err = io.StringIO(), io.StringIO()
    runner = cli.Runner(connection, out=out, err=err, progress=True)
    runner.run_script(TABLE.format(rows=2000) + ";\n" + SMALL_MODEL + ";")
    connection.close()
    lines = err.getvalue().splitlines()
    assert lines[0] == "CREATE MODEL m: reading the data"
    assert "CREATE MODEL m: storing" in lines
    assert re.fullmatch(r"CREATE MODEL m: done in \d+\.\d s", lines[-1])
    assert out.getvalue().splitlines()[-1] == "CREATE MODEL"


@pytest.mark.parametrize("quiet", [False, True])
def test_no_progress_when_stderr_is_not_a_terminal_or_quiet(tmp_path: Path, quiet: bool) -> None:
    connection = sqlml.connect(str(tmp_path / "p.duckdb"))
    err = io.StringIO()
    runner = cli.Runner(connection, quiet=quiet, out=io.StringIO(), err=err)
    runner.run_script(TABLE.format(rows=500) + ";\n" + SMALL_MODEL + ";")
    connection.close()
    assert err.getvalue() == ""


def test_the_command_takes_progress_and_quiet(tmp_path: Path) -> None:
    script = tmp_path / "train.sql"
    script.write_text(TABLE.format(rows=1000) + ";\n" + SMALL_MODEL + ";\n")
    database = str(tmp_path / "c.duckdb")
    env = {**os.environ, "SQLML_DEBUG": ""}
    shown = subprocess.run(
        [SQLML, "-d", database, "-f", str(script), "--progress"],
        capture_output=True, text=True, timeout=HANG, env=env,
    )  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    assert "CREATE MODEL m: fitting logistic_reg" in shown.stderr
    assert re.search(r"CREATE MODEL m: done in [\d.]+ s", shown.stderr)
    (tmp_path / "c.duckdb").unlink()
    plain = subprocess.run(
        [SQLML, "-d", database, "-f", str(script)],
        capture_output=True, text=True, timeout=HANG, env=env,
    )  # fmt: skip
    assert plain.returncode == 0 and plain.stderr == ""


@pytest.mark.slow
@pytest.mark.skipif(TMUX is None, reason="tmux is not installed (apt tmux; .ci/run installs it)")
def test_the_shell_shows_a_moving_bar_during_the_fit_and_removes_it(tmp_path: Path) -> None:
    database = tmp_path / "shell.duckdb"
    with sqlml.connect(str(database)) as connection:
        connection.cursor().execute(TABLE.format(rows=150_000))
    tmux = Tmux.shell(tmp_path, database)
    try:
        tmux.type(
            "CREATE MODEL rf OPTIONS (model_type = 'random_forest_classifier', "
            "input_label_cols = ['y'], num_parallel_tree = 60) AS SELECT * FROM big;"
        )
        counts: set[int] = set()
        deadline = time.monotonic() + HANG
        final = ""
        while time.monotonic() < deadline:
            screen = tmux.screen()
            counts |= {int(n) for n in re.findall(r"(\d+) of 60 trees", screen)}
            if re.search(r"^CREATE MODEL\s*$", screen, re.MULTILINE):
                final = screen
                break
            time.sleep(0.05)
        assert final, tmux.screen()
        # the bar was on screen with a count that moved, and is gone at the end
        assert len(counts - {0}) >= 2 or (0 in counts and len(counts) >= 2), counts
        assert "trees" not in final and "━" not in final
        assert re.search(r"CREATE MODEL rf: done in [\d.]+ (s|min)", final)
    finally:
        tmux.close()


@pytest.mark.slow
@pytest.mark.skipif(TMUX is None, reason="tmux is not installed (apt tmux; .ci/run installs it)")
def test_ctrl_c_during_the_fit_cancels_and_keeps_the_old_model(tmp_path: Path) -> None:
    database = tmp_path / "cancel.duckdb"
    with sqlml.connect(str(database)) as connection:
        connection.cursor().execute(TABLE.format(rows=150_000))
        connection.cursor().execute(SMALL_MODEL)
    tmux = Tmux.shell(tmp_path, database)
    try:
        tmux.type(
            "CREATE OR REPLACE MODEL m OPTIONS (model_type = 'random_forest_classifier', "
            "input_label_cols = ['y'], num_parallel_tree = 200) AS SELECT * FROM big;"
        )
        tmux.wait_for(r"\d+ of 200 trees")  # the fit is under way
        tmux.run("send-keys", "-t", "0", "C-c")
        tmux.wait_for(r"Cancelled\.")
        tmux.type("SELECT DISTINCT model_type FROM sqlml.models WHERE name = 'm';")
        screen = tmux.wait_for(r"\(1 row\)")
        assert "logistic_reg" in screen.split("sqlml.models")[-1]
        assert "Traceback" not in screen and "of 200 trees" not in screen.splitlines()[-3]
        tmux.type(".quit")
        tmux.wait_gone()  # the shell has let go of the file
    finally:
        tmux.close()
    with sqlml.connect(str(database)) as connection:  # the old model scores, nothing was added
        rows = connection.execute("SELECT model_type, version FROM sqlml.models").fetchall()
        assert rows == [("logistic_reg", 1)]
        assert connection.execute("SELECT count(*) FROM ML.PREDICT(MODEL m, TABLE big)").fetchone()
