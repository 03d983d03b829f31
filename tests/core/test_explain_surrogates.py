"""EXPLAIN of a statement whose text holds a lone surrogate (found by tests/test_fuzz.py): the plan
shows the character escaped instead of failing with an internal error."""

from __future__ import annotations

from pathlib import Path

import sqlml


def test_explain_escapes_a_lone_surrogate(tmp_path: Path) -> None:
    with sqlml.connect(str(tmp_path / "e.duckdb")) as con:
        cur = con.cursor()
        cur.execute(
            "CREATE TABLE t AS SELECT range::DOUBLE AS x, 2 * range::DOUBLE AS y FROM range(20)"
        )
        cur.execute(
            "CREATE MODEL m OPTIONS (model_type = 'linear_reg', input_label_cols = ['y']) "
            "AS SELECT x, y FROM t"
        )
        cur.execute("EXPLAIN SELECT * FROM ML.PREDICT(MODEL m, (SELECT x FROM t_\ud800))")
        texts = [row[3] for row in cur.fetchall() if row[3]]
        assert "SELECT x FROM t_\\ud800" in texts
