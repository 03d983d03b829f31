"""What the training query may hand CREATE MODEL, on both engines: BigQuery's default label (a
column named ``label``), and the feature column types the docs accept (TIMESTAMP, DATE, TIME).

Expected values come from scikit-learn or numpy on the rows as the tests build them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from conformance_data import X1, X2, binary, reg

import sqlml
from sqlml.errors import NotSupportedError, SchemaError

GLM = "https://cloud.google.com/bigquery/docs/reference/standard-sql/bigqueryml-syntax-create-glm"


def _least_squares(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    design = np.column_stack([x, np.ones(len(x))])
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    return design @ coef


# --- the default label -----------------------------------------------------------------------------


def test_a_column_named_label_is_the_default_label(backend: Any) -> None:
    """INPUT_LABEL_COLS: "A one-element ARRAY of string values. Defaults to `label`." (GLM page,
    #input_label_cols). Without the option, the column called label is the label (in any case, as
    BigQuery's names are), SHOW MODEL names it, and predictions are the least-squares fit."""
    table = reg()
    backend.load(
        "c_deflabel",
        pa.table({"x1": table.column("x1"), "x2": table.column("x2"), "Label": table.column("y")}),
    )
    backend.run(
        "CREATE MODEL c_deflabel_m OPTIONS (model_type = 'linear_reg') AS SELECT * FROM c_deflabel"
    )
    shown = dict(backend.rows("SHOW MODEL c_deflabel_m"))
    assert shown["Target Column"] == "Label"
    assert shown["Function Parameters"] == "x1 x2"
    out = backend.arrow(
        "SELECT x1, predicted_Label FROM ML.PREDICT(MODEL c_deflabel_m, TABLE c_deflabel)"
    )
    order = np.argsort(out.column("x1").to_numpy())
    expected = _least_squares(np.column_stack([X1, X2]), table.column("y").to_numpy())
    np.testing.assert_allclose(out.column("predicted_Label").to_numpy()[order], expected, atol=1e-3)
    info = [r[0] for r in backend.rows("SELECT input FROM ML.FEATURE_INFO(MODEL c_deflabel_m)")]
    assert sorted(info) == ["x1", "x2"]


def test_default_label_for_a_classifier_and_automl(backend: Any) -> None:
    """The default applies to every supervised model type, automl included (its task is read
    from the label): a BOOLEAN `label` makes automl a classifier."""
    table = binary()
    rows = pa.table({"x1": table.column("x1"), "label": table.column("y")})
    backend.load("c_deflabel_bin", rows)
    backend.run(
        "CREATE MODEL c_deflabel_lr OPTIONS (model_type = 'logistic_reg') "
        "AS SELECT x1, label FROM c_deflabel_bin"
    )
    out = backend.arrow(
        "SELECT predicted_label FROM ML.PREDICT(MODEL c_deflabel_lr, TABLE c_deflabel_bin)"
    )
    assert out.schema.field("predicted_label").type == pa.bool_()
    from sklearn.linear_model import LogisticRegression

    reference = LogisticRegression(C=np.inf).fit(X1.reshape(-1, 1), table.column("y").to_numpy())
    agree = np.mean(
        np.array(out.column("predicted_label").to_pylist()) == reference.predict(X1.reshape(-1, 1))
    )
    assert agree >= 0.97  # the same fit but for rows on the decision boundary


def test_without_a_label_the_error_names_both_fixes(backend: Any) -> None:
    """No input_label_cols and no column named label: the message names both ways to give one."""
    backend.load("c_nolabel", reg())
    backend.load("c_km_label", pa.table({"x1": X1, "label": X2}))
    with pytest.raises(SchemaError) as raised:
        backend.run(
            "CREATE MODEL c_nolabel_m OPTIONS (model_type = 'linear_reg') AS SELECT * FROM c_nolabel"
        )
    message = str(raised.value)
    assert "input_label_cols" in message and "`label`" in message and "x1" in message
    # An unsupervised model keeps a column named label as a feature.
    backend.run(
        "CREATE MODEL c_km_label_m OPTIONS (model_type = 'kmeans', num_clusters = 2) "
        "AS SELECT * FROM c_km_label"
    )
    info = [r[0] for r in backend.rows("SELECT input FROM ML.FEATURE_INFO(MODEL c_km_label_m)")]
    assert sorted(info) == ["label", "x1"]


# --- TIMESTAMP, DATE and TIME features ------------------------------------------------------------

PREPROCESSING = "https://cloud.google.com/bigquery/docs/auto-preprocessing"
STAMPS = 160
#: Every 37 hours and 11 minutes from 2023-12-24 (a Sunday): hours, minutes, days, weeks and both
#: years vary; row 3 has a NULL timestamp.
INSTANTS = [
    None if k == 3 else dt.datetime(2023, 12, 24) + dt.timedelta(minutes=int(k) * (37 * 60 + 11))
    for k in range(STAMPS)
]


def _strftime_parts(values: list[Any]) -> dict[str, list[str | None]]:
    """The seven documented parts, by pyarrow's strftime (an independent computation): day of
    month, day of week (1 = Sunday, BigQuery's DAYOFWEEK), month, hour, minute, week of year
    (%U: weeks begin on Sunday, week 0 before the first Sunday) and year."""
    stamps = pa.array(values, pa.timestamp("us"))
    formats = {"DOM": "%d", "DOW": "%w", "MOY": "%m", "HOD": "%H", "MOH": "%M", "WOY": "%U"}
    parts: dict[str, list[str | None]] = {}
    for part, fmt in {**formats, "YEAR": "%Y"}.items():
        text = pc.strftime(stamps, format=fmt).to_pylist()
        parts[part] = [None if v is None else str(int(v) + (part == "DOW")) for v in text]
    return parts


def _stamped() -> pa.Table:
    """label = hour + 2 · (day of week) + 0.01 · x, exactly: linear in one-hot parts and x."""
    x = np.arange(STAMPS) % 7 * 1.0
    label = [
        (0.0 if t is None else t.hour + 2 * ((t.weekday() + 1) % 7)) + 0.01 * v
        for t, v in zip(INSTANTS, x, strict=True)
    ]
    return pa.table({"ts": pa.array(INSTANTS, pa.timestamp("us")), "x": x, "label": label})


def test_a_timestamp_feature_is_its_seconds_and_parts(backend: Any) -> None:
    """Auto-preprocessing, "TIMESTAMP feature transformation": the Unix seconds (standardized)
    and day of month, day of week, month, hour, minute, week of year, year (one-hot encoded),
    in UTC. A linear model on them, scored on the raw table by the column's own name, is the
    least-squares fit of the label on that design (built here with numpy from strftime's
    parts); the NULL row's seconds are imputed with the mean, its parts a NULL category."""
    table = _stamped()
    backend.load("c_stamps", table)
    backend.run(
        "CREATE MODEL c_stamps_m OPTIONS (model_type = 'linear_reg') AS SELECT * FROM c_stamps"
    )
    out = backend.arrow(
        "SELECT x, ts, predicted_label FROM ML.PREDICT(MODEL c_stamps_m, TABLE c_stamps)"
    )
    by_key = {(_naive_utc(r["ts"]), r["x"]): r["predicted_label"] for r in out.to_pylist()}
    parts = _strftime_parts(INSTANTS)
    seconds = np.array(
        [np.nan if t is None else t.timestamp() - _LOCAL_OFFSET(t) for t in INSTANTS]
    )
    seconds = np.where(np.isnan(seconds), np.nanmean(seconds), seconds)
    columns = [seconds, table.column("x").to_numpy()]
    for values in parts.values():
        text = np.array(["NULL" if v is None else v for v in values])
        columns.extend((text == level).astype(float) for level in np.unique(text))
    expected = _least_squares(np.column_stack(columns), table.column("label").to_numpy())
    got = [by_key[(t, v)] for t, v in zip(INSTANTS, table.column("x").to_pylist(), strict=True)]
    np.testing.assert_allclose(got, expected, atol=1e-3)
    np.testing.assert_allclose(got, table.column("label").to_numpy(), atol=1e-3)  # exact design
    shown = dict(backend.rows("SHOW MODEL c_stamps_m"))
    assert shown["Function Parameters"] == "ts x"
    assert shown["Function Parameter Types"].split()[0].startswith("TIMESTAMP")


def _naive_utc(value: dt.datetime | None) -> dt.datetime | None:
    """Spark returns TIMESTAMP values with a zone: the same instant, as the naive UTC it was."""
    if value is None or value.tzinfo is None:
        return value
    return value.astimezone(dt.UTC).replace(tzinfo=None)


def _LOCAL_OFFSET(t: dt.datetime) -> float:
    """naive datetime.timestamp() reads local time; this undoes it, so the seconds are UTC's."""
    return -t.replace(tzinfo=dt.UTC).timestamp() + t.timestamp()


def test_a_label_linear_in_the_seconds(backend: Any) -> None:
    """Auto-preprocessing: the seconds are a number the model is linear in. Over four days of
    2024 a label of 1e-4 · (seconds since the first row) is fitted exactly, and ONNX Runtime's
    float32 scores it (float32 holds Unix seconds to 128 s only: the graph's input counts from
    the training rows' first second, so the fidelity check and the predictions hold)."""
    start = dt.datetime(2024, 3, 1, 6, 30)
    stamps = [start + dt.timedelta(seconds=int(k) * 3_607) for k in range(96)]
    label = [1e-4 * (t - start).total_seconds() for t in stamps]
    table = pa.table({"ts": pa.array(stamps, pa.timestamp("us")), "label": label})
    backend.load("c_seconds", table)
    backend.run(
        "CREATE MODEL c_seconds_m OPTIONS (model_type = 'linear_reg') AS SELECT * FROM c_seconds"
    )
    out = backend.arrow(
        "SELECT ts, predicted_label FROM ML.PREDICT(MODEL c_seconds_m, TABLE c_seconds)"
    )
    got = {_naive_utc(r["ts"]): r["predicted_label"] for r in out.to_pylist()}
    np.testing.assert_allclose([got[t] for t in stamps], label, atol=1e-3)


def test_a_timestamp_model_explains_and_evaluates_by_the_column(backend: Any) -> None:
    """ML.EXPLAIN_PREDICT attributes to the TIMESTAMP feature as a whole (one row per input
    column, as BigQuery's feature_attributions), and ML.EVALUATE reads the raw column."""
    backend.load("c_stamps_x", _stamped())
    backend.run(
        "CREATE MODEL c_stamps_x_m OPTIONS (model_type = 'boosted_tree_regressor', "
        "max_iterations = 5, learn_rate = 0.3) AS SELECT * FROM c_stamps_x"
    )
    rows = backend.arrow(
        "SELECT top_feature_attributions, predicted_label, baseline_prediction_value "
        "FROM ML.EXPLAIN_PREDICT(MODEL c_stamps_x_m, TABLE c_stamps_x)"
    ).to_pylist()
    for row in rows:
        assert sorted(a["feature"] for a in row["top_feature_attributions"]) == ["ts", "x"]
        total = sum(a["attribution"] for a in row["top_feature_attributions"])
        # sampled Shapley is efficient: attributions add up to prediction - baseline
        assert abs(total - (row["predicted_label"] - row["baseline_prediction_value"])) < 1e-3
    metrics = backend.arrow("SELECT * FROM ML.EVALUATE(MODEL c_stamps_x_m, TABLE c_stamps_x)")
    assert metrics.column("r2_score")[0].as_py() > 0.5


def test_date_and_time_features_are_one_hot_categories(backend: Any) -> None:
    """Auto-preprocessing: DATE (and TIME, DATETIME) columns are one-hot encoded, one feature per
    value. A date whose label is fixed per date is learned exactly by a linear model."""
    days = [dt.date(2024, 1, 1) + dt.timedelta(days=k % 5) for k in range(60)]
    label = [float(d.day) ** 2 for d in days]  # not linear in the date's number
    backend.load("c_dates", pa.table({"d": pa.array(days, pa.date32()), "label": label}))
    backend.run(
        "CREATE MODEL c_dates_m OPTIONS (model_type = 'linear_reg') AS SELECT * FROM c_dates"
    )
    out = backend.arrow("SELECT d, predicted_label FROM ML.PREDICT(MODEL c_dates_m, TABLE c_dates)")
    for row in out.to_pylist():
        assert abs(row["predicted_label"] - row["d"].day ** 2) < 1e-3
    info = backend.arrow("SELECT * FROM ML.FEATURE_INFO(MODEL c_dates_m)").to_pylist()
    assert [(r["input"], r["category_count"]) for r in info] == [("d", 5)]


def test_a_timestamp_model_function(backend: Any) -> None:
    """Redshift's FUNCTION of a model with a TIMESTAMP feature takes the column itself."""
    backend.load("c_stamps_fn", _stamped())
    backend.run(
        "CREATE MODEL c_stamps_fn_m FROM (SELECT ts, x, label FROM c_stamps_fn) TARGET label "
        "FUNCTION c_stamps_fn_f IAM_ROLE default MODEL_TYPE LINEAR_LEARNER "
        "PROBLEM_TYPE REGRESSION"
    )
    called = backend.rows("SELECT ts, x, c_stamps_fn_f(ts, x) FROM c_stamps_fn")
    predicted = {
        (r[0], r[1]): r[2]
        for r in backend.rows(
            "SELECT ts, x, predicted_label FROM ML.PREDICT(MODEL c_stamps_fn_m, TABLE c_stamps_fn)"
        )
    }
    for ts, x, value in called:
        assert abs(value - predicted[(ts, x)]) < 1e-4


# --- ARRAY<number> features -----------------------------------------------------------------------

ARRAY_ROWS = 90
WEIGHTS = np.array([1.5, -2.0, 0.25])


def _arrays() -> tuple[pa.Table, np.ndarray]:
    """v: three numbers per row (row 4's array is NULL, row 9's second element NULL); label is
    linear in the elements with the NULLs read as their column's mean (so the fit is exact)."""
    k = np.arange(ARRAY_ROWS)
    elements = np.column_stack([np.sin(k), (k % 7) / 3.0, np.cos(k / 5.0)])
    rows: list[Any] = [list(r) for r in elements]
    rows[4] = None
    rows[9] = [rows[9][0], None, rows[9][2]]
    design = elements.copy()
    design[4, :] = np.nan
    design[9, 1] = np.nan
    design = np.where(np.isnan(design), np.nanmean(design, axis=0), design)
    label = design @ WEIGHTS + 3.0
    table = pa.table({"id": k, "v": pa.array(rows, pa.list_(pa.float64())), "label": label})
    return table, design


def test_an_array_of_numbers_is_one_feature_per_element(backend: Any) -> None:
    """Auto-preprocessing: an ARRAY of numbers enters as its elements ("one feature per element",
    issue 11); a NULL array or element is imputed with the element's mean. The linear fit on the
    elements (numpy least squares on the same design) is the model's prediction; the function
    and the explanations take the column as it is."""
    table, design = _arrays()
    backend.load("c_arrays", table)
    backend.run(
        "CREATE MODEL c_arrays_m FROM (SELECT v, label FROM c_arrays) TARGET label "
        "FUNCTION c_arrays_f IAM_ROLE default MODEL_TYPE LINEAR_LEARNER PROBLEM_TYPE REGRESSION"
    )
    out = backend.rows(
        "SELECT id, predicted_label, c_arrays_f(v) "
        "FROM ML.PREDICT(MODEL c_arrays_m, TABLE c_arrays) ORDER BY id"
    )
    expected = _least_squares(design, table.column("label").to_numpy())
    np.testing.assert_allclose([r[1] for r in out], expected, atol=1e-3)
    np.testing.assert_allclose([r[2] for r in out], expected, atol=1e-3)
    explained = backend.arrow(
        "SELECT top_feature_attributions FROM ML.EXPLAIN_PREDICT(MODEL c_arrays_m, TABLE c_arrays)"
    ).to_pylist()
    assert {a["feature"] for r in explained for a in r["top_feature_attributions"]} == {"v"}
    shown = dict(backend.rows("SHOW MODEL c_arrays_m"))
    assert shown["Function Parameters"] == "v"


def test_arrays_must_have_one_length(backend: Any) -> None:
    """BigQuery: the arrays of a column must all have the same length; in training and at
    prediction the error says so. Arrays of text (multi-hot encoding) are not supported yet."""
    table, _ = _arrays()
    backend.load("c_arrays_len", table)
    backend.load(
        "c_arrays_bad",
        pa.table({"v": [[1.0, 2.0], [3.0], [4.0, 5.0]], "label": [1.0, 2.0, 3.0]}),
    )
    backend.load("c_arrays_text", pa.table({"t": [["a"], ["b", "c"]], "label": [1.0, 2.0]}))
    backend.load("c_arrays_short", pa.table({"v": [[1.0, 2.0]]}))
    with pytest.raises(SchemaError, match=r"arrays of column 'v' .* same length.*1, 2"):
        backend.run(
            "CREATE MODEL c_arrays_bad_m OPTIONS (model_type = 'linear_reg') "
            "AS SELECT * FROM c_arrays_bad"
        )
    with pytest.raises(
        NotSupportedError, match="ARRAY features of other than numbers .* not supported yet"
    ):
        backend.run(
            "CREATE MODEL c_arrays_text_m OPTIONS (model_type = 'linear_reg') "
            "AS SELECT * FROM c_arrays_text"
        )
    backend.run(
        "CREATE MODEL c_arrays_len_m OPTIONS (model_type = 'linear_reg') "
        "AS SELECT v, label FROM c_arrays_len"
    )
    with pytest.raises(sqlml.Error, match="must all have 3 elements"):
        backend.rows("SELECT * FROM ML.PREDICT(MODEL c_arrays_len_m, TABLE c_arrays_short)")
