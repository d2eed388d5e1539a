-- name: marts.staging.children
-- grain: one row per council and child known to children's social care
-- description: The children behind the social care events, with what the exports say about them:
--   birth date, sex (CIN Sex, or GenderCurrent 1/2 in returns before 2023) and ethnicity from the
--   CIN census (Children), the SSDA903 header and the Annex
--   A lists (1, 3 to 8), latest return or snapshot winning for each field that is given (returns as
--   at 31 March, snapshots as at their month end). `has_upn` says whether any return carried a UPN
--   (the pseudonymised UPN joins to Synergy and the school census; it stays in the clean tables).
WITH seen AS (
    SELECT la AS la_code, "LAchildID" AS child_id, "PersonBirthDate" AS birth_date,
           coalesce(nullif("Sex", ''), CASE "GenderCurrent" WHEN '1' THEN 'M' WHEN '2' THEN 'F' END) AS sex,
           nullif("Ethnicity", '') AS ethnicity, "UPN" IS NOT NULL AS has_upn,
           CAST(year || '-03-31' AS DATE) AS as_at, 1 AS priority
    FROM clean.mosaic.cin_children
    UNION ALL
    SELECT la, "CHILD", "DOB", nullif("SEX", ''), nullif("ETHNIC", ''), "UPN" IS NOT NULL, CAST(year || '-03-31' AS DATE), 1
    FROM clean.mosaic.ssda903_header
    UNION ALL
    SELECT la, "Child Unique ID", "Date of Birth", "Gender", "Ethnicity", false,
           CAST(month_end(CAST(snapshot || '-01' AS DATE)) AS DATE), 2
    FROM (
        SELECT la, snapshot, "Child Unique ID", "Date of Birth", "Gender", "Ethnicity" FROM clean.mosaic.annex_a_list_1_contacts
        UNION ALL SELECT la, snapshot, "Child Unique ID", "Date of Birth", "Gender", "Ethnicity" FROM clean.mosaic.annex_a_list_3_referrals
        UNION ALL SELECT la, snapshot, "Child Unique ID", "Date of Birth", "Gender", "Ethnicity" FROM clean.mosaic.annex_a_list_4_assessments
        UNION ALL SELECT la, snapshot, "Child Unique ID", "Date of Birth", "Gender", "Ethnicity" FROM clean.mosaic.annex_a_list_5_s47
        UNION ALL SELECT la, snapshot, "Child Unique ID", "Date of Birth", "Gender", "Ethnicity" FROM clean.mosaic.annex_a_list_6_cin
        UNION ALL SELECT la, snapshot, "Child Unique ID", "Date of Birth", "Gender", "Ethnicity" FROM clean.mosaic.annex_a_list_7_cp
        UNION ALL SELECT la, snapshot, "Child Unique ID", "Date of Birth", "Gender", "Ethnicity" FROM clean.mosaic.annex_a_list_8_cla
    ) a
)
SELECT
    la_code,
    child_id,
    first_value(birth_date ORDER BY as_at DESC, priority) FILTER (WHERE birth_date IS NOT NULL) AS birth_date,
    first_value(sex ORDER BY as_at DESC, priority) FILTER (WHERE sex IS NOT NULL) AS sex,
    first_value(ethnicity ORDER BY as_at DESC, priority) FILTER (WHERE ethnicity IS NOT NULL) AS ethnicity,
    bool_or(has_upn) AS has_upn,
    max(as_at) AS last_seen
FROM seen
WHERE child_id IS NOT NULL
GROUP BY la_code, child_id
