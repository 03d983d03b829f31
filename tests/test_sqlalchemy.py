"""The SQLAlchemy dialect (sqlml:///file.duckdb): pandas, reflection, transactions and jupysql."""

from __future__ import annotations

import datetime as dt
import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

import sqlml
from sqlml.sqlalchemy import SqlmlDialect, column_type

# The label is the sign of x, so every prediction of a sensible classifier is known by hand.
POINTS = "SELECT range AS id, range - 19.5 AS x, range > 19 AS y FROM range(40)"
TRAIN = (
    "CREATE OR REPLACE MODEL sign OPTIONS (model_type = 'logistic_reg', input_label_cols = ['y']) "
    "AS SELECT x, y FROM points"
)


def url(path: Path) -> str:
    return f"sqlml:///{path}"


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[sa.Engine]:
    engine = sa.create_engine(url(tmp_path / "w.duckdb"))
    yield engine
    engine.dispose()


def test_url_forms() -> None:
    dialect = SqlmlDialect()
    assert dialect.create_connect_args(sa.make_url("sqlml:///rel/w.duckdb")) == (
        ["rel/w.duckdb"],
        {"autocommit": False},
    )
    assert dialect.create_connect_args(sa.make_url("sqlml:////abs/w.duckdb"))[0] == [
        "/abs/w.duckdb"
    ]
    assert dialect.create_connect_args(sa.make_url("sqlml://"))[0] == [":memory:"]
    args = dialect.create_connect_args(sa.make_url("sqlml:///w.duckdb?read_only=true"))
    assert args[1] == {"autocommit": False, "read_only": True}
    with pytest.raises(sa.exc.ArgumentError, match="Unknown option.*mode"):
        dialect.create_connect_args(sa.make_url("sqlml:///w.duckdb?mode=ro"))
    with pytest.raises(sa.exc.ArgumentError, match="true or false"):
        dialect.create_connect_args(sa.make_url("sqlml:///w.duckdb?read_only=maybe"))


def test_entry_point_resolves_the_dialect() -> None:
    engine = sa.create_engine("sqlml://")
    assert isinstance(engine.dialect, SqlmlDialect)
    with engine.connect() as con:
        assert con.exec_driver_sql("SELECT 40 + 2").scalar() == 42
    engine.dispose()


def test_to_sql_read_sql_round_trip_and_reflection(engine: sa.Engine) -> None:
    frame = pd.DataFrame(
        {
            "id": [1, 2, 3],
            "score": [0.5, -1.25, 3.0],
            "name": ["a", "b's", None],
            "ok": [True, False, True],
            "at": pd.to_datetime(
                ["2024-01-01 10:00:00", "2024-02-29 00:00:00", "2025-12-31 23:59:59"]
            ),
        }
    )
    frame.to_sql("people", engine, index=False)
    back = pd.read_sql("SELECT * FROM people ORDER BY id", engine)
    assert back["id"].tolist() == [1, 2, 3]
    assert back["score"].tolist() == [0.5, -1.25, 3.0]
    assert back["name"].tolist()[:2] == ["a", "b's"] and pd.isna(back["name"][2])
    assert back["ok"].tolist() == [True, False, True]
    assert back["at"].tolist() == [
        pd.Timestamp(dt.datetime(2024, 1, 1, 10)),
        pd.Timestamp(dt.datetime(2024, 2, 29)),
        pd.Timestamp(dt.datetime(2025, 12, 31, 23, 59, 59)),
    ]
    frame.to_sql("people", engine, index=False, if_exists="append")
    assert pd.read_sql("SELECT count(*) AS n FROM people", engine)["n"][0] == 6

    with engine.begin() as con:
        con.exec_driver_sql("CREATE VIEW adults AS SELECT * FROM people WHERE ok")
        con.exec_driver_sql("CREATE TABLE keyed (k INTEGER PRIMARY KEY, v DECIMAL(10, 2))")
    inspector = sa.inspect(engine)
    assert inspector.get_table_names() == ["keyed", "people"]
    assert inspector.get_view_names() == ["adults"]
    assert "main" in inspector.get_schema_names()
    assert inspector.has_table("people") and inspector.has_table("adults")
    assert not inspector.has_table("nobody")
    columns = {c["name"]: c["type"] for c in inspector.get_columns("people")}
    assert list(columns) == ["id", "score", "name", "ok", "at"]
    assert isinstance(columns["id"], sa.BIGINT) and isinstance(columns["score"], sa.DOUBLE)
    assert isinstance(columns["name"], sa.VARCHAR) and isinstance(columns["ok"], sa.BOOLEAN)
    assert isinstance(columns["at"], sa.TIMESTAMP)
    assert inspector.get_pk_constraint("keyed")["constrained_columns"] == ["k"]
    numeric = inspector.get_columns("keyed")[1]["type"]
    assert isinstance(numeric, sa.NUMERIC) and (numeric.precision, numeric.scale) == (10, 2)
    with pytest.raises(sa.exc.NoSuchTableError):
        inspector.get_columns("nobody")
    table = sa.Table("people", sa.MetaData(), autoload_with=engine)
    with engine.connect() as con:
        rows = con.execute(sa.select(table.c.id).where(table.c.score > 0).order_by(table.c.id))
        assert [r.id for r in rows] == [1, 1, 3, 3]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("TIMESTAMP WITH TIME ZONE", sa.TIMESTAMP),
        ("DECIMAL(18,3)", sa.NUMERIC),
        ("INTEGER[]", sa.types.NullType),
        ("STRUCT(a INTEGER)", sa.types.NullType),
        ("UBIGINT", sa.NUMERIC),
    ],
)
def test_column_types(name: str, expected: type) -> None:
    assert isinstance(column_type(name), expected)
    assert column_type("TIMESTAMP WITH TIME ZONE").timezone is True


def test_pandas_reads_ml_predict_with_parameters(engine: sa.Engine) -> None:
    with engine.begin() as con:
        con.exec_driver_sql(f"CREATE TABLE points AS {POINTS}")
        con.exec_driver_sql(TRAIN)
    frame = pd.read_sql(
        sa.text(
            "SELECT id, x, predicted_y FROM ML.PREDICT(MODEL sign, "
            "(SELECT * FROM points WHERE id >= :low)) ORDER BY id"
        ),
        engine,
        params={"low": 30},
    )
    assert frame["id"].tolist() == list(range(30, 40))
    assert frame["predicted_y"].tolist() == [x > 0 for x in frame["x"]]
    evaluation = pd.read_sql("SELECT accuracy FROM ML.EVALUATE(MODEL sign, TABLE points)", engine)
    assert evaluation["accuracy"][0] == 1.0


def test_transactions_roll_back_and_autocommit(engine: sa.Engine) -> None:
    with engine.begin() as con:
        con.exec_driver_sql("CREATE TABLE t (v INTEGER)")
    with pytest.raises(ZeroDivisionError), engine.begin() as con:
        con.exec_driver_sql("INSERT INTO t VALUES (1)")
        raise ZeroDivisionError
    with engine.connect() as con:
        con.exec_driver_sql("INSERT INTO t VALUES (2)")  # never committed: rolled back on close
    auto = engine.execution_options(isolation_level="AUTOCOMMIT")
    with auto.connect() as con:
        assert con.get_isolation_level() == "AUTOCOMMIT"
        con.exec_driver_sql("INSERT INTO t VALUES (3)")
    with engine.connect() as con:
        assert con.exec_driver_sql("SELECT list(v) FROM t").scalar() == [3]
        assert con.get_isolation_level() == "SNAPSHOT"


def test_pool_connections_share_model_functions(engine: sa.Engine) -> None:
    """Two open connections to one file both score with a model's FUNCTION (DuckDB shares UDFs)."""
    with engine.begin() as con:
        con.exec_driver_sql(f"CREATE TABLE points AS {POINTS}")
        con.exec_driver_sql(
            "CREATE MODEL sign_fn FROM points TARGET y FUNCTION sign_of MODEL_TYPE LINEAR_LEARNER"
        )
    query = "SELECT count(*) FROM points WHERE sign_of(id, x) = y"
    with engine.connect() as first, engine.connect() as second:
        assert first.exec_driver_sql(query).scalar() == 40
        assert second.exec_driver_sql(query).scalar() == 40
        first.close()
        assert second.exec_driver_sql(query).scalar() == 40  # outlives the first connection


def _spark_connect_importable() -> bool:
    if importlib.util.find_spec("pyspark") is None:
        return True  # jupysql then skips its Spark support cleanly
    try:
        import pyspark.sql.connect.dataframe  # noqa: F401
    except ImportError:
        return False
    return True


def test_jupysql_magics_run_ml_statements(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    if not _spark_connect_importable():
        # jupysql imports pyspark.sql.connect when pyspark is installed and catches only
        # ModuleNotFoundError; without Spark Connect's grpcio that import raises another ImportError.
        # Mark the module missing, as it is for jupysql's purposes (sqlml does not use it here).
        monkeypatch.setitem(sys.modules, "pyspark.sql.connect.dataframe", None)
    config = Config()
    config.HistoryManager.enabled = False
    shell = InteractiveShell.instance(config=config)
    database = tmp_path / "notebook.duckdb"
    try:
        shell.run_line_magic("load_ext", "sql")
        shell.run_line_magic("config", "SqlMagic.displaylimit = 0")
        shell.run_line_magic("sql", url(database))
        shell.run_cell_magic("sql", "", f"CREATE TABLE points AS {POINTS}")
        shell.run_cell_magic("sql", "", TRAIN)
        result = shell.run_line_magic(
            "sql", "SELECT x, predicted_y FROM ML.PREDICT(MODEL sign, TABLE points) ORDER BY x"
        )
        frame = result.DataFrame()
        assert len(frame) == 40
        assert frame["predicted_y"].tolist() == [x > 0 for x in frame["x"]]
        # an unknown model: sqlml's message, without jupysql's "--with argument" hint (which it
        # adds to any error saying "not found")
        from IPython.core.error import UsageError

        with pytest.raises(UsageError) as info:
            shell.run_line_magic("sql", "SELECT * FROM ML.PREDICT(MODEL nope, TABLE points)")
        assert "There is no model 'nope' in ML.PREDICT. Models here: sign." in str(info.value)
        assert "--with" not in str(info.value)
        shell.run_line_magic("sql", f"--close {url(database)}")
    finally:
        InteractiveShell.clear_instance()
    with sqlml.connect(str(database)) as con:  # jupysql's statements were committed
        assert con.executor.catalog.get("sign").model_type == "logistic_reg"
