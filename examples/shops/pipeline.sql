-- The per-shop sliding-window retraining, in SQL (issue 13). For each shop and each three-year
-- window: train on the first two years, predict the third, write the predictions next to the
-- actual sales, and compare RMSE per shop and per year. Window size 3, period 1; a shop with
-- fewer than three years has no window with two years to learn from and a third to predict
-- (min_group_rows skips it; fallback = 'none' leaves its rows unpredicted). The same script runs
-- on DuckDB and on Spark.
CREATE OR REPLACE TABLE windows AS
SELECT DISTINCT year AS window_start
FROM sales
WHERE year + 2 <= (SELECT max(year) FROM sales);

CREATE OR REPLACE MODEL sales_by_shop
  PARTITION BY shop_id, window_start
  OPTIONS (model_type = 'linear_reg', input_label_cols = ['sales'],
           min_group_rows = 100, fallback = 'none')
AS SELECT s.shop_id, w.window_start, s.attr1, s.attr2, s.attr3, s.sales
   FROM sales AS s JOIN windows AS w ON s.year >= w.window_start AND s.year < w.window_start + 2;

CREATE OR REPLACE TABLE predictions AS
SELECT shop_id, year, week, predicted_sales AS predict, sales
FROM ML.PREDICT(MODEL sales_by_shop,
       (SELECT s.*, w.window_start FROM sales AS s JOIN windows AS w ON s.year = w.window_start + 2))
WHERE predicted_sales IS NOT NULL;

SELECT status, count(*) AS windows FROM ML.GROUP_INFO(MODEL sales_by_shop) GROUP BY status ORDER BY status;

SELECT year, round(sqrt(avg((predict - sales) * (predict - sales))), 3) AS rmse, count(*) AS weeks
FROM predictions GROUP BY year ORDER BY year;

SELECT shop_id, round(sqrt(avg((predict - sales) * (predict - sales))), 3) AS rmse, count(*) AS weeks
FROM predictions GROUP BY shop_id ORDER BY shop_id;
