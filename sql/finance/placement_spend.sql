-- name: marts.finance.placement_spend
-- grain: one row per council, financial year and placement (the ledger's placement reference)
-- description: What each children's social care placement cost in a financial year, ranked so a
--   report can show the top N: the gross cost (spend posted against the placement reference),
--   contributions received towards it (income, negative lines, on the same reference: health,
--   education or other partners' shares where the council records them there), the net cost,
--   the supplier, placement and provider type (coding map), and the nights the child spent in a
--   placement of that type in the year (marts.finance.placements_typed, by the ledger's child
--   reference) with the weekly net cost. `rank` is 1 for the costliest net; `share_pct` is the
--   placement's share of the council's placement spend that year. The child reference is the
--   pseudonym, as in every clean table.
WITH lines AS (
    SELECT la_code, financial_year, placement_ref, child_ref, supplier, placement_type, provider_type, amount
    FROM marts.finance.ledger_lines
    WHERE placement_ref IS NOT NULL AND dsg_block IS NULL
),
placements AS (
    SELECT la_code, financial_year, placement_ref,
           max(child_ref) AS child_ref,
           first_value(supplier ORDER BY amount DESC) AS supplier,
           first_value(placement_type ORDER BY amount DESC) AS placement_type,
           first_value(provider_type ORDER BY amount DESC) AS provider_type,
           sum(CASE WHEN amount > 0 THEN amount ELSE 0 END) AS gross,
           -sum(CASE WHEN amount < 0 THEN amount ELSE 0 END) AS contributions,
           sum(amount) AS net
    FROM lines
    GROUP BY la_code, financial_year, placement_ref
),
nights AS (
    SELECT p.la_code, p.financial_year, p.placement_ref,
           sum(greatest(0, CAST(
               least(coalesce(t.placement_end, DATE '9999-12-31'), make_date(CAST(substr(p.financial_year, 1, 4) AS INT) + 1, 4, 1))
               - greatest(t.placement_start, make_date(CAST(substr(p.financial_year, 1, 4) AS INT), 4, 1)) AS BIGINT))) AS nights
    FROM placements p
    JOIN marts.finance.placements_typed t ON t.la_code = p.la_code AND t.child_id = p.child_ref AND t.placement_type = p.placement_type
    GROUP BY 1, 2, 3
)
SELECT
    p.la_code,
    p.financial_year,
    p.placement_ref,
    p.child_ref,
    p.supplier,
    p.placement_type,
    p.provider_type,
    CAST(p.gross AS DECIMAL(18, 2)) AS gross_cost,
    CAST(p.contributions AS DECIMAL(18, 2)) AS contributions,
    CAST(p.net AS DECIMAL(18, 2)) AS net_cost,
    n.nights,
    CAST(CASE WHEN n.nights > 0 THEN CAST(p.net AS DOUBLE) / n.nights * 7 END AS DECIMAL(18, 2)) AS weekly_net_cost,
    rank() OVER (PARTITION BY p.la_code, p.financial_year ORDER BY p.net DESC) AS rank,
    100.0 * CAST(p.net AS DOUBLE) / CAST(sum(p.net) OVER (PARTITION BY p.la_code, p.financial_year) AS DOUBLE) AS share_pct
FROM placements p
LEFT JOIN nights n ON n.la_code = p.la_code AND n.financial_year = p.financial_year AND n.placement_ref = p.placement_ref
ORDER BY p.la_code, p.financial_year, rank
