"""sqlml through Spark Connect: a Connect server from the pyspark wheel on 127.0.0.1 (its own
local[2] Spark inside), reached as ``sc://127.0.0.1:<port>``.

pyspark switches a whole process to Connect mode, and the test run holds a classic local session,
so the statements run in a driver subprocess (this file run as a script) that prints its results
as JSON, as test_cluster.py does. The server's Python workers run a Python that cannot import the
installed sqlml (``bare_python``: no .pth files), so scoring works only if sqlml ships
``sqlml_udfs`` to the session as an artifact. Expected values: written by hand from how the rows
are made, or ONNX Runtime (and scikit-learn's metrics) run here on the catalog's bytes over the
same rows; never sqlml's own output.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from cluster import (
    bare_python,
    connect_server,
    driver_tables,
    free_port,
    onnx_outputs,
    prob_true,
)

import sqlml

pytestmark = [pytest.mark.spark]

#: The driver subprocess: a Connect session opens in ~2 s; MLlib training and the jobs take longer.
#: (Only to stop a hang; this file is also the driver script, run where tests/hang.py is not on
#: the path, so the bound is its own.)
DRIVER_TIMEOUT = 900


# --- the driver, run in a subprocess -------------------------------------------------------------


def _rows(con: Any, sql: str) -> list[list[Any]]:
    cur = con.cursor()
    cur.execute(sql)
    return [list(row) for row in cur.fetchall()]


def _error(con: Any, sql: str) -> str:
    try:
        _rows(con, sql)
    except sqlml.Error as exc:
        return f"{type(exc).__name__}: {exc}"
    return "no error"


def _worker_udfs(spark: Any) -> str:
    """Where a Python worker of the server imports sqlml_udfs from."""

    def where(batches: Any) -> Any:
        import sqlml_udfs

        for batch in batches:
            yield pa.RecordBatch.from_arrays(
                [pa.array([sqlml_udfs.__file__] * batch.num_rows)], names=["file"]
            )

    return spark.range(1).mapInArrow(where, "file string").toArrow().column(0)[0].as_py()


def drive(url: str, export: str) -> dict[str, Any]:
    """test_cluster.py's statements, and ML.EVALUATE, through ``url``."""
    started = time.monotonic()
    timings: dict[str, float] = {}

    def lap(step: str) -> None:
        timings[step] = round(time.monotonic() - started - sum(timings.values()), 2)

    con = sqlml.connect(
        engine="spark", spark_master=url, config={"spark.sql.shuffle.partitions": "2"}
    )
    spark = con.executor.backend.spark
    out: dict[str, Any] = {"session": type(spark).__module__, "timings": timings}
    out["shuffle_partitions"] = spark.conf.get("spark.sql.shuffle.partitions")
    for name, table in driver_tables().items():
        spark.createDataFrame(table).createOrReplaceTempView(name)
    lap("connect")
    out["udfs_on_workers"] = _worker_udfs(spark)
    lap("first_job")
    con.execute(
        "CREATE MODEL lr_spark OPTIONS (model_type = 'linear_reg', input_label_cols = ['y'], "
        "engine = 'spark') AS SELECT x1, x2, y FROM reg"
    )
    lap("create_mllib_linear")
    con.execute(
        "CREATE MODEL rf_spark OPTIONS (model_type = 'random_forest_classifier', "
        "input_label_cols = ['y'], engine = 'spark', num_parallel_tree = 3, max_tree_depth = 3) "
        "AS SELECT x1, x2, cat, y FROM bin"
    )
    lap("create_mllib_forest")
    con.execute(
        "CREATE MODEL fn_model FROM (SELECT x1, x2, cat, y FROM bin) TARGET y FUNCTION predict_y"
    )
    lap("create_collected")
    for name in ("lr_spark", "rf_spark", "fn_model"):
        record = con.executor.catalog.get(name)
        out[name] = {
            "training_path": record.training_info["training_path"],
            "onnx": base64.b64encode(record.onnx).decode("ascii"),
        }
    out["lr_predict"] = _rows(
        con, "SELECT id, predicted_y FROM ML.PREDICT(MODEL lr_spark, TABLE reg) ORDER BY id"
    )
    out["rf_predict"] = _rows(
        con,
        "SELECT id, predicted_y, predicted_y_probs FROM ML.PREDICT(MODEL rf_spark, TABLE bin) "
        "ORDER BY id",
    )
    out["fn_predict"] = _rows(
        con,
        "SELECT id, predicted_y, predicted_y_probs FROM ML.PREDICT(MODEL fn_model, TABLE bin) "
        "ORDER BY id",
    )
    lap("predict")
    cur = con.cursor()
    for name, table in (("lr_spark", "reg"), ("fn_model", "bin")):
        cur.execute(f"SELECT * FROM ML.EVALUATE(MODEL {name}, TABLE {table})")
        columns = [d[0] for d in cur.description]
        out[f"{name}_evaluate"] = dict(zip(columns, cur.fetchone(), strict=True))
    lap("evaluate")
    out["fn_call"] = _rows(
        con,
        "SELECT id, predict_y(x1, x2, cat), predict_y_probabilities(x1, x2, cat) FROM bin "
        "ORDER BY id",
    )
    lap("function")
    # A second connection has a Connect session of its own: not the first one's temporary views,
    # but the catalog (a table) and so the model's function, registered by its own connection.
    other = sqlml.connect(engine="spark", spark_master=url)
    out["other_sees_view"] = _error(other, "SELECT count(*) FROM bin")
    out["other_call"] = _rows(
        other,
        "SELECT predict_y(x1, x2, cat) FROM VALUES (2.0, 1.0, 'p'), (-2.0, 1.0, 'q') AS t(x1, x2, cat)",
    )
    other.close()
    # spark= takes a Connect session too, and leaves it running on close
    given = sqlml.connect(spark=spark)
    out["given_session"] = _rows(
        given, "SELECT count(*) FROM ML.PREDICT(MODEL lr_spark, TABLE reg)"
    )
    given.close()
    con.execute(f"EXPORT MODEL lr_spark OPTIONS (uri = '{export}')")
    con.execute("DROP MODEL fn_model")
    out["after_drop"] = sorted(r[0] for r in _rows(con, "SHOW MODELS"))
    out["call_after_drop"] = _error(con, "SELECT predict_y(x1, x2, cat) FROM bin")
    lap("drop")
    con.close()
    return out


# --- the server and the driver's results -----------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    folder = tmp_path_factory.mktemp("connect")
    executor_python = bare_python(folder)
    with connect_server(folder / "server", executor_python) as running:
        print(f"Spark Connect server listening after {running.started_in:.1f} s")
        yield running


@pytest.fixture(scope="module")
def result(server: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    export = tmp_path_factory.mktemp("export") / "lr_spark.onnx"
    driver = subprocess.run(
        [sys.executable, __file__, server.url, str(export)],
        capture_output=True,
        text=True,
        timeout=DRIVER_TIMEOUT,
    )
    lines = [line for line in driver.stdout.splitlines() if line.startswith("SQLML-RESULT ")]
    assert driver.returncode == 0 and lines, f"{driver.stderr[-6000:]}\n{server.log_tail()}"
    out = json.loads(lines[-1].removeprefix("SQLML-RESULT "))
    out["export"] = str(export)
    out["timings"] = {"server_up": round(server.started_in, 2), **out["timings"]}
    print(f"Spark Connect timings (s): {out['timings']}")  # shown with pytest -s
    return out


@pytest.mark.slow
def test_a_connect_session_ships_the_udfs_as_an_artifact(result: dict[str, Any]) -> None:
    assert result["session"].startswith("pyspark.sql.connect")
    assert result["shuffle_partitions"] == "2"  # config= applied as a session setting
    # the server's workers cannot import sqlml_udfs (bare_python): it came as the session's pyfile
    assert result["udfs_on_workers"].endswith("sqlml_udfs/__init__.py")
    assert "sqlml_udfs.zip" in result["udfs_on_workers"]


@pytest.mark.slow
def test_mllib_linear_reg_through_connect(result: dict[str, Any]) -> None:
    model = result["lr_spark"]
    assert model["training_path"] == "spark_mllib"
    table = driver_tables()["reg"]
    assert [r[0] for r in result["lr_predict"]] == list(range(table.num_rows))
    predicted = np.array([r[1] for r in result["lr_predict"]])
    x1 = np.array(table.column("x1").to_pylist())
    np.testing.assert_allclose(predicted, 3 * x1 + 2, atol=1e-3)  # y = 3 x1 + 2 exactly
    here = next(iter(onnx_outputs(model["onnx"], table, ["x1", "x2"], []).values())).ravel()
    np.testing.assert_allclose(predicted, here, rtol=3e-7, atol=1e-6)  # float32 rounding
    y = np.array(table.column("y").to_pylist())
    metrics = result["lr_spark_evaluate"]
    np.testing.assert_allclose(metrics["mean_absolute_error"], np.mean(np.abs(here - y)), atol=1e-6)
    np.testing.assert_allclose(metrics["mean_squared_error"], np.mean((here - y) ** 2), atol=1e-8)
    assert metrics["r2_score"] > 0.999999


@pytest.mark.slow
def test_mllib_forest_through_connect(result: dict[str, Any], server: Any) -> None:
    model = result["rf_spark"]
    assert model["training_path"] == "spark_mllib"
    table = driver_tables()["bin"]
    outputs = onnx_outputs(model["onnx"], table, ["x1", "x2"], ["cat"])
    here = outputs["probabilities"][:, 1]
    predicted = result["rf_predict"]
    assert [r[0] for r in predicted] == list(range(table.num_rows))
    np.testing.assert_allclose([prob_true(r[2]) for r in predicted], here, atol=1e-6)
    assert [r[1] for r in predicted] == (here > 0.5).tolist()
    # the trees were saved under the warehouse to be read back; a worker deleted the folder
    assert list((server.warehouse / "_sqlml_tmp").iterdir()) == []


@pytest.mark.slow
def test_collected_model_predicts_evaluates_and_its_function_runs(
    result: dict[str, Any],
) -> None:
    from sklearn.metrics import accuracy_score, log_loss, roc_auc_score

    model = result["fn_model"]
    assert model["training_path"] == "scikit-learn"  # 60 rows: collected to the client
    table = driver_tables()["bin"]
    predicted, called = result["fn_predict"], result["fn_call"]
    truth = table.column("y").to_pylist()
    assert [r[1] for r in predicted] == truth  # separable at x1 = 0
    assert [r[1] for r in called] == truth
    here = onnx_outputs(model["onnx"], table, ["x1", "x2"], ["cat"])["probabilities"][:, 1]
    np.testing.assert_allclose([prob_true(r[2]) for r in predicted], here, atol=1e-6)
    np.testing.assert_allclose([prob_true(r[2]) for r in called], here, atol=1e-6)
    metrics = result["fn_model_evaluate"]
    assert metrics["accuracy"] == pytest.approx(accuracy_score(truth, here > 0.5))
    assert metrics["roc_auc"] == pytest.approx(roc_auc_score(truth, here), abs=1e-6)
    assert metrics["log_loss"] == pytest.approx(log_loss(truth, here), abs=1e-5)


@pytest.mark.slow
def test_each_connection_has_its_own_session_and_registrations(result: dict[str, Any]) -> None:
    assert result["other_sees_view"].startswith("ProgrammingError")
    assert "bin" in result["other_sees_view"]
    assert [r[0] for r in result["other_call"]] == [True, False]  # its own predict_y


@pytest.mark.slow
def test_spark_takes_a_connect_session_and_leaves_it_running(result: dict[str, Any]) -> None:
    assert result["given_session"] == [[60]]
    assert result["after_drop"]  # the statements after its close() ran on the same session


@pytest.mark.slow
def test_drop_model_removes_the_model_and_its_function(result: dict[str, Any]) -> None:
    assert result["after_drop"] == ["lr_spark", "rf_spark"]
    assert result["call_after_drop"].startswith("ProgrammingError")
    assert "predict_y" in result["call_after_drop"]


@pytest.mark.slow
def test_a_connect_model_scores_the_same_on_duckdb(result: dict[str, Any], tmp_path: Path) -> None:
    table = driver_tables()["reg"]
    with sqlml.connect(str(tmp_path / "imported.duckdb")) as duck:
        raw = duck.executor.backend.con
        raw.register("__source", table)
        raw.execute('CREATE TABLE "reg" AS SELECT * FROM __source')
        raw.unregister("__source")
        duck.execute(
            "CREATE MODEL lr_spark OPTIONS (model_type = 'onnx', "
            f"model_path = '{result['export']}')"
        )
        on_duckdb = _rows(
            duck, "SELECT id, predicted_y FROM ML.PREDICT(MODEL lr_spark, TABLE reg) ORDER BY id"
        )
    assert [r[0] for r in on_duckdb] == [r[0] for r in result["lr_predict"]]
    # DuckDB runs ONNX Runtime; Spark may score the linear model as compiled Column expressions,
    # which fold the Scaler into the weights and accumulate in double: within float32 rounding
    # of the terms summed (|terms| up to ~10 here: 10 x 2^-24 ~ 6e-7), not of the result
    np.testing.assert_allclose(
        [r[1] for r in on_duckdb], [r[1] for r in result["lr_predict"]], rtol=1e-6, atol=1e-6
    )


# --- bad URLs: fast, no server needed ------------------------------------------------------------


def test_nothing_listening_is_a_clear_error_at_once() -> None:
    url = f"sc://127.0.0.1:{free_port()}"
    started = time.monotonic()
    with pytest.raises(sqlml.OperationalError) as info:
        sqlml.connect(engine="spark", spark_master=url)
    assert time.monotonic() - started < 15
    assert str(info.value).startswith(f"Could not reach a Spark Connect server at {url}")
    assert "start-connect-server.sh" in str(info.value)


@pytest.mark.parametrize("url", ["sc://", "sc://:15002", "sc://127.0.0.1:port"])
def test_a_malformed_connect_url_names_it(url: str) -> None:
    with pytest.raises(sqlml.InterfaceError, match="sc://host:port"):
        sqlml.connect(engine="spark", spark_master=url)


@pytest.fixture
def not_connect() -> Iterator[int]:
    """A TCP server on loopback that accepts and closes every connection (not gRPC)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.5)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                accepted, _ = listener.accept()
            except OSError:
                continue
            accepted.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield int(listener.getsockname()[1])
    stop.set()
    thread.join(timeout=5)
    listener.close()


@pytest.mark.slow
def test_a_server_that_is_not_spark_connect_fails_within_seconds(not_connect: int) -> None:
    """In a subprocess: opening a Connect session switches pyspark's mode for the process."""
    url = f"sc://127.0.0.1:{not_connect}"
    script = (
        "import sqlml, sys\n"
        "try:\n"
        f"    sqlml.connect(engine='spark', spark_master={url!r})\n"
        "except sqlml.Error as exc:\n"
        "    print('ERROR', type(exc).__name__, exc)\n"
    )
    started = time.monotonic()
    run = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=DRIVER_TIMEOUT
    )
    assert time.monotonic() - started < 45
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.startswith(f"ERROR OperationalError {url} did not answer as a Spark Connect")
    assert "Traceback" not in run.stderr


@pytest.mark.slow
def test_connect_beside_a_classic_session_says_why_not(spark: Any, not_connect: int) -> None:
    url = f"sc://127.0.0.1:{not_connect}"
    with pytest.raises(sqlml.NotSupportedError) as info:
        sqlml.connect(engine="spark", spark_master=url)
    assert str(info.value) == (
        f"A Spark Connect session ({url}) cannot be used in a process that already runs a "
        "classic SparkSession (pyspark switches the whole process to one mode or the other); "
        "open the Connect connection in another process, or use a spark:// or local master."
    )
    assert "SPARK_CONNECT_MODE_ENABLED" not in os.environ


if __name__ == "__main__":
    print("SQLML-RESULT " + json.dumps(drive(sys.argv[1], sys.argv[2]), default=str))
