-- name: published.dsg.forecast
-- grain: as marts.dsg.forecast
-- description: marts.dsg.forecast as it may be shared (docs/disclosure.md): pounds and growth
--   rates as they are; the EHC plans (year 0 is the latest actual count), the spend per plan and the
--   share in independent special schools withheld as published.dsg.high_needs withholds them.
WITH t AS (
    SELECT CAST(min(threshold) AS DOUBLE) AS t FROM assumptions.disclosure.setting
),
h AS (
    SELECT d.*, coalesce(t.t, 5) AS t,
           round(d.ehcps) AS plans,
           round(d.ehcps * d.independent_special_plans_pct / 100.0) AS iss
    FROM marts.dsg.forecast d
    LEFT JOIN t ON true
),
f AS (
    SELECT *,
           coalesce(plans >= 1 AND plans <= t, false) AS few,
           coalesce((iss >= 1 AND iss <= t) OR (plans - iss >= 1 AND plans - iss <= t), false) AS few_iss
    FROM h
)
SELECT la_code, scenario, financial_year, years_ahead,
       CASE WHEN few THEN NULL ELSE ehcps END AS ehcps,
       CASE WHEN few THEN NULL ELSE spend_per_ehcp END AS spend_per_ehcp,
       spend, allocation, in_year, cumulative,
       CASE WHEN few OR few_iss THEN NULL ELSE independent_special_plans_pct END AS independent_special_plans_pct,
       ehcp_growth_pct, unit_cost_inflation_pct, allocation_growth_pct, independent_shift_pct, mitigation, basis,
       few OR few_iss AS suppressed
FROM f
