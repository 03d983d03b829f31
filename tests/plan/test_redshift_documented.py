"""Redshift ML's CREATE MODEL as its developer guide writes it, planned (no engine, no I/O).

Statements from https://docs.aws.amazon.com/redshift/latest/dg/r_CREATE_MODEL.html and
https://docs.aws.amazon.com/redshift/latest/dg/r_create_model_use_cases.html
(awsdocs/amazon-redshift-developer-guide, doc_source/r_CREATE_MODEL.md and
r_create_model_use_cases.md); expected options written by hand from the clauses.
"""

from __future__ import annotations

from typing import Any

import pytest

from sqlml.errors import NotSupportedError, OptionError, SchemaError
from sqlml.plan.planner import plan
from sqlml.plan.redshift import resolve_target
from sqlml.sql import split_statements


def job_of(sql: str) -> Any:
    statements = split_statements(sql)
    assert len(statements) == 1
    return plan(statements[0])


XGBOOST_MULTI = """
CREATE MODEL abalone_xgboost_multi_predict_age
FROM ( SELECT length_val, diameter, height, whole_weight, shucked_weight, viscera_weight,
              shell_weight, rings
        FROM abalone_xgb WHERE record_number < 2500 )
TARGET rings FUNCTION ml_fn_abalone_xgboost_multi_predict_age
IAM_ROLE default
AUTO OFF
MODEL_TYPE XGBOOST
OBJECTIVE 'multi:softmax'
PREPROCESSORS 'none'
HYPERPARAMETERS DEFAULT EXCEPT (NUM_ROUND '100', NUM_CLASS '30')
SETTINGS (S3_BUCKET 'your-bucket')
"""


def test_xgboost_multi_softmax_with_num_class() -> None:
    """The guide's AUTO OFF XGBoost example: NUM_ROUND is the number of boosting rounds, NUM_CLASS
    is read and checked (the classes come from the TARGET column), multi:softmax makes it a
    classifier."""
    job = job_of(XGBOOST_MULTI)
    assert job.label == "rings"
    assert job.problem_type == "classification"
    assert job.options == {
        "max_iterations": 100,
        "model_type": "boosted_tree",
        "enable_global_explain": True,  # for EXPLAIN_MODEL, which Redshift answers for any model
    }
    assert any("NUM_CLASS '30'" in n for n in job.notices)
    assert job.function_name == "ml_fn_abalone_xgboost_multi_predict_age"


def test_num_class_must_be_a_positive_integer() -> None:
    with pytest.raises(OptionError, match=r"NUM_CLASS .* must be a positive integer"):
        job_of(XGBOOST_MULTI.replace("NUM_CLASS '30'", "NUM_CLASS 'many'"))


def test_quoted_target() -> None:
    """``TARGET 'Churn'`` (r_CREATE_MODEL.md's PREPROCESSORS example) names the column Churn."""
    job = job_of(
        "CREATE MODEL customer_churn FROM customer_data TARGET 'Churn' FUNCTION predict_churn "
        "IAM_ROLE default PROBLEM_TYPE BINARY_CLASSIFICATION OBJECTIVE 'F1' "
        'PREPROCESSORS \'[{"ColumnSet": ["t1", "t2"], "Transformers": ["OneHotEncoder"]}]\' '
        "SETTINGS (S3_BUCKET 'bucket')"
    )
    assert job.label == "Churn"
    assert job.problem_type == "classification"
    assert job.query_sql == "SELECT * FROM customer_data"


def test_kmeans_k_and_settings() -> None:
    """The guide's K-means example; SETTINGS other than MAX_RUNTIME are Redshift's own."""
    job = job_of(
        "CREATE MODEL customers_clusters FROM customers FUNCTION customers_cluster "
        "IAM_ROLE default AUTO OFF MODEL_TYPE KMEANS "
        'PREPROCESSORS \'[{"ColumnSet": [ "*" ], "Transformers": [ "NumericPassthrough" ]}]\' '
        "HYPERPARAMETERS DEFAULT EXCEPT ( K '5' ) "
        "SETTINGS (S3_BUCKET 'bucket', KMS_KEY_ID 'k', S3_GARBAGE_COLLECT OFF, MAX_CELLS 1000)"
    )
    assert job.label is None
    assert job.options == {"num_clusters": 5, "model_type": "kmeans"}
    for setting in ("S3_BUCKET", "KMS_KEY_ID", "S3_GARBAGE_COLLECT", "MAX_CELLS"):
        assert f"SETTINGS {setting} applies only to Amazon Redshift; ignored." in job.notices


def test_xgboost_hyperparameters_that_map() -> None:
    """XGBoost's GAMMA, LAMBDA and ALPHA are BigQuery's min_split_loss, l2_reg and l1_reg."""
    job = job_of(
        "CREATE MODEL m FROM t TARGET y FUNCTION f IAM_ROLE default AUTO OFF MODEL_TYPE XGBOOST "
        "OBJECTIVE 'reg:squarederror' PREPROCESSORS 'none' "
        "HYPERPARAMETERS DEFAULT EXCEPT (NUM_ROUND '10', ETA '0.2', MAX_DEPTH '4', GAMMA '1', "
        "LAMBDA '2', ALPHA '0.5') SETTINGS (S3_BUCKET 'b')"
    )
    assert job.problem_type == "regression"
    assert job.options == {
        "max_iterations": 10,
        "learn_rate": 0.2,
        "max_tree_depth": 4,
        "min_split_loss": 1,
        "l2_reg": 2,
        "l1_reg": 0.5,
        "model_type": "boosted_tree",
        "enable_global_explain": True,
    }


@pytest.mark.parametrize(
    ("objective", "problem"),
    [("binary:hinge", "classification"), ("reg:tweedie", "regression")],
)
def test_objectives_with_another_loss_say_so(objective: str, problem: str) -> None:
    job = job_of(
        f"CREATE MODEL m FROM t TARGET y FUNCTION f IAM_ROLE default AUTO OFF MODEL_TYPE XGBOOST "
        f"OBJECTIVE '{objective}' PREPROCESSORS 'none' HYPERPARAMETERS DEFAULT "
        f"SETTINGS (S3_BUCKET 'b')"
    )
    assert job.problem_type == problem
    assert any(n.startswith(f"OBJECTIVE '{objective}': sqlml's trainers") for n in job.notices)


def test_ranking_objective_is_not_supported_yet() -> None:
    with pytest.raises(NotSupportedError, match=r"OBJECTIVE 'rank:pairwise' .* not supported yet"):
        job_of(
            "CREATE MODEL m FROM t TARGET y FUNCTION f IAM_ROLE default AUTO OFF "
            "MODEL_TYPE XGBOOST OBJECTIVE 'rank:pairwise' HYPERPARAMETERS DEFAULT "
            "SETTINGS (S3_BUCKET 'b')"
        )


def test_documented_hyperparameter_not_applied_is_not_supported_yet() -> None:
    with pytest.raises(
        NotSupportedError, match=r"^HYPERPARAMETERS SCALE_POS_WEIGHT in CREATE MODEL"
    ):
        job_of(
            "CREATE MODEL m FROM t TARGET y FUNCTION f IAM_ROLE default AUTO OFF "
            "MODEL_TYPE XGBOOST HYPERPARAMETERS DEFAULT EXCEPT (SCALE_POS_WEIGHT '3') "
            "SETTINGS (S3_BUCKET 'b')"
        )


def test_bring_your_own_model_is_not_supported_yet() -> None:
    """r_create_model_use_cases.md's local and remote inference examples (SageMaker models)."""
    with pytest.raises(NotSupportedError, match=r"FROM 'training-job-customer-churn-v4' .*yet"):
        job_of(
            "CREATE MODEL customer_churn FROM 'training-job-customer-churn-v4' "
            "FUNCTION customer_churn_predict (varchar, int, float, float) RETURNS int "
            "IAM_ROLE default SETTINGS (S3_BUCKET 'your-bucket')"
        )
    with pytest.raises(NotSupportedError, match=r"remote inference .* not supported yet"):
        job_of(
            "CREATE MODEL remote_customer_churn "
            "FUNCTION remote_fn_customer_churn_predict (varchar, int, float, float) "
            "RETURNS int SAGEMAKER 'customer-churn-endpoint' IAM_ROLE default"
        )


def test_resolve_target_folds_case_as_redshift() -> None:
    """Redshift folds unquoted names to lower case: the linear learner tutorial writes
    ``TARGET cover_type`` for its column Cover_type."""
    assert resolve_target("cover_type", ["Elevation", "Cover_type"], "m") == "Cover_type"
    assert resolve_target("Churn", ["churn"], "m") == "churn"
    assert resolve_target("y", ["y", "Y"], "m") == "y"  # an exact match wins
    assert resolve_target("absent", ["a"], "m") == "absent"  # the trainer names the columns
    assert resolve_target(None, ["a"], "m") is None
    with pytest.raises(SchemaError, match="matches several columns"):
        resolve_target("churn", ["Churn", "CHURN"], "m")


# --- EXPLAIN_MODEL ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sql", "name", "column"),
    [
        # https://docs.aws.amazon.com/redshift/latest/dg/r_explain_model_function.html
        ("select explain_model('customer_churn_auto_model')", "customer_churn_auto_model", ""),
        ("SELECT EXPLAIN_MODEL('Public.Churn')", "public.churn", ""),
        ("SELECT EXPLAIN_MODEL(churn) AS report;", "churn", "report"),
        ("SELECT EXPLAIN_MODEL(s.churn)", "s.churn", ""),
    ],
)
def test_explain_model_is_a_report_job(sql: str, name: str, column: str) -> None:
    from sqlml.plan.jobs import ShowModelJob

    assert job_of(sql) == ShowModelJob(
        name, report="explain_model", column=column or "explain_model"
    )


def test_explain_model_elsewhere_is_not_supported_yet() -> None:
    with pytest.raises(NotSupportedError, match=r"^EXPLAIN_MODEL\(\.\.\.\) inside a larger query"):
        job_of("SELECT id, EXPLAIN_MODEL('m') FROM t")


def test_explain_model_takes_one_name() -> None:
    from sqlml.errors import ProgrammingError

    with pytest.raises(ProgrammingError, match="takes one argument"):
        job_of("SELECT EXPLAIN_MODEL('a', 'b')")
    with pytest.raises(ProgrammingError, match="got 1 \\+ 2"):
        job_of("SELECT EXPLAIN_MODEL(1 + 2)")
    with pytest.raises(ProgrammingError, match="Invalid model name"):
        job_of("SELECT EXPLAIN_MODEL('not a name')")


def test_schema_qualified_function_is_not_supported_yet() -> None:
    """r_CREATE_MODEL.md: "You can provide a schema name" for FUNCTION; sqlml's model functions are
    registered per connection, unqualified."""
    with pytest.raises(
        NotSupportedError, match=r"FUNCTION name \(public\.f1\) is not supported yet"
    ):
        job_of("CREATE MODEL m FROM t TARGET y FUNCTION public.f1 IAM_ROLE default")


def test_seed_and_eval_metric() -> None:
    """XGBoost's SEED is random_seed; EVAL_METRIC (a metric XGBoost reports while training, as in
    ``HYPERPARAMETERS DEFAULT EXCEPT (NUM_ROUND '150', MAX_DEPTH '5', ETA '0.1', EVAL_METRIC
    'auc')``) is noted and ignored."""
    job = job_of(
        "CREATE MODEL m FROM t TARGET y FUNCTION f IAM_ROLE default AUTO OFF MODEL_TYPE XGBOOST "
        "OBJECTIVE 'binary:logistic' PREPROCESSORS 'none' HYPERPARAMETERS DEFAULT EXCEPT "
        "(NUM_ROUND '150', MAX_DEPTH '5', ETA '0.1', EVAL_METRIC 'auc', SEED '7') "
        "SETTINGS (S3_BUCKET 'b')"
    )
    assert job.options["random_seed"] == 7
    assert job.options["max_iterations"] == 150
    assert any(n.startswith("HYPERPARAMETERS EVAL_METRIC 'auc'") for n in job.notices)
