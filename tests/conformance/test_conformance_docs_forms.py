"""Documented forms on both engines (issue 11, items 3, 5 and 8): BigQuery's CLASS_WEIGHTS as an
array of tuples, three-part model names, and Redshift ML's quoted TARGET, its XGBoost
``HYPERPARAMETERS DEFAULT EXCEPT (NUM_CLASS ...)`` and EXPLAIN_MODEL.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from conformance_data import X1, column, multi

import sqlml
from sqlml.errors import SchemaError

# --- CLASS_WEIGHTS = [('label', weight), ...] ------------------------------------------------------


def test_class_weights_as_tuples_weigh_the_loss(backend: Any) -> None:
    """https://cloud.google.com/bigquery/docs/reference/standard-sql/bigqueryml-syntax-create-glm:
    CLASS_WEIGHTS is an ARRAY of STRUCT(label, weight); ``('hi', 3.0)`` is GoogleSQL's tuple syntax
    for such a STRUCT (https://cloud.google.com/bigquery/docs/reference/standard-sql/data-types,
    "Constructing a struct"). The same weights as the STRUCT form, checked against scikit-learn's
    logistic regression with those sample weights."""
    from sklearn.linear_model import LogisticRegression

    table = multi()
    backend.load("c_multi", table)
    backend.run(
        "CREATE MODEL c_tuples OPTIONS (model_type = 'logistic_reg', input_label_cols = ['y'], "
        "l2_reg = 0, early_stop = FALSE, max_iterations = 100, "
        "class_weights = [('hi', 3.0), ('lo', 0.5)]) AS SELECT x1, x2, y FROM c_multi"
    )
    found = backend.rows(
        "SELECT predicted_y_probs FROM ML.PREDICT(MODEL c_tuples, TABLE c_multi) ORDER BY id"
    )
    truth = column(table, "y").astype(str)
    x = np.column_stack([X1, table.column("x2").to_numpy()])
    weights = np.select([truth == "hi", truth == "lo"], [3.0, 0.5], 1.0)
    reference = LogisticRegression(C=np.inf, max_iter=10_000, tol=1e-10)
    reference.fit(x, truth, sample_weight=weights)
    np.testing.assert_allclose(
        [[p["prob"] for p in r[0]] for r in found], reference.predict_proba(x), atol=2e-3
    )


def test_class_weights_naming_no_class_is_an_error(backend: Any) -> None:
    backend.load("c_multi", multi())
    with pytest.raises(SchemaError, match=r"names label 'top', which is not a class") as caught:
        backend.run(
            "CREATE MODEL c_bad_weights OPTIONS (model_type = 'logistic_reg', "
            "input_label_cols = ['y'], class_weights = [('top', 2.0), ('lo', 0.5)]) "
            "AS SELECT x1, x2, y FROM c_multi"
        )
    assert "hi, lo, mid" in str(caught.value)


# --- Redshift: TARGET 'Churn', XGBoost multi:softmax, EXPLAIN_MODEL -------------------------------


def churn() -> pa.Table:
    """A churn table whose label column is spelled Churn (as a Redshift page's TARGET 'Churn')."""
    row = np.arange(120)
    return pa.table(
        {
            "id": row,
            "t1": X1,
            "t2": ((row * 7) % 11).astype(np.float64),
            "Churn": np.where(((row * 37) % 100) < (50 + 9 * X1), "yes", "no"),
        }
    )


def test_quoted_target_finds_the_column_in_any_case(backend: Any) -> None:
    """https://docs.aws.amazon.com/redshift/latest/dg/r_CREATE_MODEL.html: ``TARGET 'Churn'``;
    Redshift folds names to lower case, so 'churn' names the column Churn too."""
    backend.load("customer_data", churn())
    backend.run(
        "CREATE MODEL c_customer_churn FROM customer_data TARGET 'churn' "
        "FUNCTION c_predict_churn IAM_ROLE default PROBLEM_TYPE BINARY_CLASSIFICATION "
        "OBJECTIVE 'F1' SETTINGS (S3_BUCKET 'bucket')"
    )
    shown = dict(backend.rows("SHOW MODEL c_customer_churn"))
    assert shown["Target Column"] == "Churn"
    found = backend.rows("SELECT c_predict_churn(id, t1, t2) FROM customer_data")
    assert {r[0] for r in found} <= {"yes", "no"}


def abalone() -> pa.Table:
    """Abalone-shaped rows (r_create_model_use_cases.md's table): rings grow with shell_weight."""
    row = np.arange(300)
    shell = (row % 19) / 5.0
    return pa.table(
        {
            "length_val": (row % 17) / 10.0,
            "diameter": (row % 13) / 10.0,
            "height": (row % 7) / 10.0,
            "whole_weight": (row % 11) / 5.0,
            "shucked_weight": (row % 5) / 5.0,
            "viscera_weight": (row % 3) / 5.0,
            "shell_weight": shell,
            "rings": (3 + shell * 2).astype(np.int64),
            "record_number": row,
        }
    )


def test_xgboost_multi_softmax_example_runs(backend: Any) -> None:
    """https://docs.aws.amazon.com/redshift/latest/dg/r_create_model_use_cases.html (CREATE
    XGBoost models with AUTO OFF), verbatim but for the table's size (300 rows, record_number
    < 250) and the names' c_ prefix; its prediction query likewise. The classes are the rings
    seen in training, so every prediction is one of them."""
    backend.load("abalone_xgb", abalone())
    cur = backend.run(
        """CREATE MODEL c_abalone_xgboost_multi_predict_age
    FROM ( SELECT length_val,
                  diameter,
                  height,
                  whole_weight,
                  shucked_weight,
                  viscera_weight,
                  shell_weight,
                  rings
            FROM abalone_xgb WHERE record_number < 250 )
    TARGET rings FUNCTION c_ml_fn_abalone_xgboost_multi_predict_age
    IAM_ROLE default
    AUTO OFF
    MODEL_TYPE XGBOOST
    OBJECTIVE 'multi:softmax'
    PREPROCESSORS 'none'
    HYPERPARAMETERS DEFAULT EXCEPT (NUM_ROUND '100', NUM_CLASS '30')
    SETTINGS (S3_BUCKET 'your-bucket')"""
    )
    assert any("NUM_CLASS '30'" in str(m[1]) for m in cur.messages)
    shown = dict(backend.rows("SHOW MODEL c_abalone_xgboost_multi_predict_age"))
    assert shown["Model Type"] == "boosted_tree_classifier"
    found = backend.rows(
        """select c_ml_fn_abalone_xgboost_multi_predict_age(length_val,
                                                   diameter,
                                                   height,
                                                   whole_weight,
                                                   shucked_weight,
                                                   viscera_weight,
                                                   shell_weight)+1.5 as age
    from abalone_xgb where record_number > 250"""
    )
    seen = set(abalone().column("rings").to_pylist()[:250])
    assert len(found) == 49
    assert {float(r[0]) - 1.5 for r in found} <= {float(v) for v in seen}


# --- three-part names: database.schema.model ------------------------------------------------------


def line() -> pa.Table:
    """y = 2x + 1 exactly: a linear model predicts 2x + 1."""
    x = np.arange(30, dtype=np.float64)
    return pa.table({"x": x, "y": 2 * x + 1})


def own_database(backend: Any) -> tuple[str, str]:
    """The connection's own database and schema: DuckDB's file database and main, Spark's
    session catalog (spark_catalog) and default."""
    if backend.name == "spark":
        return backend.rows("SELECT current_catalog()")[0][0], "default"
    return backend.rows("SELECT current_database()")[0][0], "main"


def test_three_part_name_in_the_own_database(backend: Any) -> None:
    """https://cloud.google.com/bigquery/docs/reference/standard-sql/bigqueryml-syntax-create
    names a model ``project_name.dataset_name.model_name``; here the first part is the
    connection's own database (DuckDB) or catalog (Spark), and the model is the two-part one."""
    database, schema = own_database(backend)
    backend.load("c_line", line())
    backend.run(
        f"CREATE MODEL {database}.{schema}.c_three OPTIONS (model_type = 'linear_reg', "
        f"input_label_cols = ['y']) AS SELECT x, y FROM c_line"
    )
    assert f"{schema}.c_three" in {r[0] for r in backend.rows("SHOW MODEL ALL")}
    for name in (f"{database}.{schema}.c_three", f"{schema}.c_three"):
        found = backend.rows(
            f"SELECT x, predicted_y FROM ML.PREDICT(MODEL {name}, (SELECT x FROM c_line)) "
            f"ORDER BY x"
        )
        np.testing.assert_allclose([r[1] for r in found], 2 * np.arange(30) + 1, atol=1e-3)
    backend.run(f"DROP MODEL {database}.{schema}.c_three")
    assert f"{schema}.c_three" not in {r[0] for r in backend.rows("SHOW MODEL ALL")}


def test_three_part_name_of_an_unknown_database(backend: Any) -> None:
    """BigQuery's pages write ``myproject.mydataset.mymodel``: a project this connection does not
    have is named in the error, with the databases it has."""
    database, _ = own_database(backend)
    backend.load("c_line", line())
    with pytest.raises(sqlml.ProgrammingError, match=r"no database or catalog named 'myproject'"):
        backend.run(
            "CREATE MODEL myproject.mydataset.c_nowhere OPTIONS (model_type = 'linear_reg', "
            "input_label_cols = ['y']) AS SELECT x, y FROM c_line"
        )
    with pytest.raises(sqlml.ProgrammingError, match=rf"its databases: .*{database}"):
        backend.rows("SELECT * FROM ML.EVALUATE(MODEL myproject.mydataset.c_nowhere)")


def test_three_part_name_in_an_attached_duckdb_database(tmp_path: Any) -> None:
    """DuckDB only (Spark has no ATTACH): ``other.main.m`` lives in the attached database's own
    catalog, so the model travels with other.duckdb and that file, opened alone, has main.m."""
    with sqlml.connect(str(tmp_path / "here.duckdb")) as con:
        cur = con.cursor()
        cur.execute(f"ATTACH '{tmp_path / 'other.duckdb'}' AS other")
        cur.execute("CREATE TABLE c_line AS SELECT range::DOUBLE AS x FROM range(30)")
        cur.execute("ALTER TABLE c_line ADD COLUMN y DOUBLE")
        cur.execute("UPDATE c_line SET y = 2 * x + 1")
        cur.execute(
            "CREATE MODEL other.main.c_away OPTIONS (model_type = 'linear_reg', "
            "input_label_cols = ['y']) AS SELECT x, y FROM c_line"
        )
        cur.execute("SELECT * FROM ML.PREDICT(MODEL other.main.c_away, (SELECT 4.0 AS x))")
        assert cur.fetchall()[0][-1] == pytest.approx(9.0, abs=1e-3)
        cur.execute("SHOW MODEL ALL")
        assert cur.fetchall() == []  # the connection's own catalog has none
        with pytest.raises(sqlml.ProgrammingError, match="Models here: other.main.c_away"):
            cur.execute("SELECT * FROM ML.EVALUATE(MODEL other.main.c_gone)")
    with sqlml.connect(str(tmp_path / "other.duckdb")) as con:
        cur = con.cursor()
        cur.execute("SELECT * FROM ML.PREDICT(MODEL main.c_away, (SELECT 4.0 AS x))")
        assert cur.fetchall()[0][-1] == pytest.approx(9.0, abs=1e-3)
    with sqlml.connect(str(tmp_path / "here.duckdb")) as con:
        cur = con.cursor()
        cur.execute(f"ATTACH '{tmp_path / 'other.duckdb'}' AS other")
        cur.execute("DROP MODEL other.main.c_away")
        cur.execute("SELECT count(*) FROM other.sqlml.models")
        assert cur.fetchall() == [(0,)]


# --- Redshift's EXPLAIN_MODEL ------------------------------------------------------------------------


def test_explain_model_report_of_a_linear_learner(backend: Any) -> None:
    """https://docs.aws.amazon.com/redshift/latest/dg/r_explain_model_function.html: one SUPER
    value, {"explanations": {"kernel_shap": {"label0": {"global_shap_values": {...},
    "expected_value": ...}}}, "version": "1.0"}. For y = 2x + 1 exactly (x = 0..29) a linear
    model's attribution of a row is 2 (x - mean x), so the mean |attribution| is
    2 · mean |x - 14.5| = 15, and the baseline (the intercept on standardized x) is mean y = 30."""
    backend.load("c_line", line())
    backend.run(
        "CREATE MODEL c_explained FROM c_line TARGET y FUNCTION c_explained_fn IAM_ROLE default "
        "MODEL_TYPE LINEAR_LEARNER PROBLEM_TYPE REGRESSION OBJECTIVE 'MSE' "
        "SETTINGS (S3_BUCKET 'bucket')"
    )
    for sql in ("SELECT EXPLAIN_MODEL('c_explained')", "select explain_model(c_explained)"):
        cur = backend.run(sql)
        assert [d[0] for d in cur.description] == ["explain_model"]
        rows = cur.fetchall()
        assert len(rows) == 1
        report = json.loads(rows[0][0])
        assert report["version"] == "1.0"
        assert list(report["explanations"]) == ["kernel_shap"]
        entry = report["explanations"]["kernel_shap"]["label0"]
        x = np.arange(30)
        assert entry["global_shap_values"] == {"x": pytest.approx(2 * np.abs(x - x.mean()).mean())}
        assert entry["expected_value"] == pytest.approx(float((2 * x + 1).mean()), abs=1e-4)
    cur = backend.run("SELECT EXPLAIN_MODEL('c_explained') AS report")
    assert [d[0] for d in cur.description] == ["report"]


def test_explain_model_errors(backend: Any) -> None:
    backend.load("c_line", line())
    backend.run(
        "CREATE MODEL c_plain OPTIONS (model_type = 'linear_reg', input_label_cols = ['y']) "
        "AS SELECT x, y FROM c_line"
    )
    with pytest.raises(sqlml.ProgrammingError, match=r"enable_global_explain = TRUE"):
        backend.run("SELECT EXPLAIN_MODEL('c_plain')")
    with pytest.raises(
        sqlml.ProgrammingError, match=r"There is no model 'c_absent' in EXPLAIN_MODEL"
    ):
        backend.run("SELECT EXPLAIN_MODEL('c_absent')")
    with pytest.raises(
        sqlml.NotSupportedError, match=r"inside a larger query is not supported yet"
    ):
        backend.run("SELECT length(EXPLAIN_MODEL('c_plain'))")
