-- name: marts.finance.cla_funding_envelope
-- grain: one row per council, month of the envelope and placement type
-- description: The children in care "funding envelope" as Dorset builds it, from the assumptions
--   in assumptions.cla_funding_envelope (the council's row, else the row with no la): the cohort
--   in care at the end of base_date in their placement type then (marts.finance.placements_typed;
--   'Not typed' when the 903 gives none), each leaving on their 18th birthday (leave_at_18,
--   default true: the night before the birthday is the last); plus entrants_per_month from the
--   first of every month, placed in entrant_placement_type (default Fostering); plus and minus
--   the children moved between types and the permanence exits of the `move` and `exit` tables,
--   from the first of their month and for every month after. Month 1 is the month after the base
--   date. `children`: at the month end; `nights`: in the month (neither goes below 0 for a type).
--   Each night is priced at the type's weekly cost / 7: the `weekly_cost` table's, else the
--   type's average over the 12 months to the base date's month in marts.finance.placement_costs;
--   raised by external_price_uplift_pct for external types (the weekly_cost row's `external`,
--   else every type but Fostering, Connected carers and Adoption). Entrants, moves and exits may
--   be fractions of a child (8.75 a month is 105 a year).
WITH councils AS (
    SELECT DISTINCT la_code FROM marts.staging.care_periods
),
env AS (
    SELECT c.la_code, e.base_date, coalesce(e.months, 12) AS months, coalesce(e.entrants_per_month, 0) AS entrants_per_month,
           coalesce(e.entrant_placement_type, 'Fostering') AS entrant_placement_type,
           coalesce(e.external_price_uplift_pct, 0) AS uplift_pct, coalesce(e.leave_at_18, true) AS leave_at_18
    FROM councils c
    JOIN (
        SELECT c.la_code, e.*, row_number() OVER (PARTITION BY c.la_code ORDER BY CASE WHEN e.la IS NULL THEN 1 ELSE 0 END) AS rn
        FROM councils c JOIN assumptions.cla_funding_envelope.envelope e ON e.la = c.la_code OR e.la IS NULL
    ) e ON e.la_code = c.la_code AND e.rn = 1
),
months AS (
    SELECT env.*, CAST(g.value AS BIGINT) AS month,
           make_date(CAST((CAST(extract(year FROM env.base_date) AS BIGINT) * 12 + CAST(extract(month FROM env.base_date) AS BIGINT) - 1 + g.value) / 12 AS INT),
                     CAST((CAST(extract(year FROM env.base_date) AS BIGINT) * 12 + CAST(extract(month FROM env.base_date) AS BIGINT) - 1 + g.value) % 12 + 1 AS INT),
                     1) AS month_start
    FROM env
    CROSS JOIN (
        -- 1 to 60 (a VALUES list, not generate_series: plans with it cannot go to a cluster)
        SELECT tens.n * 10 + units.n + 1 AS value
        FROM (VALUES (0), (1), (2), (3), (4), (5)) AS tens(n) CROSS JOIN (VALUES (0), (1), (2), (3), (4), (5), (6), (7), (8), (9)) AS units(n)
    ) g
    WHERE g.value <= env.months
),
cohort AS (
    SELECT e.la_code, p.child_id, coalesce(max(t.placement_type), 'Not typed') AS placement_type,
           CASE WHEN e.leave_at_18 THEN max(CAST(k.birth_date + INTERVAL '18 years' AS DATE)) END AS leaves
    FROM env e
    JOIN marts.staging.care_periods p ON p.la_code = e.la_code
        AND p.period_start <= e.base_date AND (p.period_end IS NULL OR p.period_end > e.base_date)
    LEFT JOIN marts.finance.placements_typed t ON t.la_code = p.la_code AND t.child_id = p.child_id
        AND t.placement_start <= e.base_date AND (t.placement_end IS NULL OR t.placement_end > e.base_date)
    LEFT JOIN marts.staging.children k ON k.la_code = p.la_code AND k.child_id = p.child_id
    GROUP BY e.la_code, p.child_id, e.leave_at_18
),
cohort_months AS (
    SELECT m.la_code, m.month, c.placement_type,
           sum(CASE WHEN c.leaves IS NULL OR c.leaves > month_end(m.month_start) THEN 1 ELSE 0 END) AS children,
           sum(greatest(0, CAST(least(coalesce(c.leaves, DATE '9999-12-31'), CAST(month_end(m.month_start) + INTERVAL '1 day' AS DATE)) - m.month_start AS BIGINT))) AS nights
    FROM months m JOIN cohort c ON c.la_code = m.la_code
    GROUP BY m.la_code, m.month, c.placement_type
),
changes AS (
    -- children added to (+) or taken from (-) a type from the first of a month on
    SELECT la_code, 0 AS from_month, entrant_placement_type AS placement_type, 0.0 AS children, entrants_per_month AS per_month FROM env
    UNION ALL
    SELECT e.la_code, mv.month, mv.to_type, mv.children, 0.0 FROM env e JOIN assumptions.cla_funding_envelope.move mv ON mv.la = e.la_code OR mv.la IS NULL
    UNION ALL
    SELECT e.la_code, mv.month, mv.from_type, -mv.children, 0.0 FROM env e JOIN assumptions.cla_funding_envelope.move mv ON mv.la = e.la_code OR mv.la IS NULL
    UNION ALL
    SELECT e.la_code, x.month, x.placement_type, -x.children, 0.0 FROM env e JOIN assumptions.cla_funding_envelope.exit x ON x.la = e.la_code OR x.la IS NULL
),
change_months AS (
    SELECT m.la_code, m.month, c.placement_type,
           sum(CASE WHEN c.from_month <= m.month THEN c.children ELSE 0 END + c.per_month * m.month) AS children,
           max(CAST(month_end(m.month_start) - m.month_start AS BIGINT) + 1) AS days
    FROM months m JOIN changes c ON c.la_code = m.la_code
    GROUP BY m.la_code, m.month, c.placement_type
),
types AS (
    SELECT la_code, month, placement_type FROM cohort_months
    UNION
    SELECT la_code, month, placement_type FROM change_months
),
counted AS (
    SELECT t.la_code, t.month, t.placement_type,
           greatest(0.0, coalesce(CAST(c.children AS DOUBLE), 0) + coalesce(ch.children, 0)) AS children,
           greatest(0.0, coalesce(CAST(c.nights AS DOUBLE), 0) + coalesce(ch.children * ch.days, 0)) AS nights
    FROM types t
    LEFT JOIN cohort_months c ON c.la_code = t.la_code AND c.month = t.month AND c.placement_type = t.placement_type
    LEFT JOIN change_months ch ON ch.la_code = t.la_code AND ch.month = t.month AND ch.placement_type = t.placement_type
),
ledger_cost AS (
    SELECT pc.la_code, pc.placement_type,
           CAST(sum(pc.spend_12m) AS DOUBLE) / nullif(sum(pc.nights_12m), 0) * 7 AS weekly_cost
    FROM marts.finance.placement_costs pc
    JOIN env e ON e.la_code = pc.la_code AND pc.month_start = CAST(date_trunc('month', e.base_date) AS DATE)
    GROUP BY pc.la_code, pc.placement_type
),
priced AS (
    SELECT c.*, m.month_start, e.uplift_pct,
           coalesce(CAST(wl.weekly_cost AS DOUBLE), CAST(wa.weekly_cost AS DOUBLE), lc.weekly_cost) AS base_weekly_cost,
           coalesce(wl.external, wa.external, c.placement_type NOT IN ('Fostering', 'Connected carers', 'Adoption')) AS external,
           CASE WHEN coalesce(wl.weekly_cost, wa.weekly_cost) IS NOT NULL THEN 'assumption'
                WHEN lc.weekly_cost IS NOT NULL THEN 'ledger, 12 months to base date' END AS cost_source
    FROM counted c
    JOIN env e ON e.la_code = c.la_code
    JOIN months m ON m.la_code = c.la_code AND m.month = c.month
    LEFT JOIN assumptions.cla_funding_envelope.weekly_cost wl ON wl.la = c.la_code AND wl.placement_type = c.placement_type
    LEFT JOIN assumptions.cla_funding_envelope.weekly_cost wa ON wa.la IS NULL AND wa.placement_type = c.placement_type
    LEFT JOIN ledger_cost lc ON lc.la_code = c.la_code AND lc.placement_type = c.placement_type
)
SELECT
    la_code,
    month,
    month_start,
    month_end(month_start) AS month_end,
    placement_type,
    round(children, 4) AS children,
    round(nights, 4) AS nights,
    external,
    CAST(base_weekly_cost * CASE WHEN external THEN 1 + uplift_pct / 100.0 ELSE 1 END AS DECIMAL(18, 2)) AS weekly_cost,
    cost_source,
    CAST(nights * base_weekly_cost / 7 * CASE WHEN external THEN 1 + uplift_pct / 100.0 ELSE 1 END AS DECIMAL(18, 2)) AS cost
FROM priced
ORDER BY la_code, month, placement_type
