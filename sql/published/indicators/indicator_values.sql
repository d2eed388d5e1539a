-- name: published.indicators.indicator_values
-- grain: one row per council, indicator and period (as marts.indicators.indicator_values)
-- description: marts.indicators.indicator_values as it may be shared, with small numbers
--   suppressed as the DfE's statistics on children's social care suppress them (docs/disclosure.md):
--   a count from 1 to the threshold (assumptions.disclosure.setting, 5 unless a council sets
--   another) is withheld, and so is every figure made from it. By unit: a count's value; a
--   percentage's numerator, denominator and value when its numerator, its denominator or the
--   difference of the two (the children not counted, worked out by subtraction) is small; a rate's
--   numerator and value when the numerator is small; a mean's numerator, denominator and value when
--   the children it averages over are few. Withheld cells are NULL and `suppressed` is true (the
--   DfE's 'c'); every other cell is the mart's own.
WITH t AS (
    SELECT CAST(min(threshold) AS DOUBLE) AS t FROM assumptions.disclosure.setting
),
v AS (
    SELECT v.*,
           CASE WHEN v.unit = 'count' THEN 'count'
                WHEN v.unit LIKE '%days' OR v.unit LIKE '%weeks' THEN 'mean'
                WHEN v.unit LIKE 'per %' THEN 'rate'
                ELSE 'share' END AS kind,
           coalesce(t.t, 5) AS t
    FROM marts.indicators.indicator_values v
    LEFT JOIN t ON true
),
s AS (
    SELECT *,
           CASE kind
               WHEN 'count' THEN (value >= 1 AND value <= t) OR (numerator >= 1 AND numerator <= t)
               WHEN 'share' THEN (numerator >= 1 AND numerator <= t)
                              OR (denominator - numerator >= 1 AND denominator - numerator <= t)
                              OR (denominator >= 1 AND denominator <= t)
               WHEN 'rate' THEN (numerator >= 1 AND numerator <= t) OR (denominator >= 1 AND denominator <= t)
               ELSE (denominator >= 1 AND denominator <= t)
           END AS hide
    FROM v
)
SELECT la_code, indicator_id, period_start, period_end, "window",
       CASE WHEN coalesce(hide, false) THEN NULL ELSE numerator END AS numerator,
       CASE WHEN coalesce(hide, false) AND (kind = 'mean' OR (denominator >= 1 AND denominator <= t)) THEN NULL ELSE denominator END AS denominator,
       CASE WHEN coalesce(hide, false) THEN NULL ELSE value END AS value,
       unit, coverage,
       coalesce(hide, false) AS suppressed
FROM s
