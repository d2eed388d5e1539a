-- name: published.reference.councils
-- grain: as marts.reference.councils
-- description: marts.reference.councils, published as it is (reference data, no counts of children).
SELECT * FROM marts.reference.councils
