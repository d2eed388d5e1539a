-- name: marts.social_care.months
-- grain: one row per council and month its social care data covers
-- description: The months each council's social care exports cover, with the 12-month window
--   ending in each, what the sources loaded cover of it, and the population aged 0-17 that rates
--   use. A CIN census or SSDA903 return for collection year Y covers April Y-1 to March Y; an
--   Annex A snapshot at the end of month M lists the six months M-5 to M. Months run from the
--   first month any CIN census, 903 return or Annex A snapshot (lists 1 and 3 to 8) covers to the
--   last, gaps included (their coverage says so).
--   `window_start` is the first day of the 12 months to the month end (11 months before the
--   month's first day). Coverage, per family of sources: `cin_*` (CIN census; Annex A lists 3 to
--   7), `cla_*` (SSDA903; Annex A list 8) and `contacts_*` (Annex A list 1): `*_month` is 'full'
--   when a return of the family covers the month or a snapshot of it is dated that month,
--   'partial' when only a later snapshot's six months cover it (lists 6 to 8 keep one row per
--   child, the latest, so a month end before the snapshot's can miss a child's earlier episode,
--   plan or period of care; their events over the six months are all there), else 'none';
--   `*_12m` is 'full' when all 12 months of the window are covered, 'none' when none is, else
--   'partial'. `ssda903_month` and `ssda903_12m` are the same for the 903 returns alone, for the
--   measures only they carry (placements, missing episodes).
--   `population_0_17`: the ONS mid-year estimate the DfE uses for the period, summed over single
--   years of age 0 to 17: the mid-year (30 June) inside the financial year of the month (a
--   31 March 2024 figure uses mid-2023, as the DfE's reporting year 2024 does); when that
--   estimate is not loaded, the latest loaded before it (as the DfE fell back to mid-2020 for
--   2022), else the earliest loaded.
WITH returns AS (
    SELECT la AS la_code, 'cin' AS family, make_date(CAST(year AS INT) - 1, 4, 1) AS first_day, make_date(CAST(year AS INT), 3, 31) AS last_day
    FROM (SELECT DISTINCT la, year FROM clean.mosaic.cin_details) c
    UNION ALL
    SELECT la, 'cla', make_date(CAST(year AS INT) - 1, 4, 1), make_date(CAST(year AS INT), 3, 31)
    FROM (SELECT DISTINCT la, year FROM clean.mosaic.ssda903_episodes) e
),
snapshots AS (
    SELECT la AS la_code, family, CAST(snapshot || '-01' AS DATE) AS month_start
    FROM (
        SELECT DISTINCT la, snapshot, 'cin' AS family FROM clean.mosaic.annex_a_list_3_referrals
        UNION SELECT DISTINCT la, snapshot, 'cin' FROM clean.mosaic.annex_a_list_4_assessments
        UNION SELECT DISTINCT la, snapshot, 'cin' FROM clean.mosaic.annex_a_list_5_s47
        UNION SELECT DISTINCT la, snapshot, 'cin' FROM clean.mosaic.annex_a_list_6_cin
        UNION SELECT DISTINCT la, snapshot, 'cin' FROM clean.mosaic.annex_a_list_7_cp
        UNION SELECT DISTINCT la, snapshot, 'cla' FROM clean.mosaic.annex_a_list_8_cla
        UNION SELECT DISTINCT la, snapshot, 'contacts' FROM clean.mosaic.annex_a_list_1_contacts
    ) a
),
covered AS (
    -- a family's months: every month of a return's year and of a snapshot's six months; `*_at`:
    -- the months whose month end a return or snapshot shows as it stood (a return's year, a
    -- snapshot's own month: lists 6 to 8 keep one row per child, the latest, so a month end
    -- before the snapshot's may miss a child's earlier episode, plan or period of care);
    -- `ssda903`: the months a 903 return covers
    SELECT la_code, family, first_day, last_day FROM returns
    UNION ALL SELECT la_code, family || '_at', first_day, last_day FROM returns
    UNION ALL SELECT la_code, 'ssda903', first_day, last_day FROM returns WHERE family = 'cla'
    UNION ALL
    SELECT la_code, family, CAST(month_start - INTERVAL '5 months' AS DATE), month_end(month_start) FROM snapshots
    UNION ALL
    SELECT la_code, family || '_at', month_start, month_end(month_start) FROM snapshots WHERE family <> 'contacts'
),
span AS (
    SELECT la_code, min(first_day) AS first_day, max(last_day) AS last_day
    FROM covered
    GROUP BY la_code
),
covered_months AS (
    SELECT DISTINCT c.la_code, c.family, mo.month_start
    FROM covered c
    JOIN marts.reference.months mo ON mo.month_start >= c.first_day AND mo.month_end <= c.last_day
),
m AS (
    SELECT s.la_code, mo.month, mo.month_start, mo.month_end,
           CAST(mo.month_start - INTERVAL '11 months' AS DATE) AS window_start
    FROM span s
    JOIN marts.reference.months mo ON mo.month_start >= s.first_day AND mo.month_end <= s.last_day
),
cov AS (
    SELECT m.la_code, m.month_end,
           count(c.month_start) FILTER (WHERE c.family = 'cin') AS cin_12m,
           count(c.month_start) FILTER (WHERE c.family = 'cla') AS cla_12m,
           count(c.month_start) FILTER (WHERE c.family = 'contacts') AS contacts_12m,
           count(c.month_start) FILTER (WHERE c.family = 'ssda903') AS ssda903_12m,
           count(c.month_start) FILTER (WHERE c.family = 'cin' AND c.month_start = m.month_start) > 0 AS cin_month,
           count(c.month_start) FILTER (WHERE c.family = 'cla' AND c.month_start = m.month_start) > 0 AS cla_month,
           count(c.month_start) FILTER (WHERE c.family = 'cin_at' AND c.month_start = m.month_start) > 0 AS cin_at,
           count(c.month_start) FILTER (WHERE c.family = 'cla_at' AND c.month_start = m.month_start) > 0 AS cla_at,
           count(c.month_start) FILTER (WHERE c.family = 'ssda903' AND c.month_start = m.month_start) > 0 AS ssda903_month
    FROM m
    LEFT JOIN covered_months c ON c.la_code = m.la_code AND c.month_start BETWEEN m.window_start AND m.month_start
    GROUP BY m.la_code, m.month_end
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
                ORDER BY CASE WHEN p.mid_year <= m.dfe_mid_year THEN 0 ELSE 1 END,
                         CASE WHEN p.mid_year <= m.dfe_mid_year THEN -p.mid_year ELSE p.mid_year END) AS rn
        FROM (
            SELECT la_code, month_end,
                   CAST(extract(year FROM month_end) AS INT) - CASE WHEN extract(month FROM month_end) < 4 THEN 1 ELSE 0 END AS dfe_mid_year
            FROM m
        ) m JOIN pop_years p ON p.la = m.la_code
    ) x WHERE rn = 1
)
SELECT m.la_code, m.month, m.month_start, m.month_end, m.window_start, p.pop_0_17 AS population_0_17,
       CASE WHEN c.cin_at THEN 'full' WHEN c.cin_month THEN 'partial' ELSE 'none' END AS cin_month,
       CASE c.cin_12m WHEN 12 THEN 'full' WHEN 0 THEN 'none' ELSE 'partial' END AS cin_12m,
       CASE WHEN c.cla_at THEN 'full' WHEN c.cla_month THEN 'partial' ELSE 'none' END AS cla_month,
       CASE c.cla_12m WHEN 12 THEN 'full' WHEN 0 THEN 'none' ELSE 'partial' END AS cla_12m,
       CASE WHEN c.ssda903_month THEN 'full' ELSE 'none' END AS ssda903_month,
       CASE c.ssda903_12m WHEN 12 THEN 'full' WHEN 0 THEN 'none' ELSE 'partial' END AS ssda903_12m,
       CASE c.contacts_12m WHEN 12 THEN 'full' WHEN 0 THEN 'none' ELSE 'partial' END AS contacts_12m
FROM m
LEFT JOIN pop p ON p.la_code = m.la_code AND p.month_end = m.month_end
JOIN cov c ON c.la_code = m.la_code AND c.month_end = m.month_end
ORDER BY m.la_code, m.month_start
