-- name: marts.finance.send_transport
-- grain: one row per council, financial year and kind of home-to-school transport (SEN, mainstream)
-- description: Home-to-school transport as Somerset tables it: the year's cost (ledger lines on
--   section 251 line 2.1.4, SEN transport, or 1.4.11; and 2.1.6, mainstream; else service lines
--   named SEND / home to school transport), the passengers where the ledger names the child on
--   its lines (distinct child references; NULL when it does not), cost per passenger, and for SEN
--   transport the EHC plans active on the year's SEN2 census day with the cost per plan.
WITH lines AS (
    SELECT la_code, financial_year, amount, child_ref,
           CASE
               WHEN s251_line IN ('2.1.4', '1.4.11') OR lower(service_line) LIKE '%send transport%' OR lower(service_line) LIKE '%sen transport%' THEN 'SEN'
               WHEN s251_line = '2.1.6' OR lower(service_line) LIKE '%home to school transport%' THEN 'Mainstream'
           END AS kind
    FROM marts.finance.ledger_lines
),
costs AS (
    SELECT la_code, financial_year, kind, sum(amount) AS cost, count(DISTINCT child_ref) AS passengers
    FROM lines WHERE kind IS NOT NULL
    GROUP BY 1, 2, 3
),
plans AS (
    SELECT la_code,
           CAST(CAST(return_year AS INT) - 1 AS VARCHAR) || '-' || lpad(CAST(CAST(return_year AS INT) % 100 AS VARCHAR), 2, '0') AS financial_year,
           count(*) AS ehcps
    FROM marts.send.ehc_plans WHERE active_at_reference
    GROUP BY 1, 2
)
SELECT
    c.la_code,
    c.financial_year,
    c.kind,
    CAST(c.cost AS DECIMAL(18, 2)) AS cost,
    CASE WHEN c.passengers > 0 THEN c.passengers END AS passengers,
    CAST(CASE WHEN c.passengers > 0 THEN CAST(c.cost AS DOUBLE) / c.passengers END AS DECIMAL(18, 2)) AS cost_per_passenger,
    CASE WHEN c.kind = 'SEN' THEN p.ehcps END AS ehcps,
    CAST(CASE WHEN c.kind = 'SEN' AND p.ehcps > 0 THEN CAST(c.cost AS DOUBLE) / p.ehcps END AS DECIMAL(18, 2)) AS cost_per_ehcp
FROM costs c
LEFT JOIN plans p ON p.la_code = c.la_code AND p.financial_year = c.financial_year
ORDER BY c.la_code, c.financial_year, c.kind
