-- The columns the model learns from, and a fixed holdout: every fifth customer.
{{ config(materialized='view') }}

SELECT
    customer_id,
    age,
    plan,
    monthly_spend,
    support_calls,
    churned,
    customer_id % 5 = 0 AS is_holdout
FROM {{ ref('customers') }}
