-- A sqlml model: the SELECT is the training data, the config is CREATE MODEL's OPTIONS.
{{ config(
    materialized='sqlml_model',
    model_type='logistic_reg',
    input_label_cols=['churned'],
    l2_reg=var('l2_reg', 0.1)
) }}

SELECT age, plan, monthly_spend, support_calls, churned
FROM {{ ref('customer_features') }}
WHERE NOT is_holdout
