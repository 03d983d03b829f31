-- Daily sales of 200 shops from 2023-01-01 to 2024-11-30, for the forecasting example (DuckDB
-- SQL; on Spark, load the same table as `sales` first). Each shop has its own level, trend and
-- weekly pattern (busier weekends), Christmas and Easter bumps, and noise. Three series are
-- broken on purpose: shop 0 closed for good (sales 0 every day), shop 1 opened on 2024-10-30
-- (two days before the forecast starts), and shop 2 lost a month of readings (2024-03) and a few
-- days are NULL.
SELECT setseed(0.29);
CREATE OR REPLACE TABLE shops AS
SELECT range AS shop_id,
       200 + 300 * random() AS level,
       0.2 * random() - 0.05 AS trend,
       0.1 + 0.4 * random() AS weekend,
       10 + 20 * random() AS noise
FROM range(200);
CREATE OR REPLACE TABLE sales AS
WITH days AS (
    SELECT shop_id, t, DATE '2023-01-01' + INTERVAL (t) DAY AS day, level, trend, weekend, noise
    FROM shops, range(700) AS d(t)
), shaped AS (
    SELECT shop_id, t, CAST(day AS DATE) AS day,
           (level + trend * t)
             * (1 + CASE WHEN dayofweek(day) IN (0, 6) THEN weekend ELSE 0 END)
             * (1 + CASE WHEN strftime(day, '%m-%d') BETWEEN '12-20' AND '12-24' THEN 0.6
                         WHEN day IN (DATE '2023-04-08', DATE '2024-03-30') THEN 0.4
                         ELSE 0 END)
             + noise * (random() + random() + random() - 1.5) AS sales
    FROM days
)
SELECT shop_id, t, day,
       CASE WHEN shop_id = 0 THEN 0.0
            WHEN shop_id = 2 AND t % 97 = 5 THEN NULL
            ELSE round(sales, 2) END AS sales
FROM shaped
WHERE NOT (shop_id = 1 AND t < 668)
  AND NOT (shop_id = 2 AND day BETWEEN DATE '2024-03-01' AND DATE '2024-03-31')
ORDER BY shop_id, t;
DROP TABLE shops;
SELECT count(DISTINCT shop_id) AS shops, min(day) AS first_day, max(day) AS last_day,
       count(*) AS daily_rows
FROM sales;
