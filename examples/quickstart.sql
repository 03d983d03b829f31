-- sqlml quickstart: train, evaluate and use a churn model, all in SQL, on the embedded DuckDB engine.
-- Run it with:  sqlml -f examples/quickstart.sql        (add -d warehouse.duckdb to keep the results)

-- 1. Some customers (generated here so the example needs no download).
SELECT setseed(0.42);
CREATE OR REPLACE TABLE customers AS
SELECT
    range AS customer_id,
    18 + (random() * 60)::INTEGER AS age,
    ['basic', 'pro', 'team'][1 + (range % 3)::INTEGER] AS plan,
    round(10 + random() * 90, 2) AS monthly_spend,
    (random() * 40)::INTEGER AS support_calls
FROM range(5000);
-- churn is likelier with many support calls, on the basic plan, and for low spenders
CREATE OR REPLACE TABLE customers AS
SELECT *, (support_calls / 40.0 + (plan = 'basic')::INTEGER * 0.3 - monthly_spend / 200.0
           + random() * 0.4) > 0.55 AS churned
FROM customers;
CREATE OR REPLACE TABLE holdout AS SELECT * FROM customers WHERE customer_id % 5 = 0;
CREATE OR REPLACE TABLE new_customers AS
SELECT * EXCLUDE (churned) FROM customers WHERE customer_id % 50 = 1;

-- 2. Train (BigQuery ML form). Preprocessing (imputing, scaling, one-hot) is part of the model.
CREATE OR REPLACE MODEL churn
  OPTIONS (model_type = 'logistic_reg', input_label_cols = ['churned'])
AS SELECT * EXCLUDE (customer_id) FROM customers WHERE customer_id % 5 <> 0;

-- 3. Evaluate: as recorded at training time, then on the holdout rows.
SELECT * FROM ML.EVALUATE(MODEL churn);
SELECT * FROM ML.EVALUATE(MODEL churn, TABLE holdout);

-- 4. Predict, inside ordinary SQL. The probabilities list follows the sorted classes: [false, true].
SELECT customer_id, plan, support_calls, predicted_churned,
       round(predicted_churned_probs[2].prob, 3) AS churn_probability
FROM ML.PREDICT(MODEL churn, TABLE new_customers)
ORDER BY churn_probability DESC
LIMIT 5;

-- 5. The Redshift ML form: a scoring function you call like any other SQL function.
CREATE OR REPLACE MODEL churn_trees
FROM (SELECT age, plan, monthly_spend, support_calls, churned FROM customers)
TARGET churned FUNCTION predict_churn
MODEL_TYPE XGBOOST PROBLEM_TYPE BINARY_CLASSIFICATION;

SELECT predict_churn(age, plan, monthly_spend, support_calls) AS will_churn, count(*) AS customers
FROM new_customers GROUP BY ALL ORDER BY will_churn;

SHOW MODEL ALL;
