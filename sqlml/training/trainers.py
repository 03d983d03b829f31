"""Which trainer a CREATE MODEL gets: the engine's workers (Spark MLlib on the executors) when the
engine has them and the placement calls for it, else scikit-learn in this process."""

from __future__ import annotations

from typing import Any

from sqlml.errors import NotSupportedError
from sqlml.plan.transform import Transform
from sqlml.training.contract import Trainer
from sqlml.training.fit import LocalTrainer

#: Where training runs: on the engine's workers, in this process, or by the query's row count.
ON_WORKERS, LOCAL, BY_ROWS = "workers", "local", "by_rows"
#: What OPTIONS (engine = ...) of CREATE MODEL asks for (the option's values are the engines'
#: names; 'auto' or no value: by the row count).
_PLACEMENTS = {"duckdb": LOCAL, "spark": ON_WORKERS}


def placement(engine_option: Any) -> str:
    """The placement that an OPTIONS (engine = ...) value asks for."""
    return _PLACEMENTS.get(engine_option, BY_ROWS) if isinstance(engine_option, str) else BY_ROWS


def trainer_for(
    backend: Any,
    sql: str,
    where: str,
    *,
    transform: Transform | None = None,
    model: str = "",
) -> Trainer:
    """On the workers for ON_WORKERS, or for BY_ROWS when the query has more rows than the
    backend's ``local_training_rows``; else the rows are read here (LOCAL, or an engine without
    workers to train on)."""
    if backend.capabilities.distributed_training and where != LOCAL:
        workers = where == ON_WORKERS
        if not workers:
            count = backend.query(f"SELECT count(*) FROM ({sql}) AS __sqlml_count")[0][0]
            workers = count > backend.local_training_rows
        if workers and transform is not None:
            raise NotSupportedError(
                f"TRANSFORM (...) in CREATE MODEL {model} is not supported yet for training on "
                f"the {backend.display_name} engine's executors; OPTIONS (engine = 'duckdb') "
                f"reads the rows and trains in this process."
            )
        if workers:
            from sqlml.training.mllib.trainer import MLlibTrainer

            return MLlibTrainer(backend, sql)
    return LocalTrainer(backend, sql, transform, model)
