-- name: marts.finance.provider_concentration
-- grain: one row per council, financial year, placement type and supplier
-- description: How concentrated placement spend is among providers (Dorset: "20 of 60
--   residential placements are with the 10 largest companies"): each supplier's spend on a
--   placement type in the year (ledger lines the coding map gives a placement type, outside the
--   DSG), the placements it provided (distinct placement references), its rank, its share and
--   the running share of the type's spend from the largest supplier down.
WITH s AS (
    SELECT la_code, financial_year, placement_type, coalesce(supplier, 'Not recorded') AS supplier,
           sum(amount) AS spend, count(DISTINCT placement_ref) AS placements
    FROM marts.finance.ledger_lines
    WHERE placement_type IS NOT NULL AND dsg_block IS NULL
    GROUP BY 1, 2, 3, 4
)
SELECT
    la_code,
    financial_year,
    placement_type,
    supplier,
    CAST(spend AS DECIMAL(18, 2)) AS spend,
    placements,
    rank() OVER w AS rank,
    100.0 * CAST(spend AS DOUBLE) / CAST(sum(spend) OVER (PARTITION BY la_code, financial_year, placement_type) AS DOUBLE) AS share_pct,
    100.0 * CAST(sum(spend) OVER (PARTITION BY la_code, financial_year, placement_type ORDER BY spend DESC, supplier ROWS UNBOUNDED PRECEDING) AS DOUBLE)
        / CAST(sum(spend) OVER (PARTITION BY la_code, financial_year, placement_type) AS DOUBLE) AS cumulative_share_pct
FROM s
WINDOW w AS (PARTITION BY la_code, financial_year, placement_type ORDER BY spend DESC, supplier)
ORDER BY la_code, financial_year, placement_type, rank
