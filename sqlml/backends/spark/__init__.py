"""Apache Spark: local, or a standalone cluster (the ``spark`` extra: pyspark and Java).

Imported only when a Spark connection is opened, so ``import sqlml`` never loads pyspark.
"""

from sqlml.backends.spark.backend import SparkBackend, build_session

__all__ = ["SparkBackend", "build_session"]
