"""What the training query may hand CREATE MODEL, on both engines: BigQuery's default label (a
column named ``label``), and the feature column types the docs accept (TIMESTAMP, DATE, TIME).

Expected values come from scikit-learn or numpy on the rows as the tests build them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from conformance_data import X1, X2, binary, reg

from sqlml.errors import SchemaError

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
