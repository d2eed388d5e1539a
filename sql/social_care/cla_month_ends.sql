-- name: marts.social_care.cla_month_ends
-- grain: one row per council, month end and child looked after at it
-- description: The children in care at each month end of marts.social_care.months, with the
--   start of the period of care they are in and their date of birth: the population the month-end
--   children in care indicators of marts.social_care.cla_values count. A child is looked after at
--   a month end when a period of care (marts.staging.care_periods) started on or before it and has
--   not ended by it (a period ending on the month end is not counted). `birth_date` is the one the
--   latest SSDA903 header or Annex A list 8 snapshot gives for the child (returns as at 31 March
--   of their year, snapshots as at their month end, the 903 winning a tie: the same precedence
--   as the staging models), NULL when neither does. (It was the latest date any of them gave,
--   which made a child younger whenever one copy was wrong.)
WITH dob_seen AS (
    SELECT la AS la_code, "CHILD" AS child_id, "DOB" AS birth_date,
           make_date(CAST(year AS INT), 3, 31) AS as_at, 1 AS priority
    FROM clean.mosaic.ssda903_header
    WHERE "DOB" IS NOT NULL
    UNION ALL
    SELECT la, "Child Unique ID", "Date of Birth",
           CAST(month_end(CAST(snapshot || '-01' AS DATE)) AS DATE), 2
    FROM clean.mosaic.annex_a_list_8_cla
    WHERE "Date of Birth" IS NOT NULL
),
dob AS (
    SELECT la_code, child_id, first_value(birth_date ORDER BY as_at DESC, priority) AS birth_date
    FROM dob_seen
    GROUP BY la_code, child_id
)
SELECT m.la_code, m.month_start, m.month_end, p.child_id, p.period_start, d.birth_date
FROM marts.social_care.months m
JOIN marts.staging.care_periods p ON p.la_code = m.la_code
    AND p.period_start <= m.month_end AND (p.period_end IS NULL OR p.period_end > m.month_end)
LEFT JOIN dob d ON d.la_code = p.la_code AND d.child_id = p.child_id
ORDER BY m.la_code, m.month_end, p.child_id
