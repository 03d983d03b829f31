"""CREATE MODEL m OPTIONS (model_type = 'onnx', model_path = '…'): importing ONNX files as models.

Real DuckDB files, real ONNX Runtime, real files on disk (symlinks included). Foreign models are built
here with scikit-learn + skl2onnx (or onnx.helper), and their expected predictions come from
scikit-learn or numpy on the same rows, never from sqlml.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType, StringTensorType
from sklearn.cluster import KMeans
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

import sqlml
from sqlml import errors
from sqlml.training.onnx_import import file as onnx_import  # MAX_BYTES is file.py's

N = 60
DATA = f"""
    CREATE TABLE t AS
    SELECT i AS id, (i - 29.5)::DOUBLE AS x1, ((i * 7) % 11)::DOUBLE AS x2,
           ((i * 5) % 13)::DOUBLE AS x3, ['p', 'q', 'r'][i % 3 + 1] AS cat,
           i >= 30 AS y, 3 * (i / 10.0)::DOUBLE + 2 AS v,
           CASE WHEN (i - 29.5) + ((i * 7) % 11) > 5 THEN 'yes' ELSE 'no' END AS s
    FROM range({N}) t(i)
"""


@pytest.fixture(scope="module")
def cur(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sqlml.Cursor]:
    path = tmp_path_factory.mktemp("onnx_import") / "import.duckdb"
    connection = sqlml.connect(str(path))
    cursor = connection.cursor()
    cursor.execute(DATA)
    yield cursor
    connection.close()


def fetch(cur: sqlml.Cursor, sql: str) -> list[dict[str, Any]]:
    cur.execute(sql)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def column(cur: sqlml.Cursor, sql: str) -> np.ndarray:
    return np.array([row[0] for row in cur.execute(sql).fetchall()])


def catalog_row(cur: sqlml.Cursor, name: str) -> dict[str, Any]:
    (row,) = fetch(
        cur,
        "SELECT model_type, label, options, metrics, training_info, data_fingerprint, spec, "
        f"features FROM sqlml.models WHERE name = '{name}' ORDER BY version DESC LIMIT 1",
    )
    for key in ("options", "metrics", "training_info", "spec", "features"):
        row[key] = json.loads(row[key])
    return row


def frame(cur: sqlml.Cursor, columns: str) -> Any:
    return cur.execute(f"SELECT {columns} FROM t ORDER BY id").fetchdf()


def save(model: Any, path: Path) -> str:
    path.write_bytes(model.SerializeToString())
    return str(path)


# --- round trip: sqlml → EXPORT → import ---------------------------------------------------------

ROUND_TRIPS = {
    "logistic_reg": ("input_label_cols=['y']", "x1, x2, cat, y"),
    "linear_reg": ("input_label_cols=['v']", "x1, x2, cat, v"),
    "kmeans": ("num_clusters=3", "x1, x2"),
}


@pytest.mark.parametrize("model_type", list(ROUND_TRIPS))
def test_round_trip_predicts_exactly_as_the_original(
    cur: sqlml.Cursor, tmp_path: Path, model_type: str
) -> None:
    options, columns = ROUND_TRIPS[model_type]
    original, imported = f"orig_{model_type}", f"back_{model_type}"
    cur.execute(
        f"CREATE OR REPLACE MODEL {original} OPTIONS (model_type='{model_type}', {options}) "
        f"AS SELECT {columns} FROM t"
    )
    path = tmp_path / "exported.onnx"
    cur.execute(f"EXPORT MODEL {original} OPTIONS (uri = '{path}')")
    cur.execute(
        f"CREATE OR REPLACE MODEL {imported} OPTIONS (model_type = 'onnx', model_path = '{path}')"
    )
    before = fetch(cur, f"SELECT * FROM ML.PREDICT(MODEL {original}, TABLE t) ORDER BY id")
    after = fetch(cur, f"SELECT * FROM ML.PREDICT(MODEL {imported}, TABLE t) ORDER BY id")
    assert after == before  # the same graph: identical values, not merely close

    source, row = catalog_row(cur, original), catalog_row(cur, imported)
    assert row["spec"] == source["spec"]
    assert row["features"] == source["features"]
    assert row["label"] == source["label"]
    assert row["model_type"] == "onnx"
    assert row["options"] == {"model_type": "onnx", "model_path": str(path)}
    assert row["metrics"] == {}
    sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
    assert row["data_fingerprint"] == sha256
    info = row["training_info"]
    assert info["imported_from"] == str(path)
    assert info["sha256"] == sha256
    assert info["source"]["model"] == original
    assert info["source"]["model_type"] == model_type


def test_evaluate_an_imported_model(cur: sqlml.Cursor, tmp_path: Path) -> None:
    cur.execute(
        "CREATE OR REPLACE MODEL ev OPTIONS (model_type='logistic_reg', input_label_cols=['s']) "
        "AS SELECT x1, x2, s FROM t"
    )
    path = tmp_path / "ev.onnx"
    cur.execute(f"EXPORT MODEL ev OPTIONS (uri = '{path}')")
    cur.execute(f"CREATE MODEL ev_back OPTIONS (model_type='onnx', model_path='{path}')")
    # without rows: nothing was recorded at import, so every metric is NULL
    (stored,) = fetch(cur, "SELECT * FROM ML.EVALUATE(MODEL ev_back)")
    assert set(stored.values()) == {None}
    # with rows: computed from the imported graph's predictions
    (metrics,) = fetch(cur, "SELECT accuracy FROM ML.EVALUATE(MODEL ev_back, TABLE t)")
    rows = fetch(cur, "SELECT s, predicted_s FROM ML.PREDICT(MODEL ev_back, TABLE t)")
    expected = np.mean([r["s"] == r["predicted_s"] for r in rows])
    assert metrics["accuracy"] == pytest.approx(expected)
    # ML.FEATURE_INFO says why it has nothing to show
    with pytest.raises(errors.NotSupportedError, match="imported from an ONNX file"):
        cur.execute("SELECT * FROM ML.FEATURE_INFO(MODEL ev_back)")


# --- foreign models -------------------------------------------------------------------------------


def test_foreign_classifier_with_one_input_per_column(cur: sqlml.Cursor, tmp_path: Path) -> None:
    data = frame(cur, "x1, x2, cat, s")
    pipeline = Pipeline(
        [
            (
                "prep",
                ColumnTransformer(
                    [("num", "passthrough", ["x1", "x2"]), ("cat", OneHotEncoder(), ["cat"])]
                ),
            ),
            ("clf", LogisticRegression(max_iter=1000)),
        ]
    ).fit(data[["x1", "x2", "cat"]], data["s"])
    graph = convert_sklearn(
        pipeline,
        initial_types=[
            ("x1", FloatTensorType([None, 1])),
            ("x2", FloatTensorType([None, 1])),
            ("cat", StringTensorType([None, 1])),
        ],
        options={id(pipeline.named_steps["clf"]): {"zipmap": False}},
    )
    path = save(graph, tmp_path / "foreign_clf.onnx")
    cur.execute(
        "CREATE MODEL foreign_clf OPTIONS (model_type = 'onnx', model_path = "
        f"'{path}', input_label_cols = ['s'])"
    )
    rows = fetch(cur, "SELECT * FROM ML.PREDICT(MODEL foreign_clf, TABLE t) ORDER BY id")
    expected = pipeline.predict_proba(data[["x1", "x2", "cat"]])
    got = np.array([[p["prob"] for p in r["predicted_s_probs"]] for r in rows])
    np.testing.assert_allclose(got, expected, atol=1e-5)
    assert [r["predicted_s"] for r in rows] == list(pipeline.predict(data[["x1", "x2", "cat"]]))
    assert [p["label"] for p in rows[0]["predicted_s_probs"]] == ["no", "yes"]  # classlabels

    row = catalog_row(cur, "foreign_clf")
    assert row["spec"]["task"] == "classification"
    assert row["spec"]["classes"] == ["no", "yes"]
    assert row["features"] == [
        {"name": "x1", "kind": "numeric", "type": "FLOAT"},
        {"name": "x2", "kind": "numeric", "type": "FLOAT"},
        {"name": "cat", "kind": "categorical", "type": "VARCHAR"},
    ]
    (metrics,) = fetch(cur, "SELECT accuracy FROM ML.EVALUATE(MODEL foreign_clf, TABLE t)")
    truth = data["s"].to_numpy()
    assert metrics["accuracy"] == pytest.approx(np.mean(pipeline.predict(data) == truth))

    # an input that no column matches is named at ML.PREDICT
    with pytest.raises(errors.SchemaError, match="lacks column 'cat'"):
        cur.execute("SELECT * FROM ML.PREDICT(MODEL foreign_clf, (SELECT x1, x2 FROM t))")


def test_foreign_regressor_with_one_wide_input(cur: sqlml.Cursor, tmp_path: Path) -> None:
    data = frame(cur, "x1, x2, x3, v")
    model = LinearRegression().fit(data[["x1", "x2", "x3"]].to_numpy(), data["v"].to_numpy())
    graph = convert_sklearn(model, initial_types=[("X", DoubleTensorType([None, 3]))])
    path = save(graph, tmp_path / "wide.onnx")
    with pytest.raises(errors.SchemaError, match=r"takes 3 columns at once.*input_columns"):
        cur.execute(f"CREATE MODEL wide OPTIONS (model_type='onnx', model_path='{path}')")
    with pytest.raises(errors.SchemaError, match="names 2 column"):
        cur.execute(
            f"CREATE MODEL wide OPTIONS (model_type='onnx', model_path='{path}', "
            "input_columns=['x1', 'x2'])"
        )
    cur.execute(
        f"CREATE MODEL wide OPTIONS (model_type='onnx', model_path='{path}', "
        "input_columns=['x1', 'x2', 'x3'], input_label_cols=['v'])"
    )
    got = column(cur, "SELECT predicted_v FROM ML.PREDICT(MODEL wide, TABLE t) ORDER BY id")
    expected = model.predict(data[["x1", "x2", "x3"]].to_numpy())
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-9)  # double all the way
    (metrics,) = fetch(cur, "SELECT mean_absolute_error FROM ML.EVALUATE(MODEL wide, TABLE t)")
    mae = np.mean(np.abs(expected - data["v"].to_numpy()))
    assert metrics["mean_absolute_error"] == pytest.approx(mae, abs=1e-9)


def test_foreign_rank1_int64_input(cur: sqlml.Cursor, tmp_path: Path) -> None:
    """A hand-made graph: variable = 2 * float(n), n an int64 [N] input."""
    graph = helper.make_graph(
        [
            helper.make_node("Cast", ["n"], ["nf"], to=TensorProto.FLOAT),
            helper.make_node("Mul", ["nf", "two"], ["variable"]),
        ],
        "double_it",
        [helper.make_tensor_value_info("n", TensorProto.INT64, [None])],
        [helper.make_tensor_value_info("variable", TensorProto.FLOAT, [None])],
        [helper.make_tensor("two", TensorProto.FLOAT, [], [2.0])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 9
    path = save(model, tmp_path / "ints.onnx")
    cur.execute(f"CREATE MODEL ints OPTIONS (model_type='onnx', model_path='{path}')")
    # imported with BigQuery's options only: the graph's output, under its name
    got = column(cur, "SELECT variable FROM ML.PREDICT(MODEL ints, (SELECT id AS n FROM t)) ")
    np.testing.assert_array_equal(np.sort(got), 2.0 * np.arange(N))
    with pytest.raises(errors.Error, match="NULL values.*integer input 'n'"):
        cur.execute("SELECT * FROM ML.PREDICT(MODEL ints, (SELECT NULL::BIGINT AS n))")


def test_foreign_kmeans_columns_named_in_metadata(cur: sqlml.Cursor, tmp_path: Path) -> None:
    data = frame(cur, "x1, x2").to_numpy()
    model = KMeans(n_clusters=3, n_init=3, random_state=0).fit(data)
    graph = convert_sklearn(model, initial_types=[("X", FloatTensorType([None, 2]))])
    entry = graph.metadata_props.add()
    entry.key, entry.value = "input_columns", '["x1", "x2"]'
    path = save(graph, tmp_path / "kmeans.onnx")
    cur.execute(f"CREATE MODEL foreign_km OPTIONS (model_type='onnx', model_path='{path}')")
    # the graph's outputs as it computes them (BigQuery's ML.PREDICT of an imported model)
    rows = fetch(cur, "SELECT label, scores FROM ML.PREDICT(MODEL foreign_km, TABLE t) ORDER BY id")
    assigned = model.predict(data)
    np.testing.assert_array_equal([r["label"] for r in rows], assigned)
    np.testing.assert_allclose([r["scores"] for r in rows], model.transform(data), rtol=1e-5)

    (metrics,) = fetch(cur, "SELECT * FROM ML.EVALUATE(MODEL foreign_km, TABLE t)")
    distances = model.transform(data)
    nearest = distances.min(axis=1)
    assert metrics["mean_squared_distance"] == pytest.approx(np.mean(nearest**2), rel=1e-4)
    centers = model.cluster_centers_  # Davies-Bouldin over the model's own centroids, by hand
    spread = [nearest[assigned == i].mean() for i in range(3)]
    between = np.linalg.norm(centers[:, None] - centers[None, :], axis=2)
    worst = [
        max((spread[i] + spread[j]) / between[i, j] for j in range(3) if j != i) for i in range(3)
    ]
    assert metrics["davies_bouldin_index"] == pytest.approx(np.mean(worst), rel=1e-4)


def test_task_and_class_labels_options(cur: sqlml.Cursor, tmp_path: Path) -> None:
    """A classifier whose probability output is named 'y_hat': the task must be given."""
    data = frame(cur, "x1, x2, y")
    clf = LogisticRegression().fit(data[["x1", "x2"]].to_numpy(), data["y"].astype(int))
    graph = convert_sklearn(
        clf, initial_types=[("X", FloatTensorType([None, 2]))], options={"zipmap": False}
    )
    graph.graph.node.append(helper.make_node("Identity", ["probabilities"], ["y_hat"]))
    del graph.graph.output[1]
    graph.graph.output.append(helper.make_tensor_value_info("y_hat", TensorProto.FLOAT, [None, 2]))
    path = save(graph, tmp_path / "y_hat.onnx")
    base = f"CREATE MODEL renamed OPTIONS (model_type='onnx', model_path='{path}', "
    with pytest.raises(errors.SchemaError, match="cannot tell what .* predicts.*task ="):
        cur.execute(base + "input_columns=['x1', 'x2'])")
    with pytest.raises(errors.SchemaError, match="3 class label.*2 probability columns"):
        cur.execute(
            base + "input_columns=['x1', 'x2'], task='classification', class_labels=['a','b','c'])"
        )
    cur.execute(
        base + "input_columns=['x1', 'x2'], task='classification', class_labels=['stay', 'go'])"
    )
    rows = fetch(cur, "SELECT * FROM ML.PREDICT(MODEL renamed, TABLE t) ORDER BY id")
    expected = np.where(clf.predict(data[["x1", "x2"]].to_numpy()) == 1, "go", "stay")
    assert [r["predicted_label"] for r in rows] == list(expected)
    probs = np.array([[p["prob"] for p in r["predicted_label_probs"]] for r in rows])
    np.testing.assert_allclose(probs, clf.predict_proba(data[["x1", "x2"]].to_numpy()), atol=1e-5)


def test_external_data_inside_the_folder_is_read(cur: sqlml.Cursor, tmp_path: Path) -> None:
    path = external_data_model(cur, tmp_path)
    cur.execute(
        f"CREATE MODEL ext OPTIONS (model_type='onnx', model_path='{path}', "
        "input_columns=['x1', 'x2', 'x3'])"
    )
    got = column(cur, "SELECT variable FROM ML.PREDICT(MODEL ext, TABLE t) ORDER BY id")
    data = frame(cur, "x1, x2, x3, v")
    expected = LinearRegression().fit(data[["x1", "x2", "x3"]], data["v"])
    np.testing.assert_allclose(got, expected.predict(data[["x1", "x2", "x3"]]), atol=1e-9)
    assert catalog_row(cur, "ext")["training_info"]["external_data"] == [
        str((tmp_path / "models" / "ext.data").resolve())
    ]


# --- refusals -------------------------------------------------------------------------------------


def external_data_model(
    cur: sqlml.Cursor, tmp_path: Path, location: str | None = None, name: str = "ext.onnx"
) -> Path:
    """A LinearRegression whose weights live in models/<name>.data; ``location`` rewrites where
    the tensors say their data is."""
    data = frame(cur, "x1, x2, x3, v")
    fitted = LinearRegression().fit(data[["x1", "x2", "x3"]].to_numpy(), data["v"].to_numpy())
    graph = convert_sklearn(fitted, initial_types=[("X", DoubleTensorType([None, 3]))])
    for tensor in graph.graph.initializer:  # only raw_data can move to an external file
        tensor.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(tensor), tensor.name))
    folder = tmp_path / "models"
    folder.mkdir(exist_ok=True)
    path = folder / name
    onnx.save_model(
        graph,
        str(path),
        save_as_external_data=True,
        all_tensors_to_one_file=True,
        location=f"{path.stem}.data",
        size_threshold=0,
    )
    if location is not None:
        proto = onnx.load(str(path), load_external_data=False)
        for tensor in proto.graph.initializer:
            for entry in tensor.external_data:
                if entry.key == "location":
                    entry.value = location
        path.write_bytes(proto.SerializeToString())
    return path


def zipmap_model(tmp_path: Path) -> Path:
    x = np.arange(20, dtype=np.float32).reshape(-1, 1)
    clf = LogisticRegression().fit(x, (x[:, 0] > 9).astype(int))
    return Path(
        save(
            convert_sklearn(clf, initial_types=[("x1", FloatTensorType([None, 1]))]),
            tmp_path / "zipmap.onnx",
        )
    )


def refusal_cases(tmp_path: Path, cur: sqlml.Cursor) -> dict[str, tuple[str, type, list[str]]]:
    """case -> (model_path, error class, words the message must contain)."""
    (tmp_path / "folder.onnx").mkdir()
    (tmp_path / "notes.onnx").write_text("this is not an ONNX model\n" * 20)
    secret = tmp_path / "outside" / "weights.data"  # a real file beside, not inside, models/
    secret.parent.mkdir()
    secret.write_bytes(b"\0" * 64)
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "link.data").symlink_to(secret)
    cases = {
        "missing": (str(tmp_path / "nope.onnx"), errors.OptionError, ["does not exist"]),
        "folder": (str(tmp_path / "folder.onnx"), errors.OptionError, ["is a folder"]),
        "not_onnx": (str(tmp_path / "notes.onnx"), errors.DataError, ["not an ONNX model"]),
        "zipmap": (str(zipmap_model(tmp_path)), errors.NotSupportedError, ["zipmap=False"]),
    }
    for case, location, why in [
        ("absolute", str(secret), ["an absolute path"]),
        ("dotdot", "../outside/weights.data", ["outside the model's folder"]),
        (
            "symlink",
            "link.data",
            ["outside the model's folder (through a symlink", str(secret.resolve())],
        ),
    ]:
        path = external_data_model(cur, tmp_path, location, name=f"{case}.onnx")
        cases[case] = (str(path), errors.DataError, [*why, "'coef'", repr(location), str(path)])
    return cases


CASES = ["missing", "folder", "not_onnx", "zipmap", "absolute", "dotdot", "symlink"]


@pytest.mark.parametrize("case", CASES)
def test_refusals(cur: sqlml.Cursor, tmp_path: Path, case: str) -> None:
    path, cls, words = refusal_cases(tmp_path, cur)[case]
    with pytest.raises(cls) as caught:
        cur.execute(f"CREATE MODEL refused OPTIONS (model_type='onnx', model_path='{path}')")
    for word in words:
        assert word in str(caught.value)
    assert "refused" not in {r[0] for r in cur.execute("SELECT name FROM sqlml.models").fetchall()}


def test_too_large(cur: sqlml.Cursor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = zipmap_model(tmp_path)
    monkeypatch.setattr(onnx_import, "MAX_BYTES", 100)
    with pytest.raises(errors.OptionError, match=r"over the 100-byte limit"):
        cur.execute(f"CREATE MODEL big OPTIONS (model_type='onnx', model_path='{path}')")


def test_statement_mistakes(cur: sqlml.Cursor, tmp_path: Path) -> None:
    path = zipmap_model(tmp_path)
    with pytest.raises(errors.ProgrammingError, match="takes no training query"):
        cur.execute(f"CREATE MODEL q OPTIONS (model_type='onnx', model_path='{path}') AS SELECT 1")
    with pytest.raises(errors.OptionError, match="needs OPTIONS \\(model_path"):
        cur.execute("CREATE MODEL q OPTIONS (model_type='onnx')")
    with pytest.raises(errors.OptionError, match="'data_split_method' option does not apply"):
        cur.execute(
            f"CREATE MODEL q OPTIONS (model_type='onnx', model_path='{path}', "
            "data_split_method='NO_SPLIT')"
        )
    with pytest.raises(errors.OptionError, match="'model_path' option does not apply"):
        cur.execute(
            "CREATE MODEL q OPTIONS (model_type='linear_reg', model_path='x.onnx', "
            "input_label_cols=['v']) AS SELECT x1, v FROM t"
        )
    exported = tmp_path / "own.onnx"
    cur.execute(
        "CREATE OR REPLACE MODEL own OPTIONS (model_type='linear_reg', input_label_cols=['v']) "
        "AS SELECT x1, v FROM t"
    )
    cur.execute(f"EXPORT MODEL own OPTIONS (uri = '{exported}')")
    with pytest.raises(errors.OptionError, match="'task' option .* exported by sqlml"):
        cur.execute(
            f"CREATE MODEL q OPTIONS (model_type='onnx', model_path='{exported}', "
            "task='regression')"
        )
    with pytest.raises(errors.ProgrammingError, match="needs a training query"):
        cur.execute("CREATE MODEL q OPTIONS (model_type='linear_reg', input_label_cols=['v'])")
