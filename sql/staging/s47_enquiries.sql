-- name: marts.staging.s47_enquiries
-- grain: one row per section 47 enquiry: council, child, the date the strategy discussion started it
-- description: Section 47 enquiries and their initial child protection conferences, from the CIN
--   census (Section47) and Ofsted Annex A list 5, taken together as for assessments.
--   `icpc_date` is the initial conference, `icpc_not_required` says one was judged unnecessary,
--   `icpc_to_cpp` whether the conference led to a plan (Annex A only; for census years it is
--   derived in the indicators from the plans).
WITH seen AS (
    SELECT la AS la_code, "LAchildID" AS child_id, "S47ActualStartDate" AS start_date,
           "DateOfInitialCPC" AS icpc_date, "ICPCnotRequired" IN ('1', 'true') AS icpc_not_required,
           CAST(NULL AS BOOLEAN) AS icpc_to_cpp, "CINreferralDate" AS referral_date,
           'cin_census' AS source, CAST(year || '-03-31' AS DATE) AS as_at, 1 AS priority
    FROM clean.mosaic.cin_section47
    UNION ALL
    SELECT la, "Child Unique ID", "Strategy discussion initiating Section 47 Enquiry Start Date",
           "Date of Initial Child Protection Conference",
           "Was an Initial Child Protection Conference deemed unnecessary?" = 'Y',
           "Did the Initial Child Protection Conference Result in a Child Protection Plan" = 'Y', NULL,
           'annex_a', CAST(snapshot || '-01' AS DATE) + INTERVAL '1 month' - INTERVAL '1 day', 2
    FROM clean.mosaic.annex_a_list_5_s47
)
SELECT
    la_code,
    child_id,
    start_date,
    first_value(icpc_date ORDER BY as_at DESC, priority) AS icpc_date,
    first_value(icpc_not_required ORDER BY as_at DESC, priority) AS icpc_not_required,
    first_value(icpc_to_cpp ORDER BY as_at DESC, priority) FILTER (WHERE source = 'annex_a') AS icpc_to_cpp,
    first_value(referral_date ORDER BY as_at DESC, priority) FILTER (WHERE source = 'cin_census') AS referral_date,
    first_value(source ORDER BY as_at DESC, priority) AS source,
    max(as_at) AS last_seen
FROM seen
WHERE start_date IS NOT NULL
GROUP BY la_code, child_id, start_date
