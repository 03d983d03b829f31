-- A 30-day forecast of every shop's daily sales (issue 14), trained on the days before
-- November 2024 and checked against November's actual sales, beside the seasonal-naive forecast
-- (each weekday's sales of the last week of October). The same script runs on DuckDB and on
-- Spark.
CREATE OR REPLACE MODEL daily_sales
  OPTIONS (model_type = 'ARIMA_PLUS', time_series_timestamp_col = 'day',
           time_series_data_col = 'sales', time_series_id_col = ['shop_id'], horizon = 30)
AS SELECT shop_id, day, sales FROM sales WHERE t < 670;

-- the series that could not be fitted, and why
SELECT shop_id, error_message FROM ML.ARIMA_EVALUATE(MODEL daily_sales)
WHERE error_message IS NOT NULL ORDER BY shop_id;

-- what was found: the orders and seasons of the fitted series
SELECT non_seasonal_p, non_seasonal_d, non_seasonal_q, count(*) AS series
FROM ML.ARIMA_EVALUATE(MODEL daily_sales) WHERE error_message IS NULL
GROUP BY non_seasonal_p, non_seasonal_d, non_seasonal_q ORDER BY series DESC;

CREATE OR REPLACE TABLE forecast AS
SELECT shop_id, CAST(forecast_timestamp AS DATE) AS day, forecast_value,
       prediction_interval_lower_bound AS low, prediction_interval_upper_bound AS high
FROM ML.FORECAST(MODEL daily_sales, STRUCT(30 AS horizon, 0.9 AS confidence_level));

CREATE OR REPLACE TABLE november AS
SELECT a.shop_id, a.t, a.sales AS actual, f.forecast_value, f.low, f.high,
       naive.sales AS seasonal_naive
FROM sales AS a
JOIN forecast AS f ON f.shop_id = a.shop_id AND f.day = a.day
JOIN sales AS naive ON naive.shop_id = a.shop_id
                   AND naive.t = a.t - 7 * (FLOOR((a.t - 670) / 7.0) + 1)
WHERE a.t >= 670;

-- accuracy on the held-out month: sMAPE of ARIMA_PLUS against the seasonal-naive forecast, and
-- how often the 90 % interval held the actual sales
SELECT count(DISTINCT shop_id) AS shops,
       round(avg(2 * abs(forecast_value - actual) / (abs(forecast_value) + abs(actual))), 4)
         AS smape_arima_plus,
       round(avg(2 * abs(seasonal_naive - actual) / (abs(seasonal_naive) + abs(actual))), 4)
         AS smape_seasonal_naive,
       round(avg(CASE WHEN actual BETWEEN low AND high THEN 1 ELSE 0 END), 3)
         AS interval_coverage
FROM november;

-- for a notebook's chart: one shop's last eight weeks and its forecast with the interval
SELECT day, sales AS actual, NULL AS forecast, NULL AS low, NULL AS high
FROM sales WHERE shop_id = 7 AND t >= 614 AND t < 670
UNION ALL
SELECT day, NULL, forecast_value, low, high FROM forecast WHERE shop_id = 7
ORDER BY day;
