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
-- A model trained PARTITION BY columns: one row per group of the version in sqlml.models that
-- names it (its spec's "groups_version"). The groups are written before that version's row, so
-- until the row lands no reader sees them; the version's own ONNX is the fallback model.
CREATE TABLE IF NOT EXISTS sqlml.model_groups (
    name          VARCHAR NOT NULL,  -- the model, as in sqlml.models
    version       INTEGER NOT NULL,  -- the version that trained the groups
    group_index   INTEGER NOT NULL,  -- 0, 1, ... in the order of the partition values (NULL first)
    group_key     VARCHAR NOT NULL,  -- JSON: the partition values, in PARTITION BY order
    training_rows BIGINT  NOT NULL,  -- the group's rows in the training query
    status        VARCHAR NOT NULL,  -- trained | skipped (min_group_rows) | failed
    reason        VARCHAR,           -- why a group was skipped or failed
    metrics       VARCHAR NOT NULL,  -- JSON: the group's evaluation metrics ({} if not trained)
    training_info VARCHAR NOT NULL,  -- JSON: rows, duration, iterations, loss, fidelity check
    spec          VARCHAR NOT NULL,  -- JSON: what the scorer needs ({} if not trained)
    onnx          BLOB,              -- the group's model (NULL if not trained)
    PRIMARY KEY (name, version, group_index)
);
