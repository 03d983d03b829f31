-- Predictions as a table. ML.PREDICT is not DuckDB SQL, so this is a sqlml_table (not a view);
-- `ref(...).identifier` names the model and makes this file run after it.
{{ config(materialized='sqlml_table') }}

SELECT
    customer_id,
    plan,
    support_calls,
    churned,
    predicted_churned,
    round(predicted_churned_probs[2].prob, 4) AS churn_probability  -- classes sorted: [false, true]
FROM ML.PREDICT(
    MODEL {{ ref('churn_model').identifier }},
    (SELECT * FROM {{ ref('customer_features') }} WHERE is_holdout)
)
