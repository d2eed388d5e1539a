-- name: marts.finance.placement_costs
-- grain: one row per council, month, placement type and provider type
-- description: What children in care placements cost per week. Spend: ledger lines the coding map
--   gives a placement type (children's social care, not the DSG), by the month of their
--   financial period. Nights: children's placements in the same types
--   (marts.finance.placements_typed), one night for each day from the placement's start up to
--   the day it ended (DEC: the child was not there that night). Average weekly cost = spend /
--   nights x 7, for
--   the month and for the 12 months to it (monthly invoices make single months noisy).
WITH spend AS (
    SELECT la_code, month_start, placement_type, coalesce(provider_type, 'Unknown') AS provider_type, sum(amount) AS spend
    FROM marts.finance.ledger_lines
    WHERE placement_type IS NOT NULL AND dsg_block IS NULL
    GROUP BY 1, 2, 3, 4
),
typed AS (
    SELECT la_code, child_id, placement_start, placement_end, placement_type || '|' || provider_type AS category
    FROM marts.finance.placements_typed
),
months AS (
    SELECT DISTINCT la_code, month_start FROM spend
),
nights AS (
    SELECT m.la_code, m.month_start, split_part(t.category, '|', 1) AS placement_type, split_part(t.category, '|', 2) AS provider_type,
           sum(
               CAST(least(coalesce(t.placement_end, DATE '9999-12-31'), CAST(month_end(m.month_start) + INTERVAL '1 day' AS DATE))
                    - greatest(t.placement_start, m.month_start) AS BIGINT)
           ) AS nights
    FROM months m
    JOIN typed t ON t.la_code = m.la_code AND t.category IS NOT NULL
        AND t.placement_start <= month_end(m.month_start)
        AND (t.placement_end IS NULL OR t.placement_end > m.month_start)
    GROUP BY 1, 2, 3, 4
),
joined AS (
    SELECT coalesce(s.la_code, n.la_code) AS la_code, coalesce(s.month_start, n.month_start) AS month_start,
           coalesce(s.placement_type, n.placement_type) AS placement_type, coalesce(s.provider_type, n.provider_type) AS provider_type,
           coalesce(s.spend, CAST(0 AS DECIMAL(18, 2))) AS spend, coalesce(n.nights, 0) AS nights
    FROM spend s
    FULL JOIN nights n ON n.la_code = s.la_code AND n.month_start = s.month_start
        AND n.placement_type = s.placement_type AND n.provider_type = s.provider_type
),
rolling AS (
    SELECT j.*,
        sum(j.spend) OVER w AS spend_12m,
        sum(j.nights) OVER w AS nights_12m
    FROM joined j
    WINDOW w AS (PARTITION BY la_code, placement_type, provider_type ORDER BY month_start
                 RANGE BETWEEN INTERVAL '11 months' PRECEDING AND CURRENT ROW)
)
SELECT
    la_code,
    month_start,
    month_end(month_start) AS month_end,
    financial_year(month_start) AS financial_year,
    placement_type,
    provider_type,
    provider_type NOT IN ('In-house') AS external,
    CAST(spend AS DECIMAL(18, 2)) AS spend,
    CAST(nights AS BIGINT) AS nights,
    CAST(CASE WHEN nights > 0 THEN CAST(spend AS DOUBLE) / nights * 7 END AS DECIMAL(18, 2)) AS weekly_cost,
    CAST(spend_12m AS DECIMAL(18, 2)) AS spend_12m,
    CAST(nights_12m AS BIGINT) AS nights_12m,
    CAST(CASE WHEN nights_12m > 0 THEN CAST(spend_12m AS DOUBLE) / nights_12m * 7 END AS DECIMAL(18, 2)) AS weekly_cost_12m
FROM rolling
ORDER BY la_code, month_start, placement_type, provider_type
