"""Column sums and the Gram matrix of a partition's rows, for a PCA trained on Spark's executors.

The heavy pass of a distributed PCA: each partition turns its Arrow batches into one float64 matrix
block at a time and adds up ``n``, ``sum(x)`` and ``x^T x``; the driver adds the partitions' partial
sums and decomposes the small d x d covariance. numpy and pyarrow only: this runs on executors that
have no sqlml, scikit-learn or pyspark installed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import pyarrow as pa

#: The one-row batch each partition returns (``gram`` is the d x d matrix, row-major).
MOMENTS_SCHEMA = pa.schema(
    [
        pa.field("count", pa.int64()),
        pa.field("sums", pa.list_(pa.float64())),
        pa.field("gram", pa.list_(pa.float64())),
    ]
)


def columns_matrix(batch: pa.RecordBatch, names: list[str]) -> np.ndarray:
    """The named float64 columns of ``batch`` as an [n, d] matrix (NULL, which the prepared
    columns never hold, would become NaN and show in the result rather than vanish)."""
    if not names:
        return np.empty((batch.num_rows, 0), dtype=np.float64)
    return np.column_stack(
        [
            batch.column(name).to_numpy(zero_copy_only=False).astype(np.float64, copy=False)
            for name in names
        ]
    )


def moments(x: np.ndarray) -> tuple[int, np.ndarray, np.ndarray]:
    """Row count, column sums and ``x^T x`` of one block."""
    return x.shape[0], x.sum(axis=0), x.T @ x


def moment_batches(
    names: list[str],
) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """The function ``DataFrame.mapInArrow`` runs: one row of partial sums per partition (zeros
    for an empty one, so the driver never has to special-case it)."""
    width = len(names)

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        count, sums, gram = 0, np.zeros(width), np.zeros((width, width))
        for batch in batches:
            if batch.num_rows == 0:
                continue
            n, s, g = moments(columns_matrix(batch, names))
            count, sums, gram = count + n, sums + s, gram + g
        yield pa.RecordBatch.from_arrays(
            [
                pa.array([count], pa.int64()),
                pa.array([sums.tolist()], pa.list_(pa.float64())),
                pa.array([gram.ravel().tolist()], pa.list_(pa.float64())),
            ],
            schema=MOMENTS_SCHEMA,
        )

    return run
