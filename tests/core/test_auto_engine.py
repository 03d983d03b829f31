"""engine='auto' without starting Spark: the routing decision (seen through EXPLAIN, which never
starts Spark, and through ``cursor.engine`` for statements that run on DuckDB), the threshold from
connect() and from SET, and the errors. Spark itself runs in tests/backends/spark/test_auto.py.

File sizes come from os.path.getsize on files written here with pyarrow; thresholds are placed
around them by hand, so each decision is known before sqlml is asked.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

pytest.importorskip("pyspark", reason="engine='auto' needs pip install 'sqlml[spark]'")

import sqlml  # noqa: E402
from sqlml.core.routing import parse_size  # noqa: E402


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    """A small and a large Parquet file (same columns), a CSV file, and a folder of Parquet."""

    def table(n: int) -> pa.Table:
        x = np.arange(n) / 10.0
        return pa.table({"x": x, "y": 3 * x + 1})

    paths = {
        "small": tmp_path / "small.parquet",
        "large": tmp_path / "large.parquet",
        "csv": tmp_path / "rows.csv",
        "folder": tmp_path / "parts",
    }
    pq.write_table(table(10), paths["small"])
    pq.write_table(table(5000), paths["large"])
    paths["csv"].write_text("x,y\n" + "".join(f"{i},{3 * i + 1}\n" for i in range(50)))
    (paths["folder"] / "a=1").mkdir(parents=True)
    pq.write_table(table(30), paths["folder"] / "a=1" / "p0.parquet")
    pq.write_table(table(40), paths["folder"] / "p1.parquet")
    return paths


def size(path: Path) -> int:
    return os.path.getsize(path)


@pytest.fixture
def con(tmp_path: Path, files: dict[str, Path]) -> Iterator[sqlml.Connection]:
    """Auto connection whose threshold lies between the small and the large file."""
    threshold = (size(files["small"]) + size(files["large"])) // 2
    connection = sqlml.connect(
        str(tmp_path / "w.duckdb"), spark_master="local[1]", spark_threshold=threshold
    )
    connection.execute(
        "CREATE TABLE t AS SELECT i / 10 AS x, 3 * i / 10 + 1 AS y FROM range(8) r(i)"
    )
    yield connection
    assert not connection._router.spark_started, "EXPLAIN and DuckDB statements never start Spark"
    connection.close()


def plan(con: sqlml.Connection, sql: str) -> list[tuple[str, str, str, str | None]]:
    return con.execute("EXPLAIN " + sql).fetchall()


TRAIN = "CREATE MODEL m OPTIONS (model_type = 'linear_reg', input_label_cols = ['y']) AS "


def test_connect_arguments_pick_auto(tmp_path: Path) -> None:
    con = sqlml.connect(str(tmp_path / "a.duckdb"), spark_master="local[1]")
    assert con.engine == "auto" and con.spark_threshold == 2**30  # 1 GiB by default
    con.spark_threshold = "2GB"
    assert con.spark_threshold == 2_000_000_000
    con.close()
    con = sqlml.connect(engine="auto", spark_threshold=123)
    assert con.engine == "auto" and con.spark_threshold == 123
    con.close()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (1234, 1234),
        ("1234", 1234),
        ("100MB", 100_000_000),
        ("512 mb", 512_000_000),
        ("4GiB", 4 * 1024**3),
        ("1.5 KiB", 1536),
        ("2TB", 2 * 10**12),
    ],
)
def test_threshold_forms(text: int | str, expected: int) -> None:
    assert parse_size(text) == expected


@pytest.mark.parametrize("bad", ["1 GX", "lots", -5, 1.5, True, ""])
def test_bad_threshold_names_the_accepted_forms(tmp_path: Path, bad: object) -> None:
    with pytest.raises(sqlml.InterfaceError, match=r"'512MB', '4GiB'.*KiB, MiB, GiB"):
        sqlml.connect(str(tmp_path / "b.duckdb"), spark_master="local[1]", spark_threshold=bad)


def test_create_model_routes_by_the_size_of_its_files(
    con: sqlml.Connection, files: dict[str, Path]
) -> None:
    small = plan(con, TRAIN + f"SELECT x, y FROM read_parquet('{files['small']}')")
    assert [r[:2] for r in small] == [
        ("training query", "duckdb"),
        ("training", "duckdb"),
        ("catalog", "duckdb"),
    ]
    assert "below the threshold" in small[0][2]
    assert small[0][3] == f"SELECT x, y FROM read_parquet('{files['small']}')"

    large = plan(con, TRAIN + f"SELECT x, y FROM '{files['large']}' WHERE x > 1")
    assert [r[:2] for r in large] == [
        ("file source", "spark"),
        ("training query", "spark"),
        ("training", "spark"),
        ("catalog", "duckdb"),
    ]
    assert large[0][3] == f"spark.read.parquet('{files['large']}')"
    assert large[1][2].startswith("reads 1 Parquet file of ")
    assert "at or above the threshold" in large[1][2]
    assert large[1][3] == "SELECT x, y FROM `__sqlml_file_1` WHERE x > 1"
    assert large[2][2] == (
        "Spark MLlib on the executors when the query has more than local_training_rows rows "
        "(100,000), else scikit-learn on the collected rows"
    )
    assert "DuckDB database" in large[3][2] and large[3][2].startswith("model m is stored as")


def test_threshold_is_inclusive_and_files_add_up(
    con: sqlml.Connection, files: dict[str, Path]
) -> None:
    small = size(files["small"])
    twice = f"SELECT * FROM read_parquet(['{files['small']}', '{files['small']}'])"
    con.spark_threshold = 2 * small
    assert plan(con, TRAIN + twice)[0][1] == "spark"  # lists add up; >= goes to Spark
    con.spark_threshold = 2 * small + 1
    assert plan(con, TRAIN + twice)[0][1] == "duckdb"
    # a glob, '**' recursive, and a folder summed recursively: the same two files
    folder = files["folder"]
    both = size(folder / "a=1" / "p0.parquet") + size(folder / "p1.parquet")
    con.spark_threshold = both
    for source in (f"'{folder}/**/*.parquet'", f"read_parquet('{folder}')"):
        rows = plan(con, TRAIN + f"SELECT * FROM {source}")
        assert rows[1][:2] == ("training query", "spark"), source
        assert "reads" in rows[1][2]
    con.spark_threshold = both + 1
    assert plan(con, TRAIN + f"SELECT * FROM '{folder}/**/*.parquet'")[0][1] == "duckdb"


def test_set_changes_the_threshold_for_the_connection(
    con: sqlml.Connection, files: dict[str, Path]
) -> None:
    query = TRAIN + f"SELECT * FROM '{files['small']}'"
    assert plan(con, query)[0][1] == "duckdb"
    assert size(files["small"]) > 500
    cur = con.execute("SET sqlml.spark_threshold = '0.5 kB'")
    assert cur.description is None and cur.statusmessage == "SET"
    assert con.spark_threshold == 500
    assert plan(con, query)[1][:2] == ("training query", "spark")
    con.execute("SET sqlml.spark_threshold TO 1000000000")
    assert plan(con, query)[0][1] == "duckdb"
    con.execute("RESET sqlml.spark_threshold")
    assert con.spark_threshold == 2**30
    with pytest.raises(sqlml.ProgrammingError, match="'512MB', '4GiB'"):
        con.execute("SET sqlml.spark_threshold = 'huge'")


def test_predict_routes_by_its_input(con: sqlml.Connection, files: dict[str, Path]) -> None:
    rows = plan(
        con,
        f"SELECT x, predicted_y FROM ML.PREDICT(MODEL m, (SELECT * FROM '{files['large']}' "
        "WHERE x < 1)) AS p WHERE x > 0.5",
    )
    assert [r[:2] for r in rows] == [
        ("file source", "spark"),
        ("ML.PREDICT(MODEL m) input", "spark"),
        ("statement", "spark"),
    ]
    assert rows[1][3] == "SELECT * FROM `__sqlml_file_1` WHERE x < 1"
    assert "scored on the executors" in rows[1][2]
    assert rows[2][3] == "SELECT x, predicted_y FROM `__sqlml_predict_1` AS p WHERE x > 0.5"
    on_table = plan(con, "SELECT * FROM ML.PREDICT(MODEL m, TABLE t)")
    assert on_table[0][1:] == (
        "duckdb",
        "reads DuckDB table t; read as Arrow batches through ONNX Runtime in this process",
        "SELECT * FROM t",
    )


def test_what_stays_on_duckdb(con: sqlml.Connection, files: dict[str, Path]) -> None:
    large = files["large"]
    cases = {
        f"SELECT * FROM t JOIN '{large}' USING (x)": "reads DuckDB table t as well as files",
        "SELECT 42": "reads no table or file",
        f"SELECT * FROM read_csv('{files['csv']}', delim = ',')": "options (delim = ',') have no",
        f"SELECT * FROM read_json('{large}')": "read_json() reads files that only DuckDB",
        "SELECT * FROM range(3)": "reads DuckDB table function range()",
    }
    con.spark_threshold = 1
    for sql, reason in cases.items():
        rows = plan(con, TRAIN + sql)
        assert rows[0][1] == "duckdb" and reason in rows[0][2], (sql, rows[0])
    cur = con.execute(f"CREATE TABLE copied AS SELECT * FROM '{large}'")  # a write into DuckDB
    assert (cur.engine, cur.engine_reason) == ("duckdb", "writes DuckDB table copied")
    cur = con.execute(f"INSERT INTO t SELECT * FROM '{files['small']}'")
    assert (cur.engine, cur.engine_reason) == ("duckdb", "writes DuckDB table t")
    assert con.execute("SELECT count(*) FROM t").fetchone() == (18,)


def test_csv_counts_as_a_file_both_engines_read(
    con: sqlml.Connection, files: dict[str, Path]
) -> None:
    con.spark_threshold = size(files["csv"])
    rows = plan(con, TRAIN + f"SELECT * FROM read_csv_auto('{files['csv']}')")
    assert rows[0] == (
        "file source",
        "spark",
        "read as temporary view __sqlml_file_1, dropped after the statement",
        f'spark.read.option("header", True).option("inferSchema", True).csv([\'{files["csv"]}\'])',
    )


def test_small_statements_run_on_duckdb(con: sqlml.Connection, files: dict[str, Path]) -> None:
    cur = con.execute(f"SELECT count(*), sum(y) FROM '{files['small']}'")
    assert cur.engine == "duckdb" and "below the threshold" in cur.engine_reason
    assert cur.fetchone() == (10, pytest.approx(sum(3 * i / 10 + 1 for i in range(10))))
    con.execute(TRAIN + f"SELECT x, y FROM '{files['small']}'")
    cur = con.execute("SELECT x, predicted_y FROM ML.PREDICT(MODEL m, TABLE t) ORDER BY x")
    assert cur.engine == "duckdb"
    for x, predicted in cur.fetchall():
        assert predicted == pytest.approx(3 * x + 1, abs=1e-4)


def test_missing_files_get_duckdbs_error(con: sqlml.Connection, tmp_path: Path) -> None:
    missing = tmp_path / "nothing.parquet"
    assert plan(con, TRAIN + f"SELECT * FROM '{missing}'")[0][2] == f"no file matches '{missing}'"
    with pytest.raises(sqlml.Error, match="nothing.parquet"):
        con.execute(f"SELECT * FROM '{missing}'")


def test_forcing_spark_needs_files(con: sqlml.Connection, files: dict[str, Path]) -> None:
    forced = (
        "CREATE MODEL m OPTIONS (model_type = 'linear_reg', input_label_cols = ['y'], "
        "engine = 'spark') AS "
    )
    rows = plan(con, forced + f"SELECT * FROM '{files['small']}'")
    assert rows[1][:2] == ("training query", "spark")
    assert rows[1][2].startswith("OPTIONS (engine = 'spark') of CREATE MODEL; reads 1 Parquet")
    assert rows[2][2] == "Spark MLlib on the executors (OPTIONS engine = 'spark')"
    pca = plan(con, forced.replace("'linear_reg'", "'pca'") + f"SELECT * FROM '{files['small']}'")
    assert pca[2][2] == (
        "numpy on the executors (statistics / L-BFGS gradients as Spark jobs) "
        "(OPTIONS engine = 'spark')"
    )
    with pytest.raises(sqlml.NotSupportedError, match="reads DuckDB table t"):
        plan(con, forced + "SELECT * FROM t")
    kept = TRAIN.replace("['y'])", "['y'], engine = 'duckdb')")
    rows = plan(con, kept + f"SELECT * FROM '{files['large']}'")
    assert rows[0][:2] == ("training query", "duckdb")
    assert rows[0][2].startswith("OPTIONS (engine = 'duckdb') of CREATE MODEL; reads 1 Parquet")
    assert rows[1][2] == "scikit-learn on the rows read into this process"


def test_cli_reaches_auto(
    tmp_path: Path, files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    from sqlml.cli import main

    database = str(tmp_path / "cli.duckdb")
    query = TRAIN + f"SELECT * FROM '{files['small']}'"
    args = ["-d", database, "--spark-master", "local[1]", "--format", "csv"]
    assert main([*args, "--spark-threshold", "500B", "-c", "EXPLAIN " + query]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "step,engine,reason,sql"
    assert out[1].startswith("file source,spark,")
    assert main([*args, "-c", "EXPLAIN " + query]) == 0  # default threshold: DuckDB
    assert capsys.readouterr().out.splitlines()[1].startswith("training query,duckdb,")
    assert main([*args, "--spark-threshold", "big", "-c", "SELECT 1"]) == 1
    assert "'512MB', '4GiB'" in capsys.readouterr().err


def test_transform_keeps_training_on_duckdb(con: sqlml.Connection, files: dict[str, Path]) -> None:
    con.spark_threshold = 1
    rows = plan(
        con,
        "CREATE MODEL m TRANSFORM (x * 2 AS x2, y) "
        "OPTIONS (model_type = 'linear_reg', input_label_cols = ['y']) "
        f"AS SELECT x, y FROM '{files['large']}'",
    )
    assert rows[0][:2] == ("training query", "duckdb")
    assert rows[0][2].endswith("; but TRANSFORM is not yet supported on Spark")
    con.execute(
        "CREATE MODEL m TRANSFORM (x * 2 AS x2, y) "
        "OPTIONS (model_type = 'linear_reg', input_label_cols = ['y']) AS SELECT x, y FROM t"
    )
    rows = plan(con, f"SELECT * FROM ML.PREDICT(MODEL m, (SELECT * FROM '{files['large']}'))")
    assert rows[0][1] == "duckdb"
    assert rows[0][2].startswith("reads 1 Parquet file of ")
    assert "but model m's TRANSFORM computes columns in SQL" in rows[0][2]


def test_auto_checks_spark_scoring_before_spark_starts(tmp_path: Path) -> None:
    with pytest.raises(sqlml.InterfaceError, match="spark_scoring must be one of"):
        sqlml.connect(str(tmp_path / "w.duckdb"), spark_master="local[1]", spark_scoring="fast")
    con = sqlml.connect(str(tmp_path / "w.duckdb"), spark_master="local[1]", spark_scoring="arrow")
    try:
        assert con.cursor().execute("SELECT 1").fetchall() == [(1,)]  # DuckDB; Spark not started
    finally:
        con.close()
