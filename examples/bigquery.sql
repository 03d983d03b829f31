-- BigQuery SQL, run on DuckDB: sqlml -d warehouse.duckdb --dialect bigquery -f examples/bigquery.sql
-- (backticks, SAFE_DIVIDE and COUNTIF are BigQuery's; sqlglot transpiles them)
SELECT plan, COUNTIF(churned) AS churned, SAFE_DIVIDE(COUNTIF(churned), COUNT(*)) AS churn_rate
FROM `customers`
GROUP BY plan
ORDER BY plan;
SELECT * FROM ML.EVALUATE(MODEL `churn`, TABLE `holdout`);
