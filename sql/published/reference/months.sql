-- name: published.reference.months
-- grain: as marts.reference.months
-- description: marts.reference.months, published as it is (reference data, no counts of children).
SELECT * FROM marts.reference.months
