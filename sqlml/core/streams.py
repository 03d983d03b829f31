"""The rows an ML call streams to the engine: watched for the error raised while they are pulled,
and counted for the statement's progress."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pyarrow as pa

from sqlml import progress

#: An ML query's progress (rows scored) reaches the listeners once it has run this long.
SCORING_SHOWN_AFTER = 1.0


def watched(source: Any, failures: list[Exception]) -> Any:
    """``source``, noting in ``failures`` an exception raised while its batches are pulled, and
    counting its rows (the engine may pull them on a thread of its own: the reporter is taken
    here, where the statement runs)."""
    if not isinstance(source, pa.RecordBatchReader):
        return source
    reporter = progress.current()

    def batches() -> Iterator[pa.RecordBatch]:
        try:
            for batch in source:
                yield batch
                if reporter is not None:
                    reporter.advance(step=batch.num_rows)
        except Exception as exc:
            failures.append(exc)
            raise

    return pa.RecordBatchReader.from_batches(source.schema, batches())
