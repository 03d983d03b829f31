"""The TRANSFORM list parsed (pure: no data): ``*`` waits for the training query's columns, and a
SQL output named like a raw column another output reads gets a graph input of its own.

https://cloud.google.com/bigquery/docs/reference/standard-sql/bigqueryml-syntax-create#select_list
"""

from __future__ import annotations

import pytest

from sqlml import errors
from sqlml.plan.transform import Transform, parse_transform
from sqlml.sql import split_statements


def transform_of(select_list: str, label: str | None = "y", dialect: str = "duckdb") -> Transform:
    sql = (
        f"CREATE MODEL m TRANSFORM ({select_list}) OPTIONS (model_type = 'linear_reg') AS SELECT 1"
    )
    node = split_statements(sql, dialect)[0].node
    assert node is not None
    return parse_transform(node.args["transform"], "m", label)


@pytest.mark.parametrize("dialect", ["duckdb", "bigquery"])
def test_star_except_expands_over_the_query_columns(dialect: str) -> None:
    parsed = transform_of("* EXCEPT (id), ML.STANDARD_SCALER(id) OVER () AS ids", dialect=dialect)
    assert parsed.has_star
    with pytest.raises(AssertionError):
        parsed.features  # noqa: B018  (not known before expansion)
    expanded = parsed.expand(["id", "a", "b", "y"])
    assert [(i.output, i.kind) for i in expanded.items] == [
        ("a", "column"),
        ("b", "column"),
        ("y", "column"),
        ("ids", "ml"),
    ]
    assert expanded.graph_inputs == ["a", "b", "id"]
    assert expanded.raw_inputs == ["a", "b", "id"]


def test_star_replace_puts_the_expression_in_the_columns_place() -> None:
    expanded = transform_of("* REPLACE (a * 2 AS a)").expand(["a", "b", "y"])
    assert [(i.output, i.kind, i.sql) for i in expanded.items] == [
        ("a", "sql", "a * 2"),
        ("b", "column", None),
        ("y", "column", None),
    ]
    assert expanded.spec()["transform_sql"] == [{"name": "a", "sql": "a * 2", "columns": ["a"]}]


def test_the_label_is_checked_once_the_star_is_expanded() -> None:
    parsed = transform_of("* EXCEPT (y)")  # the label excepted: not in the list
    with pytest.raises(errors.ProgrammingError, match="label 'y'.*must be in its TRANSFORM list"):
        parsed.expand(["a", "y"])


def test_a_sql_output_reusing_a_raw_name_gets_its_own_graph_input() -> None:
    parsed = transform_of(
        "ML.QUANTILE_BUCKETIZE(x, 10) OVER () AS xb, CAST(x AS STRING) AS x, lower(p) AS p, y"
    )
    by_output = {i.output: i for i in parsed.items}
    assert by_output["x"].input_name == "x (TRANSFORM)"  # raw x feeds the bucketizer
    assert by_output["p"].input_name == "p"  # replaces raw p, which nothing else reads
    assert parsed.graph_inputs == ["x", "x (TRANSFORM)", "p"]
    assert parsed.raw_inputs == ["x", "p"]
    assert parsed.spec()["transform_sql"] == [
        {"name": "x (TRANSFORM)", "output": "x", "sql": "CAST(x AS TEXT)", "columns": ["x"]},
        {"name": "p", "sql": "LOWER(p)", "columns": ["p"]},
    ]


def test_struct_star_is_not_supported_yet() -> None:
    with pytest.raises(
        errors.NotSupportedError, match=r"expression\.\* is not supported in TRANSFORM yet"
    ):
        transform_of("s.*, y")
