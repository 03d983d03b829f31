-- The model's metrics on the holdout customers, kept as a one-row table.
{{ config(materialized='sqlml_table') }}

SELECT *
FROM ML.EVALUATE(
    MODEL {{ ref('churn_model').identifier }},
    (SELECT age, plan, monthly_spend, support_calls, churned
     FROM {{ ref('customer_features') }} WHERE is_holdout)
)
