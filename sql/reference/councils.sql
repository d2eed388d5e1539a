-- name: marts.reference.councils
-- grain: one row per council (DfE LA code) with children's services responsibilities today
-- description: The English local authorities in the shipped reference list whose codes are in
--   use now (no valid_to), with ONS code, name, region and type. Councils that were merged or
--   abolished (Dorset 835, Northamptonshire 928, Cumbria 909, …) are left out; their rows stay in
--   clean.reference.local_authorities for older returns.
SELECT
    la_code,
    ons_code,
    name,
    region,
    region_code,
    la_type
FROM clean.reference.local_authorities
WHERE valid_to IS NULL
ORDER BY la_code
