"""GUI tools over JDBC: the real PostgreSQL JDBC driver (pgjdbc, as DBeaver, DataGrip and most BI
tools use it) calling the ``DatabaseMetaData`` methods a tool calls on connecting and on opening a
table — schemas, tables, columns, primary, imported and exported keys, indexes, functions and
their columns, type info — plus ``setDate`` / ``setTimestamp`` with a Calendar's zone, through
``sqlml serve``. psql's ``\\df`` lists the model's function. Expected values come from the tables'
own DDL below (JDBC's documented result columns: java.sql.DatabaseMetaData)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from hang import HANG
from server_helpers import ServerProcess, needs_psql, psql, serve_process

import sqlml

JDBC_JAR = Path("/usr/share/java/postgresql.jar")
needs_jdbc = pytest.mark.skipif(
    not JDBC_JAR.exists() or shutil.which("javac") is None,
    reason="needs a JDK and the PostgreSQL JDBC driver (apt libpostgresql-jdbc-java)",
)

SETUP = [
    "CREATE TABLE people (id INTEGER PRIMARY KEY, name VARCHAR NOT NULL, score DOUBLE)",
    "INSERT INTO people SELECT i, 'p' || i, i * 1.5 FROM range(10) t(i)",
    "CREATE TABLE orders (oid INTEGER PRIMARY KEY, person INTEGER REFERENCES people(id), day DATE)",
    "INSERT INTO orders VALUES (1, 1, DATE '2026-05-06'), (2, 2, DATE '2026-05-07')",
    "CREATE TABLE lines (order_id INTEGER, line_no INTEGER, qty INTEGER, "
    "PRIMARY KEY (order_id, line_no))",
    "CREATE INDEX people_name ON people (name)",
    "CREATE TABLE many AS SELECT i AS id, (i % 10) * 1.5 AS x FROM range(5000) t(i)",
    "CREATE MODEL spend FROM (SELECT score AS x, id % 2 AS y FROM people) TARGET y "
    "FUNCTION predict_y",
]

# Each call prints "<call>|<column>=<value>|..." per row, or "<call> FAILED <message>".
PROBE = r"""
import java.sql.*;
import java.util.*;
public class Metadata {
    interface Call { ResultSet run() throws SQLException; }
    static void rows(String name, Call call, String... columns) {
        try (ResultSet rs = call.run()) {
            while (rs.next()) {
                StringBuilder line = new StringBuilder(name);
                for (String c : columns) line.append("|").append(c).append("=").append(rs.getString(c));
                System.out.println(line);
            }
            System.out.println(name + " DONE");
        } catch (SQLException e) {
            System.out.println(name + " FAILED " + e.getMessage().split("\n")[0]);
        }
    }
    public static void main(String[] args) throws Exception {
        String url = "jdbc:postgresql://127.0.0.1:" + args[0] + "/sqlml";
        try (Connection c = DriverManager.getConnection(url, "dbeaver", "")) {
            DatabaseMetaData md = c.getMetaData();
            rows("schemas", () -> md.getSchemas(), "TABLE_SCHEM");
            rows("tables", () -> md.getTables(null, "main", "%", new String[] {"TABLE"}), "TABLE_NAME");
            rows("columns", () -> md.getColumns(null, "main", "orders", "%"), "COLUMN_NAME", "TYPE_NAME");
            rows("pk", () -> md.getPrimaryKeys(null, "main", "people"), "COLUMN_NAME", "KEY_SEQ", "PK_NAME");
            rows("pk2", () -> md.getPrimaryKeys(null, "main", "lines"), "COLUMN_NAME", "KEY_SEQ");
            rows("imported", () -> md.getImportedKeys(null, "main", "orders"),
                 "PKTABLE_NAME", "PKCOLUMN_NAME", "FKTABLE_NAME", "FKCOLUMN_NAME", "KEY_SEQ", "FK_NAME", "PK_NAME");
            rows("exported", () -> md.getExportedKeys(null, "main", "people"), "FKTABLE_NAME", "FKCOLUMN_NAME");
            rows("indexes", () -> md.getIndexInfo(null, "main", "people", false, true),
                 "INDEX_NAME", "NON_UNIQUE", "COLUMN_NAME", "ORDINAL_POSITION");
            rows("bestrow", () -> md.getBestRowIdentifier(null, "main", "people", DatabaseMetaData.bestRowSession, true), "COLUMN_NAME");
            rows("functions", () -> md.getFunctions(null, null, "predict%"), "FUNCTION_SCHEM", "FUNCTION_NAME");
            rows("functioncolumns", () -> md.getFunctionColumns(null, null, "predict_y", "%"),
                 "COLUMN_NAME", "COLUMN_TYPE", "TYPE_NAME");
            rows("procedures", () -> md.getProcedures(null, null, "%"), "PROCEDURE_NAME");
            rows("typeinfo", () -> md.getTypeInfo(), "TYPE_NAME");
            rows("udts", () -> md.getUDTs(null, null, "%", null), "TYPE_NAME");
            rows("privileges", () -> md.getTablePrivileges(null, "main", "people"), "PRIVILEGE");
            rows("clientinfo", () -> md.getClientInfoProperties(), "NAME", "MAX_LEN");
            // a table opened in the grid
            rows("grid", () -> c.createStatement().executeQuery("SELECT * FROM main.people ORDER BY id LIMIT 3"), "id", "name");
            try (PreparedStatement p = c.prepareStatement(
                    "SELECT ?::DATE AS d, ?::TIMESTAMP AS t, ?::TIMESTAMPTZ AS tz, "
                    + "(SELECT count(*) FROM orders WHERE day = ?) AS n")) {
                p.setDate(1, java.sql.Date.valueOf("2026-05-06"));
                p.setTimestamp(2, java.sql.Timestamp.valueOf("2026-05-06 10:11:12.5"));
                // 10:11:12 in the JVM's zone (UTC here), written out in New York's: the same instant
                p.setTimestamp(3, java.sql.Timestamp.valueOf("2026-05-06 10:11:12"),
                               Calendar.getInstance(TimeZone.getTimeZone("America/New_York")));
                p.setDate(4, java.sql.Date.valueOf("2026-05-06"),
                          Calendar.getInstance(TimeZone.getTimeZone("Asia/Tokyo")));
                rows("dates", () -> p.executeQuery(), "d", "t", "tz", "n");
            }
            // a large result read with a fetch size (a grid's default): pgjdbc executes the portal
            // 500 rows at a time inside a transaction, and the server streams them
            c.setAutoCommit(false);
            try (Statement s = c.createStatement()) {
                s.setFetchSize(500);
                long count = 0, positives = 0, last = -1;
                boolean ordered = true;
                try (ResultSet rs = s.executeQuery(
                        "SELECT id, predicted_y FROM ML.PREDICT(MODEL spend, TABLE many) ORDER BY id")) {
                    while (rs.next()) {
                        count++;
                        positives += rs.getLong(2);
                        ordered &= rs.getLong(1) == last + 1;
                        last = rs.getLong(1);
                    }
                }
                System.out.println("fetched|rows=" + count + "|positives=" + positives + "|ordered=" + ordered);
            }
            c.commit();
        }
    }
}
"""


POSITIVES: list[int] = []


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    path = str(tmp_path_factory.mktemp("jdbc") / "jdbc.duckdb")
    with sqlml.connect(path) as connection:
        for statement in SETUP:
            connection.execute(statement)
        # the reference, through the DB-API in process before the server holds the file
        POSITIVES[:] = connection.execute(
            "SELECT sum(predicted_y) FROM ML.PREDICT(MODEL spend, TABLE many)"
        ).fetchone()
    with serve_process("-d", path) as process:
        yield process
    assert "Traceback" not in process.log


@pytest.fixture(scope="module")
def probe(server: ServerProcess, tmp_path_factory: pytest.TempPathFactory) -> dict[str, list]:
    folder = tmp_path_factory.mktemp("probe")
    (folder / "Metadata.java").write_text(PROBE)
    javac = shutil.which("javac")
    assert javac is not None
    subprocess.run(
        [javac, "-cp", str(JDBC_JAR), "Metadata.java"], cwd=folder, check=True, timeout=HANG
    )
    done = subprocess.run(
        ["java", "-Duser.timezone=UTC", "-cp", f".:{JDBC_JAR}", "Metadata", str(server.port)],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=HANG,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    calls: dict[str, list] = {}
    for line in done.stdout.splitlines():
        name, _, rest = line.partition("|")
        if " FAILED " in name:
            calls[name.split(" ")[0]] = ["FAILED", name]
        elif name.endswith(" DONE"):
            calls.setdefault(name[: -len(" DONE")], [])
        else:
            row = dict(item.split("=", 1) for item in rest.split("|"))
            calls.setdefault(name, []).append(row)
    return calls


@needs_jdbc
@pytest.mark.slow
def test_every_call_answers(probe: dict[str, list]) -> None:
    failed = {name: rows for name, rows in probe.items() if rows[:1] == ["FAILED"]}
    assert not failed
    assert {r["TABLE_SCHEM"] for r in probe["schemas"]} == {"main", "sqlml", "pg_catalog"}
    # ApplicationName, as long as pg_catalog's "name" type allows (PostgreSQL: 63 bytes)
    assert probe["clientinfo"] == [{"NAME": "ApplicationName", "MAX_LEN": "63"}]
    assert {"people", "orders", "lines"} <= {r["TABLE_NAME"] for r in probe["tables"]}
    assert [(r["COLUMN_NAME"], r["TYPE_NAME"]) for r in probe["columns"]] == [
        ("oid", "int4"),
        ("person", "int4"),
        ("day", "date"),
    ]
    assert probe["grid"] == [
        {"id": "0", "name": "p0"},
        {"id": "1", "name": "p1"},
        {"id": "2", "name": "p2"},
    ]
    # the types a tool offers in its editors: PostgreSQL's names
    assert {"int4", "int8", "float8", "text", "bool", "date", "timestamp"} <= {
        r["TYPE_NAME"] for r in probe["typeinfo"]
    }


@needs_jdbc
@pytest.mark.slow
def test_keys_and_indexes(probe: dict[str, list]) -> None:
    assert probe["pk"] == [{"COLUMN_NAME": "id", "KEY_SEQ": "1", "PK_NAME": "people_id_pkey"}]
    assert probe["pk2"] == [
        {"COLUMN_NAME": "order_id", "KEY_SEQ": "1"},
        {"COLUMN_NAME": "line_no", "KEY_SEQ": "2"},
    ]
    assert probe["imported"] == [
        {
            "PKTABLE_NAME": "people",
            "PKCOLUMN_NAME": "id",
            "FKTABLE_NAME": "orders",
            "FKCOLUMN_NAME": "person",
            "KEY_SEQ": "1",
            "FK_NAME": "orders_person_id_fkey",
            "PK_NAME": "people_id_pkey",
        }
    ]
    assert probe["exported"] == [{"FKTABLE_NAME": "orders", "FKCOLUMN_NAME": "person"}]
    indexes = {(r["INDEX_NAME"], r["NON_UNIQUE"], r["COLUMN_NAME"]) for r in probe["indexes"]}
    assert indexes == {("people_id_pkey", "f", "id"), ("people_name", "t", "name")}
    assert probe["bestrow"] == [{"COLUMN_NAME": "id"}]


@needs_jdbc
@pytest.mark.slow
def test_the_model_function_is_listed(probe: dict[str, list]) -> None:
    functions = {(r["FUNCTION_SCHEM"], r["FUNCTION_NAME"]) for r in probe["functions"]}
    # the FUNCTION and the _probabilities one Redshift's form registers beside it
    assert functions == {("main", "predict_y"), ("main", "predict_y_probabilities")}
    columns = [
        (r["COLUMN_NAME"], r["COLUMN_TYPE"], r["TYPE_NAME"]) for r in probe["functioncolumns"]
    ]
    # functionReturn = 4 (the label, bigint), functionColumnIn = 1 (the feature, double)
    assert columns == [("returnValue", "4", "int8"), ("$1", "1", "float8")]


@needs_jdbc
@pytest.mark.slow
def test_set_date_and_timestamp_with_zones(probe: dict[str, list]) -> None:
    # setDate sends "2026-05-06 +09" (its Calendar's zone): a date is a date in any zone;
    # setTimestamp with New York's Calendar names the instant 10:11:12 UTC as 06:11:12-04
    assert probe["dates"] == [
        {"d": "2026-05-06", "t": "2026-05-06 10:11:12.5", "tz": "2026-05-06 10:11:12+00", "n": "1"}
    ]


@needs_jdbc
@pytest.mark.slow
def test_a_fetch_size_streams_a_large_result(probe: dict[str, list]) -> None:
    assert probe["fetched"] == [{"rows": "5000", "positives": str(POSITIVES[0]), "ordered": "true"}]


@needs_psql
def test_psql_df_lists_the_model_function(server: ServerProcess) -> None:
    done = psql(server.port, "\\df")
    assert done.returncode == 0, done.stderr
    listed = [line.split("|") for line in done.stdout.splitlines() if line.startswith("main|")]
    assert ["main", "predict_y", "bigint", "col0 double precision", "func"] in listed
    assert {row[1] for row in listed} == {"predict_y", "predict_y_probabilities"}
    pattern = psql(server.port, "\\df predict_y")
    assert "main|predict_y|bigint|col0 double precision|func" in pattern.stdout
