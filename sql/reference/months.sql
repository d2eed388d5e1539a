-- name: marts.reference.months
-- grain: one row per calendar month, January 2015 to December 2030 (the years the shipped bank
--   holiday list covers)
-- description: A month calendar for reports and monthly indicators: first and last day,
--   financial year, collection year, England and Wales working days, and the bank holidays that
--   fall in the month as loaded in clean.reference.bank_holidays.
WITH m AS (
    SELECT CAST(value AS DATE) AS month_start
    FROM generate_series(DATE '2015-01-01', DATE '2030-12-01', INTERVAL '1 month')
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
