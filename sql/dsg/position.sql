-- name: marts.dsg.position
-- grain: one row per council, financial year and DSG block, and one 'Total' row per council and year
-- description: The Dedicated Schools Grant position as councils report it: for each block
--   (Schools, Central School Services, Early Years, High Needs) the allocation after deductions
--   (clean.finance.dsg_allocations: what is available for services), the spend (the ledger lines
--   the coding map puts in the block and on a section 251 line; a block's grant income lines have
--   no section 251 line and are not spend): the year's actuals once period 12 is in, else the
--   full-year projection of marts.finance.budget_lines at the latest period (`spend_basis` says
--   which), the in-year result (allocation - spend: a deficit is negative) and the cumulative
--   position carried forward: the opening balance of assumptions.dsg.opening_balance for the
--   latest year it gives (for the block, or for the total when block is left out; else 0 from
--   the first year with data) plus each year's in-year result since. A block with no spend in
--   the ledger has spend, in-year and cumulative NULL and is left out of the total.
WITH alloc AS (
    SELECT la AS la_code, financial_year, block, sum(allocation) AS allocation
    FROM clean.finance.dsg_allocations
    GROUP BY la, financial_year, block
),
latest AS (
    SELECT la_code, financial_year, max(period) AS period FROM marts.finance.budget_lines GROUP BY la_code, financial_year
),
spend AS (
    SELECT b.la_code, b.financial_year, b.dsg_block AS block, sum(b.projection) AS spend, max(b.period) AS period,
           bool_and(b.year_complete) AS complete
    FROM marts.finance.budget_lines b
    JOIN latest l ON l.la_code = b.la_code AND l.financial_year = b.financial_year AND l.period = b.period
    WHERE b.dsg_block IS NOT NULL AND b.s251_line IS NOT NULL
    GROUP BY b.la_code, b.financial_year, b.dsg_block
),
blocks AS (
    SELECT coalesce(a.la_code, s.la_code) AS la_code, coalesce(a.financial_year, s.financial_year) AS financial_year,
           coalesce(a.block, s.block) AS block, a.allocation, s.spend, s.period, s.complete
    FROM alloc a
    FULL JOIN spend s ON s.la_code = a.la_code AND s.financial_year = a.financial_year AND s.block = a.block
),
with_total AS (
    SELECT la_code, financial_year, block, allocation, spend, allocation - spend AS in_year, period, complete FROM blocks
    UNION ALL
    SELECT la_code, financial_year, 'Total', sum(allocation) FILTER (WHERE spend IS NOT NULL), sum(spend),
           sum(allocation - spend), max(period), bool_and(complete)
    FROM blocks
    GROUP BY la_code, financial_year
),
opening AS (
    SELECT la, coalesce(block, 'Total') AS block, financial_year, amount FROM assumptions.dsg.opening_balance
),
anchored AS (
    -- the latest opening balance at or before each year, else 0 from the first year
    SELECT w.la_code, w.financial_year, w.block, w.allocation, w.spend, w.in_year, w.period, w.complete,
           max(o.financial_year) AS from_year
    FROM with_total w
    LEFT JOIN opening o ON o.la = w.la_code AND o.block = w.block AND o.financial_year <= w.financial_year
    GROUP BY w.la_code, w.financial_year, w.block, w.allocation, w.spend, w.in_year, w.period, w.complete
),
cumulated AS (
    SELECT a.*,
           coalesce(o.amount, CAST(0 AS DECIMAL(18, 2)))
             + sum(a.in_year) OVER (PARTITION BY a.la_code, a.block, a.from_year ORDER BY a.financial_year ROWS UNBOUNDED PRECEDING) AS cumulative
    FROM anchored a
    LEFT JOIN opening o ON o.la = a.la_code AND o.block = a.block AND o.financial_year = a.from_year
)
SELECT
    la_code,
    financial_year,
    block,
    CASE block WHEN 'SB' THEN 'Schools' WHEN 'CSSB' THEN 'Central School Services' WHEN 'EYB' THEN 'Early Years'
        WHEN 'HNB' THEN 'High Needs' WHEN 'Total' THEN 'Total' ELSE block END AS block_name,
    CAST(allocation AS DECIMAL(18, 2)) AS allocation,
    CAST(spend AS DECIMAL(18, 2)) AS spend,
    CASE WHEN spend IS NULL THEN 'no spend recorded' WHEN complete THEN 'actual'
         ELSE 'forecast at period ' || CAST(period AS VARCHAR) END AS spend_basis,
    CAST(in_year AS DECIMAL(18, 2)) AS in_year,
    CAST(CASE WHEN spend IS NULL THEN NULL ELSE cumulative END AS DECIMAL(18, 2)) AS cumulative
FROM cumulated
ORDER BY la_code, financial_year, CASE block WHEN 'SB' THEN 1 WHEN 'CSSB' THEN 2 WHEN 'EYB' THEN 3 WHEN 'HNB' THEN 4 ELSE 5 END
