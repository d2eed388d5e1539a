-- name: marts.reference.months
-- grain: one row per calendar month, January 2015 to December 2030 (the years the shipped bank
--   holiday list covers)
-- description: A month calendar for reports and monthly indicators: first and last day,
--   financial year, collection year, England and Wales working days, and the bank holidays that
--   fall in the month as loaded in clean.reference.bank_holidays.
WITH m AS (
    -- 16 years x 12 months (VALUES lists: a plan with generate_series cannot go to a cluster)
    SELECT make_date(2015 + y.n, m.n, 1) AS month_start
    FROM (VALUES (0), (1), (2), (3), (4), (5), (6), (7), (8), (9), (10), (11), (12), (13), (14), (15)) AS y(n)
    CROSS JOIN (VALUES (1), (2), (3), (4), (5), (6), (7), (8), (9), (10), (11), (12)) AS m(n)
),
h AS (
    SELECT "date" AS day
    FROM clean.reference.bank_holidays
    WHERE division = 'england-and-wales'
)
SELECT
    to_char(m.month_start, '%Y-%m') AS month,
    m.month_start,
    month_end(m.month_start) AS month_end,
    financial_year(m.month_start) AS financial_year,
    collection_year(m.month_start) AS collection_year,
    -- working days after the last day of the month before, through the month's last day
    working_days(m.month_start - INTERVAL '1 day', month_end(m.month_start)) AS working_days,
    count(h.day) AS bank_holidays
FROM m
LEFT JOIN h ON h.day BETWEEN m.month_start AND month_end(m.month_start)
GROUP BY m.month_start
ORDER BY m.month_start
