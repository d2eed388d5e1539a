-- name: published.indicators.indicator_breakdowns
-- grain: one row per council, indicator, period, dimension and category (as
--   marts.indicators.indicator_breakdowns)
-- description: marts.indicators.indicator_breakdowns as it may be shared (docs/disclosure.md).
--   Primary suppression: a category's count from 1 to the threshold (assumptions.disclosure.setting)
--   is withheld with its share. Secondary suppression, within each breakdown (council, indicator,
--   period, window, dimension), whose categories add up to a total published beside it: while a
--   withheld count could be worked out from that total (only one count withheld), or the withheld
--   counts together are so few that each must be small (their sum less the number of them, minus
--   one, is at most the threshold), the next smallest non-zero count is withheld too. Withheld
--   cells are NULL and `suppressed` is true.
WITH t AS (
    SELECT CAST(min(threshold) AS DOUBLE) AS t FROM assumptions.disclosure.setting
),
b AS (
    SELECT b.*, coalesce(t.t, 5) AS t,
           coalesce(b.value >= 1 AND b.value <= coalesce(t.t, 5), false) AS small
    FROM marts.indicators.indicator_breakdowns b
    LEFT JOIN t ON true
),
g AS (
    SELECT *,
           sum(CASE WHEN small THEN 1 ELSE 0 END)
               OVER (PARTITION BY la_code, indicator_id, period_start, period_end, "window", dimension) AS k,
           sum(CASE WHEN small THEN value ELSE 0 END)
               OVER (PARTITION BY la_code, indicator_id, period_start, period_end, "window", dimension) AS s,
           -- the other non-zero counts, smallest first: which one this is, and what those before it add to
           row_number()
               OVER (PARTITION BY la_code, indicator_id, period_start, period_end, "window", dimension, small OR coalesce(value, 0) <= 0
                     ORDER BY value, category) AS r,
           coalesce(sum(value)
               OVER (PARTITION BY la_code, indicator_id, period_start, period_end, "window", dimension, small OR coalesce(value, 0) <= 0
                     ORDER BY value, category ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS before
    FROM b
),
h AS (
    SELECT *,
           small OR (
               k >= 1 AND coalesce(value, 0) > 0
               -- withheld so far: the small ones and the r - 1 before this one
               AND NOT (k + r - 1 >= 2 AND s + before - (k + r - 2) > t)
           ) AS hide
    FROM g
)
SELECT la_code, indicator_id, period_start, period_end, "window", dimension, category,
       CASE WHEN hide THEN NULL ELSE value END AS value,
       CASE WHEN hide THEN NULL ELSE share_pct END AS share_pct,
       hide AS suppressed
FROM h
