-- name: marts.dsg.position
-- grain: one row per council, financial year and DSG block, and one 'Total' row per council and year
-- description: The Dedicated Schools Grant position as councils report it: for each block
--   (Schools, Central School Services, Early Years, High Needs) the allocation after deductions
--   (clean.finance.dsg_allocations: what is available for services), the spend (the ledger lines
--   the coding map puts in the block and on a section 251 line; a block's grant income lines have
--   no section 251 line and are not spend): the year's actuals once period 12 is in, else the
--   full-year projection of marts.finance.budget_lines at the latest period (`spend_basis` says
--   which), the in-year result (allocation - spend: a deficit is negative) and the cumulative
--   position carried forward: an opening balance plus each year's in-year result since it. The
--   opening balance is the latest at or before the year of, in order: assumptions.dsg.opening_balance
--   (for the block, or for the total when block is left out); the DSG allocations' brought_forward
--   (the position carried into that year, as the council's DSG notes give it); for the total with
--   none of its own, the sum of the blocks' openings of a year in which every block with spend has
--   one. With no opening balance at or before the year, cumulative is NULL and `opening_basis`
--   says so: the position carried into the first year loaded is not known, and is never taken as
--   0. `opening_basis`: where the opening came from ('assumptions', 'allocations', 'blocks') and
--   its year, or 'no opening balance'. A block with no spend in the ledger has spend, in-year and
--   cumulative NULL and is left out of the total.
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
block_open_all AS (
    SELECT la AS la_code, block, financial_year, amount, 1 AS priority, 'assumptions' AS basis
    FROM assumptions.dsg.opening_balance
    WHERE block IS NOT NULL
    UNION ALL
    SELECT la, block, financial_year, sum(brought_forward), 2, 'allocations'
    FROM clean.finance.dsg_allocations
    WHERE brought_forward IS NOT NULL
    GROUP BY la, block, financial_year
),
block_open AS (
    SELECT la_code, block, financial_year, amount, priority, basis FROM (
        SELECT *, row_number() OVER (PARTITION BY la_code, block, financial_year ORDER BY priority) AS rn FROM block_open_all
    ) x WHERE rn = 1
),
total_from_blocks AS (
    -- a year in which every block with spend has an opening: the total's opening is their sum
    SELECT b.la_code, 'Total' AS block, b.financial_year, sum(o.amount) AS amount, 3 AS priority, 'blocks' AS basis
    FROM blocks b
    LEFT JOIN block_open o ON o.la_code = b.la_code AND o.block = b.block AND o.financial_year = b.financial_year
    WHERE b.spend IS NOT NULL
    GROUP BY b.la_code, b.financial_year
    HAVING count(o.amount) = count(*)
),
openings AS (
    SELECT la_code, block, financial_year, amount, priority, basis FROM block_open
    UNION ALL
    SELECT la, 'Total', financial_year, amount, 1, 'assumptions' FROM assumptions.dsg.opening_balance WHERE block IS NULL
    UNION ALL
    SELECT la_code, block, financial_year, amount, priority, basis FROM total_from_blocks
),
anchored AS (
    -- the latest opening at or before each year (assumptions first in a year that has several)
    SELECT * FROM (
        SELECT w.la_code, w.financial_year, w.block, w.allocation, w.spend, w.in_year, w.period, w.complete,
               o.financial_year AS from_year, o.amount AS opening, o.basis,
               row_number() OVER (PARTITION BY w.la_code, w.financial_year, w.block ORDER BY o.financial_year DESC NULLS LAST, o.priority) AS rn
        FROM with_total w
        LEFT JOIN openings o ON o.la_code = w.la_code AND o.block = w.block AND o.financial_year <= w.financial_year
    ) x WHERE rn = 1
),
cumulated AS (
    SELECT a.*,
           CAST(a.opening AS DECIMAL(18, 2))
             + sum(a.in_year) OVER (PARTITION BY a.la_code, a.block, a.from_year ORDER BY a.financial_year ROWS UNBOUNDED PRECEDING) AS cumulative
    FROM anchored a
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
    CAST(CASE WHEN spend IS NULL THEN NULL ELSE cumulative END AS DECIMAL(18, 2)) AS cumulative,
    CASE WHEN from_year IS NULL THEN 'no opening balance' ELSE basis || ' ' || from_year END AS opening_basis
FROM cumulated
ORDER BY la_code, financial_year, CASE block WHEN 'SB' THEN 1 WHEN 'CSSB' THEN 2 WHEN 'EYB' THEN 3 WHEN 'HNB' THEN 4 ELSE 5 END
