"""The grammar's ML function list and the function registry name the same functions: every name the
parser accepts after ``ML.`` is either a registered handler or a planned one, which fails clearly."""

from __future__ import annotations

import pathlib

import pytest

import sqlml
from sqlml import functions
from sqlml.sql import ML_FUNCTIONS

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


@pytest.mark.parametrize("name", functions.PLANNED)
def test_a_planned_function_parses_and_then_says_it_is_not_supported(name: str) -> None:
    con = sqlml.connect()
    try:
        con.execute("CREATE TABLE t AS SELECT 1.0 AS x, 0 AS y")
        with pytest.raises(sqlml.NotSupportedError, match=rf"ML\.{name} is not supported yet"):
            con.execute(f"SELECT * FROM ML.{name}(MODEL m, TABLE t)")
    finally:
        con.close()
