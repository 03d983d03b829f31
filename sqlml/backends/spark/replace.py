"""``CREATE OR REPLACE TABLE t AS query`` on Spark catalogs whose tables cannot be replaced.

Spark runs the statement only on catalogs that support REPLACE TABLE AS SELECT (Delta, Iceberg);
its default session catalog answers ``UNSUPPORTED_FEATURE.TABLE_OPERATION … does not support
REPLACE TABLE AS SELECT``, and BigQuery's tutorials start with that statement. This runs it as
three: the query into a new table beside ``t``, DROP ``t``, rename the new table to ``t``. A query
that fails leaves ``t`` as it was (the new table is dropped); Spark has no transactions, so a
reader between the DROP and the rename finds no table.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from sqlglot import exp, parse_one
from sqlglot.errors import ParseError

_NAMES = itertools.count(1)

#: Spark's message for a catalog that cannot replace a table.
UNSUPPORTED = "does not support REPLACE TABLE AS SELECT"


def replacing(sql: str) -> exp.Create | None:
    """The statement, when it is ``CREATE OR REPLACE TABLE <name> AS <query>``."""
    try:
        node = parse_one(sql, read="spark")
    except (ParseError, ValueError):
        return None
    is_table = isinstance(node, exp.Create) and (node.kind or "").upper() == "TABLE"
    if not is_table or not node.args.get("replace") or not isinstance(node.this, exp.Table):
        return None
    return node if isinstance(node.expression, exp.Query) else None


def replace_in_steps(node: exp.Create, params: Any, run: Callable[[str, Any], Any]) -> None:
    """Run ``node`` (see :func:`replacing`) as CREATE new, DROP old, RENAME new to old."""
    target = node.this
    staged = target.copy()
    staged.set("this", exp.to_identifier(f"__sqlml_replacing_{target.name}_{next(_NAMES)}"))
    create = node.copy()
    create.set("replace", False)
    create.set("this", staged)
    run(create.sql("spark"), params)
    try:
        run(f"DROP TABLE IF EXISTS {target.sql('spark')}", None)
        run(f"ALTER TABLE {staged.sql('spark')} RENAME TO {target.sql('spark')}", None)
    except BaseException:
        run(f"DROP TABLE IF EXISTS {staged.sql('spark')}", None)
        raise
