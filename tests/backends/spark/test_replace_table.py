"""CREATE OR REPLACE TABLE … AS on Spark's session catalog, which cannot replace a table itself
(UNSUPPORTED_FEATURE.TABLE_OPERATION): BigQuery's tutorials begin with one
(https://cloud.google.com/bigquery/docs/hyperparameter-tuning-tutorial)."""

from __future__ import annotations

import pytest

import sqlml


def test_create_or_replace_table_as_on_the_session_catalog(con: sqlml.Connection) -> None:
    cur = con.cursor()
    cur.execute("CREATE OR REPLACE TABLE rt_rows AS SELECT id FROM range(5)")
    cur.execute("SELECT count(*) FROM rt_rows")
    assert cur.fetchall() == [(5,)]
    cur.execute("CREATE OR REPLACE TABLE rt_rows AS SELECT id, id * 2 AS twice FROM range(3)")
    cur.execute("SELECT id, twice FROM rt_rows ORDER BY id")
    assert cur.fetchall() == [(0, 0), (1, 2), (2, 4)]
    # A query that fails leaves the table as it was, and nothing beside it.
    with pytest.raises(sqlml.Error):
        cur.execute("CREATE OR REPLACE TABLE rt_rows AS SELECT no_such_column FROM range(3)")
    cur.execute("SELECT count(*) FROM rt_rows")
    assert cur.fetchall() == [(3,)]
    cur.execute("SHOW TABLES")
    assert not [r for r in cur.fetchall() if "__sqlml_replacing" in str(r)]
