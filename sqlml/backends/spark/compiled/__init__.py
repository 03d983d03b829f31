"""ML.PREDICT as Spark Column expressions: small ONNX graphs scored by Spark's own codegen.

``mapInArrow`` scoring ships every row JVM → Python → JVM, which costs ~9× a scan on its own. For
the graphs sqlml trains that are small (linear models, k-means, modest tree ensembles) this module
evaluates the ONNX graph *symbolically*: every tensor is a list of Column expressions, one per
element of a row's vector (shapes are static past the batch dimension), and every ONNX node becomes
arithmetic, CASE WHEN trees or array literals over them. Spark then compiles the whole prediction
into its generated code, with no Python worker.

Fidelity to ONNX Runtime: the graphs are float32. Inputs are cast to FLOAT as the scorer feeds
them; the arithmetic then runs in double (more precise than ORT's float32, so results differ by a
few float32 ulps of the values summed), except where a discrete decision could see the difference:
in a graph with tree ensembles the Scaler rounds to float32 at each step as ORT does, tree
thresholds are ORT's float32 values compared with ORT's NaN rules (Spark orders NaN above every
number, IEEE compares it false), and tree scores are summed in float32 tree by tree. Every output
is rounded to float32 before it is widened to DOUBLE, as the scorer widens ORT's. Tree
post-transforms and the binary-classifier cases follow ORT's ``tree_ensemble_aggregator.h`` /
``ml_common.h``.

The Imputer tests the cast column itself for NULL or NaN (not a NULL-as-NaN expression first), and
where no tree sees it (linear models, MLPs, k-means, PCA) a Scaler that feeds a dense layer is
folded into the layer's weights (``v * (s * w) - o * s * w``), so its columns are never computed.

Every Column call is a round trip to the JVM (~0.1 ms, several ms on a loaded machine), so the
two bulky parts, dot products and tree CASE WHEN nests, are each built as one SQL expression by
``F.expr``: its text holds only numbers (``repr`` of doubles) and column names sqlml generated for
its own intermediate columns, never a user's column name or value; user columns, categories and
class labels go through the Column API (``quote`` backtick-escapes names).

Anything else (an op this module does not know, an attribute form it does not follow, a graph over
the size limits, inputs of other types) raises :class:`Unsupported`; the caller then falls back
to ``mapInArrow`` (``spark_scoring='auto'``) or reports it (``'compiled'``).
"""

from sqlml.backends.spark.compiled.columns import NULL_CATEGORY
from sqlml.backends.spark.compiled.compiler import Compiler
from sqlml.backends.spark.compiled.limits import MAX_DENSE_TERMS, MAX_TREE_NODES
from sqlml.backends.spark.compiled.ops import SUPPORTED_OPS
from sqlml.backends.spark.compiled.predict import (
    SCORING_MODES,
    check_mode,
    compile_predict,
    predict_columns,
)
from sqlml.backends.spark.compiled.tensors import Tensor, Unsupported, quote

__all__ = [
    "MAX_DENSE_TERMS",
    "MAX_TREE_NODES",
    "NULL_CATEGORY",
    "SCORING_MODES",
    "SUPPORTED_OPS",
    "Compiler",
    "Tensor",
    "Unsupported",
    "check_mode",
    "compile_predict",
    "predict_columns",
    "quote",
]
