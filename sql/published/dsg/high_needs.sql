-- name: published.dsg.high_needs
-- grain: as marts.dsg.high_needs
-- description: marts.dsg.high_needs as it may be shared (docs/disclosure.md): spend in pounds as
--   it is; the count of EHC plans, and the spend per plan, withheld when the plans are from 1 to
--   the threshold (assumptions.disclosure.setting); the share of plans in independent special
--   schools withheld when those plans, or the plans elsewhere, are that few.
WITH t AS (
    SELECT CAST(min(threshold) AS DOUBLE) AS t FROM assumptions.disclosure.setting
),
h AS (
    SELECT h.*, coalesce(t.t, 5) AS t,
           round(h.ehcps * h.independent_special_plans_pct / 100.0) AS iss
    FROM marts.dsg.high_needs h
    LEFT JOIN t ON true
),
f AS (
    SELECT *,
           coalesce(ehcps >= 1 AND ehcps <= t, false) AS few,
           coalesce((iss >= 1 AND iss <= t) OR (ehcps - iss >= 1 AND ehcps - iss <= t), false) AS few_iss
    FROM h
)
SELECT la_code, financial_year, s251_line, line_name, spend, spend_basis, share_pct, high_needs_spend,
       CASE WHEN few THEN NULL ELSE ehcps END AS ehcps,
       CASE WHEN few THEN NULL ELSE spend_per_ehcp END AS spend_per_ehcp,
       CASE WHEN few OR few_iss THEN NULL ELSE independent_special_plans_pct END AS independent_special_plans_pct,
       few OR few_iss AS suppressed
FROM f
