-- name: marts.finance.budget_lines
-- grain: one row per council, financial year, period and budget line (service line, DSG block and
--   section 251 line)
-- description: For each month of a financial year with actuals, each line's current budget
--   (revised budget, else original, summed over the year), actuals in the period and to date,
--   and its full-year projection by the method assumptions.budget_monitoring.projection gives
--   the service line (else the '*' row, else straight_line): straight_line = actuals to date x
--   12 / periods elapsed; last_year_profile = actuals to date / the share of last year's spend
--   made by the same period (straight_line when last year has none); actuals_plus_commitments =
--   actuals to date + the service line's commitments known at the period
--   (assumptions.budget_monitoring.commitment, put on the line's largest-budget row); budget =
--   the budget. Budgets and actuals are mapped to lines by the coding map as in
--   marts.finance.ledger_lines (a cost centre and account row wins over the cost centre's row as a
--   whole).
WITH map AS (
    SELECT * FROM (
        SELECT *, row_number() OVER (PARTITION BY la, cost_centre, coalesce(account, '') ORDER BY version DESC) AS rn
        FROM clean.finance.coding_map
    ) x WHERE rn = 1
),
budgets AS (
    SELECT b.la AS la_code, b.financial_year,
           coalesce(CASE WHEN ma.cost_centre IS NOT NULL THEN ma.directorate ELSE mc.directorate END, 'Unmapped') AS directorate,
           coalesce(CASE WHEN ma.cost_centre IS NOT NULL THEN ma.service_area ELSE mc.service_area END, 'Unmapped') AS service_area,
           coalesce(CASE WHEN ma.cost_centre IS NOT NULL THEN ma.service_line ELSE mc.service_line END, 'Unmapped') AS service_line,
           CASE WHEN ma.cost_centre IS NOT NULL THEN ma.dsg_block ELSE mc.dsg_block END AS dsg_block,
           CASE WHEN ma.cost_centre IS NOT NULL THEN ma.s251_line ELSE mc.s251_line END AS s251_line,
           sum(coalesce(b.revised_budget, b.original_budget)) AS budget
    FROM clean.finance.budgets b
    LEFT JOIN map ma ON ma.la = b.la AND ma.cost_centre = b.cost_centre AND ma.account = b.account
    LEFT JOIN map mc ON mc.la = b.la AND mc.cost_centre = b.cost_centre AND mc.account IS NULL
    GROUP BY 1, 2, 3, 4, 5, 6, 7
),
actuals AS (
    SELECT la_code, financial_year, directorate, service_area, service_line, dsg_block, s251_line, period, sum(amount) AS amount
    FROM marts.finance.ledger_lines
    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
),
years AS (
    SELECT la_code, financial_year, max(period) AS last_period FROM actuals GROUP BY 1, 2
),
line_keys AS (
    SELECT DISTINCT la_code, financial_year, directorate, service_area, service_line, dsg_block, s251_line FROM actuals
    UNION
    SELECT DISTINCT la_code, financial_year, directorate, service_area, service_line, dsg_block, s251_line FROM budgets
),
grid AS (
    SELECT k.*, CAST(g.value AS BIGINT) AS period, y.last_period
    FROM line_keys k
    JOIN years y ON y.la_code = k.la_code AND y.financial_year = k.financial_year
    CROSS JOIN (VALUES (1), (2), (3), (4), (5), (6), (7), (8), (9), (10), (11), (12)) AS g(value)
    WHERE g.value <= y.last_period
),
running AS (
    SELECT g.*, coalesce(a.amount, CAST(0 AS DECIMAL(18, 2))) AS actual_in_period,
           sum(coalesce(a.amount, CAST(0 AS DECIMAL(18, 2)))) OVER (
               PARTITION BY g.la_code, g.financial_year, g.directorate, g.service_area, g.service_line, g.dsg_block, g.s251_line
               ORDER BY g.period ROWS UNBOUNDED PRECEDING) AS actual_to_date
    FROM grid g
    LEFT JOIN actuals a ON a.la_code = g.la_code AND a.financial_year = g.financial_year AND a.directorate = g.directorate
        AND a.service_area = g.service_area AND a.service_line = g.service_line
        AND (a.dsg_block IS NOT DISTINCT FROM g.dsg_block) AND (a.s251_line IS NOT DISTINCT FROM g.s251_line) AND a.period = g.period
),
with_last_year AS (
    SELECT r.*,
           CAST(substr(r.financial_year, 1, 4) AS INT) - 1 AS ly_start,
           ly.actual_to_date AS ly_to_date,
           lyf.full_year AS ly_full_year
    FROM running r
    LEFT JOIN running ly ON ly.la_code = r.la_code AND ly.directorate = r.directorate AND ly.service_area = r.service_area
        AND ly.service_line = r.service_line AND (ly.dsg_block IS NOT DISTINCT FROM r.dsg_block) AND (ly.s251_line IS NOT DISTINCT FROM r.s251_line) AND ly.period = r.period
        AND CAST(substr(ly.financial_year, 1, 4) AS INT) = CAST(substr(r.financial_year, 1, 4) AS INT) - 1
    LEFT JOIN (
        SELECT la_code, financial_year, directorate, service_area, service_line, dsg_block, s251_line, max(actual_to_date) FILTER (WHERE period = 12) AS full_year
        FROM running GROUP BY 1, 2, 3, 4, 5, 6, 7
    ) lyf ON lyf.la_code = r.la_code AND lyf.directorate = r.directorate AND lyf.service_area = r.service_area
        AND lyf.service_line = r.service_line AND (lyf.dsg_block IS NOT DISTINCT FROM r.dsg_block) AND (lyf.s251_line IS NOT DISTINCT FROM r.s251_line)
        AND CAST(substr(lyf.financial_year, 1, 4) AS INT) = CAST(substr(r.financial_year, 1, 4) AS INT) - 1
),
methods AS (
    SELECT w.*, coalesce(pl.method, pa.method, 'straight_line') AS method, coalesce(b.budget, CAST(0 AS DECIMAL(18, 2))) AS budget
    FROM with_last_year w
    LEFT JOIN assumptions.budget_monitoring.projection pl ON pl.service_line = w.service_line
    LEFT JOIN assumptions.budget_monitoring.projection pa ON pa.service_line = '*'
    LEFT JOIN budgets b ON b.la_code = w.la_code AND b.financial_year = w.financial_year AND b.directorate = w.directorate
        AND b.service_area = w.service_area AND b.service_line = w.service_line AND (b.dsg_block IS NOT DISTINCT FROM w.dsg_block) AND (b.s251_line IS NOT DISTINCT FROM w.s251_line)
),
ranked AS (
    SELECT m.*, row_number() OVER (PARTITION BY la_code, financial_year, service_line, period ORDER BY budget DESC, dsg_block NULLS FIRST, s251_line NULLS FIRST) AS line_rank
    FROM methods m
),
commitments AS (
    SELECT la, financial_year, CAST(period AS BIGINT) AS period, service_line, sum(amount) AS amount
    FROM assumptions.budget_monitoring.commitment
    GROUP BY 1, 2, 3, 4
)
SELECT
    r.la_code,
    r.financial_year,
    r.period,
    CAST(make_date(CAST(substr(r.financial_year, 1, 4) AS INT) + CAST((r.period + 2) / 12 AS INT),
                   CAST((r.period + 2) % 12 + 1 AS INT), 1) AS DATE) AS month_start,
    r.directorate,
    r.service_area,
    r.service_line,
    r.dsg_block,
    r.s251_line,
    CAST(r.budget AS DECIMAL(18, 2)) AS budget,
    CAST(r.actual_in_period AS DECIMAL(18, 2)) AS actual_in_period,
    CAST(r.actual_to_date AS DECIMAL(18, 2)) AS actual_to_date,
    r.period = 12 AS year_complete,
    CASE WHEN r.method = 'last_year_profile' AND NOT coalesce(r.ly_to_date > 0 AND r.ly_full_year > 0, false) THEN 'straight_line' ELSE r.method END AS method,
    CAST(CASE
        WHEN r.period = 12 THEN r.actual_to_date
        WHEN r.method = 'budget' THEN r.budget
        WHEN r.method = 'actuals_plus_commitments' THEN r.actual_to_date + CASE WHEN r.line_rank = 1 THEN coalesce(c.amount, 0) ELSE 0 END
        WHEN r.method = 'last_year_profile' AND r.ly_to_date > 0 AND r.ly_full_year > 0
            THEN CAST(r.actual_to_date AS DOUBLE) * CAST(r.ly_full_year AS DOUBLE) / CAST(r.ly_to_date AS DOUBLE)
        ELSE CAST(r.actual_to_date AS DOUBLE) * 12.0 / r.period
    END AS DECIMAL(18, 2)) AS projection
FROM ranked r
LEFT JOIN commitments c ON c.la = r.la_code AND c.financial_year = r.financial_year AND c.period = r.period AND c.service_line = r.service_line
