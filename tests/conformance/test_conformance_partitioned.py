"""CREATE MODEL … PARTITION BY (issue 13), on both engines: one model per group of the partition
columns' values, each row scored by its group's model, the fallback for the rest.

No SQL engine has per-group supervised models (BigQuery and Snowflake partition forecasting
only), so the expected values come from the textbook: ordinary least squares per group with
numpy (``linear_reg`` with no penalty and ``data_split_method = 'no_split'`` is exactly that fit),
and the fallback's fit over every row.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pytest

import sqlml

#: (region, shop) -> (slope, intercept); region NULL is a group of its own, as in GROUP BY.
LINES = {
    ("n", 1): (2.0, 1.0),
    ("n", 2): (-1.0, 4.0),
    ("s", 1): (0.5, -2.0),
    ("s", 2): (3.0, 0.0),
    (None, 1): (-2.5, 7.0),
}
OPTIONS = "model_type = 'linear_reg', input_label_cols = ['y'], data_split_method = 'no_split'"


def sales(rows_per_group: int = 30, seed: int = 0) -> pa.Table:
    rng = np.random.default_rng(seed)
    region, shop, x, y = [], [], [], []
    for (r, s), (slope, intercept) in LINES.items():
        xs = rng.uniform(0, 10, rows_per_group)
        region += [r] * rows_per_group
        shop += [s] * rows_per_group
        x += xs.tolist()
        y += (slope * xs + intercept + rng.normal(0, 0.1, rows_per_group)).tolist()
    return pa.table(
        {
            "region": pa.array(region, pa.string()),
            "shop": pa.array(shop, pa.int64()),
            "x": pa.array(x, pa.float64()),
            "y": pa.array(y, pa.float64()),
        }
    )


def ols(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    design = np.column_stack([x, np.ones_like(x)])
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    return coef


def by_group(table: pa.Table) -> dict[tuple, tuple[np.ndarray, np.ndarray]]:
    rows = table.to_pylist()
    out: dict[tuple, tuple[list, list]] = {}
    for row in rows:
        xs, ys = out.setdefault((row["region"], row["shop"]), ([], []))
        xs.append(row["x"])
        ys.append(row["y"])
    return {k: (np.array(xs), np.array(ys)) for k, (xs, ys) in out.items()}


def per_shop(backend: Any, name: str) -> pa.Table:
    """``sales()`` loaded as p_sales, and model ``name`` trained on it PARTITION BY region, shop."""
    table = sales()
    backend.load("p_sales", table)
    backend.run(
        f"CREATE MODEL {name} PARTITION BY region, shop OPTIONS ({OPTIONS}) "
        "AS SELECT region, shop, x, y FROM p_sales"
    )
    return table


def test_two_partition_columns_one_model_per_group_null_a_group(backend: Any) -> None:
    table = per_shop(backend, "p_two")
    info = backend.rows(
        "SELECT region, shop, status, training_rows, reason FROM ML.GROUP_INFO(MODEL p_two)"
    )
    assert sorted(info, key=lambda r: (r[0] is not None, r[0] or "", r[1])) == [
        (None, 1, "trained", 30, None),
        ("n", 1, "trained", 30, None),
        ("n", 2, "trained", 30, None),
        ("s", 1, "trained", 30, None),
        ("s", 2, "trained", 30, None),
    ]
    # new rows: every trained group, and ('e', 1), a group unseen at training
    probe = [(r, s, float(x)) for (r, s) in LINES for x in (0.0, 5.0)] + [("e", 1, 5.0)]
    backend.load(
        "p_new",
        pa.table(
            {
                "region": pa.array([p[0] for p in probe], pa.string()),
                "shop": pa.array([p[1] for p in probe], pa.int64()),
                "x": pa.array([p[2] for p in probe], pa.float64()),
            }
        ),
    )
    got = backend.rows(
        "SELECT region, shop, x, predicted_y FROM ML.PREDICT(MODEL p_two, TABLE p_new)"
    )
    assert len(got) == len(probe)
    groups = by_group(table)
    everything = ols(np.asarray(table["x"]), np.asarray(table["y"]))  # the fallback, by hand
    for region, shop, x, predicted in got:
        slope, intercept = ols(*groups[(region, shop)]) if (region, shop) in groups else everything
        assert predicted == pytest.approx(slope * x + intercept, rel=1e-4, abs=1e-3)
    # and each group's own line is near the one it was drawn from
    for key, (x, y) in groups.items():
        slope, intercept = ols(x, y)
        assert abs(slope - LINES[key][0]) < 0.05 and abs(intercept - LINES[key][1]) < 0.3


def test_one_partition_column_skipped_and_failing_groups(backend: Any) -> None:
    # 'one class' has a single label value (logistic regression refuses it), 'tiny' has 3 rows
    rows = 60
    table = pa.table(
        {
            "g": ["one class"] * rows + ["fine"] * rows + ["tiny"] * 3,
            "x": [float(i % 10) for i in range(2 * rows)] + [1.0, 8.0, 2.0],
            "y": [1] * rows + [int(i % 10 >= 5) for i in range(rows)] + [0, 1, 0],
        }
    )
    backend.load("p_cls", table)
    cur = backend.run(
        "CREATE MODEL p_one PARTITION BY g OPTIONS (model_type = 'logistic_reg', "
        "input_label_cols = ['y'], min_group_rows = 10) AS SELECT * FROM p_cls"
    )
    assert any("1 of 3 groups trained, 1 skipped, 1 failed" in str(m) for _, m in cur.messages)
    info = {
        r[0]: r[1:]
        for r in backend.rows("SELECT g, status, reason FROM ML.GROUP_INFO(MODEL p_one)")
    }
    assert info["fine"] == ("trained", None)
    assert info["tiny"] == ("skipped", "3 rows, fewer than min_group_rows = 10")
    assert info["one class"][0] == "failed" and "class" in info["one class"][1]
    shown = dict(backend.rows("SHOW MODEL p_one"))
    assert (shown["Partition By"], shown["Groups Trained"], shown["Groups Skipped"]) == (
        "g",
        "1",
        "1",
    )
    assert (shown["Groups Failed"], shown["Fallback"], shown["Min Group Rows"]) == (
        "1",
        "global",
        "10",
    )
    predicted = backend.rows(
        "SELECT g, predicted_y FROM ML.PREDICT(MODEL p_one, TABLE p_cls) WHERE x = 8"
    )
    assert {g for g, p in predicted if p is not None} == {"one class", "fine", "tiny"}

    backend.run(
        "CREATE MODEL p_none PARTITION BY g OPTIONS (model_type = 'logistic_reg', "
        "input_label_cols = ['y'], min_group_rows = 10, fallback = 'none') AS SELECT * FROM p_cls"
    )
    predicted = backend.rows("SELECT g, predicted_y FROM ML.PREDICT(MODEL p_none, TABLE p_cls)")
    assert {g for g, p in predicted if p is None} == {"one class", "tiny"}
    assert all(p is not None for g, p in predicted if g == "fine")


def test_replace_swaps_every_group_at_once_and_a_failed_replace_keeps_them(backend: Any) -> None:
    table = sales()
    backend.load("p_sales", table)
    create = (
        "CREATE OR REPLACE MODEL p_swap PARTITION BY region, shop OPTIONS ({options}) "
        "AS SELECT region, shop, x, y FROM {source}"
    )
    backend.run(create.format(options=OPTIONS, source="p_sales"))
    query = "SELECT region, shop, x, predicted_y FROM ML.PREDICT(MODEL p_swap, TABLE p_sales)"
    before = sorted(backend.rows(query), key=str)
    # no group can train (a constant label cannot be a logistic regression's): the statement
    # fails and the old groups still score
    backend.load("p_flat", table.set_column(3, "y", pa.array([1] * table.num_rows, pa.int64())))
    with pytest.raises(sqlml.DataError, match="no group of PARTITION BY region, shop"):
        backend.run(
            create.format(
                options="model_type = 'logistic_reg', input_label_cols = ['y']", source="p_flat"
            )
        )
    assert sorted(backend.rows(query), key=str) == before
    assert dict(backend.rows("SHOW MODEL p_swap"))["Version"] == "1"
    # a replace that trains changes every group's model
    shifted = table.set_column(3, "y", pa.compute.add(table["y"], 10.0))
    backend.load("p_shift", shifted)
    backend.run(create.format(options=OPTIONS, source="p_shift"))
    after = {(r, s, x): p for r, s, x, p in backend.rows(query)}
    for region, shop, x, predicted in before:
        assert after[(region, shop, x)] == pytest.approx(predicted + 10.0, abs=1e-2)


def test_evaluate_per_group_and_overall(backend: Any) -> None:
    table = per_shop(backend, "p_eval")
    got = backend.rows(
        "SELECT region, shop, is_overall, mean_squared_error, mean_absolute_error "
        "FROM ML.EVALUATE(MODEL p_eval, TABLE p_sales)"
    )
    groups = by_group(table)
    errors = {}
    for key, (x, y) in groups.items():
        slope, intercept = ols(x, y)
        residual = y - (slope * x + intercept)
        errors[key] = (float(np.mean(residual**2)), float(np.mean(np.abs(residual))))
    per_group = {(r, s): (mse, mae) for r, s, overall, mse, mae in got if not overall}
    assert set(per_group) == set(groups)
    for key, (mse, mae) in errors.items():
        assert per_group[key][0] == pytest.approx(mse, rel=1e-3)
        assert per_group[key][1] == pytest.approx(mae, rel=1e-3)
    (overall,) = [row for row in got if row[2]]
    all_residuals_mse = np.mean([mse for mse, _ in errors.values()])  # equal group sizes
    assert overall[:2] == (None, None)
    assert overall[3] == pytest.approx(all_residuals_mse, rel=1e-3)
    recorded = backend.rows(
        "SELECT region, shop, mean_squared_error FROM ML.EVALUATE(MODEL p_eval) "
        "WHERE NOT is_overall"
    )
    assert len(recorded) == len(groups)  # no_split: the training rows are the evaluation rows
    for region, shop, mse in recorded:
        assert mse == pytest.approx(errors[(region, shop)][0], rel=1e-3)


def test_clear_errors(backend: Any) -> None:
    backend.load("p_sales", sales())
    with pytest.raises(sqlml.ProgrammingError, match="names column 'nope'"):
        backend.run(
            f"CREATE MODEL p_bad PARTITION BY nope OPTIONS ({OPTIONS}) AS SELECT * FROM p_sales"
        )
    with pytest.raises(sqlml.ProgrammingError, match="names 'y', the label"):
        backend.run(
            f"CREATE MODEL p_bad PARTITION BY y OPTIONS ({OPTIONS}) AS SELECT * FROM p_sales"
        )
    with pytest.raises(
        sqlml.ProgrammingError, match="applies only to a model trained PARTITION BY"
    ):
        backend.run(
            f"CREATE MODEL p_bad OPTIONS ({OPTIONS}, min_group_rows = 5) AS SELECT * FROM p_sales"
        )
    with pytest.raises(sqlml.ProgrammingError, match="'fallback' option .* must be 'global'"):
        backend.run(
            f"CREATE MODEL p_bad PARTITION BY shop OPTIONS ({OPTIONS}, fallback = 'nearest') "
            "AS SELECT * FROM p_sales"
        )
    backend.run(
        f"CREATE MODEL p_ok PARTITION BY shop OPTIONS ({OPTIONS}) AS SELECT shop, x, y FROM p_sales"
    )
    with pytest.raises(
        sqlml.NotSupportedError, match="ML.TRANSFORM of model p_ok, trained PARTITION BY shop"
    ):
        backend.rows("SELECT * FROM ML.TRANSFORM(MODEL p_ok, TABLE p_sales)")
    with pytest.raises(sqlml.ProgrammingError, match="lacks column.*shop.*PARTITION BY"):
        backend.rows("SELECT * FROM ML.PREDICT(MODEL p_ok, (SELECT x FROM p_sales))")
    backend.run(f"CREATE MODEL p_single OPTIONS ({OPTIONS}) AS SELECT x, y FROM p_sales")
    with pytest.raises(sqlml.NotSupportedError, match="applies to a model trained PARTITION BY"):
        backend.rows("SELECT * FROM ML.GROUP_INFO(MODEL p_single)")


def test_alter_keeps_the_groups_and_drop_removes_them(backend: Any) -> None:
    per_shop(backend, "p_life")
    query = "SELECT region, shop, x, predicted_y FROM ML.PREDICT(MODEL p_life, TABLE p_sales)"
    before = sorted(backend.rows(query), key=str)
    backend.run("ALTER MODEL p_life SET OPTIONS (description = 'per shop')")
    shown = dict(backend.rows("SHOW MODEL p_life"))
    assert (shown["Version"], shown["Description"], shown["Groups Trained"]) == (
        "2",
        "per shop",
        "5",
    )
    assert sorted(backend.rows(query), key=str) == before  # version 2 reads version 1's groups
    backend.run("DROP MODEL p_life")
    assert backend.rows("SELECT count(*) FROM sqlml.model_groups WHERE name = 'p_life'") == [(0,)]
    with pytest.raises(sqlml.ProgrammingError, match="There is no model 'p_life'"):
        backend.rows(query)


def test_export_writes_a_file_per_group_and_an_index_bare_onnx_runtime_can_use(
    backend: Any, tmp_path: Any
) -> None:
    import json

    import onnx
    import onnxruntime as ort

    table = per_shop(backend, "p_exp")
    folder = tmp_path / "p_exp"
    backend.run(f"EXPORT MODEL p_exp OPTIONS (uri = '{folder}')")
    index = json.loads((folder / "index.json").read_text())
    assert [c["name"] for c in index["partition_by"]] == ["region", "shop"]
    assert index["fallback"] == "fallback.onnx" and len(index["groups"]) == len(LINES)
    files = {tuple(g["key"]): g["file"] for g in index["groups"]}
    x = np.array([[0.0], [5.0]], dtype=np.float32)
    groups = by_group(table)
    for key in LINES:
        path = folder / files[key]
        model = onnx.load(str(path))
        props = {p.key: p.value for p in model.metadata_props}
        assert json.loads(props["sqlml.group_key"]) == list(key)
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        (out,) = session.run(None, {"x": x})[:1]
        slope, intercept = ols(*groups[key])  # by hand, as in the test above
        np.testing.assert_allclose(
            np.asarray(out).reshape(-1), slope * x.reshape(-1) + intercept, rtol=1e-4, atol=1e-3
        )
    with pytest.raises(sqlml.OperationalError, match="writes a folder"):
        (tmp_path / "afile").write_text("")
        backend.run(f"EXPORT MODEL p_exp OPTIONS (uri = '{tmp_path / 'afile'}')")


def test_inspection_functions_answer_per_group(backend: Any) -> None:
    table = per_shop(backend, "p_look")
    groups = by_group(table)
    weights = backend.rows(
        "SELECT region, shop, processed_input, weight FROM ML.WEIGHTS(MODEL p_look)"
    )
    assert len(weights) == 2 * len(groups)  # x and the intercept, per group
    for region, shop, name, weight in weights:
        slope, intercept = ols(*groups[(region, shop)])
        assert weight == pytest.approx(slope if name == "x" else intercept, rel=1e-4, abs=1e-4)
    runs = backend.rows("SELECT region, shop, iteration FROM ML.TRAINING_INFO(MODEL p_look)")
    assert {(r, s) for r, s, _ in runs} == set(groups)
    # a linear model's attribution is exact: slope × (x − the group's mean x)
    explained = backend.rows(
        "SELECT region, shop, x, top_feature_attributions "
        "FROM ML.EXPLAIN_PREDICT(MODEL p_look, (SELECT region, shop, x FROM p_sales WHERE y > 3))"
    )
    assert {(r, s) for r, s, _, _ in explained} == {
        k for k, (x, y) in groups.items() if (y > 3).any()
    }
    for region, shop, x, attributions in explained:
        xs, ys = groups[(region, shop)]
        slope, _ = ols(xs, ys)
        (attribution,) = [a["attribution"] for a in attributions if a["feature"] == "x"]
        assert attribution == pytest.approx(slope * (x - xs.mean()), rel=1e-3, abs=1e-3)


def test_the_redshift_function_takes_the_partition_columns_first(backend: Any) -> None:
    # Redshift's form (https://docs.aws.amazon.com/redshift/latest/dg/r_create_model_use_cases.html
    # "CREATE MODEL with user guidance"), with sqlml's PARTITION BY: the FUNCTION's arguments are
    # the partition columns, then the features, as in a table function's GROUP BY
    table = sales()
    backend.load("p_sales", table)
    backend.run(
        "CREATE MODEL p_fn FROM (SELECT region, shop, x, y FROM p_sales) TARGET y "
        "FUNCTION p_fn_predict MODEL_TYPE LINEAR_LEARNER PROBLEM_TYPE REGRESSION "
        "PARTITION BY region, shop"
    )
    got = backend.rows(
        "SELECT region, shop, x, p_fn_predict(region, shop, x) FROM p_sales "
        "UNION ALL SELECT 'e', 1, 5.0, p_fn_predict('e', 1, 5.0)"
    )
    groups = by_group(table)
    everything = ols(np.asarray(table["x"]), np.asarray(table["y"]))
    assert len(got) == table.num_rows + 1
    for region, shop, x, predicted in got:
        slope, intercept = ols(*groups[(region, shop)]) if (region, shop) in groups else everything
        assert predicted == pytest.approx(slope * x + intercept, rel=1e-3, abs=1e-2)
    shown = dict(backend.rows("SHOW MODEL p_fn"))
    assert (shown["Function Parameters"], shown["Function Parameter Types"]) == (
        "region shop x",
        "VARCHAR BIGINT DOUBLE",
    )


def test_transform_is_fitted_per_group(backend: Any) -> None:
    # https://cloud.google.com/bigquery/docs/reference/standard-sql/bigqueryml-syntax-create#transform:
    # a TRANSFORM's analytic functions (ML.STANDARD_SCALER ... OVER ()) are fitted on the training
    # rows — here each group's; a scaled copy and a SQL expression of x leave OLS's predictions
    # those of x alone
    table = sales()
    backend.load("p_sales", table)
    backend.run(
        "CREATE MODEL p_tf PARTITION BY region, shop "
        "TRANSFORM (ML.STANDARD_SCALER(x) OVER () AS xs, x * 2 + 1 AS x2, y) "
        f"OPTIONS ({OPTIONS}) AS SELECT region, shop, x, y FROM p_sales"
    )
    got = backend.rows(
        "SELECT region, shop, x, predicted_y FROM ML.PREDICT(MODEL p_tf, TABLE p_sales)"
    )
    groups = by_group(table)
    assert len(got) == table.num_rows
    for region, shop, x, predicted in got:
        slope, intercept = ols(*groups[(region, shop)])
        assert predicted == pytest.approx(slope * x + intercept, rel=1e-3, abs=1e-2)


def test_kmeans_one_clustering_per_group(backend: Any) -> None:
    # unsupervised too: each group holds two blobs of its own, far apart (x near 0 or near 100 +
    # 10 × the group), so its two clusters are its two blobs
    rows = [
        (g, float(blob * (100 + 10 * g) + (i % 5) * 0.1))
        for g in range(3)
        for blob in (0, 1)
        for i in range(20)
    ]
    table = pa.table({"g": [r[0] for r in rows], "x": [r[1] for r in rows]})
    backend.load("p_blobs", table)
    backend.run(
        "CREATE MODEL p_km PARTITION BY g OPTIONS (model_type = 'kmeans', num_clusters = 2) "
        "AS SELECT g, x FROM p_blobs"
    )
    got = backend.rows("SELECT g, x, centroid_id FROM ML.PREDICT(MODEL p_km, TABLE p_blobs)")
    assert len(got) == table.num_rows
    for g in range(3):
        low = {c for gg, x, c in got if gg == g and x < 50}
        high = {c for gg, x, c in got if gg == g and x > 50}
        assert len(low) == len(high) == 1 and low != high
