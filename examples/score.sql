-- Score new customers with the quickstart's model and keep the result as a table.
-- Run it after the quickstart:  sqlml -d warehouse.duckdb -f examples/score.sql
CREATE OR REPLACE TABLE churn_scores AS
SELECT customer_id, predicted_churned, p.prob AS churn_probability
FROM ML.PREDICT(MODEL churn, TABLE new_customers), UNNEST(predicted_churned_probs) AS u(p)
WHERE p.label;
SELECT predicted_churned, count(*) AS customers, round(avg(churn_probability), 3) AS mean_probability
FROM churn_scores GROUP BY ALL ORDER BY ALL;
