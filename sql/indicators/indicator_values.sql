-- name: marts.indicators.indicator_values
-- grain: one row per council, indicator and period
-- description: Every indicator Lantern computes, in one long table for Power BI: social care
--   (marts.social_care.indicator_values), SEND (marts.send.indicator_values) and education
--   (marts.education.indicator_values). period_start and period_end bound what the value
--   measures (for 'month end' counts, the month); `window` names the kind of period; numerator
--   and denominator are given wherever the value is a rate or share, so values can be re-added
--   over councils. `coverage` says whether the sources loaded cover the period: 'full', 'partial'
--   (a 12-month window only part of which any return or snapshot covers: the figure counts the
--   months covered; or a month end only a later Annex A snapshot covers, whose lists 6 to 8 keep
--   each child's latest episode, plan or period of care only) or 'none' (no source covers it: no
--   numerator, denominator or value; a measure only the SSDA903 carries, in a council that sends
--   Annex A lists only). Filter
--   on coverage = 'full' for figures comparable over time. Definitions in
--   marts.indicators.indicator_catalogue.
SELECT la_code, indicator_id, period_start, period_end, "window", numerator, denominator, value, unit, coverage
FROM marts.social_care.indicator_values
UNION ALL
SELECT la_code, indicator_id, period_start, period_end, "window", numerator, denominator, value, unit, coverage
FROM marts.send.indicator_values
UNION ALL
SELECT la_code, indicator_id, period_start, period_end, "window", numerator, denominator, value, unit, coverage
FROM marts.education.indicator_values
