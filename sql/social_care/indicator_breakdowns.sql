-- name: marts.social_care.indicator_breakdowns
-- grain: one row per council, indicator, month end, dimension and category
-- description: The headline social care counts broken down the way a BI team slices them, as a
--   tidy long table beside marts.indicators.indicator_values (same indicator ids and periods):
--   referrals in the 12 months to the month end by referral source, age band at referral and
--   allocated team (Annex A only: the locality the exports carry); children in need at the month
--   end by primary need, age band and sex; children on a protection plan by latest category of
--   abuse and age band; children in care by placement type, placement provider, legal status
--   and age band (placement and legal status from the 903 episode open at the month end).
--   Age bands are DfE's (under 1, 1-4, 5-9, 10-15, 16-17, 18 and over) on the month end (on the
--   referral date for referrals); 'not recorded' where the export says nothing. `share_pct` is
--   the category's share of the indicator's total for that council and period. Periods no source
--   covers (coverage 'none' in marts.indicators.indicator_values) have no breakdown.
WITH m AS (
    SELECT * FROM marts.social_care.months
),
kids AS (
    SELECT la_code, child_id, birth_date, sex FROM marts.staging.children
),
referral_rows AS (
    SELECT m.la_code, m.window_start AS period_start, m.month_end, r.child_id, r.referral_date, r.referral_source, r.allocated_team, k.birth_date
    FROM m
    JOIN marts.staging.referrals r ON r.la_code = m.la_code AND r.referral_date BETWEEN m.window_start AND m.month_end
        AND m.cin_12m <> 'none'
    LEFT JOIN kids k ON k.la_code = r.la_code AND k.child_id = r.child_id
),
cin_rows AS (
    SELECT m.la_code, m.month_start AS period_start, m.month_end, e.child_id,
           first_value(e.primary_need ORDER BY e.start_date DESC) AS primary_need,
           max(k.birth_date) AS birth_date, max(k.sex) AS sex
    FROM m
    JOIN marts.staging.cin_episodes e ON e.la_code = m.la_code AND m.cin_month = 'full'
        AND e.start_date <= m.month_end AND (e.end_date IS NULL OR e.end_date > m.month_end)
    LEFT JOIN kids k ON k.la_code = e.la_code AND k.child_id = e.child_id
    GROUP BY m.la_code, m.month_start, m.month_end, e.child_id
),
cpp_rows AS (
    SELECT m.la_code, m.month_start AS period_start, m.month_end, p.child_id,
           first_value(p.latest_category ORDER BY p.start_date DESC) AS category,
           max(k.birth_date) AS birth_date
    FROM m
    JOIN marts.staging.cp_plans p ON p.la_code = m.la_code AND m.cin_month = 'full'
        AND p.start_date <= m.month_end AND (p.end_date IS NULL OR p.end_date > m.month_end)
    LEFT JOIN kids k ON k.la_code = p.la_code AND k.child_id = p.child_id
    GROUP BY m.la_code, m.month_start, m.month_end, p.child_id
),
cla_rows AS (
    SELECT m.la_code, m.month_start AS period_start, m.month_end, p.child_id,
           first_value(e.place ORDER BY e.decom DESC) AS placement_type,
           first_value(e.place_provider ORDER BY e.decom DESC) AS provider,
           first_value(e.ls ORDER BY e.decom DESC) AS legal_status,
           max(k.birth_date) AS birth_date
    FROM m
    JOIN marts.staging.care_periods p ON p.la_code = m.la_code AND m.cla_month = 'full'
        AND p.period_start <= m.month_end AND (p.period_end IS NULL OR p.period_end > m.month_end)
    LEFT JOIN marts.staging.care_episodes e ON e.la_code = p.la_code AND e.child_id = p.child_id
        AND e.decom <= m.month_end AND (e.dec IS NULL OR e.dec > m.month_end)
    LEFT JOIN kids k ON k.la_code = p.la_code AND k.child_id = p.child_id
    GROUP BY m.la_code, m.month_start, m.month_end, p.child_id
),
tagged (la_code, indicator_id, period_start, period_end, "window", dimension, category) AS (
    SELECT la_code, 'referrals', period_start, month_end, '12 months to period end', 'referral_source', referral_source FROM referral_rows
    UNION ALL SELECT la_code, 'referrals', period_start, month_end, '12 months to period end', 'age_band',
        CASE WHEN birth_date IS NULL THEN NULL ELSE CASE WHEN age_on(birth_date, referral_date) < 1 THEN 'under 1' WHEN age_on(birth_date, referral_date) < 5 THEN '1-4' WHEN age_on(birth_date, referral_date) < 10 THEN '5-9' WHEN age_on(birth_date, referral_date) < 16 THEN '10-15' WHEN age_on(birth_date, referral_date) < 18 THEN '16-17' ELSE '18 and over' END END FROM referral_rows
    UNION ALL SELECT la_code, 'referrals', period_start, month_end, '12 months to period end', 'allocated_team', allocated_team FROM referral_rows
    UNION ALL SELECT la_code, 'cin_at_period_end', period_start, month_end, 'month end', 'primary_need', primary_need FROM cin_rows
    UNION ALL SELECT la_code, 'cin_at_period_end', period_start, month_end, 'month end', 'age_band',
        CASE WHEN birth_date IS NULL THEN NULL ELSE CASE WHEN age_on(birth_date, month_end) < 1 THEN 'under 1' WHEN age_on(birth_date, month_end) < 5 THEN '1-4' WHEN age_on(birth_date, month_end) < 10 THEN '5-9' WHEN age_on(birth_date, month_end) < 16 THEN '10-15' WHEN age_on(birth_date, month_end) < 18 THEN '16-17' ELSE '18 and over' END END FROM cin_rows
    UNION ALL SELECT la_code, 'cin_at_period_end', period_start, month_end, 'month end', 'sex', sex FROM cin_rows
    UNION ALL SELECT la_code, 'cpp_at_period_end', period_start, month_end, 'month end', 'category_of_abuse', category FROM cpp_rows
    UNION ALL SELECT la_code, 'cpp_at_period_end', period_start, month_end, 'month end', 'age_band',
        CASE WHEN birth_date IS NULL THEN NULL ELSE CASE WHEN age_on(birth_date, month_end) < 1 THEN 'under 1' WHEN age_on(birth_date, month_end) < 5 THEN '1-4' WHEN age_on(birth_date, month_end) < 10 THEN '5-9' WHEN age_on(birth_date, month_end) < 16 THEN '10-15' WHEN age_on(birth_date, month_end) < 18 THEN '16-17' ELSE '18 and over' END END FROM cpp_rows
    UNION ALL SELECT la_code, 'cla_at_period_end', period_start, month_end, 'month end', 'placement_type', placement_type FROM cla_rows
    UNION ALL SELECT la_code, 'cla_at_period_end', period_start, month_end, 'month end', 'placement_provider', provider FROM cla_rows
    UNION ALL SELECT la_code, 'cla_at_period_end', period_start, month_end, 'month end', 'legal_status', legal_status FROM cla_rows
    UNION ALL SELECT la_code, 'cla_at_period_end', period_start, month_end, 'month end', 'age_band',
        CASE WHEN birth_date IS NULL THEN NULL ELSE CASE WHEN age_on(birth_date, month_end) < 1 THEN 'under 1' WHEN age_on(birth_date, month_end) < 5 THEN '1-4' WHEN age_on(birth_date, month_end) < 10 THEN '5-9' WHEN age_on(birth_date, month_end) < 16 THEN '10-15' WHEN age_on(birth_date, month_end) < 18 THEN '16-17' ELSE '18 and over' END END FROM cla_rows
),
counted AS (
    SELECT la_code, indicator_id, period_start, period_end, "window", dimension,
           coalesce(category, 'not recorded') AS category, count(*) AS n
    FROM tagged
    GROUP BY la_code, indicator_id, period_start, period_end, "window", dimension, coalesce(category, 'not recorded')
)
SELECT
    la_code,
    indicator_id,
    CAST(period_start AS DATE) AS period_start,
    CAST(period_end AS DATE) AS period_end,
    "window",
    dimension,
    category,
    CAST(n AS DOUBLE) AS value,
    100.0 * n / sum(n) OVER (PARTITION BY la_code, indicator_id, period_end, dimension) AS share_pct
FROM counted
ORDER BY la_code, indicator_id, period_end, dimension, category
