"""ML.PREDICT compiled to Spark expressions (sqlml/backends/spark/compiled/).

Expected values come from ONNX Runtime run directly on the stored ONNX bytes, fed here from the
rows' Python values (not through sqlml's scorer), then turned into labels the way BigQuery's
ML.PREDICT defines them (argmax, or P(classes[1]) >= threshold).

Tolerance: ORT computes every op in float32 (and its logistic is an approximating kernel); the
compiled path computes in double from the same float32 inputs and rounds the outputs to float32. The
two then differ by a few float32 ulps of the values summed: relative 1e-5 (~80 ulps) on values, plus
1e-6 absolute, since a float32 probability near 0 is 1 - v for v near 1 in ORT and so carries an
absolute error of ~6e-8 whatever its size.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import pyarrow as pa
import pytest

import sqlml
from sqlml.backends.spark import compiled
from sqlml.errors import InterfaceError, NotSupportedError

pytestmark = pytest.mark.spark

RTOL, ATOL = 1e-5, 1e-6
NULL = "__sqlml_null__"
N = 240


def _rows() -> tuple[pa.Table, pa.Table]:
    """Training rows, and scoring rows with NULLs, unseen categories and NULL booleans."""
    i = np.arange(N)
    x1 = (i - N / 2) / 20.0
    x2 = [None if k % 11 == 0 else float((k * 7) % 13) for k in i]
    cat = [None if k % 17 == 0 else "pqrs"[k % 4] for k in i]
    flag = [None if k % 19 == 0 else bool(k % 3 == 0) for k in i]
    yb = ((i * 37) % 100) < (50 + 30 * np.tanh(x1))
    ym = np.array(["lo", "mid", "hi"])[(i * 3 // N + (i % 5 == 0)) % 3]
    yr = 3 * x1 + np.array([v or 0.0 for v in x2]) * 0.5 + (i % 7)
    train = pa.table(
        {
            "id": i,
            "x1": x1,
            "x2": pa.array(x2, pa.float64()),
            "cat": pa.array(cat),
            "flag": pa.array(flag, pa.bool_()),
            "yb": yb,
            "ym": ym,
            "yr": yr,
        }
    )
    score = train.drop_columns(["yb", "ym", "yr"]).set_column(
        3, "cat", pa.array([["p", "unseen", None, "q", "s"][k % 5] for k in i])
    )
    return train, score


@pytest.fixture(scope="module")
def views(spark: Any) -> pa.Table:
    train, score = _rows()
    spark.createDataFrame(train).createOrReplaceTempView("cs_train")
    spark.createDataFrame(score).createOrReplaceTempView("cs_score")
    return score


@pytest.fixture
def compiled_con(spark: Any, views: pa.Table) -> Iterator[sqlml.Connection]:
    connection = sqlml.connect(spark=spark, spark_scoring="compiled")
    yield connection
    connection.close()


def _feeds(record: Any, table: pa.Table) -> dict[str, np.ndarray]:
    feeds = {}
    for feature in record.spec["features"]:
        values = table.column(feature["name"]).to_pylist()
        if feature["kind"] == "numeric":
            array = np.array([np.nan if v is None else v for v in values], dtype=np.float32)
        else:
            spelled = {True: "true", False: "false", None: NULL}
            array = np.array([spelled.get(v, v) for v in values], dtype=object)
        feeds[feature["name"]] = array.reshape(-1, 1)
    return feeds


def _ort_outputs(record: Any, table: pa.Table) -> dict[str, np.ndarray]:
    session = ort.InferenceSession(record.onnx, providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(None, _feeds(record, table)), strict=True))


def _plan(frame: Any) -> str:
    return str(frame._jdf.queryExecution().executedPlan().toString())


def _predict(con: sqlml.Connection, name: str, threshold: float | None = None) -> Any:
    record = con._executor.catalog.get(name)
    frame = _score(con, record, "SELECT * FROM cs_score ORDER BY id", threshold)
    return record, frame


def _score(con: sqlml.Connection, record: Any, sql: str, threshold: float | None = None) -> Any:
    """ML.PREDICT's relation as the Spark backend builds it (not yet collected)."""
    from sqlml_udfs.scoring import output_fields

    backend = con._backend
    relation = backend.relation(sql)
    return backend.score_relation(record, relation, threshold, output_fields(record.spec))


def _close(got: np.ndarray, want: np.ndarray) -> None:
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL)


def _check(con: sqlml.Connection, name: str, score: pa.Table, label: str | None) -> Any:
    record, frame = _predict(con, name)
    plan = _plan(frame)
    assert "MapInArrow" not in plan and "Python" not in plan, plan  # all in the JVM
    got = frame.toArrow()
    assert got.column("id").to_pylist() == score.column("id").to_pylist()
    outputs = _ort_outputs(record, score)
    task = record.spec["task"]
    if task == "classification":
        probs = outputs["probabilities"].astype(np.float64)
        pairs = got.column(f"predicted_{label}_probs").to_pylist()
        classes = record.spec["classes"]
        assert [[p["label"] for p in row] for row in pairs] == [classes] * len(pairs)
        _close(np.array([[p["prob"] for p in row] for row in pairs]), probs)
        threshold = record.spec.get("threshold")
        if len(classes) == 2 and threshold is not None:
            index = (probs[:, 1] >= threshold).astype(int)
        else:
            index = probs.argmax(axis=1)
        assert got.column(f"predicted_{label}").to_pylist() == [classes[k] for k in index]
    elif task == "regression":
        want = outputs["variable"].astype(np.float64).reshape(-1)
        _close(np.array(got.column(f"predicted_{label}").to_pylist()), want)
    else:
        distances = outputs["scores"].astype(np.float64)
        nearest = got.column("nearest_centroids_distance").to_pylist()
        order = np.argsort(distances, axis=1, kind="stable")
        assert [[d["centroid_id"] for d in row] for row in nearest] == (order + 1).tolist()
        _close(
            np.array([[d["distance"] for d in row] for row in nearest]),
            np.take_along_axis(distances, order, axis=1),
        )
        assert got.column("centroid_id").to_pylist() == (distances.argmin(axis=1) + 1).tolist()
    return got


MODELS = {
    "logistic_binary": ("logistic_reg", "yb", ""),
    "logistic_multi": ("logistic_reg", "ym", ""),
    "linear": ("linear_reg", "yr", ""),
    "boosted_classifier": ("boosted_tree_classifier", "yb", "max_iterations = 5"),
    "boosted_regressor": ("boosted_tree_regressor", "yr", "max_iterations = 5"),
    "forest_classifier": ("random_forest_classifier", "ym", "num_parallel_tree = 4"),
    "forest_binary": ("random_forest_classifier", "yb", "num_parallel_tree = 4"),
    "forest_regressor": ("random_forest_regressor", "yr", "num_parallel_tree = 4"),
    "kmeans": ("kmeans", None, "num_clusters = 3"),
    "dnn_small": ("dnn_classifier", "ym", "hidden_units = [4]"),
}
SMALL_TREES = ", max_tree_depth = 3"


def _create(con: sqlml.Connection, name: str, model: str, spark_engine: bool) -> str | None:
    model_type, label, extra = MODELS[model]
    options = [f"model_type = '{model_type}'"]
    if label:
        options.append(f"input_label_cols = ['{label}']")
    if extra:
        options.append(extra)
    if "tree" in model_type or "forest" in model_type:
        options.append(SMALL_TREES.lstrip(", "))
    if spark_engine:
        options.append("engine = 'spark'")
    columns = "x1, x2, cat, flag" + (f", {label}" if label else "")
    con.cursor().execute(
        f"CREATE OR REPLACE MODEL {name} OPTIONS ({', '.join(options)}) "
        f"AS SELECT {columns} FROM cs_train"
    )
    return label


@pytest.mark.slow
@pytest.mark.parametrize("model", list(MODELS))
def test_collected_models_match_onnx_runtime(
    compiled_con: sqlml.Connection, views: pa.Table, model: str
) -> None:
    label = _create(compiled_con, f"cs_{model}", model, spark_engine=False)
    info = compiled_con._executor.catalog.get(f"cs_{model}").training_info
    assert info.get("training_path") == "scikit-learn"
    _check(compiled_con, f"cs_{model}", views, label)


SPARK_TRAINED = [
    "logistic_binary",
    "logistic_multi",
    "linear",
    "boosted_classifier",
    "forest_classifier",
    "forest_regressor",
    "kmeans",
]


@pytest.mark.slow
@pytest.mark.parametrize("model", SPARK_TRAINED)
def test_spark_trained_models_match_onnx_runtime(
    compiled_con: sqlml.Connection, views: pa.Table, model: str
) -> None:
    label = _create(compiled_con, f"cs_spark_{model}", model, spark_engine=True)
    info = compiled_con._executor.catalog.get(f"cs_spark_{model}").training_info
    assert info.get("training_path") == "spark_mllib"
    _check(compiled_con, f"cs_spark_{model}", views, label)


@pytest.mark.slow
def test_threshold_override_and_sql_path(
    spark: Any, compiled_con: sqlml.Connection, views: pa.Table
) -> None:
    """ML.PREDICT's STRUCT(threshold) moves the binary cut; the SQL statement runs compiled, and
    its columns have the Spark types the mapInArrow path gives them."""
    _create(compiled_con, "cs_thr", "logistic_binary", spark_engine=False)
    record = compiled_con._executor.catalog.get("cs_thr")
    p1 = _ort_outputs(record, views)["probabilities"][:, 1].astype(np.float64)
    cut = float(np.quantile(p1, 0.8))
    cur = compiled_con.cursor()
    cur.execute(
        "SELECT id, predicted_yb FROM ML.PREDICT(MODEL cs_thr, TABLE cs_score, "
        f"STRUCT({cut} AS threshold)) ORDER BY id"
    )
    assert [row[1] for row in cur.fetchall()] == (p1 >= cut).tolist()
    arrow = sqlml.connect(spark=spark, spark_scoring="arrow")
    try:
        _, fast = _predict(compiled_con, "cs_thr")
        record = arrow._executor.catalog.get("cs_thr")
        slow = _score(arrow, record, "SELECT * FROM cs_score")
        assert "MapInArrow" in _plan(slow)
        # The same types; only nullability may differ (a literal label is never NULL).
        types = [f.dataType.simpleString() for f in fast.schema.fields]
        assert types == [f.dataType.simpleString() for f in slow.schema.fields]
        assert types[-1] == "array<struct<label:boolean,prob:double>>"
        assert fast.columns == slow.columns
    finally:
        arrow.close()


def _tanh_model(path: Path) -> None:
    """A regression graph with an op the compiler does not know (Tanh)."""
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Tanh", ["x1"], ["variable"])],
        "tanh",
        [helper.make_tensor_value_info("x1", TensorProto.FLOAT, [None, 1])],
        [helper.make_tensor_value_info("variable", TensorProto.FLOAT, [None, 1])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 9
    onnx.save(model, str(path))


def test_unsupported_op_falls_back_or_raises(
    spark: Any, views: pa.Table, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "tanh.onnx"
    _tanh_model(path)
    auto = sqlml.connect(spark=spark)
    strict = sqlml.connect(spark=spark, spark_scoring="compiled")
    try:
        auto.cursor().execute(
            f"CREATE OR REPLACE MODEL cs_tanh OPTIONS (model_type = 'onnx', "
            f"model_path = '{path}', input_label_cols = ['y'])"
        )
        record = auto._executor.catalog.get("cs_tanh")
        with caplog.at_level(logging.INFO, logger="sqlml.spark"):
            frame = _score(auto, record, "SELECT * FROM cs_score")
        assert "MapInArrow" in _plan(frame)
        assert "Tanh" in caplog.text
        got = frame.orderBy("id").toArrow().column("predicted_y").to_pylist()
        np.testing.assert_allclose(got, np.tanh(views.column("x1").to_numpy()), rtol=1e-6)
        with pytest.raises(NotSupportedError, match=r"ONNX op Tanh.*spark_scoring='auto'"):
            strict.cursor().execute("SELECT * FROM ML.PREDICT(MODEL cs_tanh, TABLE cs_score)")
    finally:
        auto.close()
        strict.close()


@pytest.mark.slow
def test_large_forest_falls_back(
    spark: Any, compiled_con: sqlml.Connection, views: pa.Table
) -> None:
    """An ensemble over the node limit is scored by mapInArrow; 'compiled' says why."""
    compiled_con.cursor().execute(
        "CREATE OR REPLACE MODEL cs_big OPTIONS (model_type = 'random_forest_regressor', "
        "input_label_cols = ['yr'], num_parallel_tree = 30, max_tree_depth = 10) "
        "AS SELECT x1, x2, cat, flag, yr FROM cs_train"
    )
    with pytest.raises(NotSupportedError, match=f"more than {compiled.MAX_TREE_NODES} nodes"):
        compiled_con.cursor().execute("SELECT * FROM ML.PREDICT(MODEL cs_big, TABLE cs_score)")
    auto = sqlml.connect(spark=spark)
    try:
        record = auto._executor.catalog.get("cs_big")
        frame = _score(auto, record, "SELECT * FROM cs_score")
        assert "MapInArrow" in _plan(frame)
    finally:
        auto.close()


def test_scoring_mode_is_checked(spark: Any) -> None:
    with pytest.raises(InterfaceError, match="spark_scoring must be one of"):
        sqlml.connect(spark=spark, spark_scoring="fast")
    with pytest.raises(InterfaceError, match="spark_scoring applies to engine='spark'"):
        sqlml.connect(spark_scoring="compiled")


@pytest.mark.slow
def test_a_scaler_folded_into_the_weights_scores_as_onnx_runtime(
    spark: Any, compiled_con: sqlml.Connection, views: pa.Table
) -> None:
    """Without trees the compiled path folds the Scaler into the dense layer's weights and tests
    the column itself for NULL or NaN (compiled/__init__.py): the same probabilities as ORT on
    NaN, NULL, large and tiny doubles, and the imputed value for both kinds of missing."""
    compiled_con.cursor().execute(
        "CREATE OR REPLACE MODEL cs_folded OPTIONS (model_type = 'logistic_reg', "
        "input_label_cols = ['yb'], engine = 'spark') AS SELECT x1, x2, yb FROM cs_train"
    )
    record = compiled_con._executor.catalog.get("cs_folded")
    x2 = [float("nan"), None, 1e6, -3.5e-7, 4.0, float("nan"), 12.0, None]
    table = pa.table(
        {
            "id": np.arange(len(x2)),
            "x1": np.linspace(-6, 6, len(x2)),
            "x2": pa.array(x2, pa.float64()),
        }
    )
    spark.createDataFrame(table).createOrReplaceTempView("cs_folded_rows")
    frame = _score(compiled_con, record, "SELECT * FROM cs_folded_rows ORDER BY id")
    plan = _plan(frame)
    assert "MapInArrow" not in plan and "Python" not in plan, plan
    got = frame.toArrow()
    probs = np.array(
        [[p["prob"] for p in row] for row in got.column("predicted_yb_probs").to_pylist()]
    )
    want = _ort_outputs(record, table)["probabilities"]
    _close(probs, want)
    # NaN and NULL are both the missing value: rows 0 and 1 differ only through x1
    x1 = table.column("x1").to_numpy()
    same_x1 = pa.table({"id": [0, 1], "x1": [x1[0], x1[0]], "x2": pa.array([float("nan"), None])})
    spark.createDataFrame(same_x1).createOrReplaceTempView("cs_folded_missing")
    pair = _score(compiled_con, record, "SELECT * FROM cs_folded_missing ORDER BY id").toArrow()
    both = [[p["prob"] for p in row] for row in pair.column("predicted_yb_probs").to_pylist()]
    assert both[0] == both[1]
