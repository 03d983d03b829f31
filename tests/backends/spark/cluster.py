"""A real Spark standalone cluster on 127.0.0.1, started from the installed pyspark package.

The pyspark wheel ships ``bin/spark-class`` but no ``sbin/start-*.sh``, so the master and the worker
are started as two ``spark-class`` processes (each ``exec``s its JVM, so the process is the JVM),
on free ports, with their web UIs on free ports too, logs and work folders under a temporary
folder. Every wait is bounded; :func:`standalone_cluster` stops both processes (terminate, then
kill) whatever happened.

Run as a script, this module is the *driver* the cluster test starts in a subprocess (one
SparkContext per process, and the test run already holds a local one): it connects sqlml to the
cluster, runs the statements and prints their results as one JSON object on stdout.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: Seconds to wait for the master to listen and the worker to register (each takes ~9 s idle).
START_TIMEOUT = 90.0
#: Seconds given to a process to exit after SIGTERM before it is killed.
STOP_TIMEOUT = 15.0


@dataclass
class Cluster:
    url: str  # spark://127.0.0.1:<port>
    logs: Path

    def log_tail(self, lines: int = 40) -> str:
        """The last lines of every daemon log, for an assertion message when something fails."""
        parts = []
        for path in sorted(self.logs.glob("*.log")):
            text = path.read_text(errors="replace").splitlines()[-lines:]
            parts.append(f"--- {path.name}\n" + "\n".join(text))
        return "\n".join(parts)


def free_port() -> int:
    """A port nothing listens on right now (the OS picks it for a socket bound to port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def spark_home() -> Path:
    import pyspark

    return Path(pyspark.__file__).parent


def daemon_env(executor_python: str) -> dict[str, str]:
    """Environment of the master and worker: loopback only, small daemon heaps, and the Python the
    executors start (the worker passes its environment on to executors)."""
    env = dict(os.environ)
    env.update(
        SPARK_HOME=str(spark_home()),
        SPARK_LOCAL_IP="127.0.0.1",
        SPARK_DAEMON_MEMORY="512m",
        PYSPARK_PYTHON=executor_python,
    )
    return env


def _start(
    args: list[str], log: Path, env: dict[str, str], script: str = "spark-class"
) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [str(spark_home() / "bin" / script), *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,  # its own process group: stopped by group id below
        )


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the process's group, then SIGKILL if it has not exited in time."""
    if process.poll() is not None:
        return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=STOP_TIMEOUT)
            return
        except subprocess.TimeoutExpired:
            continue


def _wait_for(
    what: str,
    ready: Any,
    process: subprocess.Popen[bytes],
    log: Path,
    timeout: float = START_TIMEOUT,
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready():
            return
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited ({process.returncode}):\n{log.read_text()[-4000:]}")
        time.sleep(0.25)
    raise RuntimeError(f"{what} not up after {timeout:.0f} s:\n{log.read_text()[-4000:]}")


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


@contextmanager
def standalone_cluster(folder: Path, executor_python: str, cores: int = 2) -> Iterator[Cluster]:
    """A master and one worker (``cores`` cores, 2 GB) on 127.0.0.1, stopped on exit."""
    env = daemon_env(executor_python)
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    url = f"spark://127.0.0.1:{port}"
    master_log, worker_log = folder / "master.log", folder / "worker.log"
    processes: list[subprocess.Popen[bytes]] = []
    try:
        master_args = ["org.apache.spark.deploy.master.Master", "--host", "127.0.0.1"]
        master_args += ["--port", str(port), "--webui-port", str(free_port())]
        processes.append(_start(master_args, master_log, env))
        _wait_for("The Spark master", lambda: _listening(port), processes[0], master_log)
        worker_args = ["org.apache.spark.deploy.worker.Worker", url, "--host", "127.0.0.1"]
        worker_args += ["--port", str(free_port()), "--webui-port", str(free_port())]
        worker_args += ["--cores", str(cores), "--memory", "2g"]
        worker_args += ["--work-dir", str(folder / "work")]
        processes.append(_start(worker_args, worker_log, env))
        registered = "Successfully registered with master"
        _wait_for(
            "The Spark worker",
            lambda: registered in worker_log.read_text(errors="replace"),
            processes[1],
            worker_log,
        )
        yield Cluster(url, folder)
    finally:
        for process in reversed(processes):
            _stop(process)


def bare_python(folder: Path) -> str:
    """An executor Python with numpy, pyarrow, onnxruntime and pyspark (site-packages on its
    path) but not sqlml or sqlml_udfs, whose editable install is a .pth hook that ``-S`` skips."""
    import sysconfig

    site = sysconfig.get_paths()["purelib"]
    script = folder / "bare-python"
    script.write_text(
        "#!/bin/sh\n"
        f'PYTHONPATH="${{PYTHONPATH:+$PYTHONPATH:}}{site}" exec "{sys.executable}" -S "$@"\n'
    )
    script.chmod(0o755)
    return str(script)


#: Seconds to wait for a Spark Connect server to listen (~20 s on an idle 2-core machine).
CONNECT_START_TIMEOUT = 150.0


@dataclass
class ConnectServer:
    url: str  # sc://127.0.0.1:<port>
    warehouse: Path
    log: Path
    started_in: float  # seconds from launch to listening

    def log_tail(self, lines: int = 60) -> str:
        text = self.log.read_text(errors="replace").splitlines()[-lines:]
        return f"--- {self.log.name}\n" + "\n".join(text)


@contextmanager
def connect_server(folder: Path, executor_python: str) -> Iterator[ConnectServer]:
    """A Spark Connect server on 127.0.0.1 (a free port), its own local[2] Spark inside, its
    Python workers ``executor_python``, its warehouse under ``folder``; stopped (its process
    group: the JVM and its Python workers) on exit. Started with ``spark-submit`` of the server
    class in the foreground: the pyspark wheel's ``sbin/start-connect-server.sh`` daemonizes
    through ``spark-daemon.sh``, which writes its pid and log files under $SPARK_HOME."""
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    warehouse, log = folder / "warehouse", folder / "connect-server.log"
    args = ["--class", "org.apache.spark.sql.connect.service.SparkConnectServer"]
    args += ["--name", "sqlml-connect-test", "--master", "local[2]", "--driver-memory", "1g"]
    settings = {
        "spark.connect.grpc.binding.port": str(port),
        "spark.connect.grpc.binding.address": "127.0.0.1",
        "spark.driver.host": "127.0.0.1",
        "spark.ui.enabled": "false",
        "spark.sql.warehouse.dir": str(warehouse),
        "spark.sql.shuffle.partitions": "2",
        "spark.default.parallelism": "2",
        "spark.local.dir": str(folder / "tmp"),
    }
    for key, value in settings.items():
        args += ["--conf", f"{key}={value}"]
    started = time.monotonic()
    process = _start(args, log, daemon_env(executor_python), script="spark-submit")
    try:
        _wait_for(
            "The Spark Connect server",
            lambda: _listening(port),
            process,
            log,
            CONNECT_START_TIMEOUT,
        )
        yield ConnectServer(f"sc://127.0.0.1:{port}", warehouse, log, time.monotonic() - started)
    finally:
        _stop(process)


# --- the driver, run in a subprocess ----------------------------------------------------------------

N = 60


def driver_tables() -> dict[str, Any]:
    """Tiny tables: ``bin`` (y = x1 > 0, a NULL in x2 and in cat) and ``reg`` (y = 3 x1 + 2)."""
    import numpy as np
    import pyarrow as pa

    i = np.arange(N)
    x1 = (i - 29.5) / 10.0
    x2 = ((i * 7) % 11).astype(np.float64)
    cat = np.array(["p", "q", "r"])[i % 3]
    return {
        "bin": pa.table(
            {
                "id": i,
                "x1": x1,
                "x2": pa.array([None if k == 5 else v for k, v in enumerate(x2)], pa.float64()),
                "cat": pa.array([None if k == 7 else v for k, v in enumerate(cat)]),
                "y": x1 > 0,
            }
        ),
        "reg": pa.table({"id": i, "x1": x1, "x2": x2, "y": 3 * x1 + 2}),
    }


def _rows(con: Any, sql: str) -> list[list[Any]]:
    cur = con.cursor()
    cur.execute(sql)
    return [list(row) for row in cur.fetchall()]


def drive(url: str, warehouse: str) -> dict[str, Any]:
    """The statements of the local Spark tests, against the cluster at ``url``."""
    import sqlml

    started = time.monotonic()
    timings: dict[str, float] = {}

    def lap(step: str) -> None:
        timings[step] = round(time.monotonic() - started - sum(timings.values()), 2)

    con = sqlml.connect(
        engine="spark",
        spark_master=url,
        config={
            "spark.cores.max": "2",
            "spark.executor.memory": "1g",
            "spark.driver.memory": "1g",
            "spark.driver.host": "127.0.0.1",
            "spark.ui.enabled": "false",
            "spark.sql.warehouse.dir": warehouse,
            "spark.sql.shuffle.partitions": "2",
            "spark.default.parallelism": "2",
        },
    )
    spark = con.executor.backend.spark
    context = spark.sparkContext
    for name, table in driver_tables().items():
        spark.createDataFrame(table).createOrReplaceTempView(name)
    lap("connect")
    out: dict[str, Any] = {"master": context.master, "timings": timings}
    # Where the executors' Python imports sqlml_udfs from (the shipped zip, or an installed copy).
    out["udfs_on_executors"] = (
        context.parallelize([0], 1).map(lambda _: __import__("sqlml_udfs").__file__).collect()[0]
    )
    lap("first_job")
    con.execute(
        "CREATE MODEL lr_spark OPTIONS (model_type = 'linear_reg', input_label_cols = ['y'], "
        "engine = 'spark') AS SELECT x1, x2, y FROM reg"
    )
    lap("create_distributed")
    con.execute(
        "CREATE MODEL fn_model FROM (SELECT x1, x2, cat, y FROM bin) TARGET y FUNCTION predict_y"
    )
    lap("create_collected")
    for name in ("lr_spark", "fn_model"):
        record = con.executor.catalog.get(name)
        out[name] = {
            "training_path": record.training_info["training_path"],
            "onnx": base64.b64encode(record.onnx).decode("ascii"),
        }
    out["lr_predict"] = _rows(
        con, "SELECT id, predicted_y FROM ML.PREDICT(MODEL lr_spark, TABLE reg) ORDER BY id"
    )
    out["fn_predict"] = _rows(
        con,
        "SELECT id, predicted_y, predicted_y_probs FROM ML.PREDICT(MODEL fn_model, TABLE bin) "
        "ORDER BY id",
    )
    lap("predict")
    out["fn_call"] = _rows(
        con,
        "SELECT id, predict_y(x1, x2, cat), predict_y_probabilities(x1, x2, cat) FROM bin "
        "ORDER BY id",
    )
    lap("function")
    out["executors"] = context._jsc.sc().getExecutorMemoryStatus().size() - 1  # minus the driver
    con.execute("DROP MODEL fn_model")
    out["after_drop"] = sorted(r[0] for r in _rows(con, "SHOW MODELS"))
    try:
        con.execute("SELECT predict_y(x1, x2, cat) FROM bin")
        out["call_after_drop"] = "no error"
    except sqlml.Error as exc:
        out["call_after_drop"] = f"{type(exc).__name__}: {exc}"
    lap("drop")
    con.close()
    return out


if __name__ == "__main__":
    result = drive(sys.argv[1], sys.argv[2])
    print("SQLML-RESULT " + json.dumps(result, default=str))


def onnx_outputs(encoded: str, table: Any, numeric: list[str], categorical: list[str]) -> Any:
    """The graph's outputs by name, run here with feeds built by hand (float32 / string [N, 1],
    NULL as NaN or '__sqlml_null__'): the expectation the cluster and Connect tests check."""
    import numpy as np
    import onnxruntime as ort

    session = ort.InferenceSession(base64.b64decode(encoded), providers=["CPUExecutionProvider"])
    feeds: dict[str, Any] = {}
    for name in numeric:
        values = [np.nan if v is None else v for v in table.column(name).to_pylist()]
        feeds[name] = np.asarray(values, dtype=np.float32).reshape(-1, 1)
    for name in categorical:
        values = ["__sqlml_null__" if v is None else v for v in table.column(name).to_pylist()]
        feeds[name] = np.asarray(values, dtype=object).reshape(-1, 1)
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(None, feeds), strict=True))


def prob_true(probs: list[dict[str, Any]]) -> float:
    return next(p["prob"] for p in probs if p["label"] is True)
