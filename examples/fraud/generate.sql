-- Synthetic card transactions for the fraud example: ~0.6 % fraud, 28 anonymised numeric
-- features (like the well-known Kaggle data set), an amount, an hour of day, and a timestamp
-- spread over 60 days. Size: SET VARIABLE fraud_rows = N before running (default 300,000).
SELECT setseed(0.7);
CREATE OR REPLACE TABLE transactions AS
WITH base AS (
    SELECT range AS txn_id,
           TIMESTAMP '2026-01-01'
             + to_minutes((range * 60 * 24 * 60 // coalesce(getvariable('fraud_rows'), 300000))::BIGINT) AS txn_time,
           random() < 0.006 AS is_fraud
    FROM range(coalesce(getvariable('fraud_rows'), 300000))
)
SELECT txn_id, txn_time,
       round(exp(3 + 1.2 * sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()))
             * (1 + 2 * is_fraud::INTEGER * random()), 2) AS amount,
       hour(txn_time)::DOUBLE AS hour_of_day,
       round(sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()) + -2.0 * is_fraud::INTEGER * (0.5 + random()), 4) AS v1,
       round(sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()) + 1.6 * is_fraud::INTEGER * (0.5 + random()), 4) AS v2,
       round(sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()) + -1.8 * is_fraud::INTEGER * (0.5 + random()), 4) AS v3,
       round(sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()) + 1.4 * is_fraud::INTEGER * (0.5 + random()), 4) AS v4,
       round(sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()), 4) AS v5,
       round(sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()), 4) AS v6,
       round(sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()) + -1.2 * is_fraud::INTEGER * (0.5 + random()), 4) AS v7,
       round(sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()), 4) AS v8,
       round(sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()), 4) AS v9,
       round(sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()) + -1.5 * is_fraud::INTEGER * (0.5 + random()), 4) AS v10,
       round(sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()), 4) AS v11,
       round(sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()) + -1.3 * is_fraud::INTEGER * (0.5 + random()), 4) AS v12,
       round(sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()), 4) AS v13,
       round(sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()) + -2.2 * is_fraud::INTEGER * (0.5 + random()), 4) AS v14,
       round(sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()), 4) AS v15,
       round(sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()), 4) AS v16,
       round(sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()) + -1.6 * is_fraud::INTEGER * (0.5 + random()), 4) AS v17,
       round(sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()), 4) AS v18,
       round(sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()), 4) AS v19,
       round(sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()), 4) AS v20,
       round(sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()), 4) AS v21,
       round(sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()), 4) AS v22,
       round(sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()), 4) AS v23,
       round(sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()), 4) AS v24,
       round(sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()), 4) AS v25,
       round(sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()), 4) AS v26,
       round(sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()), 4) AS v27,
       round(sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()), 4) AS v28,
       is_fraud
FROM base;
