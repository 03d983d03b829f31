"""The grammar's ML function list and the function registry name the same functions: every name the
parser accepts after ``ML.`` is either a registered handler or a planned one, which fails clearly."""

from __future__ import annotations

import pathlib
import re

import pytest

import sqlml
from sqlml import functions
from sqlml.plan.transform import FUNCTIONS as TRANSFORM_FUNCTIONS
from sqlml.sql import ML_FUNCTIONS
from sqlml.sql.keywords import (
    AI_NOT_YET,
    AI_RECOGNISED,
    AI_REMOTE,
    NOT_YET,
    RECOGNISED,
    REMOTE,
    TRANSFORM_ONLY,
)

REFERENCE = pathlib.Path(__file__).resolve().parents[2] / "sql" / "reference.md"


def registered() -> set[str]:
    functions.lookup("PREDICT")  # loads every built-in module
    return set(functions.REGISTRY)


def test_the_grammar_lists_exactly_the_registered_and_planned_functions() -> None:
    assert registered() | set(functions.PLANNED) == set(ML_FUNCTIONS)
    assert registered().isdisjoint(functions.PLANNED)


def test_every_registered_function_is_in_the_statement_reference() -> None:
    text = REFERENCE.read_text()
    assert [name for name in sorted(registered()) if f"ML.{name}" not in text] == []


@pytest.mark.parametrize("name", sorted(set(functions.PLANNED) | set(NOT_YET)))
def test_a_planned_function_parses_and_then_says_it_is_not_supported(name: str) -> None:
    """Every ML function a later issue brings (the grammar's planned ones, and those recognised by
    their tokens, sqlml.sql.keywords.NOT_YET) says exactly that it is not supported yet."""
    con = sqlml.connect()
    try:
        con.execute("CREATE TABLE t AS SELECT 1.0 AS x, 0 AS y")
        with pytest.raises(sqlml.NotSupportedError, match=rf"ML\.{name} is not supported yet"):
            con.execute(f"SELECT * FROM ML.{name}(MODEL m, TABLE t)")
    finally:
        con.close()


def test_the_recognised_functions_are_not_also_parsed_or_registered() -> None:
    """A name is either a table function the grammar parses or one recognised and refused."""
    assert RECOGNISED.isdisjoint(ML_FUNCTIONS)
    assert RECOGNISED.isdisjoint(registered())
    assert set(NOT_YET).isdisjoint(REMOTE) and TRANSFORM_ONLY.isdisjoint(set(NOT_YET) | REMOTE)
    assert AI_REMOTE.isdisjoint(AI_NOT_YET)


def test_transform_only_names_are_the_transform_clause_functions() -> None:
    assert set(TRANSFORM_FUNCTIONS) == TRANSFORM_ONLY


#: Calls as BigQuery's reference pages write them (only table names adapted), one per function
#: page of https://cloud.google.com/bigquery/docs/reference/standard-sql/bigqueryml-syntax-*
#: (ML.* and, bigqueryml-syntax-ai-*, AI.*) that sqlml does not run; each must say so, whatever
#: the connection's dialect.
DOCUMENTED_CALLS = {
    "ML.HOLIDAY_INFO": "SELECT * FROM ML.HOLIDAY_INFO(MODEL m)",
    "ML.DETECT_CHANGE_POINTS": "SELECT * FROM ML.DETECT_CHANGE_POINTS(TABLE t, data_col => 'x', "
    "timestamp_col => 'ts')",
    "ML.ADVANCED_WEIGHTS": "SELECT * FROM ML.ADVANCED_WEIGHTS(MODEL m, STRUCT(TRUE AS standardize))",
    "ML.RECOMMEND": "SELECT * FROM ML.RECOMMEND(MODEL m, (SELECT 1 AS user_id))",
    "ML.GET_INSIGHTS": "SELECT * FROM ML.GET_INSIGHTS(MODEL m)",
    "ML.VALIDATE_DATA_SKEW": "SELECT * FROM ML.VALIDATE_DATA_SKEW(MODEL m, TABLE t, "
    "STRUCT(0.2 AS categorical_default_threshold))",
    "ML.VALIDATE_DATA_DRIFT": "SELECT * FROM ML.VALIDATE_DATA_DRIFT(TABLE t, TABLE t, "
    "STRUCT(0.3 AS categorical_default_threshold), MODEL m)",
    "ML.DESCRIBE_DATA": "SELECT * FROM ML.DESCRIBE_DATA(TABLE t, STRUCT(3 AS top_k, 4 AS num_quantiles))",
    "ML.TFDV_DESCRIBE": "SELECT * FROM ML.TFDV_DESCRIBE(TABLE t)",
    "ML.TFDV_VALIDATE": "SELECT ML.TFDV_VALIDATE((SELECT 1), (SELECT 2), 'SKEW')",
    "ML.FEATURES_AT_TIME": "SELECT * FROM ML.FEATURES_AT_TIME(TABLE t, num_rows => 1)",
    "ML.ENTITY_FEATURES_AT_TIME": "SELECT * FROM ML.ENTITY_FEATURES_AT_TIME(TABLE t, TABLE t)",
    "ML.DISTANCE": "SELECT ML.DISTANCE([1.0, 2.0], [3.0, 4.0], 'EUCLIDEAN') AS d",
    "ML.LP_NORM": "SELECT ML.LP_NORM([1.0, 2.0], 2) AS n",
    "ML.NORMALIZER": "SELECT ML.NORMALIZER([1.0, 2.0], 2) AS n",
    "ML.HASH_BUCKETIZE": "SELECT ML.HASH_BUCKETIZE('a', 2) AS h",
    "ML.MULTI_HOT_ENCODER": "SELECT ML.MULTI_HOT_ENCODER(['a'], 'none') OVER () AS m",
    "ML.NGRAMS": "SELECT ML.NGRAMS(['a', 'b'], [1, 2]) AS n",
    "ML.BAG_OF_WORDS": "SELECT ML.BAG_OF_WORDS(['a', 'b']) OVER () AS b",
    "ML.TF_IDF": "SELECT ML.TF_IDF(['a', 'b']) OVER () AS t",
    "ML.DECODE_IMAGE": "SELECT ML.DECODE_IMAGE(data) AS image FROM t",
    "ML.RESIZE_IMAGE": "SELECT ML.RESIZE_IMAGE(image, 240, 240, FALSE) FROM t",
    "ML.CONVERT_COLOR_SPACE": "SELECT ML.CONVERT_COLOR_SPACE(image, 'YIQ') FROM t",
    "ML.CONVERT_IMAGE_TYPE": "SELECT ML.CONVERT_IMAGE_TYPE(image) FROM t",
    "ML.GENERATE_TEXT": "SELECT * FROM ML.GENERATE_TEXT(MODEL m, (SELECT 'hi' AS prompt), "
    "STRUCT(0.2 AS temperature, TRUE AS flatten_json_output))",
    "ML.GENERATE_EMBEDDING": "SELECT * FROM ML.GENERATE_EMBEDDING(MODEL m, TABLE t)",
    "ML.GENERATE_TEXT_EMBEDDING": "SELECT * FROM ML.GENERATE_TEXT_EMBEDDING(MODEL m, TABLE t)",
    "ML.GENERATE_TABLE": "SELECT * FROM ML.GENERATE_TABLE(MODEL m, TABLE t, STRUCT('a INT64' AS output_schema))",
    "ML.TRANSLATE": "SELECT * FROM ML.TRANSLATE(MODEL m, TABLE t, STRUCT('translate_text' AS translate_mode, 'fr' AS target_language_code))",
    "ML.UNDERSTAND_TEXT": "SELECT * FROM ML.UNDERSTAND_TEXT(MODEL m, TABLE t, STRUCT('analyze_sentiment' AS nlu_option))",
    "ML.ANNOTATE_IMAGE": "SELECT * FROM ML.ANNOTATE_IMAGE(MODEL m, TABLE t, STRUCT(['label_detection'] AS vision_features))",
    "ML.PROCESS_DOCUMENT": "SELECT * FROM ML.PROCESS_DOCUMENT(MODEL m, TABLE t)",
    "ML.TRANSCRIBE": "SELECT * FROM ML.TRANSCRIBE(MODEL m, TABLE t)",
    "ML.SEASONALITY": "SELECT * FROM ML.SEASONALITY(TABLE t, data_col => 'x', timestamp_col => 'ts')",
    "ML.TREND": "SELECT * FROM ML.TREND(TABLE t, data_col => 'x', timestamp_col => 'ts')",
    "ML.METRICS": "SELECT * FROM ML.METRICS((SELECT 1.0 AS p, 1.0 AS a), predicted_col => 'p', "
    "actual_col => 'a', task_type => 'regression')",
    "ML.CORRELATION": "SELECT * FROM ML.CORRELATION(TABLE t)",
    "AI.GENERATE": "SELECT AI.GENERATE('Hi', connection_id => 'us.c', endpoint => 'gemini').result",
    "AI.GENERATE_BOOL": "SELECT AI.GENERATE_BOOL(('Is it red?', x), connection_id => 'us.c') FROM t",
    "AI.GENERATE_DOUBLE": "SELECT AI.GENERATE_DOUBLE('How much?', connection_id => 'us.c')",
    "AI.GENERATE_INT": "SELECT AI.GENERATE_INT('How many?', connection_id => 'us.c')",
    "AI.GENERATE_TABLE": "SELECT * FROM AI.GENERATE_TABLE(MODEL m, TABLE t, STRUCT('a INT64' AS output_schema))",
    "AI.GENERATE_TEXT": "SELECT * FROM AI.GENERATE_TEXT(MODEL m, TABLE t)",
    "AI.GENERATE_EMBEDDING": "SELECT * FROM AI.GENERATE_EMBEDDING(MODEL m, TABLE t)",
    "AI.EMBED": "SELECT AI.EMBED('text', endpoint => 'text-embedding-005')",
    "AI.SIMILARITY": "SELECT AI.SIMILARITY('a', 'b', endpoint => 'text-embedding-005')",
    "AI.SEARCH": "SELECT * FROM AI.SEARCH(TABLE t, 'x', 'query')",
    "AI.CLASSIFY": "SELECT AI.CLASSIFY('text', categories => ['a', 'b'], connection_id => 'c')",
    "AI.IF": "SELECT * FROM t WHERE AI.IF(('Is it red?', x), connection_id => 'us.c')",
    "AI.SCORE": "SELECT AI.SCORE(('Rate it', x), connection_id => 'us.c') FROM t",
    "AI.AGG": "SELECT AI.AGG(x, 'Summarize') FROM t",
    "AI.COUNT_TOKENS": "SELECT AI.COUNT_TOKENS('text', endpoint => 'gemini')",
    "AI.FORECAST": "SELECT * FROM AI.FORECAST(TABLE t, data_col => 'x', timestamp_col => 'ts', "
    "horizon => 10)",
    "AI.DETECT_ANOMALIES": "SELECT * FROM AI.DETECT_ANOMALIES(TABLE t, TABLE t, data_col => 'x', "
    "timestamp_col => 'ts')",
    "AI.EVALUATE": "SELECT * FROM AI.EVALUATE(TABLE t, TABLE t, data_col => 'x', timestamp_col => 'ts')",
    "AI.PREDICT": "SELECT * FROM AI.PREDICT((SELECT * FROM t), (SELECT * FROM t), label_col => 'x')",
    "AI.PARSE_DOCUMENT": "SELECT * FROM AI.PARSE_DOCUMENT(TABLE t, connection_id => 'c')",
    "AI.CAUSAL_EFFECT": "SELECT * FROM AI.CAUSAL_EFFECT(TABLE t, data_col => 'x', timestamp_col => "
    "'ts', intervention_timestamp => '2023-10-02')",
    "AI.KEY_DRIVERS": "SELECT * FROM AI.KEY_DRIVERS(TABLE t, metric_col => 'x')",
}
for _name in sorted(TRANSFORM_ONLY):
    DOCUMENTED_CALLS[f"ML.{_name}"] = f"SELECT ML.{_name}(x) OVER () AS out FROM t"


def test_every_recognised_function_has_a_documented_call() -> None:
    assert set(DOCUMENTED_CALLS) == {f"ML.{n}" for n in RECOGNISED} | {
        f"AI.{n}" for n in AI_RECOGNISED
    }


def expected_message(call: str) -> str:
    """The message each kind must start with: the exact wording tests/docs' notyet marks use."""
    prefix, name = call.split(".")
    escaped = re.escape(call)
    if name in (REMOTE if prefix == "ML" else AI_REMOTE):
        return rf"^{escaped} is not supported: it calls a model or an API in Google Cloud"
    if prefix == "ML" and name in TRANSFORM_ONLY:
        return rf"^{escaped} outside TRANSFORM is not supported yet; use it in CREATE MODEL"
    return rf"^{escaped} is not supported yet; "


@pytest.mark.parametrize("dialect", [None, "bigquery", "spark", "redshift"])
def test_a_recognised_function_says_it_is_not_supported_in_every_dialect(
    dialect: str | None, capfd: pytest.CaptureFixture[str]
) -> None:
    """Nothing reaches the engine's parser or the transpiler, so nothing is printed either."""
    con = sqlml.connect(dialect=dialect)
    try:
        con.execute("CREATE TABLE t AS SELECT 1.0 AS x")
        capfd.readouterr()
        for call, sql in sorted(DOCUMENTED_CALLS.items()):
            for statement in (sql, f"EXPLAIN {sql}", f"WITH a AS ({sql}) SELECT * FROM a"):
                with pytest.raises(sqlml.NotSupportedError, match=expected_message(call)):
                    con.execute(statement)
        assert capfd.readouterr() == ("", "")
    finally:
        con.close()


def test_transform_functions_still_work_inside_transform() -> None:
    """The refusal is for ML.<preprocessing> outside CREATE MODEL's TRANSFORM clause only."""
    con = sqlml.connect()
    try:
        con.execute("CREATE TABLE t AS SELECT range::DOUBLE AS x, range * 2.0 AS y FROM range(10)")
        con.execute(
            "CREATE MODEL m TRANSFORM (ML.STANDARD_SCALER(x) OVER () AS xs, y) "
            "OPTIONS (model_type = 'linear_reg', input_label_cols = ['y']) AS SELECT * FROM t"
        )
        rows = con.execute("SELECT count(*) FROM ML.PREDICT(MODEL m, TABLE t)").fetchall()
        assert rows == [(10,)]
    finally:
        con.close()
