-- name: marts.reference.regions
-- grain: one row per English region
-- description: The nine English regions with the number of councils in each today, from
--   marts.reference.councils.
SELECT
    region,
    region_code,
    count(*) AS councils
FROM marts.reference.councils
GROUP BY region, region_code
ORDER BY region_code
