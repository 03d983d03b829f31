"""``sqlml serve`` sends a statement's progress as NOTICEs while it runs: psql prints them as they
arrive; a psycopg notice handler that cancels on the first count proves they come during the
fit, not after it (the cancel stops the statement; the old model stays)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import errors as pgerrors
from server_helpers import ServerProcess, dsn, needs_psql, psql, serve_process

import sqlml

TABLE = (
    "CREATE TABLE pts AS SELECT (i % 101) / 101.0 AS a, ((i * 31) % 97) / 97.0 AS b, "
    "CASE WHEN (i % 101) / 101.0 + ((i * 31) % 97) / 97.0 > 1 THEN 1 ELSE 0 END AS y "
    "FROM range(20000) t(i)"
)
FOREST = (
    "CREATE OR REPLACE MODEL {name} OPTIONS (model_type = 'random_forest_classifier', "
    "input_label_cols = ['y'], num_parallel_tree = 40) AS SELECT * FROM pts"
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    path = str(tmp_path_factory.mktemp("serve_progress") / "p.duckdb")
    with sqlml.connect(path) as connection:
        connection.execute(TABLE)
        connection.execute(
            "CREATE MODEL kept OPTIONS (model_type = 'logistic_reg', input_label_cols = ['y']) "
            "AS SELECT * FROM pts"
        )
    with serve_process("-d", path) as process:
        yield process


@needs_psql
def test_psql_prints_the_stages_of_a_create_model(server: ServerProcess) -> None:
    done = psql(server.port, FOREST.format(name="shown"))
    assert done.returncode == 0, done.stderr
    notices = [
        line.removeprefix("NOTICE:  ")
        for line in done.stderr.splitlines()
        if line.startswith("NOTICE:  CREATE MODEL shown")
    ]
    stages = [n.split(": ", 1)[1].split(",")[0] for n in notices]
    expected = [
        "reading the data",
        "preparing the data",
        "fitting random_forest_classifier",
        "converting to ONNX and checking fidelity",
        "evaluating",
        "storing",
    ]
    assert [s for s in dict.fromkeys(stages) if not s.startswith("done")] == expected
    assert notices[-1].startswith("CREATE MODEL shown: done in ")
    assert done.stdout.strip() == "CREATE MODEL"


@needs_psql
def test_client_min_messages_warning_silences_them(server: ServerProcess) -> None:
    done = psql(server.port, "SET client_min_messages = warning", FOREST.format(name="silent"))
    assert done.returncode == 0, done.stderr
    assert "NOTICE" not in done.stderr


def test_notices_arrive_while_the_model_trains(server: ServerProcess, tmp_path: Path) -> None:
    """The handler cancels when the first tree count arrives: had the NOTICEs been sent with the
    result, the statement would have finished by then and stored the model."""
    seen: list[str] = []
    with psycopg.connect(dsn(server.port), autocommit=True) as pg:

        def on_notice(diagnostic: psycopg.errors.Diagnostic) -> None:
            text = diagnostic.message_primary or ""
            seen.append(text)
            if " trees" in text and len([s for s in seen if " trees" in s]) == 1:
                pg.cancel_safe()

        pg.add_notice_handler(on_notice)
        with pytest.raises(pgerrors.QueryCanceled):
            pg.execute(FOREST.format(name="kept"))
        assert any(" of 40 trees" in s for s in seen), seen
        pg.remove_notice_handler(on_notice)
        kinds = pg.execute("SELECT DISTINCT model_type FROM sqlml.models WHERE name = 'kept'")
        assert kinds.fetchall() == [("logistic_reg",)]
