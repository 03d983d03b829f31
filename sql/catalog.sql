-- sqlml's model catalog, kept inside the database it serves (DuckDB: the schema "sqlml" in the file).
-- One row per model version; the newest version of a name is the live one. Every JSON column is also
-- written into the ONNX file's metadata_props, so an exported model describes itself.
CREATE SCHEMA IF NOT EXISTS sqlml;
CREATE TABLE IF NOT EXISTS sqlml.models (
    name             VARCHAR   NOT NULL,  -- lower-cased model name (schema-qualified names keep the dot)
    version          INTEGER   NOT NULL,  -- 1, 2, ... : CREATE OR REPLACE adds a version
    created_at       TIMESTAMP NOT NULL,  -- UTC
    model_type       VARCHAR   NOT NULL,  -- linear_reg, logistic_reg, ..., kmeans
    label            VARCHAR,             -- label column (NULL for k-means)
    features         VARCHAR   NOT NULL,  -- JSON: [{"name", "kind", "type"}] in input order
    options          VARCHAR   NOT NULL,  -- JSON: the validated options, defaults filled in
    metrics          VARCHAR   NOT NULL,  -- JSON: evaluation metrics on the evaluation split
    training_info    VARCHAR   NOT NULL,  -- JSON: rows, duration, iterations, loss, fidelity check
    training_sql     VARCHAR   NOT NULL,  -- the training query as written
    data_fingerprint VARCHAR   NOT NULL,  -- sha256 over the training data's schema and row count
    library_versions VARCHAR   NOT NULL,  -- JSON: sqlml, scikit-learn, skl2onnx, onnx, onnxruntime, duckdb
    function_name    VARCHAR,             -- Redshift FUNCTION name, registered on every connection
    spec             VARCHAR   NOT NULL,  -- JSON: what the scorer needs (task, classes, features, ...)
    onnx             BLOB      NOT NULL,  -- the model
    PRIMARY KEY (name, version)
);
