"""CREATE MODEL ... TRANSFORM (...): BigQuery's preprocessing inside the model.

Real DuckDB files, real ONNX Runtime. Expected values come from the data by hand or from numpy on the
same rows (a min-max scaling computed here, medians, quantiles), never from sqlml's own output.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import pytest

import sqlml
from sqlml import errors


def fetch(cur: sqlml.Cursor, sql: str, params: Any = None) -> list[dict[str, Any]]:
    cur.execute(sql, params)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def info_of(cur: sqlml.Cursor, model: str) -> dict[str, Any]:
    cur.execute("SELECT training_info FROM sqlml.models WHERE name = ?", [model])
    return json.loads(cur.fetchone()[0])


@pytest.fixture
def cur(tmp_path: Path) -> Iterator[sqlml.Cursor]:
    connection = sqlml.connect(str(tmp_path / "transform.duckdb"))
    cursor = connection.cursor()
    # x spread over [2, 80]; z over [0, 1.9]; plan in three mixed-case spellings
    cursor.execute(
        """CREATE TABLE t AS
           SELECT i AS id, (2 + (i * 37) % 79)::DOUBLE AS x, ((i * 7) % 20) / 10 AS z,
                  ['Basic', 'PRO', 'team'][i % 3 + 1] AS plan,
                  (3 * (2 + (i * 37) % 79) - 4 * ((i * 7) % 20) / 10 + (i % 3) * 5)::DOUBLE AS y
           FROM range(45) t(i)"""
    )
    yield cursor
    connection.close()


# --- equivalence with preprocessing done by hand ----------------------------------------------------


def minmax(values: np.ndarray, low: float, high: float) -> np.ndarray:
    """BigQuery's ML.MIN_MAX_SCALER with the training range, capped to [0, 1]."""
    return np.clip((values - low) / (high - low), 0.0, 1.0)


def test_kmeans_on_min_max_scaled_columns_matches_hand_scaled_data(cur: sqlml.Cursor) -> None:
    rows = fetch(cur, "SELECT x, z FROM t ORDER BY id")
    x = np.array([r["x"] for r in rows])
    z = np.array([r["z"] for r in rows])
    cur.execute("CREATE TABLE hand (xs DOUBLE, zs DOUBLE)")
    scaled = np.column_stack([minmax(x, x.min(), x.max()), minmax(z, z.min(), z.max())])
    cur.executemany("INSERT INTO hand VALUES (?, ?)", scaled.tolist())
    options = "model_type='kmeans', num_clusters=3, standardize_features=FALSE"
    cur.execute(
        f"CREATE MODEL viat TRANSFORM (ML.MIN_MAX_SCALER(x) OVER () AS xs, "
        f"ML.MIN_MAX_SCALER(z) OVER () AS zs) OPTIONS ({options}) AS SELECT * FROM t"
    )
    cur.execute(f"CREATE MODEL byhand OPTIONS ({options}) AS SELECT * FROM hand")

    # new rows, two of them outside the training range (capped at 0 and 1)
    new = [(150.0, 0.5), (-10.0, 3.0), (40.0, 0.95), (7.5, 0.1)]
    cur.execute("CREATE TABLE new_raw (x DOUBLE, z DOUBLE)")
    cur.executemany("INSERT INTO new_raw VALUES (?, ?)", new)
    raw = np.array(new)
    hand_new = np.column_stack(
        [minmax(raw[:, 0], x.min(), x.max()), minmax(raw[:, 1], z.min(), z.max())]
    )
    cur.execute("CREATE TABLE new_hand (xs DOUBLE, zs DOUBLE)")
    cur.executemany("INSERT INTO new_hand VALUES (?, ?)", hand_new.tolist())

    got = fetch(cur, "SELECT * FROM ML.PREDICT(MODEL viat, TABLE new_raw)")
    want = fetch(cur, "SELECT * FROM ML.PREDICT(MODEL byhand, TABLE new_hand)")
    assert [r["centroid_id"] for r in got] == [r["centroid_id"] for r in want]
    for a, b in zip(got, want, strict=True):
        np.testing.assert_allclose(
            [e["distance"] for e in a["nearest_centroids_distance"]],
            [e["distance"] for e in b["nearest_centroids_distance"]],
            rtol=1e-5,
            atol=1e-6,
        )
    # the graph stores the training range (and the ONNX file takes the raw columns x and z)
    stats = {r["output"]: r["statistics"] for r in info_of(cur, "viat")["transform"]}
    assert stats["xs"] == {"min": x.min(), "max": x.max()}
    assert stats["zs"] == {"min": z.min(), "max": z.max()}


def test_sql_expressions_and_ml_functions_match_hand_preprocessed_data(cur: sqlml.Cursor) -> None:
    rows = fetch(cur, "SELECT * FROM t ORDER BY id")
    x = np.array([r["x"] for r in rows])
    cur.execute("CREATE TABLE hand (xs DOUBLE, z2 DOUBLE, plan VARCHAR, y DOUBLE)")
    cur.executemany(
        "INSERT INTO hand VALUES (?, ?, ?, ?)",
        [
            [
                float(minmax(np.array(r["x"]), x.min(), x.max())),
                r["z"] * 2,
                r["plan"].lower(),
                r["y"],
            ]
            for r in rows
        ],
    )
    cur.execute(
        "CREATE MODEL viat TRANSFORM (ML.MIN_MAX_SCALER(x) OVER () AS xs, z * 2 AS z2, "
        "lower(plan) AS plan, y) "
        "OPTIONS (model_type='linear_reg', input_label_cols=['y'], l2_reg=5.0) AS SELECT * FROM t"
    )
    cur.execute(
        "CREATE MODEL byhand OPTIONS (model_type='linear_reg', input_label_cols=['y'], l2_reg=5.0) "
        "AS SELECT * FROM hand"
    )
    got = fetch(
        cur, "SELECT * FROM ML.PREDICT(MODEL viat, (SELECT id, x, z, plan FROM t)) ORDER BY id"
    )
    # ML.PREDICT returns the input columns as given (plan unchanged, no z2), then the prediction
    assert list(got[0]) == ["id", "x", "z", "plan", "predicted_y"]
    assert [r["plan"] for r in got] == [r["plan"] for r in rows]
    want = fetch(cur, "SELECT * FROM ML.PREDICT(MODEL byhand, TABLE hand)")
    np.testing.assert_allclose(
        [r["predicted_y"] for r in got], [r["predicted_y"] for r in want], rtol=1e-5
    )
    # ML.EVALUATE takes the raw columns too, and agrees with the hand-made model
    evaluated = fetch(cur, "SELECT * FROM ML.EVALUATE(MODEL viat, TABLE t)")[0]
    reference = fetch(cur, "SELECT * FROM ML.EVALUATE(MODEL byhand, TABLE hand)")[0]
    for name in ("mean_absolute_error", "mean_squared_error", "r2_score"):
        assert evaluated[name] == pytest.approx(reference[name], rel=1e-4, abs=1e-6)
    # a plan spelled in a case the training never saw still lowers to a known plan
    shouted = fetch(
        cur, "SELECT * FROM ML.PREDICT(MODEL viat, (SELECT 10.0 AS x, 0.5 AS z, 'TEAM' AS plan))"
    )[0]
    quiet = fetch(
        cur, "SELECT * FROM ML.PREDICT(MODEL viat, (SELECT 10.0 AS x, 0.5 AS z, 'team' AS plan))"
    )[0]
    assert shouted["predicted_y"] == pytest.approx(quiet["predicted_y"])


# --- the exported model --------------------------------------------------------------------------


def test_all_ml_transform_exports_a_graph_of_raw_columns(cur: sqlml.Cursor, tmp_path: Path) -> None:
    cur.execute(
        "CREATE MODEL m TRANSFORM (ML.STANDARD_SCALER(x) OVER () AS xs, "
        "ML.BUCKETIZE(z, [0.5, 1.0]) AS zb, ML.ONE_HOT_ENCODER(plan, 'none', 100, 1) OVER () AS p, y) "
        "OPTIONS (model_type='linear_reg', input_label_cols=['y']) AS SELECT * FROM t"
    )
    target = tmp_path / "m.onnx"
    cur.execute(f"EXPORT MODEL m OPTIONS (uri = '{target}')")
    proto = onnx.load(str(target))
    props = {p.key: p.value for p in proto.metadata_props}
    assert "sqlml.transform_sql" not in props  # nothing to precompute
    assert sorted(i.name for i in proto.graph.input) == ["plan", "x", "z"]

    rows = fetch(cur, "SELECT * FROM t ORDER BY id")
    out = fetch(cur, "SELECT * FROM ML.PREDICT(MODEL m, TABLE t) ORDER BY id")
    session = ort.InferenceSession(str(target), providers=["CPUExecutionProvider"])
    feeds = {
        "x": np.array([[r["x"]] for r in rows], dtype=np.float32),
        "z": np.array([[r["z"]] for r in rows], dtype=np.float32),
        "plan": np.array([[r["plan"]] for r in rows], dtype=object),
    }
    direct = np.asarray(session.run(None, feeds)[0]).reshape(-1)
    np.testing.assert_allclose(direct, [r["predicted_y"] for r in out], rtol=1e-6)


def test_sql_outputs_are_named_in_the_exported_metadata(cur: sqlml.Cursor, tmp_path: Path) -> None:
    cur.execute(
        "CREATE MODEL m TRANSFORM (ML.STANDARD_SCALER(x) OVER () AS xs, z * 2 AS z2, y) "
        "OPTIONS (model_type='linear_reg', input_label_cols=['y']) AS SELECT * FROM t"
    )
    target = tmp_path / "m.onnx"
    cur.execute(f"EXPORT MODEL m OPTIONS (uri = '{target}')")
    proto = onnx.load(str(target))
    props = {p.key: p.value for p in proto.metadata_props}
    assert props["sqlml.transform_sql"] == 'SELECT *, z * 2 AS "z2" FROM input'
    assert sorted(i.name for i in proto.graph.input) == ["x", "z2"]
    spec = json.loads(props["sqlml.spec"])
    assert spec["transform_sql"] == [{"name": "z2", "sql": "z * 2", "columns": ["z"]}]
    assert spec["transform_inputs"] == ["x", "z"]


# --- each function's effect ---------------------------------------------------------------------


def step_table(cur: sqlml.Cursor) -> None:
    """y is 10, 20 or 30 by x's bucket under splits [2, 5]; 40 where x is NULL."""
    cur.execute(
        """CREATE TABLE steps AS
           SELECT CASE WHEN i % 10 = 9 THEN NULL ELSE (i % 9) * 0.9 END AS x,
                  CASE WHEN i % 10 = 9 THEN 40.0
                       WHEN (i % 9) * 0.9 < 2 THEN 10.0
                       WHEN (i % 9) * 0.9 < 5 THEN 20.0 ELSE 30.0 END AS y
           FROM range(60) t(i)"""
    )


@pytest.mark.parametrize(
    "bucketize", ["ML.BUCKETIZE(x, [2, 5])", "ML.BUCKETIZE(x, [-100, 2, 5, 100], TRUE)"]
)
def test_bucketize_puts_values_in_the_bucket_their_split_points_say(
    cur: sqlml.Cursor, bucketize: str
) -> None:
    step_table(cur)
    cur.execute(
        f"CREATE MODEL b TRANSFORM ({bucketize} AS xb, y) "
        "OPTIONS (model_type='linear_reg', input_label_cols=['y']) AS SELECT * FROM steps"
    )
    probes = [1.99, 2.0, 4.99, 5.0, 1000.0, -1000.0, None]
    expected = [10, 20, 20, 30, 30, 10, 40]  # a split point starts the bucket above it
    cur.execute("CREATE TABLE probes (x DOUBLE)")
    cur.executemany("INSERT INTO probes VALUES (?)", [[p] for p in probes])
    out = fetch(cur, "SELECT * FROM ML.PREDICT(MODEL b, TABLE probes)")
    by_x = {r["x"]: r["predicted_y"] for r in out}
    for probe, want in zip(probes, expected, strict=True):
        assert by_x[probe] == pytest.approx(want, abs=1e-3), probe


def test_quantile_bucketize_splits_at_the_training_quantiles(cur: sqlml.Cursor) -> None:
    cur.execute("CREATE TABLE q AS SELECT i::DOUBLE AS x, 0.0 AS y FROM range(1, 13) t(i)")
    values = np.arange(1.0, 13.0)
    splits = np.quantile(values, [1 / 3, 2 / 3])  # 4.67 and 8.33
    cur.execute(
        "UPDATE q SET y = CASE WHEN x < ? THEN 1.0 WHEN x < ? THEN 2.0 ELSE 3.0 END",
        [float(splits[0]), float(splits[1])],
    )
    cur.execute(
        "CREATE MODEL qb TRANSFORM (ML.QUANTILE_BUCKETIZE(x, 3) OVER () AS xq, y) "
        "OPTIONS (model_type='linear_reg', input_label_cols=['y']) AS SELECT * FROM q"
    )
    stats = info_of(cur, "qb")["transform"][0]["statistics"]
    np.testing.assert_allclose(stats["split_points"], splits, rtol=1e-6)
    out = fetch(
        cur,
        "SELECT * FROM ML.PREDICT(MODEL qb, (SELECT unnest([4.0, 5.0, 8.0, 9.0, 99.0]) AS x))",
    )
    assert [round(r["predicted_y"], 3) for r in out] == [1.0, 2.0, 2.0, 3.0, 3.0]


def test_polynomial_expand_lets_a_linear_model_fit_a_square(cur: sqlml.Cursor) -> None:
    cur.execute("CREATE TABLE sq AS SELECT i - 10.0 AS x, (i - 10.0) ^ 2 AS y FROM range(21) t(i)")
    cur.execute(
        "CREATE MODEL p TRANSFORM (ML.POLYNOMIAL_EXPAND(STRUCT(x), 2) AS px, y) "
        "OPTIONS (model_type='linear_reg', input_label_cols=['y']) AS SELECT * FROM sq"
    )
    out = fetch(cur, "SELECT * FROM ML.PREDICT(MODEL p, (SELECT unnest([-7.5, 2.5, 12.0]) AS x))")
    np.testing.assert_allclose([r["predicted_y"] for r in out], [56.25, 6.25, 144.0], rtol=1e-4)


def test_feature_cross_lets_a_linear_model_fit_an_interaction(cur: sqlml.Cursor) -> None:
    # y = 1 exactly when a and b "agree": no sum of a-effect and b-effect can say that
    cur.execute(
        """CREATE TABLE agree AS
           SELECT ['p', 'q'][i % 2 + 1] AS a, ['u', 'v'][(i // 2) % 2 + 1] AS b,
                  CASE WHEN i % 2 = (i // 2) % 2 THEN 1.0 ELSE 0.0 END AS y
           FROM range(40) t(i)"""
    )
    cur.execute(
        "CREATE MODEL fc TRANSFORM (ML.FEATURE_CROSS(STRUCT(a, b)) AS ab, y) "
        "OPTIONS (model_type='linear_reg', input_label_cols=['y']) AS SELECT * FROM agree"
    )
    out = fetch(
        cur,
        "SELECT * FROM ML.PREDICT(MODEL fc, (SELECT * FROM (VALUES ('p', 'u'), ('p', 'v'), "
        "('q', 'u'), ('q', 'v')) v(a, b)))",
    )
    assert [round(r["predicted_y"], 4) for r in out] == [1.0, 0.0, 0.0, 1.0]
    cur.execute("SELECT spec FROM sqlml.models WHERE name = 'fc'")
    spec = json.loads(cur.fetchone()[0])
    assert spec["transform_sql"][0]["name"] == "ab"  # computed in SQL: a string concatenation


def test_imputer_fills_nulls_with_the_training_statistic(cur: sqlml.Cursor) -> None:
    values = [1.0, 2.0, 3.0, 10.0, 20.0]
    median, mean = float(np.median(values)), float(np.mean(values))
    cur.execute("CREATE TABLE gaps (x DOUBLE, y DOUBLE)")
    rows = [[v, 2 * v] for v in values] * 4 + [[None, 2 * median]] * 3
    cur.executemany("INSERT INTO gaps VALUES (?, ?)", rows)
    cur.execute(
        "CREATE MODEL imp TRANSFORM (ML.IMPUTER(x, 'median') OVER () AS xi, y) "
        "OPTIONS (model_type='linear_reg', input_label_cols=['y']) AS SELECT * FROM gaps"
    )
    stats = info_of(cur, "imp")["transform"][0]["statistics"]
    assert stats == {"strategy": "median", "fill_value": median}
    (row,) = fetch(cur, "SELECT * FROM ML.PREDICT(MODEL imp, (SELECT NULL::DOUBLE AS x))")
    assert row["predicted_y"] == pytest.approx(2 * median, abs=1e-4)
    assert abs(2 * mean - 2 * median) > 1  # the strategy mattered


def test_imputer_fills_null_strings_with_the_most_frequent_value(cur: sqlml.Cursor) -> None:
    # 'b' is the most frequent value; NULL rows carry y of 'b' so the fit stays exact
    cur.execute(
        """CREATE TABLE words AS
           SELECT CASE WHEN i % 10 = 0 THEN NULL WHEN i % 10 < 7 THEN 'b' ELSE 'a' END AS k,
                  CASE WHEN i % 10 = 0 OR i % 10 < 7 THEN 3.0 ELSE 8.0 END AS y
           FROM range(40) t(i)"""
    )
    cur.execute(
        "CREATE MODEL wi TRANSFORM (ML.IMPUTER(k, 'most_frequent') OVER () AS kk, y) "
        "OPTIONS (model_type='linear_reg', input_label_cols=['y']) AS SELECT * FROM words"
    )
    assert info_of(cur, "wi")["transform"][0]["statistics"]["fill_value"] == "b"
    out = fetch(cur, "SELECT * FROM ML.PREDICT(MODEL wi, (SELECT unnest(['a', 'b', NULL]) AS k))")
    predicted = {r["k"]: r["predicted_y"] for r in out}
    assert predicted["a"] == pytest.approx(8.0, abs=1e-3)
    assert predicted[None] == pytest.approx(predicted["b"]) == pytest.approx(3.0, abs=1e-3)


def test_scaler_statistics_are_those_of_the_training_column(cur: sqlml.Cursor) -> None:
    cur.execute(
        "CREATE MODEL s TRANSFORM (ML.STANDARD_SCALER(x) OVER () AS a, "
        "ML.MAX_ABS_SCALER(z) OVER () AS b, ML.ROBUST_SCALER(x, [10, 90]) OVER () AS c, "
        "ML.ROBUST_SCALER(z, [25, 75], FALSE) OVER () AS d, y) "
        "OPTIONS (model_type='linear_reg', input_label_cols=['y']) AS SELECT * FROM t"
    )
    rows = fetch(cur, "SELECT x, z FROM t")
    x = np.array([r["x"] for r in rows])
    z = np.array([r["z"] for r in rows])
    stats = {r["output"]: r["statistics"] for r in info_of(cur, "s")["transform"]}
    assert stats["a"]["mean"] == pytest.approx(x.mean())
    assert stats["a"]["stddev"] == pytest.approx(x.std())
    assert stats["b"] == {"max_abs": pytest.approx(np.abs(z).max())}
    low, high = np.percentile(x, [10, 90])
    assert stats["c"] == {
        "median": pytest.approx(np.median(x)),
        "quantile_range": pytest.approx(high - low),
    }
    q1, q3 = np.percentile(z, [25, 75])
    assert stats["d"] == {"quantile_range": pytest.approx(q3 - q1)}  # not centered


def test_encoder_vocabularies_keep_frequent_categories(cur: sqlml.Cursor) -> None:
    # 'a' x 12, 'b' x 6, 'c' x 2: frequency_threshold 5 (the default) leaves a and b
    cur.execute(
        """CREATE TABLE cats AS
           SELECT CASE WHEN i < 12 THEN 'a' WHEN i < 18 THEN 'b' ELSE 'c' END AS k,
                  CASE WHEN i < 12 THEN 1.0 WHEN i < 18 THEN 5.0 ELSE 9.0 END AS y
           FROM range(20) t(i)"""
    )
    cur.execute(
        "CREATE MODEL oh TRANSFORM (ML.ONE_HOT_ENCODER(k) OVER () AS k1, "
        "ML.LABEL_ENCODER(k, 1, 1) OVER () AS k2, "
        "ML.ONE_HOT_ENCODER(k, 'most_frequent', 32000, 1) OVER () AS k3, y) "
        "OPTIONS (model_type='linear_reg', input_label_cols=['y']) AS SELECT * FROM cats"
    )
    stats = {r["output"]: r["statistics"] for r in info_of(cur, "oh")["transform"]}
    assert stats["k1"] == {"categories": ["a", "b"]}
    assert stats["k2"] == {"categories": ["a"]}  # top_k = 1
    # dummy encoding drops the most frequent
    assert stats["k3"] == {"categories": ["b", "c"], "dropped": "a"}


def test_onehot_encodes_rare_and_unseen_values_alike(cur: sqlml.Cursor) -> None:
    cur.execute(
        """CREATE TABLE cats AS
           SELECT CASE WHEN i < 12 THEN 'a' WHEN i < 18 THEN 'b' ELSE 'c' END AS k,
                  CASE WHEN i < 12 THEN 1.0 WHEN i < 18 THEN 5.0 ELSE 9.0 END AS y
           FROM range(20) t(i)"""
    )
    cur.execute(
        "CREATE MODEL oh TRANSFORM (ML.ONE_HOT_ENCODER(k) OVER () AS k1, y) "
        "OPTIONS (model_type='linear_reg', input_label_cols=['y']) AS SELECT * FROM cats"
    )
    out = fetch(
        cur,
        "SELECT * FROM ML.PREDICT(MODEL oh, (SELECT unnest(['a', 'b', 'c', 'zzz', NULL]) AS k))",
    )
    predicted = {r["k"]: r["predicted_y"] for r in out}
    assert predicted["a"] == pytest.approx(1.0, abs=1e-3)
    assert predicted["b"] == pytest.approx(5.0, abs=1e-3)
    # 'c' (2 rows, under the threshold of 5), an unseen value and NULL all encode as index 0
    assert predicted["c"] == pytest.approx(predicted["zzz"])
    assert predicted[None] == pytest.approx(predicted["zzz"])


def test_kmeans_transform_model_detects_anomalies_on_raw_columns(cur: sqlml.Cursor) -> None:
    cur.execute(
        "CREATE MODEL k TRANSFORM (x / 10 AS x10, ML.MIN_MAX_SCALER(z) OVER () AS zs) "
        "OPTIONS (model_type='kmeans', num_clusters=2) AS SELECT * FROM t"
    )
    out = fetch(
        cur,
        "SELECT * FROM ML.DETECT_ANOMALIES(MODEL k, STRUCT(0.1 AS contamination), "
        "(SELECT id, x, z FROM t UNION ALL SELECT 99, 1e6, 0.5))",
    )
    assert list(out[0]) == ["id", "x", "z", "is_anomaly", "normalized_distance", "centroid_id"]
    assert next(r for r in out if r["id"] == 99)["is_anomaly"] is True


# --- errors ----------------------------------------------------------------------------------------

BAD = [
    # id, TRANSFORM list, error class, words the message must contain
    ("unknown-function", "ML.MAGIC_SCALER(x) OVER () AS m, y", errors.NotSupportedError,
     ["ML.MAGIC_SCALER", "ML.STANDARD_SCALER"]),
    ("too-few-args", "ML.BUCKETIZE(x) AS b, y", errors.ProgrammingError,
     ["ML.BUCKETIZE takes 2 to 4 argument", "got 1"]),
    ("too-many-args", "ML.STANDARD_SCALER(x, 2) OVER () AS s, y", errors.ProgrammingError,
     ["takes 1 argument", "got 2"]),
    ("splits-not-array", "ML.BUCKETIZE(x, 3) AS b, y", errors.ProgrammingError,
     ["split points", "increasing order", "got 3"]),
    ("splits-unsorted", "ML.BUCKETIZE(x, [5, 2]) AS b, y", errors.ProgrammingError,
     ["increasing order", "[5, 2]"]),
    ("bad-strategy", "ML.IMPUTER(x, 'mode') OVER () AS i, y", errors.ProgrammingError,
     ["strategy", "'median'", "'mode'"]),
    ("expression-argument", "ML.STANDARD_SCALER(x + 1) OVER () AS s, y", errors.ProgrammingError,
     ["must be an input column", "x + 1"]),
    ("degree-out-of-range", "ML.POLYNOMIAL_EXPAND(STRUCT(x, z), 7) AS p, y",
     errors.ProgrammingError, ["degree", "[1, 4]", "7"]),
    ("no-name", "x * 2, y", errors.ProgrammingError, ["needs a name", "x * 2 AS <name>"]),
    ("ml-without-name", "ML.MIN_MAX_SCALER(x) OVER (), y", errors.ProgrammingError,
     ["needs a name"]),
    ("label-missing", "ML.MIN_MAX_SCALER(x) OVER () AS xs", errors.ProgrammingError,
     ["label 'y'", "must be in its TRANSFORM list"]),
    ("label-computed", "x, y * 2 AS y", errors.ProgrammingError,
     ["label 'y'", "pass through"]),
    ("reads-label", "ML.STANDARD_SCALER(y) OVER () AS ys, y", errors.ProgrammingError,
     ["reads the label", "'y'"]),
    ("duplicate-output", "x, z AS x, y", errors.ProgrammingError, ["two outputs named 'x'"]),
    ("struct-star", "t.*", errors.NotSupportedError, ["expression.* is not supported"]),
    ("star-duplicates", "*, ML.STANDARD_SCALER(x) OVER () AS x", errors.ProgrammingError,
     ["two outputs named 'x'"]),
    ("except-unknown", "* EXCEPT (nope)", errors.ProgrammingError,
     ["EXCEPT / REPLACE", "nope", "does not return"]),
    ("star-label-computed", "* REPLACE (y * 2 AS y)", errors.ProgrammingError,
     ["label 'y'", "pass through"]),
    ("partitioned", "ML.STANDARD_SCALER(x) OVER (PARTITION BY plan) AS s, y",
     errors.NotSupportedError, ["empty OVER ()"]),
    ("aggregate", "x - avg(x) OVER () AS c, y", errors.NotSupportedError,
     ["window functions", "training data"]),
    ("nested-ml", "ML.STANDARD_SCALER(x) OVER () * 2 AS s, y", errors.NotSupportedError,
     ["whole TRANSFORM output"]),
    ("onehot-on-number", "ML.ONE_HOT_ENCODER(x) OVER () AS o, y", errors.SchemaError,
     ["needs a STRING column", "'x' is DOUBLE"]),
    ("scaler-on-string", "ML.STANDARD_SCALER(plan) OVER () AS s, y", errors.SchemaError,
     ["needs a numeric column", "'plan' is VARCHAR"]),
    ("missing-column", "ML.STANDARD_SCALER(nope) OVER () AS s, y", errors.SchemaError,
     ["reads column(s) nope", "training query"]),
]  # fmt: skip


@pytest.mark.parametrize(("case", "transform", "error", "words"), BAD, ids=[b[0] for b in BAD])
def test_bad_transform_is_a_clear_error(
    cur: sqlml.Cursor, case: str, transform: str, error: type, words: list[str]
) -> None:
    with pytest.raises(error) as caught:
        cur.execute(
            f"CREATE MODEL bad TRANSFORM ({transform}) "
            "OPTIONS (model_type='linear_reg', input_label_cols=['y']) AS SELECT * FROM t"
        )
    for word in words:
        assert word in str(caught.value), (word, str(caught.value))
    assert "bad" in str(caught.value)  # the model is named
    cur.execute("SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'sqlml'")
    if cur.fetchone()[0]:
        cur.execute("SELECT count(*) FROM sqlml.models WHERE name = 'bad'")
        assert cur.fetchone()[0] == 0


def test_prediction_input_lacking_a_raw_column_names_it(cur: sqlml.Cursor) -> None:
    cur.execute(
        "CREATE MODEL m TRANSFORM (ML.STANDARD_SCALER(x) OVER () AS xs, z * 2 AS z2, y) "
        "OPTIONS (model_type='linear_reg', input_label_cols=['y']) AS SELECT * FROM t"
    )
    with pytest.raises(errors.SchemaError, match=r"lacks column\(s\) z, which the TRANSFORM"):
        cur.execute("SELECT * FROM ML.PREDICT(MODEL m, (SELECT x FROM t))")
    with pytest.raises(errors.SchemaError, match="lacks the label column 'y'"):
        cur.execute("SELECT * FROM ML.EVALUATE(MODEL m, (SELECT x, z FROM t))")
