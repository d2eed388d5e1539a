-- name: published.indicators.indicator_comparison
-- grain: one row per council, indicator and reporting year a benchmark is loaded for (as
--   marts.indicators.indicator_comparison)
-- description: marts.indicators.indicator_comparison as it may be shared: the council's value
--   and its difference from England are withheld where published.indicators.indicator_values
--   withholds the council's figure for that indicator and period (docs/disclosure.md); the
--   England, region and neighbour values are published figures and stay.
WITH hidden AS (
    SELECT DISTINCT la_code, indicator_id, period_end
    FROM published.indicators.indicator_values
    WHERE suppressed
)
SELECT c.la_code, c.indicator_id, c.reporting_year, c.period_end,
       CASE WHEN h.la_code IS NULL THEN c.value END AS value,
       c.england, c.region, c.statistical_neighbours,
       CASE WHEN h.la_code IS NULL THEN c.difference END AS difference,
       CASE WHEN h.la_code IS NULL THEN c.better_than_england END AS better_than_england,
       h.la_code IS NOT NULL AS suppressed
FROM marts.indicators.indicator_comparison c
LEFT JOIN hidden h ON h.la_code = c.la_code AND h.indicator_id = c.indicator_id AND h.period_end = c.period_end
