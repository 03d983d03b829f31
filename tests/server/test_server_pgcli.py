"""pgcli through ``sqlml serve``: its metadata queries (pgcli.pgexecute.PGExecute, the ones its
completion refresher runs on connect) answer without errors and name real schemas, and its
completer — filled as pgcli fills it — offers each column once and no object "listed in
unrecognized schema None"."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from pgcli import pgexecute
from server_helpers import ServerProcess, serve_process

import sqlml

SETUP = [
    "CREATE TABLE people (id INTEGER PRIMARY KEY, name VARCHAR NOT NULL, score DOUBLE)",
    "INSERT INTO people SELECT i, 'p' || i, i * 1.5 FROM range(10) t(i)",
    "CREATE TABLE orders (oid INTEGER PRIMARY KEY, person INTEGER REFERENCES people(id), day DATE)",
    "CREATE VIEW rich AS SELECT * FROM people WHERE score > 5",
    "CREATE MODEL spend FROM (SELECT score AS x, id % 2 AS y FROM people) TARGET y "
    "FUNCTION predict_y",
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    path = str(tmp_path_factory.mktemp("pgcli") / "pgcli.duckdb")
    with sqlml.connect(path) as connection:
        for statement in SETUP:
            connection.execute(statement)
    with serve_process("-d", path) as process:
        yield process
    assert "Traceback" not in process.log


@pytest.fixture
def executor(server: ServerProcess) -> Iterator[object]:
    executor = pgexecute.PGExecute("sqlml", "tester", None, "127.0.0.1", server.port, "")
    yield executor
    executor.conn.close()


def test_metadata_queries(executor: object) -> None:
    # PostgreSQL's current_schemas(true): the implicit pg_catalog, then the search path, once each
    assert executor.search_path() == ["pg_catalog", "main"]
    assert set(executor.schemata()) == {"main", "sqlml", "pg_catalog"}
    assert {("main", "people"), ("main", "orders")} <= set(executor.tables())
    # only the user's views, each in a schema that exists (DuckDB's own catalog views are not
    # relations of any schema pg_namespace lists)
    assert list(executor.views()) == [("main", "rich")]
    columns = {(s, t, c) for s, t, c, *_ in executor.table_columns()}
    assert {("main", "people", "id"), ("main", "people", "name"), ("main", "people", "score")} <= (
        columns
    )
    functions = {(f.schema_name, f.func_name) for f in executor.functions()}
    assert {("main", "predict_y"), ("main", "predict_y_probabilities")} == functions
    keys = [
        (k.parenttable, k.parentcolumn, k.childtable, k.childcolumn) for k in executor.foreignkeys()
    ]
    assert keys == [("people", "id", "orders", "person")]
    assert all(schema == "main" for schema, _ in executor.datatypes())


def test_completions_offer_each_column_once(
    executor: object, caplog: pytest.LogCaptureFixture
) -> None:
    from pgcli.completion_refresher import CompletionRefresher
    from pgcli.pgcompleter import PGCompleter
    from prompt_toolkit.document import Document

    completer = PGCompleter(smart_completion=True, settings={})
    with caplog.at_level(logging.WARNING):
        for refresh in CompletionRefresher.refreshers.values():  # what pgcli runs on connect
            refresh(completer, executor)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]

    def offered(text: str, position: int) -> list[str]:
        return [c.text for c in completer.get_completions(Document(text, position), None)]

    columns = offered("SELECT  FROM people", len("SELECT "))
    assert [c for c in columns if c in ("id", "name", "score")] == ["id", "name", "score"]
    assert offered("SELECT p. FROM people p", len("SELECT p.")) == ["id", "name", "score"]
    tables = offered("SELECT * FROM ", len("SELECT * FROM "))
    assert {"people", "orders", "rich", "predict_y()"} <= set(tables)
    assert len(tables) == len(set(tables))
    joins = offered("SELECT * FROM people JOIN ", len("SELECT * FROM people JOIN "))
    assert "orders ON orders.person = people.id" in joins  # from the foreign key
