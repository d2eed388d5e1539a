-- name: marts.dsg.high_needs
-- grain: one row per council, financial year and section 251 High Needs line
-- description: High Needs Block spend broken down as the section 251 return does (place funding
--   1.0.2, top-ups to maintained schools 1.2.1, academies and colleges 1.2.2, independent and
--   non-maintained providers 1.2.3, SEN support services 1.2.5, hospital education 1.2.6,
--   alternative provision 1.2.7, direct payments 1.2.11, transport, …), each the year's actuals
--   or full-year projection as in marts.dsg.position, with its share of High Needs spend; and per
--   EHC plan: the plans active on the SEN2 census day that falls in the financial year (January),
--   spend per plan, and the share of plans placed in independent special schools
--   (marts.send.ehc_plans: setting ISS).
WITH latest AS (
    SELECT la_code, financial_year, max(period) AS period FROM marts.finance.budget_lines GROUP BY la_code, financial_year
),
lines AS (
    SELECT b.la_code, b.financial_year, b.s251_line, sum(b.projection) AS spend, bool_and(b.year_complete) AS complete, max(b.period) AS period
    FROM marts.finance.budget_lines b
    JOIN latest l ON l.la_code = b.la_code AND l.financial_year = b.financial_year AND l.period = b.period
    WHERE b.dsg_block = 'HNB' AND b.s251_line IS NOT NULL
    GROUP BY 1, 2, 3
),
names (s251_line, line_name) AS (
    VALUES ('1.0.2', 'High needs place funding within ISB'), ('1.2.1', 'Top-up funding - maintained schools'),
        ('1.2.2', 'Top-up funding - academies, free schools and colleges'),
        ('1.2.3', 'Top-up and other funding - non-maintained and independent providers'),
        ('1.2.4', 'Additional high needs targeted funding for mainstream'), ('1.2.5', 'SEN support services'),
        ('1.2.6', 'Hospital education services'), ('1.2.7', 'Other alternative provision services'),
        ('1.2.8', 'Support for inclusion'), ('1.2.9', 'Special schools and PRUs in financial difficulty'),
        ('1.2.10', 'PFI/BSF costs at special schools, AP/PRUs and Post 16'), ('1.2.11', 'Direct payments (SEN and disability)'),
        ('1.2.13', 'Therapies and other health related services'), ('1.4.11', 'SEN transport')
),
plans AS (
    SELECT la_code,
           CAST(CAST(return_year AS INT) - 1 AS VARCHAR) || '-' || lpad(CAST(CAST(return_year AS INT) % 100 AS VARCHAR), 2, '0') AS financial_year,
           count(*) AS ehcps,
           count(*) FILTER (WHERE independent_special) AS ehcps_independent_special
    FROM marts.send.ehc_plans
    WHERE active_at_reference
    GROUP BY 1, 2
)
SELECT
    l.la_code,
    l.financial_year,
    l.s251_line,
    coalesce(n.line_name, l.s251_line) AS line_name,
    CAST(l.spend AS DECIMAL(18, 2)) AS spend,
    CASE WHEN l.complete THEN 'actual' ELSE 'forecast at period ' || CAST(l.period AS VARCHAR) END AS spend_basis,
    100.0 * CAST(l.spend AS DOUBLE) / CAST(sum(l.spend) OVER (PARTITION BY l.la_code, l.financial_year) AS DOUBLE) AS share_pct,
    CAST(sum(l.spend) OVER (PARTITION BY l.la_code, l.financial_year) AS DECIMAL(18, 2)) AS high_needs_spend,
    p.ehcps,
    CAST(CASE WHEN p.ehcps > 0 THEN CAST(sum(l.spend) OVER (PARTITION BY l.la_code, l.financial_year) AS DOUBLE) / p.ehcps END AS DECIMAL(18, 2)) AS spend_per_ehcp,
    CASE WHEN p.ehcps > 0 THEN 100.0 * p.ehcps_independent_special / p.ehcps END AS independent_special_plans_pct
FROM lines l
LEFT JOIN names n ON n.s251_line = l.s251_line
LEFT JOIN plans p ON p.la_code = l.la_code AND p.financial_year = l.financial_year
ORDER BY l.la_code, l.financial_year, l.s251_line
