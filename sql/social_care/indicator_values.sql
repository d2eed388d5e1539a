-- name: marts.social_care.indicator_values
-- grain: one row per council, social care indicator and period
-- description: Every social care indicator in the long shape of marts.indicators.indicator_values:
--   the front door, children in need and protection, and children in care, care leavers and
--   adoption, as defined in marts.social_care.indicator_catalogue.
SELECT * FROM marts.social_care.front_door_values
UNION ALL
SELECT * FROM marts.social_care.cin_cp_values
UNION ALL
SELECT * FROM marts.social_care.cla_values
