-- sqlml's model catalog on Spark: the same columns as catalog.sql, as a table in the session's
-- catalog (the database "sqlml" in the warehouse). Partitioned by name, because Spark's built-in
-- Parquet tables have no DELETE: DROP MODEL drops the model's partition. A new version is one
-- INSERT of one row after training succeeded, so until it lands the previous version is live.
CREATE DATABASE IF NOT EXISTS sqlml;
CREATE TABLE IF NOT EXISTS sqlml.models (
    version          INT           NOT NULL,
    created_at       TIMESTAMP_NTZ NOT NULL,
    model_type       STRING        NOT NULL,
    label            STRING,
    features         STRING        NOT NULL,
    options          STRING        NOT NULL,
    metrics          STRING        NOT NULL,
    training_info    STRING        NOT NULL,
    training_sql     STRING        NOT NULL,
    data_fingerprint STRING        NOT NULL,
    library_versions STRING        NOT NULL,
    function_name    STRING,
    spec             STRING        NOT NULL,
    onnx             BINARY        NOT NULL,
    name             STRING        NOT NULL
) USING parquet PARTITIONED BY (name)
;
-- The groups of a model trained PARTITION BY columns (see catalog.sql), partitioned by name like
-- sqlml.models. They are written before the version that names them, so no reader sees a
-- version without its groups.
CREATE TABLE IF NOT EXISTS sqlml.model_groups (
    version       INT    NOT NULL,
    group_index   INT    NOT NULL,
    group_key     STRING NOT NULL,
    training_rows BIGINT NOT NULL,
    status        STRING NOT NULL,
    reason        STRING,
    metrics       STRING NOT NULL,
    training_info STRING NOT NULL,
    spec          STRING NOT NULL,
    onnx          BINARY,
    name          STRING NOT NULL
) USING parquet PARTITIONED BY (name)
