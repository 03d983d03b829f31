"""jupysql in a real notebook: a notebook executed headless in a Jupyter kernel (nbclient) that
loads jupysql, connects with the sqlml URL and runs DDL, CREATE MODEL, a query, an INSERT and DROP
MODEL. No cell writes a warning (pyspark's pandas FutureWarning on ``%load_ext sql`` included), and
no statement without rows shows jupysql's empty table (``++ || ++``): each shows its status, as
psql does; the query shows its rows."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from hang import HANG
from nbclient import NotebookClient

CELLS = [
    "%load_ext sql",
    "%sql sqlml:///{database}",
    "%%sql\nCREATE TABLE t AS SELECT i::DOUBLE AS x, i % 2 = 0 AS y FROM range(40) t(i)",
    "%%sql\nCREATE MODEL m OPTIONS (model_type = 'logistic_reg', input_label_cols = ['y']) "
    "AS SELECT * FROM t",
    "%sql SELECT count(*) AS n FROM t",
    "%sql INSERT INTO t VALUES (1.0, true)",
    "%sql DROP MODEL m",
]


@pytest.mark.slow
def test_jupysql_cells_show_statuses_and_no_warnings(tmp_path: Path) -> None:
    notebook = nbformat.v4.new_notebook()
    database = tmp_path / "notebook.duckdb"
    notebook.cells = [nbformat.v4.new_code_cell(c.format(database=database)) for c in CELLS]
    NotebookClient(
        notebook,
        timeout=HANG,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    ).execute()
    outputs = [cell.outputs for cell in notebook.cells]
    streams = [o for cell in outputs for o in cell if o["output_type"] == "stream"]
    assert streams == []  # no warning, no stderr
    results = [
        [o["data"]["text/plain"] for o in cell if o["output_type"] == "execute_result"]
        for cell in outputs
    ]
    assert results[2:] == [
        ["CREATE TABLE"],
        ["CREATE MODEL"],
        ["+----+\n| n  |\n+----+\n| 40 |\n+----+"],
        ["INSERT"],
        ["DROP MODEL"],
    ]
    for index in (2, 3, 5, 6):  # the statuses: plain text only, no (empty) HTML table
        (shown,) = [o for o in outputs[index] if o["output_type"] == "execute_result"]
        assert set(shown["data"]) == {"text/plain"}
    (table,) = [o for o in outputs[4] if o["output_type"] == "execute_result"]
    assert "<td>40</td>" in table["data"]["text/html"]  # rows still shown as jupysql shows them
