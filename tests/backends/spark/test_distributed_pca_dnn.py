"""pca and dnn_regressor trained on Spark's executors (OPTIONS (engine = 'spark')).

PCA: the executors sum x and x^T x of the preprocessed rows, the driver decomposes the covariance.
dnn_regressor: L-BFGS on the driver, each loss + gradient evaluation one Spark job running
sqlml_udfs.mlp on every partition. Expected values come from numpy (an eigendecomposition, a
hand-written forward pass, finite differences) and from scikit-learn's own L-BFGS MLPRegressor
started from the same weights, and are compared with the same model trained on DuckDB.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import pyarrow as pa
import pytest
from sqlml_udfs import mlp

import sqlml

# --- the rows both engines read -------------------------------------------------------------------


def pca_rows(n: int = 600) -> pa.Table:
    """Correlated numbers on very different scales, NULLs in x2 and in the category."""
    rng = np.random.default_rng(11)
    x1 = rng.normal(0, 3, n)
    x2 = 2 * x1 + rng.normal(0, 1, n)
    x3 = rng.normal(1000, 0.5, n)  # a large mean: centering must not lose precision
    c = rng.choice(["a", "b", "c"], n)
    return pa.table(
        {
            "id": np.arange(n),
            "x1": x1,
            "x2": pa.array([None if i % 17 == 0 else v for i, v in enumerate(x2)], pa.float64()),
            "x3": x3,
            "c": pa.array([None if i % 23 == 0 else v for i, v in enumerate(c)]),
        }
    )


def regression_rows(n: int = 400) -> pa.Table:
    """y = sin(2 x1) + x2 / 2 + 0.5 [c = 'b'] + noise (sd 0.1): the best RMSE is about 0.1."""
    rng = np.random.default_rng(5)
    x1 = rng.normal(0, 1, n)
    x2 = rng.normal(3, 2, n)
    c = rng.choice(["a", "b", "c"], n)
    y = np.sin(2 * x1) + x2 / 2 + 0.5 * (c == "b") + rng.normal(0, 0.1, n)
    return pa.table({"id": np.arange(n), "x1": x1, "x2": x2, "c": c, "y": y})


def design(table: pa.Table, numeric: list[str], scale: bool) -> np.ndarray:
    """The preprocessing by hand: NULL -> the column's mean, standardized with the population
    standard deviation (or not), then the category one-hot with NULL as a category of its own."""
    blocks = []
    for name in numeric:
        values = np.array([np.nan if v is None else v for v in table.column(name).to_pylist()])
        values = np.where(np.isnan(values), np.nanmean(values), values)
        blocks.append((values - values.mean()) / values.std() if scale else values)
    raw = ["__sqlml_null__" if v is None else v for v in table.column("c").to_pylist()]
    blocks += [np.array([float(v == c) for v in raw]) for c in sorted(set(raw))]  # as sklearn
    return np.column_stack(blocks)


@pytest.fixture(scope="module")
def tables() -> dict[str, pa.Table]:
    return {"pca_rows": pca_rows(), "reg_rows": regression_rows()}


@pytest.fixture(scope="module")
def spark_con(spark: Any, tables: dict[str, pa.Table]) -> Iterator[sqlml.Connection]:
    for name, table in tables.items():
        spark.createDataFrame(table).createOrReplaceTempView(name)
    connection = sqlml.connect(spark=spark)
    yield connection
    connection.close()


@pytest.fixture(scope="module")
def duck_con(
    tmp_path_factory: pytest.TempPathFactory, tables: dict[str, pa.Table]
) -> Iterator[sqlml.Connection]:
    connection = sqlml.connect(str(tmp_path_factory.mktemp("duck") / "same.duckdb"))
    raw = connection.executor.backend.con
    for name, table in tables.items():
        raw.register("__source", table)
        raw.execute(f'CREATE TABLE "{name}" AS SELECT * FROM __source')
        raw.unregister("__source")
    yield connection
    connection.close()


def fetch(con: sqlml.Connection, sql: str) -> list[dict[str, Any]]:
    cursor = con.execute(sql)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def stored_onnx(con: sqlml.Connection, name: str, path: Path) -> bytes:
    con.execute(f"EXPORT MODEL {name} OPTIONS (uri = '{path}')")
    return path.read_bytes()


def info(con: sqlml.Connection, name: str) -> dict[str, Any]:
    return con.executor.catalog.get(name).training_info


# --- the MLP's loss and gradient (numpy only) ------------------------------------------------------


def test_mlp_gradient_is_the_finite_difference_gradient() -> None:
    rng = np.random.default_rng(0)
    sizes = [4, 6, 5, 1]
    x, y = rng.normal(size=(30, 4)), rng.normal(size=30)
    theta = rng.normal(0, 0.5, mlp.parameter_count(sizes))
    alpha = 0.7
    _, gradient = mlp.loss_and_gradient(x, y, theta, sizes, alpha)
    step = 1e-6
    numeric = np.empty_like(theta)
    for i in range(len(theta)):
        up, down = theta.copy(), theta.copy()
        up[i] += step
        down[i] -= step
        numeric[i] = (
            mlp.loss_and_gradient(x, y, up, sizes, alpha)[0]
            - mlp.loss_and_gradient(x, y, down, sizes, alpha)[0]
        ) / (2 * step)
    assert len(theta) == 4 * 6 + 6 * 5 + 5 * 1 + 6 + 5 + 1
    np.testing.assert_allclose(gradient, numeric, rtol=0, atol=1e-6)


def test_mlp_objective_is_scikit_learns_and_adds_up_over_partitions() -> None:
    rng = np.random.default_rng(1)
    sizes = [3, 4, 1]
    x, y = rng.normal(size=(50, 3)), rng.normal(size=50)
    theta = rng.normal(0, 0.5, mlp.parameter_count(sizes))
    alpha = 0.3
    # scikit-learn's packing: all weight matrices (row-major), then all biases
    w1, w2 = theta[:12].reshape(3, 4), theta[12:16].reshape(4, 1)
    b1, b2 = theta[16:20], theta[20:21]
    predicted = (np.maximum(x @ w1 + b1, 0) @ w2 + b2)[:, 0]
    penalty = alpha / (2 * len(y)) * (np.sum(w1**2) + np.sum(w2**2))
    want = np.mean((predicted - y) ** 2) / 2 + penalty
    loss, gradient = mlp.loss_and_gradient(x, y, theta, sizes, alpha)
    assert loss == pytest.approx(want, rel=1e-12)
    np.testing.assert_allclose(mlp.predict(x, theta, sizes), predicted, rtol=1e-12)
    # three "partitions" summed on the "driver": the same objective
    parts = [
        mlp.partial_loss_gradient(x[s], y[s], theta, sizes)
        for s in np.split(np.arange(50), [7, 30])
    ]
    total = mlp.objective(
        sum(p[0] for p in parts), sum(p[1] for p in parts), 50, theta, sizes, alpha
    )
    assert total[0] == pytest.approx(loss, rel=1e-12)
    np.testing.assert_allclose(total[1], gradient, rtol=1e-10, atol=1e-14)


# --- pca ------------------------------------------------------------------------------------------


def numpy_pca(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean, components (rows, descending variance) and explained variance ratios, by an
    eigendecomposition of the covariance; each component's largest |entry| made positive."""
    mean = matrix.mean(axis=0)
    values, vectors = np.linalg.eigh(np.cov(matrix, rowvar=False))
    order = np.argsort(values)[::-1]
    values, vectors = np.clip(values[order], 0, None), vectors[:, order].T
    rows = np.arange(len(vectors))
    vectors *= np.sign(vectors[rows, np.argmax(np.abs(vectors), axis=1)])[:, None]
    return mean, vectors, values / values.sum()


PCA_CASES = {
    # 3 numbers standardized + 4 one-hot columns; 3 components
    "scaled": ("num_principal_components = 3", True),
    # unscaled (x3's mean of 1000 stays in): the fewest components explaining 90%
    "unscaled": ("scale_features = FALSE, pca_explained_variance_ratio = 0.9", False),
}


@pytest.mark.spark
@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(PCA_CASES))
def test_pca_on_the_executors_matches_duckdb_and_numpy(
    spark_con: sqlml.Connection,
    duck_con: sqlml.Connection,
    tables: dict[str, pa.Table],
    case: str,
    tmp_path: Path,
) -> None:
    options, scale = PCA_CASES[case]
    sql = (
        "CREATE OR REPLACE MODEL dist_pca OPTIONS (model_type = 'pca', data_split_method = 'NO_SPLIT', "
        f"{options}, engine = '{{}}') AS SELECT x1, x2, x3, c FROM pca_rows"
    )
    spark_con.execute(sql.format("spark"))
    duck_con.execute(sql.format("duckdb"))
    assert info(spark_con, "dist_pca")["training_path"] == "spark_executors_numpy"
    assert info(duck_con, "dist_pca")["training_path"] == "scikit-learn"

    matrix = design(tables["pca_rows"], ["x1", "x2", "x3"], scale)
    mean, components, ratios = numpy_pca(matrix)
    k = 3 if scale else int(np.searchsorted(np.cumsum(ratios), 0.9, side="right")) + 1
    want = (matrix - mean) @ components[:k].T

    query = "SELECT * FROM ML.PREDICT(MODEL dist_pca, TABLE pca_rows) ORDER BY id"
    got = {}
    for engine, con in (("spark", spark_con), ("duckdb", duck_con)):
        out = fetch(con, query)
        names = [n for n in out[0] if n.startswith("principal_component_")]
        assert names == [f"principal_component_{j + 1}" for j in range(k)]
        got[engine] = np.array([[r[n] for n in names] for r in out])
    scale_of = float(np.sqrt(np.mean(want**2)))
    # Both engines run the same float32 graph shape with weights equal to ~1e-12: the same
    # projections to 1e-6 of their scale.
    np.testing.assert_allclose(got["spark"], got["duckdb"], rtol=0, atol=1e-6 * scale_of)
    # Against float64 numpy: the graph is float32, and its inputs and centering constants carry
    # 7 digits of numbers up to |mean| / sd = 2,000 standard deviations from the mean (x3).
    numbers = matrix[:, :3] if not scale else design(tables["pca_rows"], ["x1", "x2", "x3"], False)
    relative = 1 + float(np.max(np.abs(numbers.mean(axis=0)) / numbers.std(axis=0)))
    float32 = 4 * float(np.finfo(np.float32).eps) * relative
    np.testing.assert_allclose(got["spark"], want, rtol=0, atol=float32 * scale_of)

    for con in (spark_con, duck_con):
        recorded = info(con, "dist_pca")["explained_variance_ratio"]
        np.testing.assert_allclose(recorded, ratios[:k], rtol=1e-6)
    evaluated = [
        fetch(con, "SELECT * FROM ML.EVALUATE(MODEL dist_pca)")[0]["total_explained_variance_ratio"]
        for con in (spark_con, duck_con)
    ]
    assert evaluated[0] == pytest.approx(float(ratios[:k].sum()), rel=1e-5)
    assert evaluated[0] == pytest.approx(evaluated[1], rel=1e-6)

    anomalies = [
        fetch(
            con,
            "SELECT id, is_anomaly, mean_squared_error FROM ML.DETECT_ANOMALIES(MODEL dist_pca, "
            "STRUCT(0.05 AS contamination), TABLE pca_rows) ORDER BY id",
        )
        for con in (spark_con, duck_con)
    ]
    errors = np.mean((matrix - mean - want @ components[:k]) ** 2, axis=1)
    np.testing.assert_allclose(
        [r["mean_squared_error"] for r in anomalies[0]], errors, rtol=1e-3, atol=1e-4
    )
    flagged = [[r["is_anomaly"] for r in a] for a in anomalies]
    assert flagged[0] == flagged[1]
    assert 0 < sum(flagged[0]) < 0.1 * len(errors)

    # the stored bytes, run here: what ML.PREDICT gave
    onnx = stored_onnx(spark_con, "dist_pca", tmp_path / "p.onnx")
    session = ort.InferenceSession(onnx, providers=["CPUExecutionProvider"])
    table = tables["pca_rows"]
    feeds = {
        name: np.array(
            [np.nan if v is None else v for v in table.column(name).to_pylist()], np.float32
        ).reshape(-1, 1)
        for name in ("x1", "x2", "x3")
    }
    feeds["c"] = np.array(
        ["__sqlml_null__" if v is None else v for v in table.column("c").to_pylist()], object
    ).reshape(-1, 1)
    np.testing.assert_allclose(session.run(None, feeds)[0], got["spark"], rtol=1e-6, atol=1e-6)


# --- dnn_regressor ---------------------------------------------------------------------------------

DNN_OPTIONS = (
    "model_type = 'dnn_regressor', input_label_cols = ['y'], hidden_units = [8], "
    "data_split_method = 'NO_SPLIT', max_iterations = {iterations}, engine = '{engine}'"
)
ITERATIONS = 30


@pytest.fixture(scope="module")
def spark_dnn(spark_con: sqlml.Connection) -> sqlml.Connection:
    spark_con.execute(
        f"CREATE MODEL dist_dnn OPTIONS ({DNN_OPTIONS.format(iterations=ITERATIONS, engine='spark')}) "
        "AS SELECT x1, x2, c, y FROM reg_rows"
    )
    return spark_con


def scikit_learn_lbfgs(table: pa.Table, iterations: int) -> tuple[Any, np.ndarray]:
    """scikit-learn's own L-BFGS MLPRegressor on the hand-built design, started (warm_start) from
    the weights the Spark path starts from."""
    from sklearn.neural_network import MLPRegressor

    x = design(table, ["x1", "x2"], scale=True)
    sizes = [x.shape[1], 8, 1]
    layers = mlp.unpack(mlp.initial_weights(sizes, 42), sizes)
    reference = MLPRegressor(
        hidden_layer_sizes=(8,), alpha=1e-4, solver="lbfgs", max_iter=iterations, warm_start=True
    )
    reference.coefs_ = [w.copy() for w, _ in layers]
    reference.intercepts_ = [b.copy() for _, b in layers]
    reference.n_outputs_, reference.n_layers_, reference.out_activation_ = 1, 3, "identity"
    reference.n_iter_, reference.t_ = 0, 0
    reference.fit(x, table.column("y").to_numpy())
    return reference, x


@pytest.mark.spark
@pytest.mark.slow
def test_dnn_regressor_on_the_executors_is_scikit_learns_lbfgs(
    spark_dnn: sqlml.Connection, tables: dict[str, pa.Table], tmp_path: Path
) -> None:
    table = tables["reg_rows"]
    y = table.column("y").to_numpy()
    recorded = info(spark_dnn, "dist_dnn")
    assert recorded["training_path"] == "spark_executors_numpy"
    assert recorded["optimizer"] == "L-BFGS-B"
    assert recorded["iterations"] == ITERATIONS
    assert recorded["spark_jobs"] > ITERATIONS  # one job per loss + gradient evaluation

    reference, x = scikit_learn_lbfgs(table, ITERATIONS)
    out = fetch(
        spark_dnn,
        "SELECT id, predicted_y FROM ML.PREDICT(MODEL dist_dnn, TABLE reg_rows) ORDER BY id",
    )
    predicted = np.array([r["predicted_y"] for r in out])
    # Same start, same objective and stopping rule: L-BFGS retraces scikit-learn's path; only
    # the partitions' summation order (and the float32 graph) differs.
    np.testing.assert_allclose(predicted, reference.predict(x), rtol=0, atol=1e-3 * np.std(y))

    # ONNX Runtime on the stored bytes, within the fidelity gate's tolerance of the float64 net
    onnx = stored_onnx(spark_dnn, "dist_dnn", tmp_path / "dnn.onnx")
    session = ort.InferenceSession(onnx, providers=["CPUExecutionProvider"])
    feeds = {n: table.column(n).to_numpy().astype(np.float32).reshape(-1, 1) for n in ("x1", "x2")}
    feeds["c"] = np.array(table.column("c").to_pylist(), dtype=object).reshape(-1, 1)
    onnx_predicted = session.run(None, feeds)[0].reshape(-1)
    # the same graph: float32 rounding differs only with batching (ORT's blocked MatMul)
    np.testing.assert_allclose(onnx_predicted, predicted, rtol=0, atol=1e-5)
    gate = recorded["fidelity"]
    assert gate["max_difference"] <= gate["tolerance"] == pytest.approx(1e-4 * np.std(y), rel=0.3)
    np.testing.assert_allclose(
        onnx_predicted, reference.predict(x), rtol=0, atol=gate["tolerance"] + 1e-3 * np.std(y)
    )

    training_info = fetch(
        spark_dnn, "SELECT * FROM ML.TRAINING_INFO(MODEL dist_dnn) ORDER BY iteration"
    )
    assert len(training_info) == ITERATIONS
    assert training_info[-1]["loss"] == pytest.approx(reference.loss_, rel=1e-6)
    assert all(r["learning_rate"] is None for r in training_info)


@pytest.mark.spark
@pytest.mark.slow
def test_dnn_regressor_matches_the_duckdb_models_shape_and_accuracy(
    spark_dnn: sqlml.Connection, duck_con: sqlml.Connection, tables: dict[str, pa.Table]
) -> None:
    duck_con.execute(
        f"CREATE MODEL dist_dnn OPTIONS ({DNN_OPTIONS.format(iterations=200, engine='duckdb')}) "
        "AS SELECT x1, x2, c, y FROM reg_rows"
    )
    spark_record = spark_dnn.executor.catalog.get("dist_dnn")
    duck_record = duck_con.executor.catalog.get("dist_dnn")
    assert json.dumps(spark_record.spec, sort_keys=True) == json.dumps(
        duck_record.spec, sort_keys=True
    )

    def signature(onnx: bytes) -> tuple[Any, ...]:
        session = ort.InferenceSession(onnx, providers=["CPUExecutionProvider"])
        return tuple((i.name, i.type, i.shape[1]) for i in session.get_inputs()) + tuple(
            (o.name, o.type) for o in session.get_outputs()
        )

    assert signature(spark_record.onnx) == signature(duck_record.onnx)

    y = tables["reg_rows"].column("y").to_numpy()
    rmse = {
        name: fetch(con, "SELECT mean_squared_error FROM ML.EVALUATE(MODEL dist_dnn)")[0][
            "mean_squared_error"
        ]
        ** 0.5
        for name, con in (("spark", spark_dnn), ("duckdb", duck_con))
    }
    # Different optimizers (full-batch L-BFGS, 30 iterations, against scikit-learn's default
    # Adam, 200 epochs of minibatches) reach different weights; the claim is that the
    # distributed fit is as good: within 25% of DuckDB's RMSE, and far below the label's spread.
    assert rmse["spark"] <= 1.25 * rmse["duckdb"]
    assert rmse["spark"] < 0.25 * float(np.std(y))


@pytest.mark.spark
def test_what_lbfgs_cannot_honour_says_so(spark_con: sqlml.Connection) -> None:
    with pytest.raises(sqlml.NotSupportedError) as info:
        spark_con.execute(
            f"CREATE MODEL dist_bad OPTIONS ({DNN_OPTIONS.format(iterations=5, engine='spark')}, "
            "learn_rate = 0.01) AS SELECT x1, x2, c, y FROM reg_rows"
        )
    assert str(info.value).startswith(
        "Option 'learn_rate' (sqlml trains dnn_regressor on Spark with L-BFGS, which has no "
        "learning rate) (CREATE MODEL dist_bad) is not yet supported for training on the Spark "
        "engine's executors; OPTIONS (engine = 'duckdb')"
    )
