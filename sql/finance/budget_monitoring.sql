-- name: marts.finance.budget_monitoring
-- grain: one row per council, financial year, period and report row (service line, service area
--   sub-total or directorate total)
-- description: The monthly budget monitoring table in the layout of Somerset's month-5 report:
--   for each service line, with service area sub-totals and directorate totals (`level`), the
--   current budget, actuals to date, full-year projection (marts.finance.budget_lines; the
--   method is in `projection_method`), variance = projection - budget (positive is an overspend),
--   `flag` A (adverse) or F (favourable) when the variance is at least the threshold of
--   assumptions.budget_monitoring.setting (default £50,000) either way, else '-'; the previous
--   period's variance, the movement (this period's variance minus last period's; NULL in
--   period 1) and its `direction`: '↓' worsening (movement at least the threshold), '↑'
--   improving, '→' no real change. `level_order` (1 line, 2 sub-total, 3 total) sorts a
--   report's rows as the council prints them. Money in pounds, Decimal(18, 2).
WITH lines AS (
    SELECT * FROM marts.finance.budget_lines
),
thr AS (
    SELECT coalesce(max(variance_threshold), CAST(50000 AS DECIMAL(18, 2))) AS t FROM assumptions.budget_monitoring.setting
),
by_line AS (
    SELECT la_code, financial_year, period, month_start, 'service_line' AS level, directorate, service_area, service_line,
           sum(budget) AS budget, sum(actual_to_date) AS actual_to_date, sum(projection) AS projection,
           CASE WHEN count(DISTINCT method) = 1 THEN max(method) ELSE 'mixed' END AS projection_method
    FROM lines GROUP BY la_code, financial_year, period, month_start, directorate, service_area, service_line
),
by_area AS (
    SELECT la_code, financial_year, period, month_start, 'service_area' AS level, directorate, service_area, CAST(NULL AS VARCHAR) AS service_line,
           sum(budget) AS budget, sum(actual_to_date) AS actual_to_date, sum(projection) AS projection, 'sum of lines' AS projection_method
    FROM lines GROUP BY la_code, financial_year, period, month_start, directorate, service_area
),
by_directorate AS (
    SELECT la_code, financial_year, period, month_start, 'directorate' AS level, directorate, CAST(NULL AS VARCHAR) AS service_area, CAST(NULL AS VARCHAR) AS service_line,
           sum(budget) AS budget, sum(actual_to_date) AS actual_to_date, sum(projection) AS projection, 'sum of lines' AS projection_method
    FROM lines GROUP BY la_code, financial_year, period, month_start, directorate
),
rows_ AS (
    SELECT * FROM by_line
    UNION ALL SELECT * FROM by_area
    UNION ALL SELECT * FROM by_directorate
),
variances AS (
    SELECT r.*, r.projection - r.budget AS variance,
           lag(r.projection - r.budget) OVER (
               PARTITION BY r.la_code, r.financial_year, r.level, r.directorate, r.service_area, r.service_line ORDER BY r.period) AS previous_variance
    FROM rows_ r
)
SELECT
    v.la_code,
    v.financial_year,
    v.period,
    v.month_start,
    v.level,
    CASE v.level WHEN 'service_line' THEN 1 WHEN 'service_area' THEN 2 ELSE 3 END AS level_order,
    v.directorate,
    v.service_area,
    v.service_line,
    CAST(v.budget AS DECIMAL(18, 2)) AS current_budget,
    CAST(v.actual_to_date AS DECIMAL(18, 2)) AS actual_to_date,
    CAST(v.projection AS DECIMAL(18, 2)) AS projection,
    CAST(v.variance AS DECIMAL(18, 2)) AS variance,
    CASE WHEN v.variance >= thr.t THEN 'A' WHEN v.variance <= -thr.t THEN 'F' ELSE '-' END AS flag,
    CAST(v.previous_variance AS DECIMAL(18, 2)) AS previous_variance,
    CAST(v.variance - v.previous_variance AS DECIMAL(18, 2)) AS movement,
    CASE
        WHEN v.previous_variance IS NULL THEN NULL
        WHEN v.variance - v.previous_variance >= thr.t THEN '↓'
        WHEN v.variance - v.previous_variance <= -thr.t THEN '↑'
        ELSE '→'
    END AS direction,
    v.projection_method
FROM variances v
CROSS JOIN thr
ORDER BY v.la_code, v.financial_year, v.period, v.directorate, v.service_area NULLS LAST, v.level, v.service_line
