"""Columns whose names are not plain identifiers, on both engines (issue 9, item 1).

Spreadsheet-born tables have columns such as ``monthly spend``, ``a-b`` or ``x'y``. Every model type
trains on them, every ML function and the Redshift FUNCTION use them, and the exported ONNX graph
takes them under exactly those names. Each test trains the same rows twice, once with the odd names
and once with plain ones, and checks the two models agree (the plain-name path is checked against
scikit-learn and ONNX Runtime in test_conformance_models.py); linear_reg is also checked against
least squares directly, and every export is run in bare ONNX Runtime with feeds built here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import pyarrow as pa
import pytest
from conformance_data import CAT, X1, X2, design

import sqlml

#: odd name -> plain name. A space, a hyphen, a quote, a non-ASCII letter and a keyword.
NUMERIC = {"monthly spend": "n1", "a-b": "n2", "x'y": "n3", "Größe": "n4"}
TEXT = {"plan type": "t1"}
BOOL_LABEL = ("is churned?", "yb")
REAL_LABEL = ("sales €", "yr")
N = 120
ROW = np.arange(N)


def rows(plain: bool) -> pa.Table:
    """Four numbers, one category and two labels; the same values under either set of names."""
    values = {
        "monthly spend": X1,
        "a-b": X2,
        "x'y": ((ROW * 5) % 7).astype(np.float64),
        "Größe": ((ROW * 3) % 13) / 4.0,
        "plan type": CAT,
        "is churned?": ((ROW * 37) % 100) < (50 + 9 * X1),
        "sales €": 3 * X1 - 0.5 * X2 + ((ROW * 5) % 7) + (((ROW * 37) % 11) - 5) / 10.0,
    }
    names = {**NUMERIC, **TEXT, BOOL_LABEL[0]: BOOL_LABEL[1], REAL_LABEL[0]: REAL_LABEL[1]}
    return pa.table({(names[k] if plain else k): v for k, v in values.items()})


def quote(backend: Any, name: str) -> str:
    """An identifier as each engine's SQL quotes it: backticks on Spark, double quotes on DuckDB."""
    if backend.name == "spark":
        return "`" + name.replace("`", "``") + "`"
    return '"' + name.replace('"', '""') + '"'


def string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


MODELS = [
    ("linear_reg", "", REAL_LABEL),
    ("logistic_reg", "", BOOL_LABEL),
    ("random_forest_classifier", ", num_parallel_tree = 10, max_tree_depth = 4", BOOL_LABEL),
    ("random_forest_regressor", ", num_parallel_tree = 10, max_tree_depth = 4", REAL_LABEL),
    ("boosted_tree_classifier", ", max_iterations = 5, max_tree_depth = 3", BOOL_LABEL),
    ("boosted_tree_regressor", ", max_iterations = 5, max_tree_depth = 3", REAL_LABEL),
    ("dnn_classifier", ", hidden_units = [8], max_iterations = 50", BOOL_LABEL),
    ("dnn_regressor", ", hidden_units = [8], max_iterations = 50", REAL_LABEL),
    ("kmeans", ", num_clusters = 3", None),
    ("pca", ", num_principal_components = 2", None),
]


def train(backend: Any, name: str, model_type: str, options: str, label: Any, plain: bool) -> str:
    table = f"{name}_rows"
    backend.load(table, rows(plain))
    which = 1 if plain else 0
    features = [p if plain else o for o, p in {**NUMERIC, **TEXT}.items()]
    columns = [quote(backend, c) for c in features]
    label_option = ""
    if label is not None:
        columns.append(quote(backend, label[which]))
        label_option = f", input_label_cols = [{string(label[which])}]"
    backend.run(
        f"CREATE OR REPLACE MODEL {name} OPTIONS (model_type = '{model_type}'{label_option}"
        f"{options}) AS SELECT {', '.join(columns)} FROM {table}"
    )
    return table


def predictions(backend: Any, name: str, table: str, label: Any, plain: bool) -> dict[str, list]:
    """ML.PREDICT's output columns (not the input's), with the label's name made plain."""
    found = backend.arrow(f"SELECT * FROM ML.PREDICT(MODEL {name}, TABLE {table})")
    inputs = set(rows(plain).column_names)
    out = {}
    for column in found.column_names:
        if column in inputs:
            continue
        key = column
        if label is not None and not plain:
            key = column.replace(label[0], label[1])
        out[key] = found.column(column).to_pylist()
    return out


def assert_same(a: dict[str, list], b: dict[str, list]) -> None:
    assert sorted(a) == sorted(b)
    for key in a:
        left, right = a[key], b[key]
        if left and isinstance(left[0], list):  # [{label, prob}, ...], [{centroid_id, distance}]
            left = [[list(p.values())[-1] for p in v] for v in left]
            right = [[list(p.values())[-1] for p in v] for v in right]
        if left and isinstance(left[0], (float, list)):
            np.testing.assert_allclose(np.array(left, float), np.array(right, float), atol=1e-5)
        else:
            assert left == right, key


@pytest.mark.parametrize(("model_type", "options", "label"), MODELS, ids=[m[0] for m in MODELS])
def test_every_model_type_takes_odd_column_names(
    backend: Any, tmp_path: Path, model_type: str, options: str, label: Any
) -> None:
    odd = train(backend, "c_odd", model_type, options, label, plain=False)
    plain = train(backend, "c_plain", model_type, options, label, plain=True)
    assert_same(
        predictions(backend, "c_odd", odd, label, plain=False),
        predictions(backend, "c_plain", plain, label, plain=True),
    )
    # The stored features are the columns, exactly.
    info = backend.rows("SELECT input FROM ML.FEATURE_INFO(MODEL c_odd)")
    assert sorted(r[0] for r in info) == sorted([*NUMERIC, *TEXT])

    # EXPORT: a bare ONNX Runtime session takes the columns under their own names.
    path = tmp_path / "odd.onnx"
    backend.run(f"EXPORT MODEL c_odd OPTIONS (uri = {string(str(path))})")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert sorted(i.name for i in session.get_inputs()) == sorted([*NUMERIC, *TEXT])
    table = rows(plain=False)
    feeds = {n: table.column(n).to_numpy().astype(np.float32).reshape(-1, 1) for n in NUMERIC} | {
        n: np.array(table.column(n).to_pylist(), dtype=object).reshape(-1, 1) for n in TEXT
    }
    first = session.run(None, feeds)[0]
    assert len(first) == N

    # IMPORT it back: it scores as the trained model does.
    backend.run(
        f"CREATE OR REPLACE MODEL c_back OPTIONS (model_type = 'onnx', "
        f"model_path = {string(str(path))})"
    )
    assert_same(
        predictions(backend, "c_back", odd, label, plain=False),
        predictions(backend, "c_odd", odd, label, plain=False),
    )


def test_linear_reg_on_odd_names_is_least_squares_and_explains_them(backend: Any) -> None:
    from sklearn.linear_model import LinearRegression

    table = train(backend, "c_odd_lin", "linear_reg", "", REAL_LABEL, plain=False)
    target = "predicted_" + REAL_LABEL[0]
    found = backend.arrow(
        f"SELECT {quote(backend, target)} FROM ML.PREDICT(MODEL c_odd_lin, TABLE {table})"
    )
    data = rows(plain=False)
    x = design(data, list(NUMERIC), list(TEXT))
    reference = LinearRegression().fit(x, data.column(REAL_LABEL[0]).to_numpy())
    np.testing.assert_allclose(found.column(0).to_numpy(), reference.predict(x), atol=1e-4)

    weights = dict(backend.rows("SELECT processed_input, weight FROM ML.WEIGHTS(MODEL c_odd_lin)"))
    for i, name in enumerate(NUMERIC):
        assert weights[name] == pytest.approx(reference.coef_[i], rel=1e-4, abs=1e-6)
    explained = backend.arrow(
        f"SELECT * FROM ML.EXPLAIN_PREDICT(MODEL c_odd_lin, TABLE {table}, STRUCT(5 AS top_k_features))"
    )
    attributions = explained.column("top_feature_attributions").to_pylist()[0]
    assert {a["feature"] for a in attributions} <= {*NUMERIC, *TEXT}
    evaluated = backend.arrow(f"SELECT r2_score FROM ML.EVALUATE(MODEL c_odd_lin, TABLE {table})")
    assert evaluated.column(0)[0].as_py() == pytest.approx(
        reference.score(x, data.column(REAL_LABEL[0]).to_numpy()), rel=1e-5
    )


def test_redshift_function_takes_odd_column_names(backend: Any) -> None:
    backend.load("c_odd_rs_rows", rows(plain=False))
    columns = [quote(backend, c) for c in [*NUMERIC, *TEXT]]
    backend.run(
        f"CREATE MODEL c_odd_rs FROM (SELECT {', '.join(columns)}, "
        f"{quote(backend, BOOL_LABEL[0])} FROM c_odd_rs_rows) TARGET "
        f"{quote(backend, BOOL_LABEL[0])} FUNCTION c_odd_rs_fn"
    )
    by_function = backend.rows(f"SELECT c_odd_rs_fn({', '.join(columns)}) FROM c_odd_rs_rows")
    target = quote(backend, "predicted_" + BOOL_LABEL[0])
    by_predict = backend.rows(
        f"SELECT {target} FROM ML.PREDICT(MODEL c_odd_rs, TABLE c_odd_rs_rows)"
    )
    assert [r[0] for r in by_function] == [r[0] for r in by_predict]
    truth = rows(plain=False).column(BOOL_LABEL[0]).to_pylist()
    assert np.mean([a == b for (a,), b in zip(by_function, truth, strict=True)]) > 0.7


def test_transform_outputs_and_inputs_with_odd_names(backend: Any) -> None:
    backend.load("c_odd_tr_rows", rows(plain=False))
    spend, ab, plan, churned = (
        quote(backend, n) for n in ("monthly spend", "a-b", "plan type", BOOL_LABEL[0])
    )
    backend.run(
        f"CREATE OR REPLACE MODEL c_odd_tr TRANSFORM ({spend} * 2 AS {quote(backend, 'double spend')}, "
        f"{ab}, {plan}, {churned}) OPTIONS (model_type = 'logistic_reg', input_label_cols = "
        f"[{string(BOOL_LABEL[0])}]) AS SELECT * FROM c_odd_tr_rows"
    )
    # ML.FEATURE_INFO of a TRANSFORM model: the pre-TRANSFORM columns it reads (bigqueryml-syntax-feature)
    info = backend.rows("SELECT input FROM ML.FEATURE_INFO(MODEL c_odd_tr)")
    assert sorted(r[0] for r in info) == sorted(["monthly spend", "a-b", "plan type"])
    target = quote(backend, "predicted_" + BOOL_LABEL[0])
    found = backend.rows(f"SELECT {target} FROM ML.PREDICT(MODEL c_odd_tr, TABLE c_odd_tr_rows)")
    truth = rows(plain=False).column(BOOL_LABEL[0]).to_pylist()
    assert np.mean([a == b for (a,), b in zip(found, truth, strict=True)]) > 0.75


@pytest.mark.parametrize(
    ("columns", "named"),
    [("a, b, a, y", "'a'"), ("a, b, y, y", "'y'"), ("a, b AS A, y", "'a' and 'A'")],
)
def test_a_duplicated_training_column_is_a_schema_error(
    backend: Any, columns: str, named: str
) -> None:
    backend.load(
        "c_dup_rows", pa.table({"a": X1, "b": X2, "y": ((ROW * 37) % 100) < (50 + 9 * X1)})
    )
    with pytest.raises(sqlml.errors.SchemaError, match=f"two columns named {named}"):
        backend.run(
            "CREATE MODEL c_dup OPTIONS (model_type = 'logistic_reg', input_label_cols = ['y']) "
            f"AS SELECT {columns} FROM c_dup_rows"
        )
    assert backend.rows("SELECT 1") == [(1,)]
