"""The size limits past which a graph is scored by ``mapInArrow`` instead (Spark's generated
method would outgrow the JIT)."""

# Size limits, measured on local[2] (300k rows, a cached source): a tree ensemble compiles to one
# CASE WHEN tree per ONNX tree, which Spark's optimizer merges into one projection, so the node
# count is the size of one generated method. 8 boosted trees (98 nodes) scored at 2.4x the scan;
# 20 trees (642 nodes) took 30x, slower than mapInArrow: the method passes HotSpot's 8 KB
# bytecode limit for JIT compilation and runs interpreted. Above the limit: mapInArrow.
MAX_TREE_NODES = 256
# Multiply-adds of dense layers (MatMul / Gemm / Linear*): each is one term of a sum expression,
# and the same method-size limit applies. Not measured separately: set so that a 20-feature,
# 10-class linear model or k-means (200 terms) compiles and a default dnn (128 hidden units over
# more than 7 inputs) does not.
MAX_DENSE_TERMS = 1024
