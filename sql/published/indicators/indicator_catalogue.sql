-- name: published.indicators.indicator_catalogue
-- grain: one row per indicator
-- description: marts.indicators.indicator_catalogue, published as it is (definitions, no counts).
SELECT * FROM marts.indicators.indicator_catalogue
