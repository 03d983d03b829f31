"""The ``sqlml`` command line: formats, scripts, errors, exit codes and the interactive shell."""

from __future__ import annotations

import csv
import io
import json
import os
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hang import HANG

import sqlml
from sqlml import cli

ENV = {**os.environ, "SQLML_HISTORY": "", "TERM": "dumb"}


def run(*args: str, stdin: str | None = None, env: dict[str, str] | None = None):
    """``python -m sqlml.cli ARGS`` in a subprocess."""
    return subprocess.run(
        [sys.executable, "-m", "sqlml.cli", *args],
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        timeout=HANG,
        env=env or ENV,
    )


@pytest.fixture
def db(tmp_path: Path) -> str:
    """A DuckDB file with table t(x, y) where y = 2x + 1."""
    path = str(tmp_path / "cli.duckdb")
    with sqlml.connect(path) as connection:
        connection.execute(
            "CREATE TABLE t AS SELECT * FROM (VALUES (1.0, 3.0), (2.0, 5.0), (3.0, 7.0), "
            "(4.0, 9.0), (5.0, 11.0)) v(x, y)"
        )
    return path


def shell(db: str | None = None, fmt: str = "table") -> tuple[cli.Shell, io.StringIO, io.StringIO]:
    out, err = io.StringIO(), io.StringIO()
    connection = sqlml.connect(db or ":memory:")
    return cli.Shell(cli.Runner(connection, fmt, out=out, err=err)), out, err


# --- -c and the output formats ------------------------------------------------------------------


def test_table_output_exact(capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(
        [
            "-c",
            "SELECT * FROM (VALUES (1, 'a', NULL), (22, 'bbb', 1.5)) v(n, name, f) ORDER BY n",
        ]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert captured.out.splitlines() == [
        "n  | name | f",
        "---+------+-----",
        " 1 | a    | NULL",
        "22 | bbb  |  1.5",
        "(2 rows)",
    ]
    assert captured.out.endswith(")\n")
    assert captured.err == ""


def test_table_nested_long_and_special_values(capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(
        [
            "-c",
            "SELECT [{'label': 1, 'prob': 0.5}] AS probs, true AS b, repeat('z', 100) AS long, "
            "'a' || chr(10) || 'b' AS m",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    row = out.splitlines()[2]
    assert '[{"label":1,"prob":0.5}]' in row
    assert "true" in row
    assert "z" * 57 + "..." in row and "z" * 58 not in row
    assert "a\\nb" in row
    assert out.endswith("(1 row)\n")


def test_table_max_rows(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--max-rows", "3", "-c", "SELECT * FROM range(2500) r(i)"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[2:5] == ["0", "1", "2"]
    assert lines[-1] == "(2500 rows, showing first 3)"
    assert len(lines) == 6


def test_csv_format(capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(
        [
            "--format",
            "csv",
            "-c",
            "SELECT 1 AS a, 'x,y' AS b, NULL AS c, [1, 2] AS l UNION ALL SELECT 2, 'q\"', 3, []",
        ]
    )
    assert code == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert rows == [["a", "b", "c", "l"], ["1", "x,y", "", "[1,2]"], ["2", 'q"', "3", "[]"]]


def test_json_format(capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(
        [
            "--format",
            "json",
            "-c",
            "SELECT 1 AS a, 'x' AS b, NULL AS c, DATE '2024-02-29' AS d, 2.50::DECIMAL(4, 2) AS e, "
            "{'k': [1.5]} AS s; SELECT 42 AS answer WHERE false",
        ]
    )
    assert code == 0
    decoder = json.JSONDecoder()
    text = capsys.readouterr().out
    first, end = decoder.raw_decode(text)
    second, _ = decoder.raw_decode(text[end:].lstrip())
    assert first == [{"a": 1, "b": "x", "c": None, "d": "2024-02-29", "e": 2.5, "s": {"k": [1.5]}}]
    assert second == []


def test_status_messages_and_quiet(capsys: pytest.CaptureFixture[str]) -> None:
    script = "CREATE TABLE z (i INT); INSERT INTO z VALUES (1), (2), (3); DELETE FROM z WHERE i > 1"
    assert cli.main(["-c", script]) == 0
    assert capsys.readouterr().out == "CREATE\nINSERT 3\nDELETE 2\n"
    assert cli.main(["-q", "-c", script]) == 0
    assert capsys.readouterr().out == ""


def test_several_c_run_in_order_on_a_file(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(
        [
            "-d",
            db,
            "-q",
            "--format",
            "csv",
            "-c",
            "CREATE TABLE u AS SELECT 7 AS v",
            "-c",
            "SELECT v FROM u",
        ]
    )
    assert code == 0
    assert capsys.readouterr().out == "v\n7\n"
    with sqlml.connect(db, read_only=True) as connection:
        assert connection.execute("SELECT v FROM u").fetchall() == [(7,)]


def test_read_only(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["-d", db, "--read-only", "-c", "CREATE TABLE w (i INT)"]) == 1
    assert "Error:" in capsys.readouterr().err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"sqlml {sqlml.__version__}"


def test_bad_usage_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--format", "xml"]) == 2
    assert "invalid choice" in capsys.readouterr().err


# --- scripts and ML ---------------------------------------------------------------------------------


@pytest.mark.slow  # a subprocess that imports scikit-learn and trains
def test_script_file_with_ml(tmp_path: Path) -> None:
    database = str(tmp_path / "ml.duckdb")
    script = tmp_path / "train.sql"
    script.write_text(
        "-- y = 2x + 1\n"
        "CREATE TABLE t (x DOUBLE, y DOUBLE);\n"
        "INSERT INTO t VALUES (1, 3), (2, 5), (3, 7),\n"
        "  (4, 9), (5, 11);\n"
        "CREATE MODEL m OPTIONS (model_type='linear_reg', input_label_cols=['y'])\n"
        "  AS SELECT x, y FROM t;\n"
        "SELECT x, predicted_y FROM ML.PREDICT(MODEL m, TABLE t) ORDER BY x;\n"
    )
    result = run("-d", database, "-f", str(script), "--format", "csv")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[:3] == ["CREATE", "INSERT 5", "CREATE MODEL"]
    rows = list(csv.DictReader(lines[3:]))
    assert [float(r["x"]) for r in rows] == [1, 2, 3, 4, 5]
    for r in rows:
        assert float(r["predicted_y"]) == pytest.approx(2 * float(r["x"]) + 1, abs=1e-3)
    assert "Traceback" not in result.stderr


def test_stdin_script_and_notices(db: str, monkeypatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(
        sys,
        "stdin",
        io.StringIO(
            "CREATE MODEL r FROM (SELECT x, y FROM t) TARGET y FUNCTION f\n"
            "  IAM_ROLE 'arn:aws:iam::1:role/r' MODEL_TYPE LINEAR_LEARNER PROBLEM_TYPE REGRESSION\n"
            "  SETTINGS (S3_BUCKET 'b');\n"
            "SHOW MODEL ALL;\n"
        ),
    )
    assert cli.main(["-d", db, "-q", "--format", "csv"]) == 0  # stdin is no TTY: a script
    captured = capsys.readouterr()
    assert "NOTICE: IAM_ROLE applies only to Amazon Redshift; ignored." in captured.err
    rows = list(csv.DictReader(io.StringIO(captured.out)))
    assert [(r["model_name"], r["function_name"]) for r in rows] == [("r", "f")]


def test_file_from_stdin_dash(capsys: pytest.CaptureFixture[str], monkeypatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("SELECT 3 AS three;"))
    assert cli.main(["--format", "csv", "-f", "-"]) == 0
    assert capsys.readouterr().out == "three\n3\n"


# --- errors -----------------------------------------------------------------------------------------


def test_syntax_error_subprocess(db: str) -> None:
    result = run(
        "-d",
        db,
        "-c",
        "CREATE MODEL m OPTIONS (model_type=) AS SELECT x, y FROM t",
    )
    assert result.returncode == 1
    assert result.stderr.startswith("Error:")
    assert "line 1" in result.stderr
    assert "Traceback" not in result.stderr


def test_engine_syntax_error_stops_script(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = tmp_path / "s.sql"
    script.write_text("SELECT 1 AS one;\nSELEC 2;\nSELECT 3 AS three;\n")
    assert cli.main(["-f", str(script)]) == 1
    captured = capsys.readouterr()
    assert "one" in captured.out and "three" not in captured.out
    assert captured.err.startswith("Error:")
    assert "line 2 of" in captured.err and str(script) in captured.err
    assert "Traceback" not in captured.err


def test_model_not_found(db: str) -> None:
    result = run("-d", db, "-c", "SELECT * FROM ML.PREDICT(MODEL nope, TABLE t)")
    assert result.returncode == 1
    assert result.stderr.startswith("Error:") and "nope" in result.stderr
    assert "Traceback" not in result.stderr


def test_file_not_found(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "missing.sql"
    assert cli.main(["-c", "SELECT 1", "-f", str(missing)]) == 1
    err = capsys.readouterr().err
    assert err == f"Error: File not found: {missing}\n"


def test_database_cannot_open(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["-d", str(tmp_path), "-c", "SELECT 1"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("Error: Cannot open") and "Traceback" not in err


def test_internal_error_exit_2(monkeypatch, capsys: pytest.CaptureFixture[str]) -> None:
    def boom(self: cli.Runner, sql: str) -> None:
        raise RuntimeError("kaput\nsecond line")

    monkeypatch.delenv("SQLML_DEBUG", raising=False)
    monkeypatch.setattr(cli.Runner, "run_statement", boom)
    assert cli.main(["-c", "SELECT 1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("Internal error: RuntimeError: kaput (")
    assert err.count("\n") == 1 and "Traceback" not in err
    monkeypatch.setenv("SQLML_DEBUG", "1")
    assert cli.main(["-c", "SELECT 1"]) == 2
    assert "Traceback" in capsys.readouterr().err


# --- the shell ----------------------------------------------------------------------------------


def test_is_complete() -> None:
    assert cli.is_complete("SELECT 1;")
    assert cli.is_complete("SELECT 1; -- done\n")
    assert cli.is_complete("SELECT 'a;''b';")
    assert not cli.is_complete("SELECT 'a;")
    assert not cli.is_complete("SELECT 1 -- ;")
    assert not cli.is_complete("SELECT /* ; */ 1")
    assert not cli.is_complete('SELECT 1 AS "x;"')


def test_shell_multiline_statement() -> None:
    sh, out, err = shell()
    assert sh.prompt == cli.PROMPT
    assert sh.run_line("SELECT 1 AS a,")
    assert sh.prompt == cli.CONTINUATION
    assert sh.run_line("  'x;y' AS b")
    assert out.getvalue() == ""
    assert sh.run_line(";")
    assert sh.prompt == cli.PROMPT
    assert out.getvalue() == "a | b\n--+----\n1 | x;y\n(1 row)\n"
    assert err.getvalue() == ""


def test_shell_error_then_next_statement_works() -> None:
    sh, out, err = shell()
    assert sh.feed(["SELECT * FROM no_such_table;", "SELECT 2 AS two;"])
    assert err.getvalue().startswith("Error:") and "no_such_table" in err.getvalue()
    assert "Traceback" not in err.getvalue()
    assert "two" in out.getvalue() and "(1 row)" in out.getvalue()


def test_shell_format_and_models(db: str) -> None:
    sh, out, err = shell(db)
    sh.feed(
        [
            "CREATE MODEL m OPTIONS (model_type='linear_reg', input_label_cols=['y'])",
            "AS SELECT x, y FROM t;",
            ".format csv",
            ".format",
            ".models",
            ".tables",
        ]
    )
    assert err.getvalue() == ""
    text = out.getvalue()
    assert text.startswith("CREATE MODEL\ncsv\n")
    models = list(csv.DictReader(io.StringIO(text.split("\n", 2)[2].split("name\n")[0])))
    assert [(r["model_name"], r["model_type"], r["label"]) for r in models] == [
        ("m", "linear_reg", "y")
    ]
    assert "t" in text.split("name\n")[1].splitlines()


def test_shell_dot_commands(tmp_path: Path) -> None:
    script = tmp_path / "r.sql"
    script.write_text("SELECT 5 AS five;")
    sh, out, err = shell(fmt="csv")
    assert sh.run_line(".help")
    assert ".read FILE" in out.getvalue()
    assert sh.feed([f".read {script}", ".read nope.sql", ".format xml", ".bogus"])
    assert "five\n5\n" in out.getvalue()
    lines = err.getvalue().splitlines()
    assert lines[0] == "Error: File not found: nope.sql"
    assert lines[1].startswith("Error: unknown format") and lines[2].startswith("Error: unknown")
    assert sh.run_line("   ")
    assert not sh.run_line(".quit")


def test_shell_cancel_and_finish() -> None:
    sh, out, _ = shell(fmt="csv")
    sh.run_line("SELECT 'lost'")
    sh.cancel()
    assert sh.prompt == cli.PROMPT
    sh.run_line("SELECT 9 AS nine")
    sh.finish()
    assert out.getvalue() == "nine\n9\n"


def test_shell_loop_with_input(monkeypatch, capsys: pytest.CaptureFixture[str]) -> None:
    lines = iter(["SELECT 1 AS one;", "SELECT 2", "AS two;", ".exit", "SELECT 3;"])
    prompts: list[str] = []

    def fake_input(prompt: str) -> str:
        prompts.append(prompt)
        return next(lines)

    monkeypatch.setenv("SQLML_HISTORY", "")
    monkeypatch.setattr("builtins.input", fake_input)
    sh, out, _ = shell(fmt="csv")
    assert sh.loop() == 0
    assert prompts == [cli.PROMPT, cli.PROMPT, cli.CONTINUATION, cli.PROMPT]
    assert out.getvalue().splitlines() == [
        cli.BANNER.format(version=sqlml.__version__, database=":memory:"),
        "one",
        "1",
        "two",
        "2",
    ]


@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")
def test_real_pty_session(tmp_path: Path) -> None:
    import pty

    history = tmp_path / "history"
    master, slave = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "sqlml.cli", "-d", str(tmp_path / "pty.duckdb")],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        close_fds=True,
        env={**ENV, "SQLML_HISTORY": str(history)},
    )
    os.close(slave)
    seen = b""

    def read_until(*needles: bytes, timeout: float = 60) -> None:
        nonlocal seen
        deadline = time.monotonic() + timeout
        while not all(n in seen for n in needles):
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"timed out waiting for {needles}; got {seen!r}"
            ready, _, _ = select.select([master], [], [], remaining)
            if ready:
                try:
                    chunk = os.read(master, 4096)
                except OSError:  # EIO: the child closed the terminal
                    chunk = b""
                assert chunk, f"the shell ended early; got {seen!r}"
                seen += chunk

    try:
        read_until(b"sqlml>")
        assert b"sqlml " + sqlml.__version__.encode() in seen
        os.write(master, b"SELECT 41+1 AS answer;\n")
        read_until(b"answer", b"42", b"(1 row)")
        os.write(master, b".quit\n")
        assert process.wait(timeout=HANG) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(master)
    assert "SELECT 41+1 AS answer;" in history.read_text()


def test_a_call_made_for_its_effect_prints_no_table(capsys: pytest.CaptureFixture[str]) -> None:
    """SELECT setseed(0.42) returns one row of DuckDB's NULL type: a script's housekeeping (the
    quickstart's first statement), printed as nothing; other results of that type still print."""
    assert cli.main(["-c", "SELECT setseed(0.42); SELECT 1 AS one"]) == 0
    assert capsys.readouterr().out == "one\n---\n  1\n(1 row)\n"
    assert cli.main(["--format", "csv", "-c", "SELECT NULL AS a FROM range(2)"]) == 0
    assert capsys.readouterr().out == 'a\n""\n""\n'  # csv writes NULL as ""
    assert cli.main(["--format", "csv", "-c", "SELECT NULL AS a FROM range(3)"]) == 0
    assert capsys.readouterr().out == 'a\n""\n""\n""\n'  # rows read ahead, then the rest


def test_shell_says_which_statements_an_error_skipped() -> None:
    sh, out, err = shell()
    sh.run_line("CREATE TABLE s (i INT); SELECT nope FROM s; INSERT INTO s VALUES (1); SELECT 2;")
    assert "the 2 statements after it were skipped" in err.getvalue()
    sh.run_line("SELECT count(*) AS n FROM s; SELECT nope; SELECT 3;")
    assert "the statement after it was skipped" in err.getvalue()
    assert "n\n-\n0\n(1 row)" in out.getvalue()  # the INSERT never ran
    sh.run_line("SELECT nope;")
    assert err.getvalue().count("skipped") == 2  # nothing after it: nothing said
