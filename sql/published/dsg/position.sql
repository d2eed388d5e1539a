-- name: published.dsg.position
-- grain: as marts.dsg.position
-- description: marts.dsg.position, published as it is (the grant, spend and balances in pounds;
--   no counts of children).
SELECT * FROM marts.dsg.position
