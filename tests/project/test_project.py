"""`sqlml run`: dbt-style model files rendered, ordered, selected and built on a real DuckDB file."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from hang import HANG

import sqlml
from sqlml import cli
from sqlml.project import run
from sqlml.project.loader import ProjectError, load_project
from sqlml.project.sqltext import create_model_sql, model_options, sql_literal

ROOT = Path(__file__).resolve().parents[2]

# 40 points on a line, the label is the sign: any sensible classifier gets every one right.
POINTS_CSV = "id,x,y\n" + "".join(f"{i},{i - 19.5},{str(i > 19).lower()}\n" for i in range(40))
EVAL_IDS = [i for i in range(40) if i % 4 == 0]  # the rows features.sql marks is_eval

FEATURES = """{{ config(materialized='view') }}
SELECT id, x, y, id % 4 = 0 AS is_eval FROM {{ ref('points') }}
"""
CLF = """{{ config(materialized='model', model_type='logistic_reg', input_label_cols=['y'],
                  l2_reg=var('l2', 0.0)) }}
SELECT x, y FROM {{ ref('features') }} WHERE NOT is_eval
"""
SCORES = """{{ config(materialized='table') }}
SELECT id, x, y, predicted_y
FROM ML.PREDICT(MODEL {{ ref('clf') }}, (SELECT * FROM {{ ref('features') }} WHERE is_eval))
"""
AUDIT = """-- a script: any statements, run as written after what it ref()s
CREATE OR REPLACE TABLE {{ this }} AS SELECT count(*) AS n FROM {{ ref('scores') }};
INSERT INTO {{ this }} VALUES ({{ var('marker') | literal }});
"""


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def ml_project(root: Path) -> Path:
    return write(
        root,
        {
            "seeds/points.csv": POINTS_CSV,
            "models/features.sql": FEATURES,
            "models/clf.sql": CLF,
            "models/scores.sql": SCORES,
            "models/audit.sql": AUDIT,
            "sqlml_project.yml": "vars:\n  marker: 7\n  l2: 0.25\n",
        },
    )


def names(nodes) -> list[str]:
    return [n.name for n in nodes]


# --- loading: order, rendering, config ----------------------------------------------------------


def test_build_order_kinds_and_rendered_refs(tmp_path: Path) -> None:
    project = load_project(ml_project(tmp_path))
    assert list(project.nodes) == ["points", "features", "clf", "scores", "audit"]
    kinds = {n.name: n.kind for n in project.nodes.values()}
    assert kinds == {
        "points": "seed",
        "features": "view",
        "clf": "model",
        "scores": "table",
        "audit": "script",
    }
    scores = project.node("scores")
    assert scores.refs == ("clf", "features")
    assert 'MODEL "clf"' in scores.sql and 'FROM "features" WHERE is_eval' in scores.sql
    assert scores.has_ml_functions
    audit = project.node("audit")
    assert 'CREATE OR REPLACE TABLE "audit" AS' in audit.sql
    assert 'INSERT INTO "audit" VALUES (7)' in audit.sql  # var from sqlml_project.yml
    assert project.node("clf").config["l2_reg"] == 0.25


def test_alias_schema_and_source_render_qualified_quoted_names(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "models/base.sql": "{{ config(alias='Base Table', schema='staging') }}\n"
            "SELECT * FROM {{ source('raw', 'customers') }}",
            "models/top.sql": "SELECT * FROM {{ ref('base') }}",
        },
    )
    project = load_project(tmp_path)
    base = project.node("base")
    assert base.sources[0].render() == '"raw"."customers"'
    assert 'FROM "raw"."customers"' in base.sql
    assert project.node("top").sql == 'SELECT * FROM "staging"."Base Table"'


def test_vars_from_command_line_override_project_file_and_defaults(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "dbt_project.yml": "name: p\nvars:\n  a: from_file\n  b: 2\n",
            "m.sql": "SELECT {{ var('a') | literal }} AS a, {{ var('b') }} AS b, "
            "{{ var('c', 'dflt') | literal }} AS c",
        },
    )
    project = load_project(tmp_path, {"a": "it's cli"})
    assert project.node("m").sql == "SELECT 'it''s cli' AS a, 2 AS b, 'dflt' AS c"


def test_missing_var_names_the_fix(tmp_path: Path) -> None:
    write(tmp_path, {"m.sql": "SELECT {{ var('threshold') }}"})
    with pytest.raises(ProjectError, match=r"m\.sql.*var\('threshold'\).*--vars"):
        load_project(tmp_path)


def test_cycle_is_an_error_naming_the_cycle(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "a.sql": "SELECT * FROM {{ ref('b') }}",
            "b.sql": "SELECT * FROM {{ ref('c') }}",
            "c.sql": "SELECT * FROM {{ ref('a') }}",
            "d.sql": "SELECT 1",
        },
    )
    with pytest.raises(ProjectError, match="cycle") as info:
        load_project(tmp_path)
    message = str(info.value)
    cycle = message.split("cycle: ")[1].split(" (")[0].split(" → ")
    assert cycle[0] == cycle[-1] and sorted(cycle[:-1]) == ["a", "b", "c"]
    # each name ref()s the next one
    refs = {"a": "b", "b": "c", "c": "a"}
    assert all(refs[x] == y for x, y in zip(cycle, cycle[1:], strict=False))


def test_missing_ref_names_file_and_suggests(tmp_path: Path) -> None:
    write(
        tmp_path,
        {"customers.sql": "SELECT 1 AS id", "report.sql": "SELECT * FROM {{ ref('customer') }}"},
    )
    with pytest.raises(ProjectError, match=r"report\.sql: ref\('customer'\).*'customers'"):
        load_project(tmp_path)


def test_ml_function_in_a_view_is_refused_at_load_time(tmp_path: Path) -> None:
    write(tmp_path, {"p.sql": "SELECT * FROM ML.PREDICT(MODEL m, TABLE t)"})
    with pytest.raises(ProjectError, match=r"p\.sql.*view.*materialized='table'"):
        load_project(tmp_path)


@pytest.mark.parametrize(
    ("file", "text", "words"),
    [
        ("m.sql", "{{ config(materialized='incremental') }} SELECT 1", ["incremental", "'view'"]),
        ("m.sql", "{{ config(materialised='table') }} SELECT 1", ["'materialized'"]),
        ("m.sql", "{{ config(model_type='logistic_reg') }} SELECT 1", ["materialized='model'"]),
        ("m.sql", "{{ config(materialized='table') }} CREATE TABLE x (a INT)", ["single query"]),
        ("m.sql", "SELECT {{ 1 + }}", ["m.sql: line 1"]),
        ("m.sql", "SELECT {{ nonsense }}", ["'nonsense' is undefined", "ref, source, config"]),
        ("m.sql", "-- nothing here", ["no SQL statement"]),
        ("1m.sql", "{{ config(materialized='model') }} SELECT 1", ["'1m' cannot name"]),
    ],
)
def test_bad_files_name_the_problem(tmp_path: Path, file: str, text: str, words: list[str]) -> None:
    write(tmp_path, {f"models/{file}": text})
    with pytest.raises(ProjectError) as info:
        load_project(tmp_path)
    assert str(info.value).startswith(f"models/{file}")
    for word in words:
        assert word in str(info.value)


def test_project_folder_problems(tmp_path: Path) -> None:
    with pytest.raises(ProjectError, match="does not exist"):
        load_project(tmp_path / "nope")
    with pytest.raises(ProjectError, match=r"No \.sql model files"):
        load_project(tmp_path)
    write(tmp_path, {"models/a.sql": "SELECT 1", "seeds/A.csv": "x\n1\n"})
    with pytest.raises(ProjectError, match="Two files define"):
        load_project(tmp_path)


def test_disabled_model_is_left_out(tmp_path: Path) -> None:
    write(
        tmp_path,
        {"a.sql": "{{ config(enabled=false) }} SELECT 1", "b.sql": "SELECT 2"},
    )
    assert list(load_project(tmp_path).nodes) == ["b"]
    write(tmp_path, {"c.sql": "SELECT * FROM {{ ref('a') }}"})
    with pytest.raises(ProjectError, match="disabled"):
        load_project(tmp_path)


def test_select_descendants_ancestors_and_union(tmp_path: Path) -> None:
    project = load_project(ml_project(tmp_path))
    assert names(project.select(["clf+"])) == ["clf", "scores", "audit"]
    assert names(project.select(["+clf"])) == ["points", "features", "clf"]
    assert names(project.select(["+scores+"])) == list(project.nodes)
    assert names(project.select(["audit", "features"])) == ["features", "audit"]
    with pytest.raises(ProjectError, match="Did you mean 'scores'"):
        project.select(["score+"])


# --- SQL text from config -------------------------------------------------------------------------


def test_option_values_are_escaped_literals() -> None:
    sql = create_model_sql(
        "m",
        {"model_type": "logistic_reg", "input_label_cols": ["it's"], "l2_reg": 0.5, "x": True},
        "SELECT 1",
    )
    assert sql == (
        "CREATE OR REPLACE MODEL m\nOPTIONS (model_type = 'logistic_reg', "
        "input_label_cols = ['it''s'], l2_reg = 0.5, x = TRUE)\nAS\nSELECT 1"
    )
    assert sql_literal({"b": 2.0, "a": 1}) == """'{"a": 1, "b": 2.0}'"""
    with pytest.raises(sqlml.ProgrammingError, match="Option names"):
        create_model_sql("m", {"model_type = 'x'); DROP TABLE t; --": 1}, "SELECT 1")
    with pytest.raises(sqlml.ProgrammingError, match="finite"):
        sql_literal(float("nan"))
    with pytest.raises(sqlml.ProgrammingError, match="cannot name a sqlml model"):
        create_model_sql('m"; DROP TABLE t', {"model_type": "x"}, "SELECT 1")


def test_model_options_from_config() -> None:
    config = {
        "materialized": "sqlml_model",
        "tags": [],
        "batch_size": None,  # a host tool's defaulted key: not an option unless set
        "model_type": "logistic_reg",
        "options": {"L2_REG": 1.0},
    }
    assert model_options(config, "m") == {"l2_reg": 1.0, "model_type": "logistic_reg"}
    with pytest.raises(sqlml.ProgrammingError, match="set twice"):
        model_options({**config, "l2_reg": 2.0}, "m")
    with pytest.raises(sqlml.ProgrammingError, match="no model_type"):
        model_options({"input_label_cols": ["y"]}, "m")


# --- running -----------------------------------------------------------------------------------


@pytest.mark.slow
def test_run_builds_every_kind_and_the_model_predicts(tmp_path: Path) -> None:
    root = ml_project(tmp_path / "proj")
    database = str(tmp_path / "warehouse.duckdb")
    out = io.StringIO()
    result = run(root, database, out=out)
    assert result.ok, out.getvalue()
    lines = out.getvalue().splitlines()
    assert [line.split()[4:6] for line in lines[:5]] == [
        ["seed", "points"],
        ["view", "features"],
        ["model", "clf"],
        ["table", "scores"],
        ["script", "audit"],
    ]
    assert all(" OK " in line for line in lines[:5])
    assert lines[-1].startswith("Done: 5 OK, 0 ERROR, 0 SKIP")
    with sqlml.connect(database) as con:
        cur = con.cursor()
        cur.execute("SELECT id, x, y, predicted_y FROM scores ORDER BY id")
        rows = cur.fetchall()
        assert [r[0] for r in rows] == EVAL_IDS
        assert all(r[3] == (r[1] > 0) for r in rows)  # the sign rule, by hand
        cur.execute("SELECT n FROM audit ORDER BY n")
        assert cur.fetchall() == [(7,), (len(EVAL_IDS),)]
        cur.execute("SELECT table_type FROM information_schema.tables WHERE table_name='features'")
        assert cur.fetchall() == [("VIEW",)]
        record = con.executor.catalog.get("clf")
        assert record.options["l2_reg"] == 0.25
        assert record.training_info["training_rows"] == 40 - len(EVAL_IDS)


def test_failure_stops_the_run_and_skips_what_follows(tmp_path: Path) -> None:
    root = ml_project(tmp_path / "proj")
    (root / "models" / "clf.sql").write_text(CLF.replace("l2_reg=var('l2', 0.0)", "l2_reg=-1"))
    out = io.StringIO()
    result = run(root, str(tmp_path / "w.duckdb"), out=out)
    assert not result.ok
    assert [r.status for r in result.results] == ["OK", "OK", "ERROR", "SKIP", "SKIP"]
    text = out.getvalue()
    assert "Error: The 'l2_reg' option of CREATE MODEL clf must be" in text
    assert "Done: 2 OK, 1 ERROR, 2 SKIP" in text
    with sqlml.connect(str(tmp_path / "w.duckdb")) as con:
        cur = con.cursor()
        cur.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'scores'")
        assert cur.fetchone() == (0,)


def test_switching_view_to_table_and_selecting_one_node(tmp_path: Path) -> None:
    write(tmp_path, {"a.sql": "SELECT 1 AS v", "b.sql": "SELECT v + 1 AS w FROM {{ ref('a') }}"})
    database = str(tmp_path / "w.duckdb")
    assert run(tmp_path, database, out=io.StringIO()).ok
    (tmp_path / "a.sql").write_text("{{ config(materialized='table') }} SELECT 10 AS v")
    out = io.StringIO()
    assert run(tmp_path, database, select=["a"], out=out).ok
    assert out.getvalue().count(" OK ") == 1
    with sqlml.connect(database) as con:
        cur = con.cursor()
        cur.execute(
            "SELECT table_name, table_type FROM information_schema.tables ORDER BY table_name"
        )
        assert cur.fetchall() == [("a", "BASE TABLE"), ("b", "VIEW")]
        cur.execute("SELECT w FROM b")
        assert cur.fetchall() == [(11,)]


def test_view_calling_a_model_function_is_refused(tmp_path: Path) -> None:
    database = str(tmp_path / "w.duckdb")
    with sqlml.connect(database) as con:
        cur = con.cursor()
        cur.execute("CREATE TABLE t AS SELECT (range - 19.5) AS x, range > 19 AS y FROM range(40)")
        cur.execute("CREATE MODEL m FROM t TARGET y FUNCTION sign_of MODEL_TYPE LINEAR_LEARNER")
    write(tmp_path / "p", {"v.sql": "SELECT x, sign_of(x) AS s FROM t"})
    out = io.StringIO()
    assert not run(tmp_path / "p", database, out=out).ok
    assert "calls the model function sign_of()" in out.getvalue()
    assert "materialized='table'" in out.getvalue()
    (tmp_path / "p" / "v.sql").write_text(
        "{{ config(materialized='table') }} " + "SELECT x, sign_of(x) AS s FROM t"
    )
    assert run(tmp_path / "p", database, out=io.StringIO()).ok
    with sqlml.connect(database) as con:
        cur = con.cursor()
        cur.execute("SELECT count(*) FROM v WHERE s = (x > 0)")
        assert cur.fetchone() == (40,)


# --- the command ---------------------------------------------------------------------------------


def test_cli_run_full_refresh_and_vars(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = ml_project(tmp_path / "proj")
    database = str(tmp_path / "w.duckdb")
    assert cli.main(["run", str(root), "-d", database]) == 0
    assert cli.main(["run", str(root), "-d", database, "--select", "clf"]) == 0
    capsys.readouterr()

    def versions() -> list[tuple[int, float]]:
        with sqlml.connect(database) as con:
            cur = con.cursor()
            cur.execute("SELECT version, options FROM sqlml.models WHERE name = 'clf' ORDER BY 1")
            return [(v, json.loads(o)["l2_reg"]) for v, o in cur.fetchall()]

    assert versions() == [(1, 0.25), (2, 0.25)]
    code = cli.main(
        ["run", str(root), "-d", database, "-s", "clf", "--full-refresh", "--vars", '{"l2": 2}']
    )
    assert code == 0
    assert versions() == [(1, 2.0)]  # history dropped, the new var used


def test_cli_errors_exit_1_without_traceback(tmp_path: Path) -> None:
    write(
        tmp_path, {"a.sql": "SELECT * FROM {{ ref('b') }}", "b.sql": "SELECT * FROM {{ ref('a') }}"}
    )
    result = subprocess.run(
        [sys.executable, "-m", "sqlml.cli", "run", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=HANG,
    )
    assert result.returncode == 1
    assert result.stderr.startswith("Error: The model files depend on each other in a cycle")
    assert "Traceback" not in result.stderr
    bad_vars = subprocess.run(
        [sys.executable, "-m", "sqlml.cli", "run", str(tmp_path), "--vars", "[1, 2]"],
        capture_output=True,
        text=True,
        timeout=HANG,
    )
    assert bad_vars.returncode == 1 and "--vars must be a JSON object" in bad_vars.stderr


def test_cli_database_from_project_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path, {"sqlml_project.yml": "database: built.duckdb\n", "a.sql": "SELECT 5 AS v"})
    assert cli.main(["run", str(tmp_path)]) == 0
    with sqlml.connect(str(tmp_path / "built.duckdb")) as con:
        assert con.cursor().execute("SELECT v FROM a").fetchall() == [(5,)]


def test_cli_failing_node_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(
        tmp_path, {"a.sql": "SELECT * FROM no_such_table", "b.sql": "SELECT * FROM {{ ref('a') }}"}
    )
    assert cli.main(["run", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "ERROR view   a" in out and "SKIP  view   b" in out
    assert "no_such_table" in out


@pytest.mark.slow
def test_example_project_runs_with_sqlml_run(tmp_path: Path) -> None:
    """README's command: the example dbt project, built by `sqlml run` (no dbt involved)."""
    database = tmp_path / "shop.duckdb"
    result = subprocess.run(
        [sys.executable, "-m", "sqlml.cli", "run", "examples/dbt_project", "-d", str(database)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=HANG,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Done: 6 OK, 0 ERROR, 0 SKIP" in result.stdout
    with sqlml.connect(str(database)) as con:
        cur = con.cursor()
        # every fifth of the 400 seed customers is held out and scored
        cur.execute("SELECT count(*), avg((predicted_churned = churned)::INT) FROM churn_scores")
        scored, accuracy = cur.fetchone()
        assert scored == 80 and accuracy > 0.8
        cur.execute("SELECT count(*) FROM churn_scores WHERE churn_probability >= 0.5")
        risky = cur.fetchone()[0]
        cur.execute("SELECT count(*) FROM high_risk_customers")
        assert cur.fetchone()[0] == risky
        cur.execute("SELECT accuracy FROM churn_evaluation")
        assert cur.fetchone()[0] == pytest.approx(accuracy)
