"""Progress in a Jupyter notebook: a notebook executed headless in a real kernel (nbclient), whose
CREATE MODEL cell shows one line, updated in place while it trains and left as the summary."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import nbformat
import pytest
from hang import HANG
from nbclient import NotebookClient

CELLS = [
    "import sqlml\n"
    "con = sqlml.connect({database!r})\n"
    "cur = con.cursor()\n"
    'cur.execute("CREATE TABLE t AS SELECT (i % 97) / 97.0 AS a, ((i * 31) % 89) / 89.0 AS b, '
    'CASE WHEN (i % 97) / 97.0 > 0.5 THEN 1 ELSE 0 END AS y FROM range(20000) t(i)")\n'
    "None",
    "cur.execute(\"CREATE MODEL rf OPTIONS (model_type = 'random_forest_classifier', "
    "input_label_cols = ['y'], num_parallel_tree = 40) AS SELECT * FROM t\")\n"
    "None",
    "cur.execute('SELECT count(*) FROM t').fetchall()",
    "con.notebook_progress = False\n"
    "cur.execute(\"CREATE OR REPLACE MODEL rf OPTIONS (model_type = 'logistic_reg', "
    "input_label_cols = ['y']) AS SELECT * FROM t\")\n"
    "print(cur.progress)",
]


class Recording(NotebookClient):
    """nbclient, keeping every display message the kernel sent (nbclient applies an update to
    the output it names, so only the messages show that the line changed while it ran)."""

    displays: list[tuple[str, str]]

    def process_message(self, msg: dict, cell: Any, cell_index: int) -> Any:
        kind = msg["header"]["msg_type"]
        if kind in ("display_data", "update_display_data"):
            self.displays.append((kind, msg["content"]["data"]["text/plain"]))
        return super().process_message(msg, cell, cell_index)


@pytest.mark.slow
def test_a_notebook_shows_one_progress_line_per_training_cell(tmp_path: Path) -> None:
    notebook = nbformat.v4.new_notebook()
    database = str(tmp_path / "nb.duckdb")
    notebook.cells = [nbformat.v4.new_code_cell(c.format(database=database)) for c in CELLS]
    client = Recording(
        notebook,
        timeout=HANG,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.displays = []
    client.execute()
    outputs = [cell.outputs for cell in notebook.cells]
    # the setup cell and a plain query: no progress line, no warnings
    assert outputs[0] == []
    assert [o["output_type"] for o in outputs[2]] == ["execute_result"]
    # the training cell: one display, updated as the trees were counted, left as the summary
    (shown,) = outputs[1]
    assert shown["output_type"] == "display_data"
    assert re.fullmatch(r"CREATE MODEL rf: done in \d+\.\d s", shown["data"]["text/plain"])
    kinds = [kind for kind, _ in client.displays]
    assert kinds[0] == "display_data" and set(kinds[1:]) == {"update_display_data"}
    texts = [text for _, text in client.displays]
    assert texts[0] == "CREATE MODEL rf: reading the data"
    assert any(" of 40 trees" in text for text in texts), texts
    # notebook_progress = False: no display; cursor.progress still holds the summary
    (printed,) = outputs[3]
    assert printed["output_type"] == "stream" and printed["name"] == "stdout"
    assert printed["text"].startswith("CREATE MODEL rf: done in ")
