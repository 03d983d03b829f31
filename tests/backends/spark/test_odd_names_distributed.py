"""Training on the executors (engine = 'spark') over columns whose names are not identifiers
(issue 9, item 1): MLlib's assembler, sqlml's Spark-to-ONNX converter and the numpy trainers must
carry ``monthly spend``, ``a-b`` and ``x'y`` through to graph inputs of exactly those names.

Each model is trained twice on the same rows, once under odd names and once under plain ones; the
two must predict alike, and the exported graph, fed here by the odd names in bare ONNX Runtime,
must give what ML.PREDICT gives.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import pyarrow as pa
import pytest

import sqlml

pytestmark = [pytest.mark.spark, pytest.mark.slow]

N = 120
ROW = np.arange(N)
X1 = (ROW - 59.5) / 10.0
ODD = {"monthly spend": "n1", "a-b": "n2", "x'y": "n3", "plan type": "t1"}
LABELS = {"bool": ("is churned?", "yb"), "real": ("sales €", "yr")}


def rows(plain: bool) -> pa.Table:
    values = {
        "monthly spend": X1,
        "a-b": ((ROW * 7) % 11).astype(np.float64),
        "x'y": ((ROW * 5) % 7).astype(np.float64),
        "plan type": np.array(["p", "q", "r"])[ROW % 3],
        "is churned?": ((ROW * 37) % 100) < (50 + 9 * X1),
        "sales €": 3 * X1 + ((ROW * 5) % 7) + (((ROW * 37) % 11) - 5) / 10.0,
    }
    names = {**ODD, **dict(LABELS.values())}
    return pa.table({(names[k] if plain else k): v for k, v in values.items()})


def q(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


MODELS = [
    ("linear_reg", "", "real"),
    ("logistic_reg", ", max_iterations = 50", "bool"),
    ("random_forest_classifier", ", num_parallel_tree = 5, max_tree_depth = 3", "bool"),
    ("random_forest_regressor", ", num_parallel_tree = 5, max_tree_depth = 3", "real"),
    ("boosted_tree_classifier", ", max_iterations = 5, max_tree_depth = 2", "bool"),
    ("boosted_tree_regressor", ", max_iterations = 5, max_tree_depth = 2", "real"),
    ("dnn_classifier", ", hidden_units = [4], max_iterations = 30", "bool"),
    ("dnn_regressor", ", hidden_units = [4], max_iterations = 30", "real"),
    ("kmeans", ", num_clusters = 3", None),
    ("pca", ", num_principal_components = 2", None),
]


@pytest.fixture
def con(spark_session: Any) -> Any:
    for plain in (False, True):
        spark_session.createDataFrame(rows(plain)).createOrReplaceTempView(
            "odd_plain" if plain else "odd_rows"
        )
    connection = sqlml.connect(spark=spark_session)
    yield connection
    for name in ("odd_dist", "plain_dist"):
        connection.execute(f"DROP MODEL IF EXISTS {name}")
    connection.close()
    for view in ("odd_rows", "odd_plain"):
        spark_session.catalog.dropTempView(view)


def outputs(con: Any, name: str, view: str, plain: bool) -> dict[str, np.ndarray]:
    table = con.execute(f"SELECT * FROM ML.PREDICT(MODEL {name}, TABLE {view})").fetch_arrow_table()
    inputs = set(rows(plain).column_names)
    found = {}
    for column in table.column_names:
        if column in inputs:
            continue
        values = table.column(column).to_pylist()
        if values and isinstance(values[0], list):
            values = [[list(p.values())[-1] for p in v] for v in values]
        key = column
        for odd, simple in LABELS.values():
            key = key.replace(odd, simple)
        found[key] = np.array(values, dtype=float)
    return found


@pytest.mark.parametrize(("model_type", "options", "label"), MODELS, ids=[m[0] for m in MODELS])
def test_distributed_training_on_odd_names(
    con: Any, tmp_path: Path, model_type: str, options: str, label: str | None
) -> None:
    for plain, name, view in ((False, "odd_dist", "odd_rows"), (True, "plain_dist", "odd_plain")):
        columns = [simple if plain else odd for odd, simple in ODD.items()]
        label_option = ""
        if label is not None:
            target = LABELS[label][1 if plain else 0]
            columns.append(target)
            label_option = f", input_label_cols = ['{target}']"
        con.execute(
            f"CREATE OR REPLACE MODEL {name} OPTIONS (model_type = '{model_type}', engine = 'spark'"
            f"{label_option}{options}) AS SELECT {', '.join(q(c) for c in columns)} FROM {view}"
        )
    odd, plain = (
        outputs(con, "odd_dist", "odd_rows", False),
        outputs(con, "plain_dist", "odd_plain", True),
    )
    assert sorted(odd) == sorted(plain)
    for key in odd:
        np.testing.assert_allclose(odd[key], plain[key], atol=1e-4, err_msg=key)

    path = tmp_path / "odd.onnx"
    con.execute(f"EXPORT MODEL odd_dist OPTIONS (uri = '{path}')")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert sorted(i.name for i in session.get_inputs()) == sorted(ODD)
    table = rows(plain=False)
    feeds = {
        n: (
            np.array(table.column(n).to_pylist(), dtype=object).reshape(-1, 1)
            if n == "plan type"
            else table.column(n).to_numpy().astype(np.float32).reshape(-1, 1)
        )
        for n in ODD
    }
    graph = session.run(None, feeds)
    assert all(len(g) == N for g in graph)
    if model_type in (
        "linear_reg",
        "random_forest_regressor",
        "boosted_tree_regressor",
        "dnn_regressor",
    ):
        predicted = odd["predicted_yr"]
        np.testing.assert_allclose(predicted, graph[0].ravel(), rtol=1e-5, atol=1e-4)
