-- Plain SQL over the predictions: a view, rebuilt from the stored scores.
{{ config(materialized='view') }}

SELECT customer_id, plan, churn_probability
FROM {{ ref('churn_scores') }}
WHERE churn_probability >= {{ var('risk_threshold') }}
ORDER BY churn_probability DESC, customer_id
