-- name: marts.indicators.indicator_catalogue
-- grain: one row per indicator
-- description: What every id in marts.indicators.indicator_values means: name, area, definition,
--   numerator, denominator, window, unit, polarity (higher is better / lower is better /
--   context), sources and the published definition it follows (`reference`); `dfe_source`: the DfE
--   publication and measure it follows (or, where the DfE publishes none, the published
--   definition used instead, said so); `departures`: every way Lantern's figure differs from it.
SELECT indicator_id, name, area, definition, numerator, denominator, "window", unit, polarity, sources, reference, dfe_source, departures
FROM marts.social_care.indicator_catalogue
UNION ALL
SELECT indicator_id, name, area, definition, numerator, denominator, "window", unit, polarity, sources, reference, dfe_source, departures
FROM marts.send.indicator_catalogue
UNION ALL
SELECT indicator_id, name, area, definition, numerator, denominator, "window", unit, polarity, sources, reference, dfe_source, departures
FROM marts.education.indicator_catalogue
