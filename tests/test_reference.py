"""Every SQL example in sql/reference.md runs, in order, on a fresh database."""

from __future__ import annotations

import re
from pathlib import Path

import sqlml
from sqlml.sql import split_statements

REFERENCE = Path(__file__).resolve().parent.parent / "sql" / "reference.md"


def sql_blocks() -> list[str]:
    return re.findall(r"```sql\n(.*?)```", REFERENCE.read_text(), flags=re.S)


def test_reference_has_examples_of_every_statement() -> None:
    text = "\n".join(sql_blocks())
    for needle in (
        "CREATE OR REPLACE MODEL",
        "TARGET",
        "FUNCTION",
        "ML.PREDICT",
        "ML.EVALUATE",
        "SHOW MODEL",
        "EXPORT MODEL",
        "DROP MODEL",
    ):
        assert needle in text, needle


def test_reference_examples_run(tmp_path: Path) -> None:
    con = sqlml.connect(str(tmp_path / "reference.duckdb"))
    cur = con.cursor()
    results = []
    for block in sql_blocks():
        block = block.replace("/tmp/churn.onnx", str(tmp_path / "churn.onnx"))
        for statement in split_statements(block):
            cur.execute(statement.sql)
            if cur.description is not None:
                results.append(cur.fetchall())
    assert (tmp_path / "churn.onnx").stat().st_size > 0
    # the last example lists the models: the dropped one is gone, the others are there
    names = [row[0] for row in results[-1]]
    assert {"churn", "segments", "spend"} <= set(names)
    assert "churn_fn" not in names
    con.close()
