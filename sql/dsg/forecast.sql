-- name: marts.dsg.forecast
-- grain: one row per council, scenario and financial year (the latest year with data, then each
--   forecast year)
-- description: The cumulative High Needs position projected ahead under each scenario of
--   assumptions.dsg.scenario. Year 0 is the council's latest year in marts.dsg.position (actual or
--   month forecast) with its High Needs allocation, spend, EHC plans (marts.dsg.high_needs) and
--   cumulative High Needs position. Each forecast year n: plans = plans0 x (1 + growth)^n;
--   the share of plans in independent special schools falls by independent_shift_pct points a
--   year (not below 0), each plan priced at its own kind's spend per plan in year 0 (line 1.2.3
--   spend per independent special plan, the rest per other plan) x (1 + inflation)^n; spend =
--   that, less the scenario's mitigation; allocation = allocation0 x (1 + allocation growth)^n;
--   in-year = allocation - spend; cumulative = year-0 cumulative + the in-year results since. A
--   rate the scenario leaves out is the council's own trend: the yearly compound change over the
--   last three years to year 0 (fewer when it has fewer), in plans, in spend per plan and in
--   allocation; `basis` says which rates came from the trend.
WITH hn AS (
    SELECT p.la_code, p.financial_year, CAST(substr(p.financial_year, 1, 4) AS INT) AS fy_start,
           CAST(p.allocation AS DOUBLE) AS allocation, CAST(p.spend AS DOUBLE) AS spend, CAST(p.cumulative AS DOUBLE) AS cumulative,
           h.ehcps, h.iss_plans, h.iss_spend
    FROM marts.dsg.position p
    JOIN (
        SELECT la_code, financial_year, CAST(max(ehcps) AS DOUBLE) AS ehcps,
               max(ehcps * independent_special_plans_pct / 100.0) AS iss_plans,
               sum(CAST(spend AS DOUBLE)) FILTER (WHERE s251_line = '1.2.3') AS iss_spend
        FROM marts.dsg.high_needs GROUP BY la_code, financial_year
    ) h ON h.la_code = p.la_code AND h.financial_year = p.financial_year
    WHERE p.block = 'HNB' AND p.spend IS NOT NULL AND h.ehcps > 0
),
base AS (
    SELECT * FROM (
        SELECT hn.*, row_number() OVER (PARTITION BY la_code ORDER BY fy_start DESC) AS rn FROM hn
    ) x WHERE rn = 1
),
trend AS (
    -- compound yearly change from the earliest of the three years before year 0 that has data
    SELECT b.la_code,
           power(b.ehcps / e.ehcps, 1.0 / (b.fy_start - e.fy_start)) - 1 AS ehcp_growth,
           power((b.spend / b.ehcps) / (e.spend / e.ehcps), 1.0 / (b.fy_start - e.fy_start)) - 1 AS unit_cost_inflation,
           power(b.allocation / e.allocation, 1.0 / (b.fy_start - e.fy_start)) - 1 AS allocation_growth
    FROM base b
    JOIN (
        SELECT hn.*, row_number() OVER (PARTITION BY hn.la_code ORDER BY hn.fy_start) AS rn
        FROM hn JOIN base b2 ON b2.la_code = hn.la_code AND hn.fy_start BETWEEN b2.fy_start - 3 AND b2.fy_start - 1
    ) e ON e.la_code = b.la_code AND e.rn = 1
),
scenarios AS (
    SELECT b.la_code, s.scenario, coalesce(s.years, 5) AS years,
           coalesce(s.ehcp_growth_pct / 100.0, t.ehcp_growth, 0) AS ehcp_growth,
           coalesce(s.unit_cost_inflation_pct / 100.0, t.unit_cost_inflation, 0) AS unit_cost_inflation,
           coalesce(s.allocation_growth_pct / 100.0, t.allocation_growth, 0) AS allocation_growth,
           coalesce(s.independent_shift_pct, 0) AS independent_shift_pct,
           coalesce(CAST(s.mitigation AS DOUBLE), 0) AS mitigation,
           concat_ws(', ',
               CASE WHEN s.ehcp_growth_pct IS NULL THEN 'plan growth' END,
               CASE WHEN s.unit_cost_inflation_pct IS NULL THEN 'spend per plan' END,
               CASE WHEN s.allocation_growth_pct IS NULL THEN 'allocation growth' END) AS trend_rates
    FROM base b
    CROSS JOIN assumptions.dsg.scenario s
    LEFT JOIN trend t ON t.la_code = b.la_code
),
years AS (
    SELECT s.*, CAST(g.value AS BIGINT) AS n FROM scenarios s CROSS JOIN (VALUES (0), (1), (2), (3), (4), (5), (6), (7), (8), (9), (10)) AS g(value) WHERE g.value <= s.years
),
projected AS (
    SELECT y.la_code, y.scenario, y.n, b.fy_start + y.n AS fy_start,
           b.ehcps * power(1 + y.ehcp_growth, y.n) AS ehcps,
           greatest(0.0, coalesce(b.iss_plans, 0) / b.ehcps - y.independent_shift_pct / 100.0 * y.n) AS iss_share,
           CASE WHEN b.iss_plans > 0 THEN b.iss_spend / b.iss_plans END AS iss_cost0,
           (b.spend - coalesce(b.iss_spend, 0)) / (b.ehcps - coalesce(b.iss_plans, 0)) AS other_cost0,
           b.spend / b.ehcps AS cost0,
           b.allocation * power(1 + y.allocation_growth, y.n) AS allocation,
           b.spend AS spend0, b.allocation AS allocation0, b.cumulative AS cumulative0,
           y.ehcp_growth, y.unit_cost_inflation, y.allocation_growth, y.independent_shift_pct, y.mitigation, y.trend_rates
    FROM years y JOIN base b ON b.la_code = y.la_code
),
spent AS (
    SELECT p.*,
           CASE WHEN p.n = 0 THEN p.spend0
                ELSE p.ehcps * (CASE WHEN p.iss_cost0 IS NULL THEN p.cost0 ELSE p.iss_share * p.iss_cost0 + (1 - p.iss_share) * p.other_cost0 END)
                     * power(1 + p.unit_cost_inflation, p.n) - p.mitigation
           END AS spend
    FROM projected p
)
SELECT
    la_code,
    scenario,
    CAST(fy_start AS VARCHAR) || '-' || lpad(CAST((fy_start + 1) % 100 AS VARCHAR), 2, '0') AS financial_year,
    n AS years_ahead,
    round(ehcps, 1) AS ehcps,
    CAST(spend / ehcps AS DECIMAL(18, 2)) AS spend_per_ehcp,
    CAST(spend AS DECIMAL(18, 2)) AS spend,
    CAST(allocation AS DECIMAL(18, 2)) AS allocation,
    CAST(CASE WHEN n = 0 THEN allocation0 - spend0 ELSE allocation - spend END AS DECIMAL(18, 2)) AS in_year,
    CAST(cumulative0 + sum(CASE WHEN n = 0 THEN 0 ELSE allocation - spend END) OVER (
        PARTITION BY la_code, scenario ORDER BY n ROWS UNBOUNDED PRECEDING) AS DECIMAL(18, 2)) AS cumulative,
    100.0 * iss_share AS independent_special_plans_pct,
    100.0 * ehcp_growth AS ehcp_growth_pct,
    100.0 * unit_cost_inflation AS unit_cost_inflation_pct,
    100.0 * allocation_growth AS allocation_growth_pct,
    independent_shift_pct,
    CAST(mitigation AS DECIMAL(18, 2)) AS mitigation,
    CASE WHEN trend_rates = '' THEN 'scenario' ELSE 'trend: ' || trend_rates END AS basis
FROM spent
ORDER BY la_code, scenario, n
