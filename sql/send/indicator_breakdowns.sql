-- name: marts.send.indicator_breakdowns
-- grain: one row per council, SEN2 census day, dimension and category
-- description: EHC plans active on each SEN2 census day broken down as a BI team slices them, in
--   the long shape of marts.social_care.indicator_breakdowns (indicator ehcp_at_period_end,
--   period_start = period_end = the census day): by rank-1 placement setting (as
--   marts.send.ehc_plans derives it), by rank-1 primary need (SEN type), and by age band on the
--   census day (under 5, 5-10, 11-15, 16-19, 20-25, 26 and over: the DfE's EHC plan age groups).
--   'not recorded' where the return says nothing; `share_pct` is the category's share of the plans.
WITH active AS (
    SELECT la_code, reference_date, upn, setting, primary_need, birth_date
    FROM marts.send.ehc_plans
    WHERE active_at_reference
),
tagged (la_code, reference_date, dimension, category) AS (
    SELECT la_code, reference_date, 'setting', setting FROM active
    UNION ALL SELECT la_code, reference_date, 'primary_need', primary_need FROM active
    UNION ALL SELECT la_code, reference_date, 'age_band',
        CASE WHEN birth_date IS NULL THEN NULL
             WHEN age_on(birth_date, reference_date) < 5 THEN 'under 5'
             WHEN age_on(birth_date, reference_date) < 11 THEN '5-10'
             WHEN age_on(birth_date, reference_date) < 16 THEN '11-15'
             WHEN age_on(birth_date, reference_date) < 20 THEN '16-19'
             WHEN age_on(birth_date, reference_date) < 26 THEN '20-25'
             ELSE '26 and over' END
    FROM active
),
counted AS (
    SELECT la_code, reference_date, dimension, coalesce(category, 'not recorded') AS category, count(*) AS n
    FROM tagged
    GROUP BY la_code, reference_date, dimension, coalesce(category, 'not recorded')
)
SELECT
    la_code,
    'ehcp_at_period_end' AS indicator_id,
    CAST(reference_date AS DATE) AS period_start,
    CAST(reference_date AS DATE) AS period_end,
    'SEN2 census day' AS "window",
    dimension,
    category,
    CAST(n AS DOUBLE) AS value,
    100.0 * n / sum(n) OVER (PARTITION BY la_code, reference_date, dimension) AS share_pct
FROM counted
ORDER BY la_code, period_end, dimension, category
