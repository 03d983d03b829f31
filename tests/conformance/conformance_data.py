"""The conformance tables, built here as Arrow so both engines read exactly the same rows.

Expected values in the tests come from how these rows are made, or from numpy / scikit-learn /
ONNX Runtime run on them; never from sqlml's own output.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import pyarrow as pa

N = 120
ROW = np.arange(N)
X1 = (ROW - 59.5) / 10.0
X2 = ((ROW * 7) % 11).astype(np.float64)
CAT = np.array(["p", "q", "r"])[ROW % 3]
NOISE = (((ROW * 37) % 11) - 5) / 10.0
NULL_X2 = 5  # the row of c_bin with a NULL x2
NULL_CAT = (7, 100)  # its rows with a NULL cat, one of each class (so not separable)


def reg() -> pa.Table:
    """y = 3·x1 − 0.5·x2 + 2 plus deterministic noise; cat is noise."""
    return pa.table({"id": ROW, "x1": X1, "x2": X2, "cat": CAT, "y": 3 * X1 - 0.5 * X2 + 2 + NOISE})


def binary() -> pa.Table:
    """P(y) grows with x1, not separable (so unpenalized logistic regression has one optimum);
    a NULL in x2, two in cat."""
    x2 = pa.array([None if k == NULL_X2 else v for k, v in enumerate(X2)], pa.float64())
    cat = pa.array([None if k in NULL_CAT else v for k, v in enumerate(CAT)])
    y = ((ROW * 37) % 100) < (50 + 9 * X1)
    return pa.table({"id": ROW, "x1": X1, "x2": x2, "cat": cat, "y": y})


def multi() -> pa.Table:
    """Three string classes by x1 band, one row in five moved to the next band (not separable)."""
    band = (ROW * 3 // N + ((ROW * 37) % 100 < 20)) % 3
    return pa.table({"id": ROW, "x1": X1, "x2": X2, "y": np.array(["lo", "mid", "hi"])[band]})


def blobs() -> pa.Table:
    """Three blobs around (0, 0), (10, -10), (20, -20); row i is in blob i % 3."""
    blob = ROW % 3
    return pa.table(
        {"id": ROW, "x1": blob * 10.0 + (ROW % 5) / 10.0, "x2": blob * -10.0 + (ROW % 7) / 10.0}
    )


def column(table: pa.Table, name: str) -> np.ndarray:
    return np.array(table.column(name).to_pylist(), dtype=object)


def onnx_outputs(
    path: Path, table: pa.Table, numeric: list[str], text: list[str]
) -> dict[str, np.ndarray]:
    """An exported model's outputs by name, run here with feeds built by hand, as EXPORT MODEL
    documents them: float32 [N, 1] per number (NULL as NaN), string [N, 1] per text column (NULL
    as '__sqlml_null__')."""
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feeds: dict[str, np.ndarray] = {}
    for name in numeric:
        values = [np.nan if v is None else v for v in table.column(name).to_pylist()]
        feeds[name] = np.asarray(values, dtype=np.float32).reshape(-1, 1)
    for name in text:
        values = ["__sqlml_null__" if v is None else v for v in table.column(name).to_pylist()]
        feeds[name] = np.asarray(values, dtype=object).reshape(-1, 1)
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(None, feeds), strict=True))


def design(table: pa.Table, numeric: list[str], text: list[str]) -> np.ndarray:
    """numbers (NULL → the column's mean) then one-hot categories (NULL its own category), as
    sqlml's preprocessing does; for fitting scikit-learn references by hand."""
    parts = []
    for name in numeric:
        values = np.array([np.nan if v is None else v for v in table.column(name).to_pylist()])
        values[np.isnan(values)] = np.nanmean(values)
        parts.append(values)
    for name in text:
        values = np.array(["<null>" if v is None else v for v in table.column(name).to_pylist()])
        parts.extend((values == c).astype(float) for c in sorted(set(values)))
    return np.column_stack(parts)


def prob(value: list[dict[str, Any]], label: Any) -> float:
    """The probability of ``label`` in a ``predicted_<label>_probs`` list."""
    return next(p["prob"] for p in value if p["label"] == label)
