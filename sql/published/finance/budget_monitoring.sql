-- name: published.finance.budget_monitoring
-- grain: as marts.finance.budget_monitoring
-- description: marts.finance.budget_monitoring, published as it is (budgets, actuals and
--   projections in pounds by service line and area, as councils publish them in committee
--   reports; no counts of children). The placement-level finance marts (placement_spend,
--   placement_costs, provider_concentration, cla_funding_envelope) are not published: a line
--   there can be one child's placement.
SELECT * FROM marts.finance.budget_monitoring
