-- name: marts.indicators.indicator_values
-- grain: one row per council, indicator and period
-- description: Every indicator Lantern computes, in one long table for Power BI: social care
--   (marts.social_care.indicator_values), SEND (marts.send.indicator_values) and education
--   (marts.education.indicator_values). period_start and period_end bound what the value
--   measures (for 'month end' counts, the month); `window` names the kind of period; numerator
--   and denominator are given wherever the value is a rate or share, so values can be re-added
--   over councils. Definitions in marts.indicators.indicator_catalogue.
SELECT la_code, indicator_id, period_start, period_end, "window", numerator, denominator, value, unit
FROM marts.social_care.indicator_values
UNION ALL
SELECT la_code, indicator_id, period_start, period_end, "window", numerator, denominator, value, unit
FROM marts.send.indicator_values
UNION ALL
SELECT la_code, indicator_id, period_start, period_end, "window", numerator, denominator, value, unit
FROM marts.education.indicator_values
