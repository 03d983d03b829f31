"""Scoring on Spark's executors: ML.PREDICT as a DataFrame (compiled to Spark expressions, or
``mapInArrow`` over :mod:`sqlml_udfs.spark`) and model functions as Arrow UDFs, with the ONNX
bytes broadcast once per model version. Mixed into
:class:`~sqlml.backends.spark.backend.SparkBackend`.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from typing import Any

import pyarrow as pa

from sqlml.backends.spark.compiled import predict_columns
from sqlml.backends.spark.conversion import _from_arrow_type, arrow_schema
from sqlml.backends.spark.errors import spark_errors, translate_error


class SparkScoring:
    """The scoring methods of :class:`~sqlml.backends.spark.backend.SparkBackend`."""

    # --- scoring on the executors -------------------------------------------------------------------

    def broadcast(self, key: str, onnx: bytes) -> Any:
        """The model's ONNX bytes as a broadcast, made once per model version for this backend.

        A Spark Connect session has no SparkContext to broadcast with: there the bytes
        themselves travel inside the scoring function's closure, which Spark sends with every
        task (once per task rather than once per executor: fine for models of a few MB; each
        Python worker still builds one ONNX Runtime session per model version and reuses it)."""
        if self.connect:
            return onnx
        handle = self._broadcasts.get(key)
        if handle is None:
            handle = self.spark.sparkContext.broadcast(onnx)
            self._broadcasts[key] = handle
            while len(self._broadcasts) > 16:
                _, old = self._broadcasts.popitem(last=False)
                old.unpersist()
        else:
            self._broadcasts.move_to_end(key)
        return handle

    def relation(self, sql: str, params: Any = None) -> Any:
        return self.sql(sql, params)

    def relation_schema(self, relation: Any) -> pa.Schema:
        return arrow_schema(relation.schema)

    def score_relation(
        self, record: Any, relation: Any, threshold: Any, added: list[pa.Field]
    ) -> Any:
        """ML.PREDICT as a DataFrame: compiled to Spark expressions when the graph is small
        (sqlml.backends.spark.compiled), else the rows through ``mapInArrow`` on the executors;
        the input's columns, then the prediction columns (Spark types of the same Arrow types)."""
        from pyspark.sql.pandas.types import from_arrow_type
        from pyspark.sql.types import StructField, StructType
        from sqlml_udfs.spark import predict_batches

        compiled = predict_columns(record, relation, threshold, self.scoring)
        if compiled is not None:
            return compiled
        schema = StructType(
            list(relation.schema.fields)
            + [StructField(f.name, from_arrow_type(f.type), True) for f in added]
        )
        score = predict_batches(
            record.cache_key,
            self.broadcast(record.cache_key, record.onnx),
            json.dumps(record.spec),
            threshold,
            list(relation.columns),
            [f.name for f in added],
        )
        try:
            return relation.mapInArrow(score, schema)
        except spark_errors() as exc:
            raise translate_error(exc) from exc

    def score_groups(
        self,
        relation: Any,
        by: list[str],
        models: dict[tuple[Any, ...], tuple[str, bytes, str]],
        fallback: tuple[str, bytes, str] | None,
        threshold: Any,
        added: list[pa.Field],
        key: str,
    ) -> Any:
        """ML.PREDICT of a partitioned model as a DataFrame: ``groupBy(by).applyInArrow``, each
        group's task scoring its rows with its model (:func:`sqlml_udfs.spark.predict_groups`;
        the models broadcast once as ``key``)."""
        from pyspark.sql.pandas.types import from_arrow_type
        from pyspark.sql.types import StructField, StructType
        from sqlml_udfs.spark import predict_groups

        schema = StructType(
            list(relation.schema.fields)
            + [StructField(f.name, from_arrow_type(f.type), True) for f in added]
        )
        score = predict_groups(
            by, self.broadcast(key, models), fallback, threshold, list(relation.columns), added
        )
        try:
            return relation.groupBy(*[self.quote(c) for c in by]).applyInArrow(score, schema)
        except spark_errors() as exc:
            raise translate_error(exc) from exc

    def register_model_function(self, record: Any) -> None:
        """The model's FUNCTION (and ``<FUNCTION>_probabilities`` for classifiers) as Arrow UDFs."""
        from sqlml_udfs.spark import scalar_function

        handle = self.broadcast(record.cache_key, record.onnx)
        spec = json.dumps(record.spec)
        for output, (name, kind) in enumerate(_functions_of(record)):
            function = scalar_function(record.cache_key, handle, spec, output)
            self._register_udf(name, function, _from_arrow_type(kind))

    def register_group_function(
        self,
        record: Any,
        models: dict[tuple[Any, ...], tuple[str, bytes, str]],
        fallback: tuple[str, bytes, str] | None,
    ) -> None:
        """A partitioned model's FUNCTION (and ``_probabilities``) as Arrow UDFs taking the
        partition columns first (:func:`sqlml_udfs.spark.group_function`); the groups' graphs
        broadcast once."""
        from sqlml_udfs.spark import group_function

        handle = self.broadcast(f"{record.cache_key}#groups", models)
        width = len(record.partition_by)
        for output, (name, kind) in enumerate(_functions_of(record)):
            function = group_function(width, handle, fallback, output, kind)
            self._register_udf(name, function, _from_arrow_type(kind))

    def _register_udf(self, name: str, function: Callable[..., pa.Array], return_type: Any) -> None:
        from pyspark.sql.functions import ArrowUDFType, arrow_udf

        try:
            with warnings.catch_warnings():  # "prefer type hints": *args cannot carry them
                warnings.simplefilter("ignore", UserWarning)
                udf = arrow_udf(function, return_type, ArrowUDFType.SCALAR)
            self.spark.udf.register(name, udf)
        except spark_errors() as exc:
            raise translate_error(exc) from exc


def _functions_of(record: Any) -> list[tuple[str, pa.DataType]]:
    """A model's FUNCTION and, for a classifier, ``<FUNCTION>_probabilities``: their names and
    result types (a k-means model's function returns its cluster)."""
    from sqlml_udfs.scoring import output_fields

    fields = output_fields(record.spec)
    names = [record.function_name]
    if record.spec["task"] == "classification":
        names.append(f"{record.function_name}_probabilities")
    elif record.spec["task"] == "clustering":
        fields = [pa.field("centroid_id", pa.int64())]
    return [(name, fields[i].type) for i, name in enumerate(names)]
