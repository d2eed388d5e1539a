-- name: marts.social_care.cin_cp_values
-- grain: one row per council, children in need or child protection indicator and month
-- description: (value and unit are worked out from `kind` in marts.social_care.indicator_values)
--   Children in need and child protection indicators of
--   marts.indicators.indicator_values: children on a CIN episode or plan at the month end (an
--   episode or plan that ends on the month end is not counted), and plan starts, endings and
--   reviews over the 12 months to the month end; definitions in
--   marts.social_care.indicator_catalogue. `coverage`: how much of the month or window the CIN
--   census and Annex A lists 3 to 7 loaded cover (marts.social_care.months).
WITH m AS (
    SELECT * FROM marts.social_care.months
),
cin AS (
    SELECT m.la_code, m.month_end, count(DISTINCT x.child_id) AS children
    FROM m LEFT JOIN marts.staging.cin_episodes x ON x.la_code = m.la_code
        AND x.start_date <= m.month_end AND (x.end_date IS NULL OR x.end_date > m.month_end)
    GROUP BY m.la_code, m.month_end
),
cpp AS (
    SELECT m.la_code, m.month_end, count(DISTINCT x.child_id) AS children
    FROM m LEFT JOIN marts.staging.cp_plans x ON x.la_code = m.la_code
        AND x.start_date <= m.month_end AND (x.end_date IS NULL OR x.end_date > m.month_end)
    GROUP BY m.la_code, m.month_end
),
plans AS (
    -- a plan is second or subsequent when the return says the child had an earlier one, or an
    -- earlier plan of the child's is in the data
    SELECT p.la_code, p.child_id, p.start_date, p.end_date,
           coalesce(max(p.previous_plans), 0) > 0 OR count(e.child_id) > 0 AS subsequent
    FROM marts.staging.cp_plans p
    LEFT JOIN marts.staging.cp_plans e ON e.la_code = p.la_code AND e.child_id = p.child_id AND e.start_date < p.start_date
    GROUP BY p.la_code, p.child_id, p.start_date, p.end_date
),
starts AS (
    SELECT m.la_code, m.month_end,
           count(x.child_id) AS starts,
           count(x.child_id) FILTER (WHERE x.subsequent) AS subsequent
    FROM m LEFT JOIN plans x ON x.la_code = m.la_code AND x.start_date BETWEEN m.window_start AND m.month_end
    GROUP BY m.la_code, m.month_end
),
ended AS (
    SELECT m.la_code, m.month_end,
           count(x.child_id) AS ended,
           count(x.child_id) FILTER (WHERE x.end_date >= CAST(x.start_date + INTERVAL '2 years' AS DATE)) AS two_years
    FROM m LEFT JOIN marts.staging.cp_plans x ON x.la_code = m.la_code AND NOT x.end_inferred
        AND x.end_date BETWEEN m.window_start AND m.month_end
    GROUP BY m.la_code, m.month_end
),
reviews AS (
    -- plans open at the month end that began at least 3 months before it, with their latest
    -- review on or before the month end and their first review
    SELECT m.la_code, m.month_end, p.child_id, p.start_date,
           min(r.review_date) AS first_review,
           max(r.review_date) AS last_review
    FROM m
    JOIN marts.staging.cp_plans p ON p.la_code = m.la_code
        AND p.start_date <= CAST(m.month_end - INTERVAL '3 months' AS DATE)
        AND (p.end_date IS NULL OR p.end_date > m.month_end)
    LEFT JOIN marts.staging.cp_reviews r ON r.la_code = p.la_code AND r.child_id = p.child_id
        AND r.plan_start = p.start_date AND r.review_date <= m.month_end
    GROUP BY m.la_code, m.month_end, p.child_id, p.start_date
),
rv AS (
    -- in time: a review in the 6 months to the month end and, for a plan begun in those 6
    -- months, its first review within 3 months of the start
    SELECT m.la_code, m.month_end,
           count(x.child_id) AS due,
           count(x.child_id) FILTER (WHERE x.last_review >= CAST(m.month_end - INTERVAL '6 months' AS DATE)
               AND (x.start_date <= CAST(m.month_end - INTERVAL '6 months' AS DATE)
                    OR x.first_review <= CAST(x.start_date + INTERVAL '3 months' AS DATE))) AS in_time
    FROM m LEFT JOIN reviews x ON x.la_code = m.la_code AND x.month_end = m.month_end
    GROUP BY m.la_code, m.month_end
),
f AS (
    SELECT m.la_code, m.month_start, m.window_start, m.month_end, m.population_0_17 AS pop, m.cin_month, m.cin_12m,
           cin.children AS cin, cpp.children AS cpp, starts.starts, starts.subsequent,
           ended.ended, ended.two_years, rv.due, rv.in_time
    FROM m
    JOIN cin ON cin.la_code = m.la_code AND cin.month_end = m.month_end
    JOIN cpp ON cpp.la_code = m.la_code AND cpp.month_end = m.month_end
    JOIN starts ON starts.la_code = m.la_code AND starts.month_end = m.month_end
    JOIN ended ON ended.la_code = m.la_code AND ended.month_end = m.month_end
    JOIN rv ON rv.la_code = m.la_code AND rv.month_end = m.month_end
),
v (la_code, period_start, period_end, "window", indicator_id, numerator, denominator, kind, coverage) AS (
    SELECT la_code, month_start, month_end, 'month end', 'cin_at_period_end', cin, NULL, 'count', cin_month FROM f
    UNION ALL SELECT la_code, month_start, month_end, 'month end', 'cin_rate_per_10k', cin, pop, 'per10k', cin_month FROM f
    UNION ALL SELECT la_code, month_start, month_end, 'month end', 'cpp_at_period_end', cpp, NULL, 'count', cin_month FROM f
    UNION ALL SELECT la_code, month_start, month_end, 'month end', 'cpp_rate_per_10k', cpp, pop, 'per10k', cin_month FROM f
    UNION ALL SELECT la_code, window_start, month_end, '12 months to period end', 'cpp_starts', starts, NULL, 'count', cin_12m FROM f
    UNION ALL SELECT la_code, window_start, month_end, '12 months to period end', 'cpp_second_or_subsequent_pct', subsequent, starts, 'percent', cin_12m FROM f
    UNION ALL SELECT la_code, window_start, month_end, '12 months to period end', 'cpp_ended_2yrs_plus_pct', two_years, ended, 'percent', cin_12m FROM f
    UNION ALL SELECT la_code, month_start, month_end, 'month end', 'cpp_reviews_in_time_pct', in_time, due, 'percent', cin_month FROM f
)
SELECT
    la_code,
    indicator_id,
    CAST(period_start AS DATE) AS period_start,
    CAST(period_end AS DATE) AS period_end,
    "window",
    CAST(numerator AS DOUBLE) AS numerator,
    CAST(denominator AS DOUBLE) AS denominator,
    kind,
    coverage
FROM v
ORDER BY la_code, indicator_id, period_end
