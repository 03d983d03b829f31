"""Unit tests of sqlml.plan.plan() on sqlml.sql.split_statements output (no engine, no I/O).

Every expected value is written by hand from the SQL text.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlglot import exp

from sqlml.errors import NotSupportedError, OptionError, ProgrammingError
from sqlml.plan.jobs import (
    DropModelJob,
    ExportModelJob,
    MLCall,
    MLQuery,
    PassThrough,
    ShowModelJob,
    TrainJob,
)
from sqlml.plan.planner import plan
from sqlml.plan.values import literal_value, model_name
from sqlml.sql import split_statements


def job_of(sql: str) -> Any:
    statements = split_statements(sql)
    assert len(statements) == 1
    return plan(statements[0])


# --- BigQuery CREATE MODEL ------------------------------------------------------------------------


def test_bigquery_create_model_fields() -> None:
    job = job_of(
        "CREATE OR REPLACE MODEL ds.Churn OPTIONS(model_type='dnn_classifier', "
        "input_label_cols=['y'], hidden_units=[32, 16], l2_reg=0.5, early_stop=FALSE) "
        "AS SELECT a, y FROM t WHERE a > 1"
    )
    assert job == TrainJob(
        name="ds.churn",
        query_sql="SELECT a, y FROM t WHERE a > 1",
        options={
            "model_type": "dnn_classifier",
            "hidden_units": [32, 16],
            "l2_reg": 0.5,
            "early_stop": False,
        },
        label="y",
        replace=True,
        if_not_exists=False,
        function_name=None,
        problem_type=None,
        notices=(),
        form="bigquery",
    )


def test_bigquery_if_not_exists_parenthesised_query_and_no_label() -> None:
    job = job_of("CREATE MODEL IF NOT EXISTS m OPTIONS(model_type='kmeans') AS (SELECT * FROM t)")
    assert isinstance(job, TrainJob)
    assert job.name == "m"
    assert job.if_not_exists is True
    assert job.replace is False
    assert job.label is None
    assert job.query_sql == "SELECT * FROM t"
    assert job.options == {"model_type": "kmeans"}


def test_bigquery_label_given_as_plain_string() -> None:
    job = job_of(
        "CREATE MODEL m OPTIONS(model_type='linear_reg', input_label_cols='y') AS SELECT 1"
    )
    assert job.label == "y"
    assert "input_label_cols" not in job.options


def test_bigquery_cloud_only_options_are_dropped_with_a_notice() -> None:
    job = job_of(
        "CREATE MODEL m OPTIONS(model_type='linear_reg', input_label_cols=['y'], "
        "kms_key_name='k', model_registry='VERTEX_AI') AS SELECT 1"
    )
    assert job.options == {"model_type": "linear_reg"}
    assert len(job.notices) == 2
    assert any("kms_key_name" in n and "ignored" in n for n in job.notices)
    assert any("model_registry" in n and "ignored" in n for n in job.notices)


def test_bigquery_two_label_columns_rejected() -> None:
    with pytest.raises(OptionError, match="input_label_cols"):
        job_of(
            "CREATE MODEL m OPTIONS(model_type='linear_reg', input_label_cols=['a', 'b']) "
            "AS SELECT 1"
        )


def test_bigquery_duplicate_option_rejected() -> None:
    with pytest.raises(OptionError, match="l2_reg"):
        job_of("CREATE MODEL m OPTIONS(model_type='linear_reg', l2_reg=1, l2_reg=2) AS SELECT 1")


def test_option_literal_values() -> None:
    job = job_of(
        "CREATE MODEL m OPTIONS(model_type='linear_reg', l1_reg=1e-3, a=NULL, b=(3), c=-2, "
        "d=-0.25, e=TRUE, f=['x', 'y'], g=[1, -2], h=2.5) AS SELECT 1"
    )
    assert job.options == {
        "model_type": "linear_reg",
        "l1_reg": 0.001,
        "a": None,
        "b": 3,
        "c": -2,
        "d": -0.25,
        "e": True,
        "f": ["x", "y"],
        "g": [1, -2],
        "h": 2.5,
    }
    assert isinstance(job.options["b"], int) and isinstance(job.options["h"], float)


def test_option_function_call_not_supported() -> None:
    with pytest.raises(NotSupportedError, match="SQRT"):
        job_of("CREATE MODEL m OPTIONS(model_type='kmeans', num_clusters=SQRT(4)) AS SELECT 1")


@pytest.mark.parametrize(
    ("node", "expected"),
    [
        (exp.Literal.number(7), 7),
        (exp.Literal.number("1.5"), 1.5),
        (exp.Literal.number("2e3"), 2000.0),
        (exp.Literal.string("abc"), "abc"),
        (exp.Neg(this=exp.Literal.number(4)), -4),
        (exp.Neg(this=exp.Literal.number("0.5")), -0.5),
        (exp.Boolean(this=True), True),
        (exp.Boolean(this=False), False),
        (exp.Null(), None),
        (None, None),
        (exp.Array(expressions=[exp.Literal.number(1), exp.Literal.string("a")]), [1, "a"]),
        (exp.Paren(this=exp.Literal.number(9)), 9),
        (exp.Var(this="XGBOOST"), "XGBOOST"),
    ],
)
def test_literal_value(node: exp.Expression | None, expected: Any) -> None:
    value = literal_value(node)
    assert value == expected
    assert type(value) is type(expected)


def test_literal_value_rejects_expressions() -> None:
    with pytest.raises(OptionError):
        literal_value(exp.Add(this=exp.Literal.number(1), expression=exp.Literal.number(2)))


# --- Redshift CREATE MODEL ------------------------------------------------------------------------


def test_redshift_create_model_fields() -> None:
    job = job_of(
        "CREATE MODEL m FROM t TARGET y FUNCTION Fn IAM_ROLE default MODEL_TYPE MLP "
        "PROBLEM_TYPE BINARY_CLASSIFICATION HYPERPARAMETERS DEFAULT EXCEPT (EPOCHS '50', "
        "ETA '0.1') SETTINGS (S3_BUCKET 'b', MAX_RUNTIME 500)"
    )
    assert isinstance(job, TrainJob)
    assert job.form == "redshift"
    assert job.name == "m"
    assert job.query_sql == "SELECT * FROM t"
    assert job.label == "y"
    assert job.function_name == "fn"
    assert job.problem_type == "classification"
    assert job.options == {
        "model_type": "dnn",
        "max_iterations": 50,
        "learn_rate": 0.1,
        "enable_global_explain": True,  # Redshift explains every model (EXPLAIN_MODEL)
    }
    assert any("IAM_ROLE" in n for n in job.notices)
    assert any("S3_BUCKET" in n for n in job.notices)
    assert any("MAX_RUNTIME" in n for n in job.notices)


@pytest.mark.parametrize(
    ("clauses", "family", "problem"),
    [
        ("MODEL_TYPE XGBOOST PROBLEM_TYPE REGRESSION", "boosted_tree", "regression"),
        (
            "MODEL_TYPE LINEAR_LEARNER PROBLEM_TYPE MULTICLASS_CLASSIFICATION",
            "linear",
            "classification",
        ),
        ("MODEL_TYPE MLP", "dnn", None),
        ("MODEL_TYPE XGBOOST OBJECTIVE 'reg:squarederror'", "boosted_tree", "regression"),
        ("MODEL_TYPE XGBOOST OBJECTIVE 'binary:logistic'", "boosted_tree", "classification"),
        ("AUTO OFF MODEL_TYPE KMEANS", "kmeans", None),
    ],
)
def test_redshift_model_and_problem_types(clauses: str, family: str, problem: str | None) -> None:
    job = job_of(
        f"CREATE MODEL m FROM (SELECT a, y FROM t) TARGET y FUNCTION f IAM_ROLE 'arn' {clauses} "
        "SETTINGS (S3_BUCKET 'b')"
    )
    assert job.options["model_type"] == family
    assert job.problem_type == problem
    assert job.query_sql == "SELECT a, y FROM t"


def test_redshift_auto_default_is_automl() -> None:
    job = job_of(
        "CREATE MODEL m FROM t TARGET y FUNCTION f IAM_ROLE default SETTINGS (S3_BUCKET 'b')"
    )
    assert job.options == {"model_type": "automl", "enable_global_explain": True}


def test_redshift_kmeans_hyperparameter_k() -> None:
    job = job_of(
        "CREATE MODEL m FROM t FUNCTION f IAM_ROLE default MODEL_TYPE KMEANS "
        "HYPERPARAMETERS DEFAULT EXCEPT (K '3') SETTINGS (S3_BUCKET 'b')"
    )
    assert job.options == {"model_type": "kmeans", "num_clusters": 3}
    assert job.label is None


def test_redshift_unknown_hyperparameter() -> None:
    with pytest.raises(OptionError, match="BOGUS"):
        job_of(
            "CREATE MODEL m FROM t TARGET y FUNCTION f IAM_ROLE default MODEL_TYPE XGBOOST "
            "HYPERPARAMETERS DEFAULT EXCEPT (BOGUS '3') SETTINGS (S3_BUCKET 'b')"
        )


# --- ML table functions ---------------------------------------------------------------------------


def test_ml_predict_call_with_struct_and_parameters() -> None:
    sql = (
        "SELECT * FROM ML.PREDICT(MODEL m, (SELECT * FROM t WHERE x > ?), "
        "STRUCT(0.7 AS threshold)) WHERE z = ?"
    )
    job = job_of(sql)
    assert isinstance(job, MLQuery)
    # The call's text, from ML.PREDICT to its closing parenthesis, is a slot (index 0).
    start = sql.index("ML.PREDICT")
    end = sql.index(") WHERE z") + 1
    assert job.pieces == (sql[:start], 0, sql[end:])
    assert job.sql == 'SELECT * FROM "__sqlml_predict_1" WHERE z = ?'
    assert len(job.calls) == 1
    call = job.calls[0]
    assert call.function == "PREDICT"
    assert call.model == "m"
    assert call.input_sql == "SELECT * FROM t WHERE x > ?"
    assert call.params == {"threshold": 0.7}
    assert call.slot == "__sqlml_predict_1"
    # Two placeholders: the first inside the call's input, the second the statement's own.
    assert job.parameters == ("?", "?")
    assert call.parameters == (0,)
    assert job.outer == (1,)


def test_ml_evaluate_without_input() -> None:
    job = job_of("SELECT * FROM ML.EVALUATE(MODEL s.M)")
    assert job.calls == (MLCall("EVALUATE", "s.m", None, {}, slot="__sqlml_evaluate_1"),)
    assert job.pieces == ("SELECT * FROM ", 0, "")


def test_ml_table_input_and_two_calls() -> None:
    sql = "SELECT * FROM ML.PREDICT(MODEL m, TABLE t) a JOIN ML.PREDICT(MODEL n, TABLE u) b USING (id)"
    job = job_of(sql)
    assert [(c.function, c.model, c.input_sql) for c in job.calls] == [
        ("PREDICT", "m", "SELECT * FROM t"),
        ("PREDICT", "n", "SELECT * FROM u"),
    ]
    assert job.pieces == ("SELECT * FROM ", 0, " a JOIN ", 1, " b USING (id)")
    assert [c.slot for c in job.calls] == ["__sqlml_predict_1", "__sqlml_predict_2"]


def test_ml_call_inside_cte() -> None:
    sql = "WITH p AS (SELECT * FROM ML.EVALUATE(MODEL m, TABLE t)) SELECT * FROM p"
    job = job_of(sql)
    (call,) = job.calls
    assert job.pieces == ("WITH p AS (SELECT * FROM ", 0, ") SELECT * FROM p")
    assert call.input_sql == "SELECT * FROM t"


# --- DROP / EXPORT / SHOW / pass-through ------------------------------------------------------------


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("DROP MODEL IF EXISTS m", DropModelJob("m", True)),
        ("DROP MODEL S.M", DropModelJob("s.m", False)),
        ("EXPORT MODEL m OPTIONS(uri='/tmp/a.onnx')", ExportModelJob("m", "/tmp/a.onnx")),
        ("SHOW MODEL Churn", ShowModelJob("churn")),
        ("SHOW MODEL ALL", ShowModelJob(None)),
        ("SELECT 1", PassThrough("SELECT 1", (), "SELECT 1")),
        (
            "CREATE TABLE t (a INT)",
            PassThrough("CREATE TABLE t (a INT)", (), "CREATE TABLE t (a INT)"),
        ),
    ],
)
def test_simple_jobs(sql: str, expected: Any) -> None:
    assert job_of(sql) == expected


def test_export_needs_uri() -> None:
    with pytest.raises(OptionError, match="uri"):
        job_of("EXPORT MODEL m")


def test_export_rejects_other_options() -> None:
    with pytest.raises(OptionError, match="foo"):
        job_of("EXPORT MODEL m OPTIONS(uri='/a', foo=1)")


# --- model names ----------------------------------------------------------------------------------


def test_model_name_too_many_qualifiers() -> None:
    """database.schema.model is the most (BigQuery's project.dataset.model)."""
    assert job_of("CREATE MODEL a.B.c OPTIONS(model_type='kmeans') AS SELECT 1").name == "a.b.c"
    with pytest.raises(ProgrammingError, match=r"a\.b\.c\.d.*at most two qualifiers"):
        job_of("CREATE MODEL a.b.c.d OPTIONS(model_type='kmeans') AS SELECT 1")


def test_model_name_invalid_characters() -> None:
    with pytest.raises(ProgrammingError, match="bad-name"):
        job_of("CREATE MODEL \"bad-name\" OPTIONS(model_type='kmeans') AS SELECT 1")


def test_model_name_lowercases_and_keeps_schema() -> None:
    table = exp.Table(this=exp.to_identifier("Foo"), db=exp.to_identifier("Bar"))
    assert model_name(table) == "bar.foo"
    assert model_name(exp.to_identifier("X_1")) == "x_1"


@pytest.mark.parametrize(
    ("sql", "bare"),
    [
        ("SELECT * FROM ML.PREDICT(MODEL m, TABLE t)", True),
        ("SELECT * FROM ML.PREDICT(MODEL m, TABLE t) AS p", True),
        ("SELECT * FROM ML.EVALUATE(MODEL m)", True),
        ("SELECT x FROM ML.PREDICT(MODEL m, TABLE t)", False),
        ("SELECT * FROM ML.PREDICT(MODEL m, TABLE t) LIMIT 3", False),
        ("SELECT * FROM ML.PREDICT(MODEL m, TABLE t) WHERE x > 1", False),
        ("SELECT * EXCLUDE (x) FROM ML.PREDICT(MODEL m, TABLE t)", False),
        ("SELECT DISTINCT * FROM ML.PREDICT(MODEL m, TABLE t)", False),
        ("SELECT * FROM ML.PREDICT(MODEL m, TABLE t) JOIN u USING (x)", False),
    ],
)
def test_only_a_bare_select_star_is_served_without_the_engine(sql: str, bare: bool) -> None:
    job = plan(split_statements(sql)[0])
    assert isinstance(job, MLQuery)
    assert job.bare is bare
