-- name: marts.staging.missing_episodes
-- grain: one row per missing or away-from-placement episode: council, child, start date, kind
-- description: Episodes of a looked-after child missing (M) or away from placement without
--   authorisation (A) from the SSDA903 Missing table, once each however many returns list them
--   (latest return winning for the end date).
SELECT
    la AS la_code,
    "CHILD" AS child_id,
    "MIS_START" AS start_date,
    "MISSING" AS kind,
    first_value("MIS_END" ORDER BY year DESC) AS end_date,
    max(CAST(year AS INT)) AS return_year
FROM clean.mosaic.ssda903_missing
WHERE "MIS_START" IS NOT NULL AND "MISSING" IS NOT NULL
GROUP BY la, "CHILD", "MIS_START", "MISSING"
