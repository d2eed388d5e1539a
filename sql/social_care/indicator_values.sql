-- name: marts.social_care.indicator_values
-- grain: one row per council, social care indicator and period
-- description: Every social care indicator in the long shape of marts.indicators.indicator_values:
--   the front door, children in need and protection, and children in care, care leavers and
--   adoption, as defined in marts.social_care.indicator_catalogue. The three value models give
--   numerator, denominator, `kind` and `coverage`; the value is worked out here once: a count is
--   the numerator, a percent 100 x numerator / denominator, a rate per 10,000 children aged 0-17
--   10,000 x numerator / denominator, a mean (working days, days) numerator / denominator; NULL
--   when the denominator is 0 or missing. `coverage` says whether the sources loaded cover the
--   period: 'full', 'partial' (some months of a 12-month window have no return or snapshot: the
--   figure counts only the months covered; or a month end only a later Annex A snapshot covers)
--   or 'none' (no source covers it: numerator, denominator and value are NULL, never a count of
--   nothing), as marts.social_care.months works it out.
WITH v AS (
    SELECT * FROM marts.social_care.front_door_values
    UNION ALL
    SELECT * FROM marts.social_care.cin_cp_values
    UNION ALL
    SELECT * FROM marts.social_care.cla_values
)
SELECT
    la_code,
    indicator_id,
    period_start,
    period_end,
    "window",
    CASE WHEN coverage <> 'none' THEN numerator END AS numerator,
    CASE WHEN coverage <> 'none' THEN denominator END AS denominator,
    CASE WHEN coverage = 'none' THEN NULL
        ELSE CASE kind
            WHEN 'count' THEN numerator
            WHEN 'percent' THEN CASE WHEN denominator > 0 THEN 100.0 * numerator / denominator END
            WHEN 'per10k' THEN CASE WHEN denominator > 0 THEN 10000.0 * numerator / denominator END
            ELSE CASE WHEN denominator > 0 THEN numerator / denominator END
        END
    END AS value,
    CASE kind WHEN 'per10k' THEN 'per 10,000 aged 0-17' ELSE kind END AS unit,
    coverage
FROM v
