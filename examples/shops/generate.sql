-- Weekly sales of 200 shops, 2019-2024, for the per-shop sliding-window example (DuckDB SQL; on
-- Spark, load the same table as `sales` first). Every tenth shop opened late (2022, 2023 or
-- 2024), so some shops have fewer than three years. Each shop has its own response to price
-- (attr1), promotions (attr2) and temperature (attr3), and its own yearly growth.
SELECT setseed(0.13);
CREATE OR REPLACE TABLE shops AS
SELECT range AS shop_id,
       CASE WHEN range % 10 = 0 THEN 2022 + range % 3 ELSE 2019 END AS opened,
       100 + 100 * random() AS base,
       -2 - 6 * random() AS price_effect,
       5 + 20 * random() AS promo_effect,
       2 * random() - 1 AS temperature_effect,
       8 * random() - 2 AS growth
FROM range(200);
CREATE OR REPLACE TABLE sales AS
WITH weeks AS (
    SELECT shop_id, year, week, base, price_effect, promo_effect, temperature_effect, growth,
           round(5 + 5 * random(), 2) AS attr1,
           CAST(random() < 0.2 AS INTEGER) AS attr2,
           round(12 + 12 * sin(2 * pi() * week / 52) + 4 * random(), 1) AS attr3
    FROM shops, range(2019, 2025) AS y(year), range(1, 53) AS w(week)
    WHERE year >= opened
)
SELECT shop_id, year, week, attr1, attr2, attr3,
       round(base + growth * (year - 2019) + price_effect * attr1 + promo_effect * attr2
             + temperature_effect * attr3 + 4 * (random() - 0.5), 2) AS sales
FROM weeks
ORDER BY shop_id, year, week;
DROP TABLE shops;
SELECT count(DISTINCT shop_id) AS shops, min(year) AS first_year, max(year) AS last_year,
       count(*) AS weekly_rows
FROM sales;
