-- name: published.reference.regions
-- grain: as marts.reference.regions
-- description: marts.reference.regions, published as it is (reference data, no counts of children).
SELECT * FROM marts.reference.regions
