"""Code that runs inside engine workers: ONNX Runtime over Arrow batches.

This package depends on numpy, pyarrow and onnxruntime only, so it can be shipped to Spark executors
on its own. It knows nothing about SQL, catalogs or training: it gets ONNX bytes and the model's scoring
spec (plain JSON) and turns Arrow record batches into prediction columns.
"""

from sqlml_udfs.scoring import NULL_CATEGORY, Scorer, get_scorer

__all__ = ["NULL_CATEGORY", "Scorer", "get_scorer"]
