"""Scoring rows by group: a partitioned model's function gets rows of many groups in any order
(a DuckDB chunk, a Spark batch); each group's rows go to its model and the results come back in
the rows' order. numpy and pyarrow only: it runs in engine workers too."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pyarrow as pa

#: ``score(key, rows)``: the function's output columns for the rows at ``rows`` (indices) of
#: the group whose partition values are ``key``.
Score = Callable[[tuple[Any, ...], pa.Array], list[tuple[str, pa.Array]]]


def by_group(keys: Sequence[Any], n: int, score: Score) -> list[tuple[str, pa.Array]]:
    """Group ``n`` rows by the partition values in ``keys`` (one array per column; NULL is a
    value of its own), ``score`` each group, and put the results back in row order."""
    columns = {
        f"k{i}": pa.array(k) if not isinstance(k, pa.Array) else k for i, k in enumerate(keys)
    }
    table = pa.table(columns | {"__row": pa.array(np.arange(n, dtype=np.int64))})
    grouped = table.group_by(list(columns), use_threads=False).aggregate([("__row", "list")])
    rows_of = grouped.column("__row_list")
    order, parts = [], []
    for i in range(grouped.num_rows):
        key = tuple(grouped.column(name)[i].as_py() for name in columns)
        rows = rows_of[i].values
        order.append(rows.to_numpy())
        parts.append(score(key, rows))
    back = pa.array(np.argsort(np.concatenate(order), kind="stable"))
    return [
        (name, pa.concat_arrays([part[j][1] for part in parts]).take(back))
        for j, (name, _) in enumerate(parts[0])
    ]
