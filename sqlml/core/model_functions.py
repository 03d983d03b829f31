"""The Redshift FUNCTION of a model (``CREATE MODEL … FUNCTION predict_churn``), registered on
every connection as a scalar UDF that scores its arguments with ONNX Runtime (or, on an engine
that scores itself, by the engine's own UDFs). Mixed into :class:`~sqlml.core.executor.Executor`.
"""

from __future__ import annotations

import logging
from typing import Any

import pyarrow as pa

from sqlml.catalog import ModelRecord
from sqlml.errors import Error, ProgrammingError

log = logging.getLogger("sqlml")


class ModelFunctions:
    """Registering and unregistering models' functions on the executor's backend."""

    backend: Any
    catalog: Any

    def register_model_functions(self) -> None:
        """Register every live model's FUNCTION on this connection (UDFs live per connection)."""
        if not self.backend.capabilities.scalar_udfs:
            return
        try:
            records = self.catalog.latest()
        except ProgrammingError:  # a catalog from an incompatible version: leave it to the user
            log.warning("sqlml catalog could not be read; model functions not registered")
            return
        for record in records:
            if record.function_name and record.expired():
                log.warning(
                    "model %s expired: FUNCTION %s not registered (ALTER MODEL %s extends it)",
                    record.name,
                    record.function_name,
                    record.name,
                )
            elif record.function_name:
                try:
                    self.register_model_function(record)
                except Error as exc:  # one bad name must not make the database unusable
                    log.warning(
                        "model %s: FUNCTION %s not registered: %s",
                        record.name,
                        record.function_name,
                        exc,
                    )

    def register_model_function(self, record: ModelRecord) -> None:
        if (
            self.backend.capabilities.scores_in_engine
        ):  # e.g. Spark: UDFs that score on the executors
            if record.partition_by:  # every group's graph, sent to the engine once
                models, fallback = self.catalog.engine_models(record)
                self.backend.register_group_function(record, models, fallback)
                return
            self.backend.register_model_function(record)
            return
        from sqlml_udfs import get_scorer

        from sqlml.types import parameter_type

        features = record.spec["features"]
        parameters = [(f["name"], parameter_type(f)) for f in record.features]
        key, onnx_bytes, spec = record.cache_key, record.onnx, record.spec
        task = spec["task"]
        names = [f["name"] for f in features]

        def scored(arrays: tuple[Any, ...]) -> list[tuple[str, pa.Array]]:
            scorer = get_scorer(key, onnx_bytes, spec)
            return scorer.function_columns(dict(zip(names, arrays, strict=True)))

        if record.partition_by:  # the partition columns first: each row by its group's model
            from sqlml.core.partitioned import GroupFunction

            group = GroupFunction(self.catalog, record)
            parameters = group.parameters() + parameters
            scored = group.scored

        def predict(*arrays: Any) -> pa.Array:
            return scored(arrays)[0][1]

        return_type = {
            "classification": _LABEL_SQL[spec.get("label_type", "string")],
            "regression": "DOUBLE",
            "clustering": "BIGINT",
        }[task]
        assert record.function_name is not None
        self.backend.register_function(record.function_name, predict, parameters, return_type)
        if task == "classification":

            def probabilities(*arrays: Any) -> pa.Array:
                return scored(arrays)[1][1]

            self.backend.register_function(
                f"{record.function_name}_probabilities",
                probabilities,
                parameters,
                "PROBS:" + return_type,
            )

    def _unregister(self, record: ModelRecord) -> None:
        if record.function_name and self.backend.capabilities.scalar_udfs:
            self.backend.unregister_function(record.function_name)
            self.backend.unregister_function(f"{record.function_name}_probabilities")


_LABEL_SQL = {"string": "VARCHAR", "int64": "BIGINT", "bool": "BOOLEAN", "double": "DOUBLE"}
