-- name: marts.send.indicator_values
-- grain: one row per council, SEND indicator and period
-- description: SEND indicators in the long shape of marts.indicators.indicator_values, defined in
--   marts.send.indicator_catalogue. SEN2 is a January snapshot, so months are derived: a council
--   with SEN2 returns for collection years Y1..Yn gets every month from January Y1-1 to December
--   Yn-1 (each return lists the plans active on its census day and those ceased in the calendar
--   year before, and the requests of that year), each plan or request merged over the returns
--   that list it, the latest clean copy winning (marts.send.ehc_plans, marts.send.ehcna_requests;
--   a copy quarantined in a later return erases nothing). Month-end counts
--   (ehcp_at_period_end, ehcp_rate_per_10k) and rolling 12 months to the month end
--   (ehcna_requests, ehcp_issued_within_20wks_pct); the placement and review indicators are only
--   in the returns, so they are per return, period_start = period_end = the census day.
--   `coverage`: 'full', or 'partial' for a 12-month window that starts before the first month
--   the returns cover (January of the year before the first return).
WITH plans AS (
    SELECT * FROM marts.send.ehc_plans WHERE is_latest_return
),
span AS (
    SELECT la_code, min(CAST(return_year AS INT)) AS y1, max(CAST(return_year AS INT)) AS yn
    FROM marts.send.ehc_plans
    GROUP BY la_code
),
m AS (
    SELECT s.la_code, mo.month_start, mo.month_end,
        CAST(mo.month_start - INTERVAL '11 months' AS DATE) AS start_12m,
        CASE WHEN CAST(mo.month_start - INTERVAL '11 months' AS DATE) >= make_date(s.y1 - 1, 1, 1) THEN 'full' ELSE 'partial' END AS coverage_12m
    FROM span s
    JOIN marts.reference.months mo
      ON mo.month_start >= make_date(s.y1 - 1, 1, 1) AND mo.month_end <= make_date(s.yn - 1, 12, 31)
),
pop_years AS (
    SELECT la, CAST(mid_year AS INT) AS mid_year, sum(CAST("count" AS DOUBLE)) AS pop_0_25
    FROM clean.reference.population
    WHERE age BETWEEN 0 AND 25
    GROUP BY la, mid_year
),
pop AS (
    -- the latest mid-year estimate not after the period end year, else the earliest there is
    SELECT la_code, month_end, pop_0_25 FROM (
        SELECT m.la_code, m.month_end, p.pop_0_25,
            row_number() OVER (PARTITION BY m.la_code, m.month_end
                ORDER BY CASE WHEN p.mid_year <= extract(year FROM m.month_end) THEN 0 ELSE 1 END,
                         CASE WHEN p.mid_year <= extract(year FROM m.month_end) THEN -p.mid_year ELSE p.mid_year END) AS rn
        FROM m JOIN pop_years p ON p.la = m.la_code
    ) x WHERE rn = 1
),
stock AS (
    SELECT m.la_code, m.month_start, m.month_end,
        count(p.upn) AS plans,
        count(p.upn) FILTER (WHERE p.birth_date IS NULL OR age_on(p.birth_date, m.month_end) <= 25) AS plans_0_25
    FROM m
    LEFT JOIN plans p ON p.la_code = m.la_code AND p.plan_start <= m.month_end
        AND (p.end_date IS NULL OR p.end_date > m.month_end)
    GROUP BY m.la_code, m.month_start, m.month_end
),
req AS (
    SELECT m.la_code, m.start_12m, m.month_end, m.coverage_12m,
        count(r.upn) AS requests
    FROM m
    LEFT JOIN marts.send.ehcna_requests r ON r.la_code = m.la_code
        AND r.received_date BETWEEN m.start_12m AND m.month_end
    GROUP BY m.la_code, m.start_12m, m.month_end, m.coverage_12m
),
issued AS (
    SELECT m.la_code, m.start_12m, m.month_end, m.coverage_12m,
        count(r.upn) AS in_measure,
        count(r.upn) FILTER (WHERE r.issued_within_20wks) AS in_time
    FROM m
    LEFT JOIN marts.send.ehcna_requests r ON r.la_code = m.la_code AND r.in_20wk_measure
        AND r.plan_issued BETWEEN m.start_12m AND m.month_end
    GROUP BY m.la_code, m.start_12m, m.month_end, m.coverage_12m
),
ret AS (
    SELECT la_code, reference_date,
        count(*) FILTER (WHERE setting IS NOT NULL) AS with_setting,
        count(*) FILTER (WHERE independent_special) AS iss,
        count(*) FILTER (WHERE plan_start <= CAST(reference_date - INTERVAL '12 months' AS DATE)) AS review_due,
        count(*) FILTER (WHERE plan_start <= CAST(reference_date - INTERVAL '12 months' AS DATE)
            AND last_review BETWEEN CAST(reference_date - INTERVAL '12 months' AS DATE) AND reference_date) AS reviewed
    FROM marts.send.ehc_plans
    WHERE active_at_reference
    GROUP BY la_code, reference_date
),
v AS (
    SELECT la_code, 'ehcp_at_period_end' AS indicator_id, month_start AS period_start, month_end AS period_end,
        'month end' AS "window", CAST(plans AS DOUBLE) AS numerator, CAST(NULL AS DOUBLE) AS denominator,
        CAST(plans AS DOUBLE) AS value, 'count' AS unit, 'full' AS coverage
    FROM stock
    UNION ALL
    SELECT s.la_code, 'ehcp_rate_per_10k', s.month_start, s.month_end, 'month end',
        CAST(s.plans_0_25 AS DOUBLE), p.pop_0_25,
        CASE WHEN p.pop_0_25 > 0 THEN 10000.0 * s.plans_0_25 / p.pop_0_25 END, 'per 10,000 aged 0-25', 'full'
    FROM stock s LEFT JOIN pop p ON p.la_code = s.la_code AND p.month_end = s.month_end
    UNION ALL
    SELECT la_code, 'ehcna_requests', start_12m, month_end, '12 months to period end',
        CAST(requests AS DOUBLE), CAST(NULL AS DOUBLE), CAST(requests AS DOUBLE), 'count', coverage_12m
    FROM req
    UNION ALL
    SELECT la_code, 'ehcp_issued_within_20wks_pct', start_12m, month_end, '12 months to period end',
        CAST(in_time AS DOUBLE), CAST(in_measure AS DOUBLE),
        CASE WHEN in_measure > 0 THEN 100.0 * in_time / in_measure END, 'percent', coverage_12m
    FROM issued
    UNION ALL
    SELECT la_code, 'ehcp_independent_special_pct', reference_date, reference_date AS period_end_, 'SEN2 census day',
        CAST(iss AS DOUBLE), CAST(with_setting AS DOUBLE),
        CASE WHEN with_setting > 0 THEN 100.0 * iss / with_setting END, 'percent', 'full'
    FROM ret
    UNION ALL
    SELECT la_code, 'ehcp_annual_review_in_time_pct', reference_date, reference_date AS period_end_, 'SEN2 census day',
        CAST(reviewed AS DOUBLE), CAST(review_due AS DOUBLE),
        CASE WHEN review_due > 0 THEN 100.0 * reviewed / review_due END, 'percent', 'full'
    FROM ret
)
SELECT la_code, indicator_id, CAST(period_start AS DATE) AS period_start, CAST(period_end AS DATE) AS period_end,
    "window", numerator, denominator, value, unit, coverage
FROM v
ORDER BY la_code, indicator_id, period_end
