"""Apache Spark: local, a standalone cluster, or a Spark Connect server (the ``spark`` extra:
pyspark with its connect extra, and Java for a classic session).

Imported only when a Spark connection is opened, so ``import sqlml`` never loads pyspark.
"""

from sqlml.backends.spark.backend import SparkBackend
from sqlml.backends.spark.session import build_session

__all__ = ["SparkBackend", "build_session"]
