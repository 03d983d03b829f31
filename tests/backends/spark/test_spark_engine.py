"""The Spark engine on one local[2] session: DB-API, distributed training, executor scoring, the
catalog in Spark's warehouse, and models that move between Spark and DuckDB.

Expected values come from how the rows are made (conftest.py), from scikit-learn or numpy on the
same rows, or from ONNX Runtime run here on the catalog's bytes; never from sqlml's own output.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import pyarrow as pa
import pytest

import sqlml

pytestmark = [pytest.mark.spark, pytest.mark.slow]


def rows(con: sqlml.Connection, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
    cur = con.cursor()
    cur.execute(sql, params)
    return cur.fetchall()


def local_onnx(onnx: bytes, table: pa.Table, numeric: list[str], categorical: list[str]) -> Any:
    """The graph's outputs by name, run here with feeds built by hand (float32 / string [N, 1],
    NULL as NaN or '__sqlml_null__')."""
    session = ort.InferenceSession(onnx, providers=["CPUExecutionProvider"])
    feeds: dict[str, np.ndarray] = {}
    for name in numeric:
        values = [np.nan if v is None else v for v in table.column(name).to_pylist()]
        feeds[name] = np.asarray(values, dtype=np.float32).reshape(-1, 1)
    for name in categorical:
        values = ["__sqlml_null__" if v is None else v for v in table.column(name).to_pylist()]
        feeds[name] = np.asarray(values, dtype=object).reshape(-1, 1)
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(None, feeds), strict=True))


def catalog_onnx(spark: Any, name: str) -> bytes:
    """The live version's ONNX bytes, read from the catalog table with Spark itself."""
    found = spark.sql(
        "SELECT onnx FROM sqlml.models WHERE name = ? ORDER BY version DESC LIMIT 1", args=[name]
    ).collect()
    return bytes(found[0][0])


def probs_of(value: list[dict[str, Any]], label: Any) -> float:
    return next(p["prob"] for p in value if p["label"] == label)


# --- plain SQL ----------------------------------------------------------------------------------


def test_plain_spark_sql_through_the_dbapi(con: sqlml.Connection) -> None:
    cur = con.cursor()
    cur.execute("SELECT id, x1, cat FROM reg WHERE id < ? ORDER BY id", [3])
    assert [d[0] for d in cur.description] == ["id", "x1", "cat"]
    assert cur.description[0][1] == sqlml.NUMBER
    assert cur.description[2][1] == sqlml.STRING
    assert cur.fetchone() == (0, pytest.approx(-5.95), "p")
    assert cur.fetchmany(5) == [(1, pytest.approx(-5.85), "q"), (2, pytest.approx(-5.75), "r")]
    assert cur.fetchall() == []

    cur.execute("CREATE OR REPLACE TEMP VIEW small AS SELECT * FROM reg WHERE id < 10")
    assert cur.description is None
    first = con.cursor()
    first.execute("SELECT count(*) AS n FROM small")
    cur.execute("SELECT `cat`, count(*) AS n FROM small GROUP BY `cat` ORDER BY `cat`")
    assert first.fetch_arrow_table().to_pydict() == {"n": [10]}  # kept while cur ran
    assert cur.fetchall() == [("p", 4), ("q", 3), ("r", 3)]

    with pytest.raises(sqlml.ProgrammingError, match="no_such_table"):
        cur.execute("SELECT * FROM no_such_table")


# --- distributed training -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def spark_lr(spark: Any) -> Iterator[sqlml.Connection]:
    """A logistic regression trained on the executors (engine = 'spark' forces it at any size)."""
    connection = sqlml.connect(spark=spark)
    connection.execute(
        "CREATE OR REPLACE MODEL lr_noisy OPTIONS (model_type = 'logistic_reg', "
        "input_label_cols = ['y'], engine = 'spark', max_iterations = 100, l2_reg = 0) "
        "AS SELECT x1, x2, cat, y FROM noisy"
    )
    yield connection
    connection.close()


def test_logistic_reg_on_the_executors(
    spark_lr: sqlml.Connection, spark: Any, data: dict[str, pa.Table]
) -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    # the catalog row, in Spark's own warehouse
    catalog = spark.sql(
        "SELECT name, version, model_type, label, length(onnx) FROM sqlml.models "
        "WHERE name = 'lr_noisy'"
    ).collect()
    assert [tuple(r)[:4] for r in catalog] == [("lr_noisy", 1, "logistic_reg", "y")]
    assert catalog[0][4] > 0
    record = spark_lr.executor.catalog.get("lr_noisy")
    assert record.training_info["training_path"] == "spark_mllib"
    assert record.training_info["fidelity"]["rows"] == 120

    predicted = rows(
        spark_lr,
        "SELECT id, y, predicted_y, predicted_y_probs FROM ML.PREDICT(MODEL lr_noisy, TABLE noisy) "
        "ORDER BY id",
    )
    p1 = np.array([probs_of(r[3], True) for r in predicted])
    assert [r[2] for r in predicted] == [bool(p >= 0.5) for p in p1]

    # The unpenalized optimum is unique and does not depend on how features are scaled, so
    # scikit-learn on a hand-built design matrix finds the same probabilities.
    table = data["noisy"]
    cat = np.array(table.column("cat").to_pylist())
    design = np.column_stack(
        [table.column("x1").to_numpy(), table.column("x2").to_numpy()]
        + [(cat == c).astype(float) for c in ("p", "q", "r")]
    )
    truth = np.array(table.column("y").to_pylist())
    reference = LogisticRegression(C=np.inf, max_iter=10_000, tol=1e-10).fit(design, truth)
    np.testing.assert_allclose(p1, reference.predict_proba(design)[:, 1], atol=2e-3)

    # the stored bytes, run here, give what the executors gave
    outputs = local_onnx(catalog_onnx(spark, "lr_noisy"), table, ["x1", "x2"], ["cat"])
    np.testing.assert_allclose(outputs["probabilities"][:, 1], p1, atol=1e-6)

    evaluated = rows(
        spark_lr, "SELECT accuracy, roc_auc FROM ML.EVALUATE(MODEL lr_noisy, TABLE noisy)"
    )
    assert evaluated[0][0] == pytest.approx(np.mean((p1 >= 0.5) == truth))
    assert evaluated[0][1] == pytest.approx(roc_auc_score(truth, p1))


def test_boosted_tree_classifier_on_the_executors(
    con: sqlml.Connection, spark: Any, data: dict[str, pa.Table]
) -> None:
    con.execute(
        "CREATE MODEL gbt OPTIONS (model_type = 'boosted_tree_classifier', input_label_cols = "
        "['y'], engine = 'spark', max_iterations = 5, max_tree_depth = 2) "
        "AS SELECT x1, x2, cat, y FROM bin"
    )
    predicted = rows(
        con,
        "SELECT id, predicted_y, predicted_y_probs FROM ML.PREDICT(MODEL gbt, TABLE bin) ORDER BY id",
    )
    truth = data["bin"].column("y").to_pylist()
    assert [r[1] for r in predicted] == truth  # separable at x1 = 0, NULLs in x2 and cat
    outputs = local_onnx(catalog_onnx(spark, "gbt"), data["bin"], ["x1", "x2"], ["cat"])
    np.testing.assert_allclose(
        outputs["probabilities"][:, 1], [probs_of(r[2], True) for r in predicted], atol=1e-6
    )
    # spliced into a larger statement, with a parameter inside the input and an unseen category
    counted = rows(
        con,
        "WITH p AS (SELECT * FROM ML.PREDICT(MODEL gbt, "
        "(SELECT id, x1, x2, 'never seen' AS cat FROM bin WHERE id >= ?))) "
        "SELECT count(*), sum(CAST(predicted_y AS INT)) FROM p",
        [60],
    )
    assert counted == [(60, 60)]  # ids 60..119 have x1 > 0
    # the whole result of one call, with a threshold
    cur = con.cursor()
    cur.execute("SELECT * FROM ML.PREDICT(MODEL gbt, TABLE `bin`, STRUCT(0.9 AS threshold))")
    assert [d[0] for d in cur.description][-2:] == ["predicted_y", "predicted_y_probs"]
    strict = sorted(cur.fetchall())
    assert [r[-2] for r in strict] == [probs_of(r[-1], True) >= 0.9 for r in strict]


def test_random_forest_multiclass_on_the_executors(
    con: sqlml.Connection, spark: Any, data: dict[str, pa.Table]
) -> None:
    con.execute(
        "CREATE MODEL forest OPTIONS (model_type = 'random_forest_classifier', input_label_cols "
        "= ['y'], engine = 'spark', num_parallel_tree = 5, max_tree_depth = 3) "
        "AS SELECT x1, x2, y FROM multi"
    )
    predicted = rows(
        con, "SELECT predicted_y, predicted_y_probs FROM ML.PREDICT(MODEL forest, TABLE multi)"
    )
    truth = data["multi"].column("y").to_pylist()
    assert np.mean([r[0] == t for r, t in zip(predicted, truth, strict=True)]) >= 0.95
    assert [p["label"] for p in predicted[0][1]] == ["hi", "lo", "mid"]  # classes sorted
    outputs = local_onnx(catalog_onnx(spark, "forest"), data["multi"], ["x1", "x2"], [])
    mine = np.array([[p["prob"] for p in r[1]] for r in predicted])
    np.testing.assert_allclose(outputs["probabilities"], mine, atol=1e-6)
    np.testing.assert_allclose(mine.sum(axis=1), 1.0, atol=1e-6)


def test_dnn_classifier_on_the_executors(
    con: sqlml.Connection, spark: Any, data: dict[str, pa.Table]
) -> None:
    con.execute(
        "CREATE MODEL mlp OPTIONS (model_type = 'dnn_classifier', input_label_cols = ['y'], "
        "engine = 'spark', hidden_units = [4], max_iterations = 10) AS SELECT x1, x2, y FROM multi"
    )
    predicted = rows(con, "SELECT predicted_y_probs FROM ML.PREDICT(MODEL mlp, TABLE multi)")
    outputs = local_onnx(catalog_onnx(spark, "mlp"), data["multi"], ["x1", "x2"], [])
    mine = np.array([[p["prob"] for p in r[0]] for r in predicted])
    np.testing.assert_allclose(outputs["probabilities"], mine, atol=1e-6)


def test_large_tables_train_on_the_executors(spark: Any) -> None:
    """Above local_training_rows the executors train, without any option saying so."""
    with sqlml.connect(spark=spark, local_training_rows=100) as con:
        con.execute(
            "CREATE MODEL lin OPTIONS (model_type = 'linear_reg', input_label_cols = ['y']) "
            "AS SELECT x1, x2, cat, y FROM reg"
        )
        assert con.executor.catalog.get("lin").training_info["training_path"] == "spark_mllib"
        predicted = rows(con, "SELECT x1, predicted_y FROM ML.PREDICT(MODEL lin, TABLE reg)")
        for x1, y in predicted:
            assert y == pytest.approx(3 * x1 + 2, abs=1e-3)
        metrics = rows(con, "SELECT mean_absolute_error, r2_score FROM ML.EVALUATE(MODEL lin)")
        assert metrics[0][0] < 1e-3
        assert metrics[0][1] == pytest.approx(1.0, abs=1e-6)


def test_kmeans_on_the_executors(con: sqlml.Connection, data: dict[str, pa.Table]) -> None:
    con.execute(
        "CREATE MODEL blobs_km OPTIONS (model_type = 'kmeans', num_clusters = 3, "
        "standardize_features = FALSE, engine = 'spark') AS SELECT x1, x2 FROM blobs"
    )
    predicted = rows(
        con,
        "SELECT id, x1, x2, centroid_id, nearest_centroids_distance "
        "FROM ML.PREDICT(MODEL blobs_km, TABLE blobs) ORDER BY id",
    )
    blob = np.arange(120) % 3
    ids = np.array([r[3] for r in predicted])
    assert len(set(ids)) == 3
    assert all(len(set(ids[blob == b])) == 1 for b in range(3))  # one centroid per blob
    points = np.array([[r[1], r[2]] for r in predicted])
    means = np.array([points[blob == b].mean(axis=0) for b in range(3)])
    expected = np.linalg.norm(points - means[blob], axis=1)
    nearest = np.array([r[4][0]["distance"] for r in predicted])
    np.testing.assert_allclose(nearest, expected, atol=1e-4)


# --- collected training, Redshift functions, DROP MODEL ----------------------------------------------


def test_small_tables_train_locally_and_functions_run_on_spark(
    con: sqlml.Connection, spark: Any
) -> None:
    con.execute(
        "CREATE MODEL fn_model FROM (SELECT x1, x2, cat, y FROM bin) TARGET y FUNCTION predict_y"
    )
    record = con.executor.catalog.get("fn_model")
    assert record.training_info["training_path"] == "scikit-learn"  # 120 rows <= 100,000
    called = rows(
        con,
        "SELECT id, predict_y(x1, x2, cat), predict_y_probabilities(x1, x2, cat) FROM bin "
        "ORDER BY id",
    )
    predicted = rows(
        con,
        "SELECT id, predicted_y, predicted_y_probs FROM ML.PREDICT(MODEL fn_model, TABLE bin) "
        "ORDER BY id",
    )
    assert [r[1] for r in called] == [r[1] for r in predicted]
    for got, want in zip(called, predicted, strict=True):
        # The function scores with ONNX Runtime (float32); ML.PREDICT of a small graph may be
        # compiled to Spark expressions: equal up to float32 rounding (one ulp ~ 6e-8).
        assert probs_of(got[2], True) == pytest.approx(probs_of(want[2], True), abs=1e-6)

    with pytest.raises(
        sqlml.ProgrammingError, match=r"takes 3 argument\(s\) \(x1, x2, cat\); got 2"
    ):
        con.execute("SELECT predict_y(x1, x2) FROM bin")

    con.execute("DROP MODEL fn_model")
    assert spark.sql("SELECT count(*) FROM sqlml.models WHERE name = 'fn_model'").first()[0] == 0
    assert "fn_model" not in [r[0] for r in rows(con, "SHOW MODELS")]
    with pytest.raises(sqlml.ProgrammingError, match="predict_y"):
        con.execute("SELECT predict_y(x1, x2, cat) FROM bin")


def test_replace_adds_a_version_and_a_failed_replace_keeps_it(con: sqlml.Connection) -> None:
    statement = (
        "CREATE OR REPLACE MODEL versions OPTIONS (model_type = 'logistic_reg', "
        "input_label_cols = ['y']) AS SELECT x1, y FROM {}"
    )
    con.execute(statement.format("bin"))
    con.execute(statement.format("bin"))
    with pytest.raises(sqlml.Error):
        con.execute(statement.format("(SELECT x1, true AS y FROM bin)"))  # one class only
    assert [r[1] for r in rows(con, "SHOW MODELS") if r[0] == "versions"] == [2]


# --- portability ------------------------------------------------------------------------------------


def test_a_spark_model_scores_the_same_on_duckdb(
    spark_lr: sqlml.Connection, duck: sqlml.Connection, tmp_path: Path
) -> None:
    path = tmp_path / "lr_noisy.onnx"
    spark_lr.execute(f"EXPORT MODEL lr_noisy OPTIONS (uri = '{path}')")
    duck.execute(f"CREATE MODEL lr_noisy OPTIONS (model_type = 'onnx', model_path = '{path}')")
    query = "SELECT id, predicted_y, predicted_y_probs FROM ML.PREDICT(MODEL lr_noisy, TABLE noisy) ORDER BY id"
    on_spark, on_duckdb = rows(spark_lr, query), rows(duck, query)
    assert [r[1] for r in on_duckdb] == [r[1] for r in on_spark]
    np.testing.assert_allclose(
        [probs_of(r[2], True) for r in on_duckdb],
        [probs_of(r[2], True) for r in on_spark],
        atol=1e-7,
    )


def test_a_duckdb_model_scores_the_same_on_spark(
    con: sqlml.Connection, duck: sqlml.Connection, tmp_path: Path
) -> None:
    duck.execute(
        "CREATE MODEL from_duck OPTIONS (model_type = 'random_forest_classifier', "
        "input_label_cols = ['y'], num_parallel_tree = 10, max_tree_depth = 4) "
        "AS SELECT x1, x2, cat, y FROM noisy"
    )
    path = tmp_path / "from_duck.onnx"
    duck.execute(f"EXPORT MODEL from_duck OPTIONS (uri = '{path}')")
    con.execute(
        f"CREATE OR REPLACE MODEL from_duck OPTIONS (model_type = 'onnx', model_path = '{path}')"
    )
    query = (
        "SELECT id, predicted_y, predicted_y_probs FROM ML.PREDICT(MODEL from_duck, TABLE bin) "
        "ORDER BY id"
    )
    on_duckdb, on_spark = rows(duck, query), rows(con, query)
    assert [r[1] for r in on_spark] == [r[1] for r in on_duckdb]
    np.testing.assert_allclose(
        [probs_of(r[2], True) for r in on_spark],
        [probs_of(r[2], True) for r in on_duckdb],
        atol=1e-7,
    )


# --- what Spark cannot do yet -------------------------------------------------------------------------


def test_what_is_not_yet_supported_says_so(con: sqlml.Connection, spark: Any) -> None:
    with pytest.raises(sqlml.NotSupportedError) as info:
        con.execute(
            "CREATE MODEL p OPTIONS (model_type = 'automl_regressor', input_label_cols = ['y'], "
            "engine = 'spark') AS SELECT x1, x2, y FROM reg"
        )
    assert str(info.value) == (
        "model_type 'automl_regressor' (CREATE MODEL p) is not yet supported for training on "
        "the Spark engine's executors; OPTIONS (engine = 'duckdb'), or a connection whose "
        "local_training_rows is above the row count, collects the rows and trains with "
        "scikit-learn on the driver instead (fine below a few million rows)."
    )
    with pytest.raises(sqlml.NotSupportedError) as info:
        sqlml.connect(spark=spark, autocommit=False)
    assert (
        str(info.value)
        == "autocommit=False (transactions) is not yet supported on the Spark engine."
    )
