-- name: marts.social_care.months
-- grain: one row per council and month its social care data covers
-- description: The months each council's social care exports cover, with the 12-month window
--   ending in each and the population aged 0-17 that rates use. A CIN census or SSDA903 return
--   for collection year Y covers April Y-1 to March Y; an Annex A snapshot at the end of month M
--   lists the six months M-5 to M. Months run from the first month any export covers to the last.
--   `window_start` is the first day of the 12 months to the month end (11 months before the
--   month's first day). `population_0_17`: the latest ONS mid-year estimate for the council not
--   after the month's year (else the earliest loaded), summed over single years of age 0 to 17.
WITH covered AS (
    SELECT la AS la_code, make_date(CAST(year AS INT) - 1, 4, 1) AS first_day, make_date(CAST(year AS INT), 3, 31) AS last_day
    FROM (SELECT DISTINCT la, year FROM clean.mosaic.cin_details) c
    UNION ALL
    SELECT la, make_date(CAST(year AS INT) - 1, 4, 1), make_date(CAST(year AS INT), 3, 31)
    FROM (SELECT DISTINCT la, year FROM clean.mosaic.ssda903_episodes) e
    UNION ALL
    SELECT la, CAST(CAST(snapshot || '-01' AS DATE) - INTERVAL '5 months' AS DATE),
           month_end(CAST(snapshot || '-01' AS DATE))
    FROM (
        SELECT DISTINCT la, snapshot FROM clean.mosaic.annex_a_list_3_referrals
        UNION
        SELECT DISTINCT la, snapshot FROM clean.mosaic.annex_a_list_8_cla
    ) a
),
span AS (
    SELECT la_code, min(first_day) AS first_day, max(last_day) AS last_day
    FROM covered
    GROUP BY la_code
),
m AS (
    SELECT s.la_code, mo.month, mo.month_start, mo.month_end,
           CAST(mo.month_start - INTERVAL '11 months' AS DATE) AS window_start
    FROM span s
    JOIN marts.reference.months mo ON mo.month_start >= s.first_day AND mo.month_end <= s.last_day
),
pop_years AS (
    SELECT la, CAST(mid_year AS INT) AS mid_year, sum(CAST("count" AS DOUBLE)) AS pop_0_17
    FROM clean.reference.population
    WHERE age BETWEEN 0 AND 17
    GROUP BY la, mid_year
),
pop AS (
    SELECT la_code, month_end, pop_0_17 FROM (
        SELECT m.la_code, m.month_end, p.pop_0_17,
            row_number() OVER (PARTITION BY m.la_code, m.month_end
                ORDER BY CASE WHEN p.mid_year <= extract(year FROM m.month_end) THEN 0 ELSE 1 END,
                         CASE WHEN p.mid_year <= extract(year FROM m.month_end) THEN -p.mid_year ELSE p.mid_year END) AS rn
        FROM m JOIN pop_years p ON p.la = m.la_code
    ) x WHERE rn = 1
)
SELECT m.la_code, m.month, m.month_start, m.month_end, m.window_start, p.pop_0_17 AS population_0_17
FROM m
LEFT JOIN pop p ON p.la_code = m.la_code AND p.month_end = m.month_end
ORDER BY m.la_code, m.month_start
