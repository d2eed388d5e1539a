-- name: marts.indicators.indicator_breakdowns
-- grain: one row per council, indicator, period, dimension and category
-- description: Every breakdown in one long table beside marts.indicators.indicator_values (same
--   ids and periods): social care (marts.social_care.indicator_breakdowns) and SEND
--   (marts.send.indicator_breakdowns). Filter on `dimension` and put `category` on an axis.
SELECT la_code, indicator_id, period_start, period_end, "window", dimension, category, value, share_pct
FROM marts.social_care.indicator_breakdowns
UNION ALL
SELECT la_code, indicator_id, period_start, period_end, "window", dimension, category, value, share_pct
FROM marts.send.indicator_breakdowns
