"""ALTER MODEL ... SET OPTIONS and CREATE MODEL's descriptive options, planned (no engine).

https://cloud.google.com/bigquery/docs/reference/standard-sql/bigqueryml-syntax-alter-model: the
options are vertex_ai_model_id, expiration_timestamp (a TIMESTAMP), kms_key_name, description (a
STRING), labels (an ARRAY<STRUCT<STRING, STRING>> of key, value pairs), deploy_model and
endpoint_idle_ttl. Label rules: https://cloud.google.com/bigquery/docs/labels-intro#requirements.
"""

from __future__ import annotations

import datetime as dt

import pytest

import sqlml
from sqlml.errors import OptionError
from sqlml.plan import plan
from sqlml.plan.jobs import AlterModelJob, EngineValue, TrainJob
from sqlml.plan.metadata import parse_instant
from sqlml.sql import split_statements


def planned(sql: str, dialect: str = "duckdb", engine: str = "duckdb") -> object:
    return plan(split_statements(sql, dialect)[0], engine)


def test_alter_model_plans_the_three_options() -> None:
    job = planned(
        "ALTER MODEL IF EXISTS analytics.Churn SET OPTIONS (description = 'weekly', "
        "labels = [('team', 'growth'), ('tier', 'gold-1')], "
        "expiration_timestamp = TIMESTAMP '2027-01-01 00:00:00 UTC')"
    )
    assert job == AlterModelJob(
        "analytics.churn",
        {
            "description": "weekly",
            "labels": {"team": "growth", "tier": "gold-1"},
            "expiration_timestamp": dt.datetime(2027, 1, 1, tzinfo=dt.UTC).isoformat(),
        },
        if_exists=True,
    )


def test_null_and_empty_remove_an_option() -> None:
    job = planned(
        "ALTER MODEL m SET OPTIONS (description = NULL, labels = [], expiration_timestamp = NULL)"
    )
    assert isinstance(job, AlterModelJob)
    assert job.changes == {"description": None, "labels": None, "expiration_timestamp": None}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2027-01-01 00:00:00 UTC", dt.datetime(2027, 1, 1, tzinfo=dt.UTC)),
        ("2027-01-01", dt.datetime(2027, 1, 1, tzinfo=dt.UTC)),
        ("2027-01-01T12:30:00", dt.datetime(2027, 1, 1, 12, 30, tzinfo=dt.UTC)),
        # two hours east of UTC: 10:00 UTC
        ("2027-06-01 12:00:00+02:00", dt.datetime(2027, 6, 1, 10, 0, tzinfo=dt.UTC)),
        ("2027-06-01 12:00:00.250 UTC", dt.datetime(2027, 6, 1, 12, 0, 0, 250000, tzinfo=dt.UTC)),
    ],
)
def test_a_timestamp_without_a_zone_is_utc(text: str, expected: dt.datetime) -> None:
    """BigQuery reads a TIMESTAMP literal without a time zone as UTC."""
    assert parse_instant(text, "ALTER MODEL m") == expected


def test_a_timestamp_expression_is_left_to_the_engine_in_its_dialect() -> None:
    sql = (
        "ALTER MODEL m SET OPTIONS "
        "(expiration_timestamp = TIMESTAMP_ADD(CURRENT_TIMESTAMP(), INTERVAL 7 DAY))"
    )
    job = planned(sql, dialect="bigquery", engine="duckdb")
    assert isinstance(job, AlterModelJob)
    value = job.changes["expiration_timestamp"]
    assert isinstance(value, EngineValue)
    assert value.sql.startswith("EPOCH(") and "CURRENT_TIMESTAMP" in value.sql


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ("description = 3", r"'description' option of ALTER MODEL m must be a string"),
        ("labels = 'team'", r"'labels' option of ALTER MODEL m must be an array of \('key'"),
        ("labels = [('team')]", r"must be an array of \('key', 'value'\) pairs; got"),
        ("labels = [('Team', 'growth')]", r"lowercase letters, .*got \('Team', 'growth'\)"),
        ("labels = [('1team', 'growth')]", r"keys starting with a letter"),
        (f"labels = [('team', '{'v' * 64}')]", r"at most 63"),
        ("labels = [('team', 'a'), ('team', 'b')]", r"label 'team' is given twice"),
        ("expiration_timestamp = 'soon'", r"must be a TIMESTAMP such as"),
        ("expiration_timestamp = 17", r"must be a TIMESTAMP, as in"),
        ("description = 'a', description = 'b'", r"Option 'description' is given twice"),
        ("model_type = 'linear_reg'", r"Unknown option 'model_type' of ALTER MODEL m; accepted"),
    ],
)
def test_bad_options_name_the_problem(options: str, message: str) -> None:
    with pytest.raises(OptionError, match=message):
        planned(f"ALTER MODEL m SET OPTIONS ({options})")


def test_cloud_options_are_accepted_with_a_notice() -> None:
    job = planned(
        "ALTER MODEL m SET OPTIONS (kms_key_name = 'k', vertex_ai_model_id = 'v', "
        "deploy_model = TRUE, endpoint_idle_ttl = INTERVAL 8 HOUR)"
    )
    assert isinstance(job, AlterModelJob)
    assert job.changes == {}
    assert len(job.notices) == 4
    assert all("applies only to BigQuery in Google Cloud; ignored" in n for n in job.notices)


def test_create_model_takes_the_same_options_apart_from_the_training_ones() -> None:
    job = planned(
        "CREATE MODEL m OPTIONS (model_type = 'linear_reg', input_label_cols = ['y'], "
        "description = 'first', labels = [('team', 'growth')], "
        "expiration_timestamp = '2030-01-01') AS SELECT 1 AS x, 2 AS y"
    )
    assert isinstance(job, TrainJob)
    assert job.options == {"model_type": "linear_reg"}
    assert job.metadata == {
        "description": "first",
        "labels": {"team": "growth"},
        "expiration_timestamp": "2030-01-01T00:00:00+00:00",
    }


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("ALTER MODEL m SET DEFAULT_VERSION = v2", r"^ALTER MODEL \.\.\. SET DEFAULT_VERSION "),
        ("ALTER MODEL m VERSION v1 SET ALIAS = prod", r"^ALTER MODEL \.\.\. VERSION "),
        ("ALTER MODEL IF EXISTS s.m ADD VERSION v3 FROM t", r"^ALTER MODEL \.\.\. ADD VERSION "),
        ("ALTER MODEL m DROP VERSION v1", r"^ALTER MODEL \.\.\. DROP VERSION "),
    ],
)
def test_version_forms_are_not_supported_yet(sql: str, message: str) -> None:
    with pytest.raises(
        sqlml.NotSupportedError, match=message + r"is not supported yet: model versions"
    ):
        planned(sql)


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("ALTER MODEL m RENAME TO n", r"Expected SET OPTIONS \(\.\.\.\) after ALTER MODEL m"),
        ("ALTER MODEL SET OPTIONS (description = 'x')", r"Expected <model name> after ALTER"),
        ("ALTER MODEL m SET OPTIONS (description = 'x') AS SELECT 1", r"Unexpected AS after"),
        ("ALTER MODEL m SET OPTIONS description = 'x'", r"Expected \( after OPTIONS"),
    ],
)
def test_malformed_alter_model_is_a_syntax_error(sql: str, message: str) -> None:
    with pytest.raises(sqlml.ProgrammingError, match=message):
        planned(sql)
