-- name: marts.indicators.indicator_catalogue
-- grain: one row per indicator
-- description: What every id in marts.indicators.indicator_values means: name, area, definition,
--   numerator, denominator, window, unit, polarity (higher is better / lower is better /
--   context), sources and the published definition it follows.
SELECT indicator_id, name, area, definition, numerator, denominator, "window", unit, polarity, sources, reference
FROM marts.social_care.indicator_catalogue
UNION ALL
SELECT indicator_id, name, area, definition, numerator, denominator, "window", unit, polarity, sources, reference
FROM marts.send.indicator_catalogue
UNION ALL
SELECT indicator_id, name, area, definition, numerator, denominator, "window", unit, polarity, sources, reference
FROM marts.education.indicator_catalogue
