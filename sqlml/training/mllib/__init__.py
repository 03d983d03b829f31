"""CREATE MODEL on Spark's executors: the Spark MLlib trainer (:mod:`.trainer`), the frame it
prepares (:mod:`.frame`), the Spark ML pipeline and its conversion to ONNX (:mod:`.pipeline`,
:mod:`.onnx`), sqlml's own numpy jobs for pca and dnn_regressor (:mod:`.numpy_fit`), and what
Spark cannot train as the scikit-learn path would (:mod:`.support`). pyspark loads only here."""
