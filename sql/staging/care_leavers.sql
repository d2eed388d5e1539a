-- name: marts.staging.care_leavers
-- grain: one row per council, care leaver and date the information is as at
-- description: Care leavers' circumstances from the SSDA903 OC3 table (former relevant young people
--   aged 17 to 21, around their birthday in the collection year; as at the return's 31 March) and
--   Ofsted Annex A list 9 (young people receiving leaving care services; as at the snapshot's
--   month end). `in_touch`: IN_TOUCH YES / "LA in Touch" YES; `suitable_accommodation`: the
--   ACCOM code ends in 1 / "Suitability of Accommodation" SUITABLE (NULL when not known);
--   `eet`: the activity code starts with F or P (in education, employment or training), false
--   when it starts with G (not), NULL otherwise. Where a council supplies both for the same
--   31 March, both rows are kept with their `source`; the indicators use the 903 when present.
SELECT
    la AS la_code, 'ssda903' AS source, make_date(CAST(year AS INT), 3, 31) AS as_at,
    "CHILD" AS child_id, "DOB" AS birth_date,
    "IN_TOUCH" = 'YES' AS in_touch,
    CASE WHEN right("ACCOM", 1) = '1' THEN true WHEN right("ACCOM", 1) = '2' THEN false END AS suitable_accommodation,
    CASE WHEN left("ACTIV", 1) IN ('F', 'P') THEN true WHEN left("ACTIV", 1) = 'G' THEN false END AS eet,
    "ACTIV" AS activity, "ACCOM" AS accommodation
FROM clean.mosaic.ssda903_oc3
UNION ALL
SELECT
    la, 'annex_a', CAST(CAST(snapshot || '-01' AS DATE) + INTERVAL '1 month' - INTERVAL '1 day' AS DATE),
    "Child Unique ID", "Date of Birth",
    "LA in Touch" = 'YES',
    CASE "Suitability of Accommodation" WHEN 'SUITABLE' THEN true WHEN 'UNSUITABLE' THEN false END,
    CASE WHEN left("Activity Status", 1) IN ('F', 'P') THEN true WHEN left("Activity Status", 1) = 'G' THEN false END,
    "Activity Status", "Type of Accommodation"
FROM clean.mosaic.annex_a_list_9_care_leavers
