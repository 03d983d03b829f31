"""BigQuery ML's model types that sqlml does not train yet fail with "... is not supported yet",
before anything asks for a training query (an import such as TENSORFLOW has none).

The types are those of the CREATE MODEL pages of
https://cloud.google.com/bigquery/docs/reference/standard-sql/bigqueryml-syntax-create
(bigqueryml-syntax-create-time-series, -multivariate-time-series, -matrix-factorization,
-contribution-analysis, -autoencoder, -wnd-models, -tensorflow, -tflite).
"""

from __future__ import annotations

import pytest

import sqlml
from sqlml.models.options import PLANNED_MODEL_TYPES

STATEMENTS = {
    "ARIMA_PLUS_XREG": "CREATE MODEL m OPTIONS (MODEL_TYPE = 'ARIMA_PLUS_XREG', "
    "TIME_SERIES_TIMESTAMP_COL = 'd', TIME_SERIES_DATA_COL = 'y') AS SELECT * FROM t",
    "MATRIX_FACTORIZATION": "CREATE MODEL m OPTIONS (model_type = 'matrix_factorization', "
    "feedback_type = 'implicit', user_col = 'u', item_col = 'i') AS SELECT * FROM t",
    "CONTRIBUTION_ANALYSIS": "CREATE MODEL m OPTIONS (model_type = 'CONTRIBUTION_ANALYSIS', "
    "contribution_metric = 'SUM(y)', dimension_id_cols = ['d'], is_test_col = 't') "
    "AS SELECT * FROM t",
    "AUTOENCODER": "CREATE MODEL m OPTIONS (model_type = 'autoencoder', "
    "hidden_units = [8, 4, 8]) AS SELECT * FROM t",
    "DNN_LINEAR_COMBINED_CLASSIFIER": "CREATE MODEL m OPTIONS (model_type = "
    "'DNN_LINEAR_COMBINED_CLASSIFIER', input_label_cols = ['y']) AS SELECT * FROM t",
    "DNN_LINEAR_COMBINED_REGRESSOR": "CREATE MODEL m OPTIONS (model_type = "
    "'DNN_LINEAR_COMBINED_REGRESSOR', input_label_cols = ['y']) AS SELECT * FROM t",
    "TENSORFLOW": "CREATE MODEL m OPTIONS (model_type = 'TENSORFLOW', "
    "model_path = 'gs://bucket/model/*')",
    "TENSORFLOW_LITE": "CREATE MODEL m OPTIONS (MODEL_TYPE = 'TENSORFLOW_LITE', "
    "MODEL_PATH = 'gs://bucket/model.tflite')",
}


def test_every_planned_type_has_a_documented_statement() -> None:
    assert {name.lower() for name in STATEMENTS} == set(PLANNED_MODEL_TYPES)


@pytest.mark.parametrize("dialect", [None, "bigquery"])
@pytest.mark.parametrize("model_type", sorted(STATEMENTS))
def test_a_planned_model_type_is_not_supported_yet(model_type: str, dialect: str | None) -> None:
    con = sqlml.connect(dialect=dialect)
    try:
        message = rf"(?i)^model_type '{model_type}' is not supported yet \(CREATE MODEL m\); "
        with pytest.raises(sqlml.NotSupportedError, match=message):
            con.execute(STATEMENTS[model_type])
    finally:
        con.close()
