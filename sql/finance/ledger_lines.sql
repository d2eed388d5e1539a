-- name: marts.finance.ledger_lines
-- grain: one row per ledger transaction
-- description: General-ledger transactions (clean.finance.ledger_transactions, amounts
--   debit-positive: spend positive, income negative) with what the council's coding map says
--   about their cost centre and account: service line, service area, directorate, section 251
--   line, DSG block, locality, placement type and provider type. A map row for the cost centre
--   and account wins over one for the cost centre alone (account left blank), as a whole: what
--   it leaves blank stays blank (an income account mapped with no placement type is not placement
--   spend, whatever the cost centre's own row says); of several
--   versions of the map, the latest (highest version) is used. Transactions the map does not
--   cover keep service_line 'Unmapped' so they still count in totals. `month_start` is the first
--   day of the financial period (period 1 = April).
WITH map AS (
    SELECT * FROM (
        SELECT *, row_number() OVER (PARTITION BY la, cost_centre, coalesce(account, '') ORDER BY version DESC) AS rn
        FROM clean.finance.coding_map
    ) x WHERE rn = 1
)
SELECT
    l.la AS la_code,
    l.financial_year,
    CAST(l.period AS BIGINT) AS period,
    CAST(make_date(CAST(substr(l.financial_year, 1, 4) AS INT) + CAST((l.period + 2) / 12 AS INT),
                   CAST((l.period + 2) % 12 + 1 AS INT), 1) AS DATE) AS month_start,
    l.posting_date,
    l.cost_centre,
    l.account,
    l.amount,
    CASE WHEN ma.cost_centre IS NOT NULL THEN ma.cost_centre_name ELSE mc.cost_centre_name END AS cost_centre_name,
    coalesce(CASE WHEN ma.cost_centre IS NOT NULL THEN ma.service_line ELSE mc.service_line END, 'Unmapped') AS service_line,
    coalesce(CASE WHEN ma.cost_centre IS NOT NULL THEN ma.service_area ELSE mc.service_area END, 'Unmapped') AS service_area,
    coalesce(CASE WHEN ma.cost_centre IS NOT NULL THEN ma.directorate ELSE mc.directorate END, 'Unmapped') AS directorate,
    CASE WHEN ma.cost_centre IS NOT NULL THEN ma.s251_line ELSE mc.s251_line END AS s251_line,
    CASE WHEN ma.cost_centre IS NOT NULL THEN ma.dsg_block ELSE mc.dsg_block END AS dsg_block,
    CASE WHEN ma.cost_centre IS NOT NULL THEN ma.locality ELSE mc.locality END AS locality,
    CASE WHEN ma.cost_centre IS NOT NULL THEN ma.placement_type ELSE mc.placement_type END AS placement_type,
    CASE WHEN ma.cost_centre IS NOT NULL THEN ma.provider_type ELSE mc.provider_type END AS provider_type,
    l.supplier,
    l.child_ref,
    l.placement_ref,
    l.description
FROM clean.finance.ledger_transactions l
LEFT JOIN map ma ON ma.la = l.la AND ma.cost_centre = l.cost_centre AND ma.account = l.account
LEFT JOIN map mc ON mc.la = l.la AND mc.cost_centre = l.cost_centre AND mc.account IS NULL
WHERE l.period BETWEEN 1 AND 12
